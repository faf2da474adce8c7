/**
 * Wall-clock aligned schedules: each meter fires at multiples of its interval (plus its offset),
 * so a "15m" meter is read at :00, :15, :30, :45 whatever time the gateway started. A slot that
 * passes without a poll (process suspended, clock jump) is reported as missed.
 */
import { nextAlignedTime, slotOf } from '../config/duration.js';
import type { ResolvedMeter } from '../config/resolve.js';

export interface SchedulerHooks {
  due(meter: ResolvedMeter, slotTime: number): void;
  missed(meter: ResolvedMeter, count: number): void;
}

export class Scheduler {
  private timers = new Map<string, NodeJS.Timeout>();
  private lastSlot = new Map<string, number>();
  private stopped = false;

  constructor(
    private readonly meters: ResolvedMeter[],
    private readonly hooks: SchedulerHooks,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    for (const m of this.meters) this.arm(m);
  }

  private arm(m: ResolvedMeter): void {
    if (this.stopped) return;
    const now = this.now();
    const at = nextAlignedTime(now, m.interval, m.offset);
    const t = setTimeout(() => this.fire(m, at), Math.max(0, at - now));
    this.timers.set(m.id, t);
  }

  private fire(m: ResolvedMeter, at: number): void {
    const slot = slotOf(at, m.interval, m.offset);
    const prev = this.lastSlot.get(m.id);
    if (prev !== undefined && slot - prev > 1) this.hooks.missed(m, slot - prev - 1);
    this.lastSlot.set(m.id, slot);
    this.hooks.due(m, at);
    this.arm(m);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
