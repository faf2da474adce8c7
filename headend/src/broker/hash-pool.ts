/**
 * A bounded pool for password hashes (scrypt) with two lanes: credentials verified before ("known")
 * are served before unverified ones ("unknown"), and the unknown lane has a bounded queue.
 *
 * Why: scrypt runs on libuv's small thread pool; hundreds of CONNECTs hashing at once delay every
 * hash (and the file and DNS work sharing that pool) until gateways time out. `concurrency` hashes
 * run at a time (2 leaves the other core to ingestion); a full unknown queue refuses at once
 * ("server busy") instead of making everybody wait. Not a general library (p-queue has priorities
 * but no bounded queue that refuses), so this stays small.
 */
export type Lane = 'known' | 'unknown';

export interface HashPoolOptions {
  concurrency: number;
  /** Waiting unknown attempts beyond this are refused. */
  maxUnknownQueued: number;
  /** Waiting known attempts beyond this are refused (only a huge fleet reconnecting at once). */
  maxKnownQueued: number;
  onDepth?: (lane: Lane, depth: number) => void;
}

export const DEFAULT_HASH_POOL: Omit<HashPoolOptions, 'onDepth'> = { concurrency: 2, maxUnknownQueued: 16, maxKnownQueued: 10_000 };

export class PoolFullError extends Error {
  constructor(lane: Lane) {
    super(`password-hash queue for ${lane} credentials is full`);
  }
}

export class HashPool {
  private running = 0;
  private readonly waiting: Record<Lane, (() => void)[]> = { known: [], unknown: [] };
  constructor(private readonly o: HashPoolOptions) {}

  depth(lane: Lane): number {
    return this.waiting[lane].length;
  }

  /** Runs `work` when a slot is free; rejects with PoolFullError at once if the lane's queue is full. */
  async run<T>(lane: Lane, work: () => Promise<T>): Promise<T> {
    if (this.running >= this.o.concurrency) {
      const max = lane === 'known' ? this.o.maxKnownQueued : this.o.maxUnknownQueued;
      if (this.waiting[lane].length >= max) throw new PoolFullError(lane);
      await new Promise<void>((resolve) => {
        this.waiting[lane].push(resolve);
        this.o.onDepth?.(lane, this.waiting[lane].length);
      });
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      this.next();
    }
  }

  /** Hands the finished slot to the next waiter (known first) or frees it. */
  private next(): void {
    const lane: Lane | undefined = this.waiting.known.length ? 'known' : this.waiting.unknown.length ? 'unknown' : undefined;
    if (!lane) {
      this.running--;
      return;
    }
    const wake = this.waiting[lane].shift()!;
    this.o.onDepth?.(lane, this.waiting[lane].length);
    wake(); // the slot passes on: `running` stays the same
  }
}
