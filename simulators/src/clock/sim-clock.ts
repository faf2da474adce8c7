// Simulated time: runs `speed` times faster than the wall clock from a start instant, and can be
// set or advanced by hand (tests use speed 0 and advance()). Every register in the building model
// is a pure function of this clock's time, so readings are reproducible from the seed.
export class SimClock {
  private baseSim: number;
  private baseReal: number;

  constructor(start: Date, private speedFactor = 1, private readonly realNow: () => number = Date.now) {
    this.baseSim = start.getTime();
    this.baseReal = realNow();
  }

  get speed(): number {
    return this.speedFactor;
  }

  nowMs(): number {
    return this.baseSim + (this.realNow() - this.baseReal) * this.speedFactor;
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  setTime(t: Date): void {
    this.baseSim = t.getTime();
    this.baseReal = this.realNow();
  }

  advance(ms: number): void {
    this.setTime(new Date(this.nowMs() + ms));
  }

  setSpeed(speed: number): void {
    this.setTime(this.now());
    this.speedFactor = speed;
  }
}
