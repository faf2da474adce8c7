/**
 * Groups items into batches by size or linger time and resolves each item's promise only when the
 * batch holding it has been committed by `flush`. Up to `concurrency` batches are in flight at once
 * (a server's pool has several connections; the embedded engine has one, so 1 there). While every
 * slot is busy nothing is cut: arrivals wait and go out as one larger batch when a slot frees, so
 * batches grow with the load instead of queueing up small. Back-pressure: with `maxPending` items in
 * flight, `add` waits before accepting more, so acknowledgements (and hence the publishers) slow down
 * to the database's pace instead of memory growing. Written here because the libraries around
 * (p-queue, async's cargo) do not tie a per-item promise to the commit of its batch.
 */
export interface BatcherOptions<T> {
  size: number;
  lingerMs: number;
  maxPending: number;
  /** Batches committing at the same time (default 1: one after another, in arrival order). */
  concurrency?: number;
  flush: (items: T[]) => Promise<void>;
  onPending?: (n: number) => void;
}

interface Entry<T> {
  item: T;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class Batcher<T> {
  private queue: Entry<T>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running = 0;
  private pending = 0;
  private waiters: (() => void)[] = [];
  private idle: (() => void)[] = [];
  private readonly slots: number;
  /** Items that start a batch at once: with several slots, a share of `size`, so a steady stream fills them all. */
  private readonly cutAt: number;

  constructor(private readonly opts: BatcherOptions<T>) {
    this.slots = Math.max(1, opts.concurrency ?? 1);
    this.cutAt = Math.max(1, Math.ceil(opts.size / this.slots));
  }

  get pendingCount(): number {
    return this.pending;
  }

  /** Resolves after the item is committed; rejects if its batch failed. */
  async add(item: T): Promise<void> {
    while (this.pending >= this.opts.maxPending) await new Promise<void>((r) => this.waiters.push(r));
    this.pending++;
    this.opts.onPending?.(this.pending);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.cutAt) this.cut();
      else if (!this.timer) this.timer = setTimeout(() => this.cut(), this.opts.lingerMs);
    });
  }

  /** Writes everything queued now and waits until no batch is in flight. */
  async drain(): Promise<void> {
    if (!this.queue.length && !this.running) return;
    const done = new Promise<void>((r) => this.idle.push(r));
    this.cut();
    await done;
  }

  /** Starts batches while there are items and free slots; the rest waits for a slot (see run's finally). */
  private cut(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.queue.length && this.running < this.slots) {
      // All that waited when a slot frees (up to size), a share when several are free at once.
      const free = this.slots - this.running;
      const batch = this.queue.splice(0, free > 1 ? Math.max(this.cutAt, Math.ceil(this.queue.length / free)) : this.opts.size);
      this.running++;
      void this.run(batch);
    }
  }

  private async run(batch: Entry<T>[]): Promise<void> {
    try {
      await this.opts.flush(batch.map((e) => e.item));
      for (const e of batch) e.resolve();
    } catch (err) {
      for (const e of batch) e.reject(err as Error);
    } finally {
      this.running--;
      this.pending -= batch.length;
      this.opts.onPending?.(this.pending);
      const ws = this.waiters.splice(0, this.opts.maxPending - this.pending);
      for (const w of ws) w();
      // What arrived while the slots were busy has waited long enough: out now, as one batch.
      if (this.queue.length) this.cut();
      else if (!this.running) for (const w of this.idle.splice(0)) w();
    }
  }
}
