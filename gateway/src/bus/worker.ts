/**
 * One worker per bus: a FIFO of poll jobs run one transaction at a time (several meters share one
 * RS-485/M-Bus line), while different buses run in parallel. A dead meter costs at most
 * (retries + 1) × timeout per slot, and once it is known silent only one attempt, so it cannot
 * starve the others; a job for a meter that is still queued is not doubled but counted as missed.
 * A lost line (the rule is in link.ts, the same for every driver) is closed and reopened with
 * back-off, also when no poll is due; polls meanwhile fail at once instead of waiting on a dead line.
 */
import type { QualityFlag } from '@amr/protocols';
import type { ResolvedBus, ResolvedMeter } from '../config/resolve.js';
import { ChecksumError, CollisionError, LinkLostError, TimeoutError, classifyIoError, type BusDriver, type MeterRead } from '../drivers/types.js';
import { sleep } from '../drivers/line.js';
import { DEFAULT_LINK_POLICY, LinkSupervisor, type LinkPolicy, type LinkStatus } from './link.js';

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
  /** The line was lost and closed; the next open is in `retryInMs`. */
  linkLost?(bus: string, err: LinkLostError, retryInMs: number): void;
  /** An open failed (first open or a reopen); the next is in `retryInMs`. */
  openFailed?(bus: string, err: LinkLostError, attempt: number, retryInMs: number): void;
  /** The line was opened (at first use, or again). */
  opened?(bus: string): void;
  /** The line was opened again after a loss. */
  reopened?(bus: string, attempts: number): void;
  /** The first meter answered after a loss. */
  recovered?(bus: string, downMs: number): void;
  busyMs?(bus: string, ms: number): void;
}

export interface WorkerOptions {
  /** Meters configured on this bus: when all of them time out the line counts as lost. Without: only lost-link errors count. */
  meterIds?: readonly string[];
  link?: LinkPolicy;
  now?: () => number;
}

/** An open or close that hangs (a TCP SYN into nowhere, a serial close blocking in tcdrain) must not hold the bus. */
const OPEN_BOUND_MS = 10_000;
const CLOSE_BOUND_MS = 2_000;

export class BusWorker {
  private readonly queue: Job[] = [];
  private readonly pending = new Set<string>();
  private running = false;
  private closed = false;
  private readonly link: LinkSupervisor;
  private reopenTimer: NodeJS.Timeout | null = null;
  /** When the running job started (null when idle): lets the watchdog see a wedged bus. */
  busySince: number | null = null;
  /** Consecutive failures per meter (silent meters get one attempt per slot). */
  readonly failures = new Map<string, number>();

  constructor(
    readonly bus: ResolvedBus,
    readonly driver: BusDriver,
    private readonly silentAfter: number,
    private readonly hooks: WorkerHooks = {},
    opts: WorkerOptions = {},
  ) {
    this.link = new LinkSupervisor(opts.meterIds ?? [], opts.link ?? DEFAULT_LINK_POLICY, opts.now ?? Date.now);
  }

  /** The line's state for /health. */
  linkStatus(): LinkStatus {
    return this.link.status();
  }

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
    if (this.closed) return Promise.reject(new Error('bus closed'));
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
    if (this.link.isOpen) return;
    if (!this.link.mayOpen()) {
      this.link.refused();
      throw this.link.waitingError();
    }
    try {
      await bounded(this.driver.open(), OPEN_BOUND_MS, `opening ${this.bus.port} took over ${OPEN_BOUND_MS} ms`);
    } catch (e) {
      await this.closeDriver();
      const c = classifyIoError(e, `cannot open ${this.bus.name} (${this.bus.port})`);
      const err = c instanceof LinkLostError ? c : new LinkLostError(c.message, 'OPEN_FAILED');
      const { delayMs, attempt } = this.link.openFailed(err);
      this.hooks.openFailed?.(this.bus.name, err, attempt, delayMs);
      this.armReopen(delayMs);
      throw err;
    }
    const { reopened, attempts } = this.link.opened();
    this.hooks.opened?.(this.bus.name);
    if (reopened) this.hooks.reopened?.(this.bus.name, attempts);
  }

  private async closeDriver(): Promise<void> {
    await bounded(this.driver.close(), CLOSE_BOUND_MS, 'close').catch(() => undefined);
  }

  /** The line is gone: close it now and try again after the back-off, poll or no poll. */
  private async lose(err: LinkLostError): Promise<void> {
    await this.closeDriver();
    const { delayMs } = this.link.lost(err);
    this.hooks.linkLost?.(this.bus.name, err, delayMs);
    this.armReopen(delayMs);
  }

  private armReopen(delayMs: number): void {
    if (this.closed) return;
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = null;
      if (this.closed || this.link.isOpen || this.pending.has('reopen')) return;
      this.pending.add('reopen');
      // Through the queue: the open must not interleave with a transaction on the line.
      const run = () => this.ensureOpen().catch(() => undefined);
      this.queue.push({ key: 'reopen', run, resolve: () => undefined });
      void this.pump();
    }, delayMs);
    this.reopenTimer.unref();
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
    let attempts = 0;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (attempt > 0) await sleep(Math.min(2000, this.bus.interFrameMs * 2 ** attempt + 20 * attempt));
      try {
        await this.ensureOpen();
      } catch (e) {
        // The line itself is down (and reopens on its own schedule): do not hammer it.
        lastErr = e as Error;
        return this.failed(meter, lastErr, attempts, startedAt, t0);
      }
      attempts++;
      try {
        const read = await this.driver.read(meter, attempt);
        for (const f of seen) if (!read.quality.includes(f)) read.quality.push(f);
        this.failures.set(meter.id, 0);
        const rec = this.link.answered();
        if (rec) this.hooks.recovered?.(this.bus.name, rec.recoveredAfterMs);
        return { ok: true, read, attempts, startedAt, durationMs: performance.now() - t0 };
      } catch (e) {
        lastErr = classifyIoError(e, `${this.bus.name} (${this.bus.port})`);
        if (lastErr instanceof TimeoutError) seen.add('timeout');
        else if (lastErr instanceof ChecksumError) seen.add('crc_error');
        else if (lastErr instanceof CollisionError) seen.add('collision');
        else if (lastErr instanceof LinkLostError) break; // retrying on a dead line is pointless
      }
    }
    const lost = this.link.failed(meter.id, lastErr);
    if (lost) await this.lose(lost);
    return this.failed(meter, lastErr, attempts, startedAt, t0);
  }

  private failed(meter: ResolvedMeter, error: Error, attempts: number, startedAt: number, t0: number): PollOutcome {
    this.failures.set(meter.id, (this.failures.get(meter.id) ?? 0) + 1);
    return { ok: false, error, attempts, startedAt, durationMs: performance.now() - t0 };
  }

  get queued(): number {
    return this.queue.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    this.reopenTimer = null;
    for (const j of this.queue.splice(0)) j.resolve({ ok: false, skipped: 'bus_closed', attempts: 0 });
    while (this.running) await sleep(10);
    if (this.link.isOpen) await this.closeDriver();
    this.link.close();
  }
}

function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, rej) => {
    t = setTimeout(() => rej(new LinkLostError(what, 'ETIMEDOUT')), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(t));
}
