/**
 * Groups items into batches by size or linger time and resolves each item's promise only when the
 * batch holding it has been committed by `flush`. Back-pressure: with `maxPending` items in flight,
 * `add` waits before accepting more, so acknowledgements (and hence the publishers) slow down to the
 * database's pace instead of memory growing. Written here because the libraries around (p-queue,
 * async's cargo) do not tie a per-item promise to the commit of its batch.
 */
export interface BatcherOptions<T> {
  size: number;
  lingerMs: number;
  maxPending: number;
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
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly opts: BatcherOptions<T>) {}

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
      if (this.queue.length >= this.opts.size) this.cut();
      else if (!this.timer) this.timer = setTimeout(() => this.cut(), this.opts.lingerMs);
    });
  }

  /** Writes everything queued now and waits for all batches in flight. */
  async drain(): Promise<void> {
    this.cut();
    await this.chain;
  }

  private cut(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.queue.length) return;
    const batch = this.queue.splice(0, this.opts.size);
    if (this.queue.length) this.timer = setTimeout(() => this.cut(), 0);
    // Batches commit one after another: order of commits = order of arrival, and with a pool of one
    // connection nothing is gained by overlapping them.
    this.chain = this.chain.then(() => this.run(batch));
  }

  private async run(batch: Entry<T>[]): Promise<void> {
    this.running++;
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
    }
  }
}
