/**
 * Who gets the next database connection when several wait: telemetry first, but never for ever.
 *
 * The embedded engine serves one connection. `pg`'s pool hands it out first come, first served, so a
 * wave of residents signing in and submitting on the evening of the 25th put every gateway batch at
 * the back of a queue of API transactions: gateways waited seconds for their PUBACKs, and a gateway
 * that waits resends. Callers in front of the pool take a slot here instead (as many slots as the pool
 * has connections, so the pool itself never queues): a waiting `telemetry` caller goes before a
 * waiting `normal` one, except that after `maxTelemetryInARow` telemetry grants in a row a waiting
 * normal caller gets the next one — flat-out ingestion cannot starve the API and the jobs.
 *
 * Written here: a priority semaphore is a dozen lines, and the queue libraries at hand (p-queue,
 * p-limit) order by priority without the in-a-row bound, which is the part that matters.
 */
export type Priority = 'telemetry' | 'normal';

export class PriorityGate {
  private active = 0;
  private readonly telemetry: Array<() => void> = [];
  private readonly normal: Array<() => void> = [];
  private inARow = 0;

  constructor(private readonly slots: number, private readonly maxTelemetryInARow = 3) {}

  /** Callers waiting for a slot. */
  get waiting(): number {
    return this.telemetry.length + this.normal.length;
  }

  async run<T>(priority: Priority, fn: () => Promise<T>): Promise<T> {
    if (this.active < this.slots && this.waiting === 0) this.active++;
    // The slot is handed over by release(): `active` already counts it.
    else await new Promise<void>((r) => (priority === 'telemetry' ? this.telemetry : this.normal).push(r));
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private release(): void {
    const next = this.next();
    if (next) next();
    else this.active--;
  }

  private next(): (() => void) | undefined {
    if (this.telemetry.length && (this.inARow < this.maxTelemetryInARow || !this.normal.length)) {
      this.inARow++;
      return this.telemetry.shift();
    }
    this.inARow = 0;
    return this.normal.shift();
  }
}
