/**
 * Group commit of readings entries (the 25th evening: a thousand residents submitting while gateways
 * publish). Each request used to be its own transaction of a dozen statements; on the embedded engine's
 * one connection they queued one after another and the gateways' acknowledgements queued behind them.
 * Here the requests that arrive within `lingerMs` of each other are judged together and written in ONE
 * transaction (write.ts writeRequests: meters, settings and facts loaded once, one insert of versions,
 * one of audit rows), while each request keeps its own answer: its own scope, rights, clock,
 * confirmation and all-or-nothing rule, the same 201 / 400 / 404 / 409 it gets alone.
 *
 *   - Per meter, one request at a time: a request naming a meter that an earlier queued request (or a
 *     batch still being written) names waits for the next batch, so it is judged against the earlier
 *     one's committed readings exactly as it would be after it — never against its unwritten state.
 *   - A database error fails the whole transaction: then every request of the batch is written again
 *     alone, in arrival order, each in its own transaction, so one bad request cannot take the others
 *     with it and none is lost silently (the failing one gets its own error).
 *   - Up to `concurrency` batches are written at once (a server's pool; the embedded engine has one
 *     connection, so 1). While every slot is busy nothing is cut: arrivals wait and go out together.
 *
 * Written here rather than with ingest/batcher.ts: that one ties an item to its batch's commit only,
 * this one answers each request with its own outcome and keeps requests of one meter apart.
 */
import type { Database } from '../db/types.js';
import { writeReadings, writeRequests, type WriteItem, type WriteOptions, type WrittenReading } from './write.js';

export interface SubmissionBatcherOptions {
  /** How long the first request of a batch waits for company, ms (0: the requests of one event-loop turn). */
  lingerMs: number;
  /** Requests per batch at most. */
  maxBatch: number;
  /** Batches written at once (default 1). */
  concurrency?: number;
  /** After each batch's transaction: how many requests it held and whether it failed and was written again one by one. */
  onBatch?: (b: { size: number; retriedAlone: boolean; error?: Error }) => void;
}

interface Pending {
  items: readonly WriteItem[];
  o: WriteOptions;
  meters: ReadonlySet<number>;
  resolve: (r: WrittenReading[]) => void;
  reject: (e: Error) => void;
}

export class SubmissionBatcher {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running = 0;
  /** Meters of the batches being written now: a request naming one waits. */
  private busy = new Map<number, number>();
  private idle: Array<() => void> = [];
  private readonly slots: number;

  constructor(private readonly db: Database, private readonly opts: SubmissionBatcherOptions) {
    this.slots = Math.max(1, opts.concurrency ?? 1);
  }

  /** writeReadings in a transaction of its own, as far as the caller can tell: the same readings or the same error. */
  submit(items: readonly WriteItem[], o: WriteOptions): Promise<WrittenReading[]> {
    return new Promise<WrittenReading[]>((resolve, reject) => {
      this.queue.push({ items, o, meters: new Set(items.map((i) => i.meterId)), resolve, reject });
      if (this.queue.length >= this.opts.maxBatch) this.cut();
      else if (!this.timer) this.timer = setTimeout(() => this.cut(), this.opts.lingerMs);
    });
  }

  /** Writes everything queued now and waits until no batch is in flight (shutdown). */
  async drain(): Promise<void> {
    if (!this.queue.length && !this.running) return;
    const done = new Promise<void>((r) => this.idle.push(r));
    this.cut();
    await done;
  }

  private cut(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.queue.length && this.running < this.slots) {
      // Arrival order; a request whose meter is taken (by a batch in flight, or by an earlier request
      // left for later) stays queued, and its meters stay taken for the requests behind it.
      const taken = new Set(this.busy.keys());
      const batch: Pending[] = [];
      const rest: Pending[] = [];
      for (const p of this.queue) {
        const free = batch.length < this.opts.maxBatch && ![...p.meters].some((m) => taken.has(m));
        (free ? batch : rest).push(p);
        for (const m of p.meters) taken.add(m);
      }
      if (!batch.length) break;
      this.queue = rest;
      this.running++;
      for (const p of batch) for (const m of p.meters) this.busy.set(m, (this.busy.get(m) ?? 0) + 1);
      void this.run(batch);
    }
  }

  private async run(batch: Pending[]): Promise<void> {
    try {
      await this.write(batch);
    } finally {
      for (const p of batch) for (const m of p.meters) {
        const n = (this.busy.get(m) ?? 1) - 1;
        if (n > 0) this.busy.set(m, n); else this.busy.delete(m);
      }
      this.running--;
      // What arrived (or was held back by a meter) while this batch was written has waited long enough.
      if (this.queue.length) this.cut();
      else if (!this.running) for (const w of this.idle.splice(0)) w();
    }
  }

  private async write(batch: Pending[]): Promise<void> {
    let outcomes;
    try {
      outcomes = await this.db.tx((q) => writeRequests(q, batch.map((p) => ({ items: p.items, o: p.o }))));
    } catch (err) {
      if (batch.length === 1) {
        this.opts.onBatch?.({ size: 1, retriedAlone: false, error: err as Error });
        batch[0].reject(err as Error);
        return;
      }
      // Nothing of the batch was written (one transaction). Each request alone, so the one that
      // fails the database answers its own error and the others are written as they would be alone.
      this.opts.onBatch?.({ size: batch.length, retriedAlone: true, error: err as Error });
      for (const p of batch) {
        try {
          p.resolve(await this.db.tx((q) => writeReadings(q, p.items, p.o)));
        } catch (e) {
          p.reject(e as Error);
        }
      }
      return;
    }
    this.opts.onBatch?.({ size: batch.length, retriedAlone: false });
    for (const [i, p] of batch.entries()) {
      const r = outcomes[i];
      if (r.ok) p.resolve(r.readings); else p.reject(r.error);
    }
  }
}
