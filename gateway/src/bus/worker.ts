/**
 * One worker per bus: a FIFO of poll jobs run one transaction at a time (several meters share one
 * RS-485/M-Bus line), while different buses run in parallel. A dead meter costs at most
 * (retries + 1) × timeout per slot, and once it is known silent only one attempt, so it cannot
 * starve the others; a job for a meter that is still queued is not doubled but counted as missed.
 */
import type { QualityFlag } from '@amr/protocols';
import type { ResolvedBus, ResolvedMeter } from '../config/resolve.js';
import { ChecksumError, CollisionError, TimeoutError, type BusDriver, type MeterRead } from '../drivers/types.js';
import { sleep } from '../drivers/line.js';

export type PollOutcome =
  | { ok: true; read: MeterRead; attempts: number; startedAt: number; durationMs: number }
  | { ok: false; error: Error; attempts: number; startedAt: number; durationMs: number }
  | { ok: false; skipped: 'already_queued' | 'bus_closed'; attempts: 0 };

interface Job {
  key: string;
  /** A poll of a meter, or an exclusive use of the line (scan). */
  meter?: ResolvedMeter;
  run?: () => Promise<void>;
  resolve: (o: PollOutcome) => void;
}

export interface WorkerHooks {
  busError?(bus: string, err: Error): void;
  busyMs?(bus: string, ms: number): void;
}

export class BusWorker {
  private readonly queue: Job[] = [];
  private readonly pending = new Set<string>();
  private running = false;
  private opened = false;
  private closed = false;
  /** When the running job started (null when idle): lets the watchdog see a wedged bus. */
  busySince: number | null = null;
  /** Consecutive failures per meter (silent meters get one attempt per slot). */
  readonly failures = new Map<string, number>();

  constructor(
    readonly bus: ResolvedBus,
    readonly driver: BusDriver,
    private readonly silentAfter: number,
    private readonly hooks: WorkerHooks = {},
  ) {}

  poll(meter: ResolvedMeter): Promise<PollOutcome> {
    if (this.closed) return Promise.resolve({ ok: false, skipped: 'bus_closed', attempts: 0 });
    if (this.pending.has(meter.id)) return Promise.resolve({ ok: false, skipped: 'already_queued', attempts: 0 });
    this.pending.add(meter.id);
    return new Promise((resolve) => {
      this.queue.push({ key: meter.id, meter, resolve });
      void this.pump();
    });
  }

  /** Runs `fn` with the line to itself (scan commands), between poll jobs. */
  exclusive<T>(fn: (driver: BusDriver) => Promise<T>): Promise<T> {
    return new Promise((resolve, reject) => {
      const run = async () => {
        try {
          await this.ensureOpen();
          resolve(await fn(this.driver));
        } catch (e) {
          reject(e);
        }
      };
      this.queue.push({ key: `exclusive:${Date.now()}:${Math.random()}`, run, resolve: () => reject(new Error('bus closed')) });
      void this.pump();
    });
  }

  private async ensureOpen(): Promise<void> {
    if (this.opened) return;
    await this.driver.open();
    this.opened = true;
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const job = this.queue.shift()!;
        const t0 = performance.now();
        this.busySince = Date.now();
        if (job.run) await job.run();
        else job.resolve(await this.transact(job.meter!));
        this.busySince = null;
        this.pending.delete(job.key);
        this.hooks.busyMs?.(this.bus.name, performance.now() - t0);
        await sleep(this.bus.interFrameMs);
      }
    } finally {
      this.running = false;
    }
  }

  private async transact(meter: ResolvedMeter): Promise<PollOutcome> {
    const startedAt = Date.now();
    const t0 = performance.now();
    const silent = (this.failures.get(meter.id) ?? 0) >= this.silentAfter;
    const maxAttempts = silent ? 1 : meter.retriesEff + 1;
    const seen = new Set<QualityFlag>();
    let lastErr: Error = new Error('not attempted');
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (attempt > 0) await sleep(Math.min(2000, this.bus.interFrameMs * 2 ** attempt + 20 * attempt));
      try {
        await this.ensureOpen();
      } catch (e) {
        lastErr = e as Error;
        this.hooks.busError?.(this.bus.name, lastErr);
        break; // the line itself is down: do not hammer it, next slot retries
      }
      try {
        const read = await this.driver.read(meter, attempt);
        for (const f of seen) if (!read.quality.includes(f)) read.quality.push(f);
        this.failures.set(meter.id, 0);
        return { ok: true, read, attempts: attempt + 1, startedAt, durationMs: performance.now() - t0 };
      } catch (e) {
        lastErr = e as Error;
        if (e instanceof TimeoutError) seen.add('timeout');
        else if (e instanceof ChecksumError) seen.add('crc_error');
        else if (e instanceof CollisionError) seen.add('collision');
        else if (!(e instanceof Error) || /not open|closed|EPIPE|ECONNRESET|EBADF/i.test(String(e.message))) {
          // Connection-level trouble: reopen before the next attempt.
          this.opened = false;
          await this.driver.close().catch(() => undefined);
        }
      }
    }
    this.failures.set(meter.id, (this.failures.get(meter.id) ?? 0) + 1);
    return { ok: false, error: lastErr, attempts: maxAttempts, startedAt, durationMs: performance.now() - t0 };
  }

  get queued(): number {
    return this.queue.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.queue.splice(0)) j.resolve({ ok: false, skipped: 'bus_closed', attempts: 0 });
    while (this.running) await sleep(10);
    if (this.opened) await this.driver.close().catch(() => undefined);
    this.opened = false;
  }
}
