/**
 * Values keyed by (meter, instant) without building a string per look-up: a map per meter, keyed by
 * the instant (epoch ms, or the database's text of it). A batch looks instants up a dozen times each
 * (history, neighbours, heat window, context); `${meterId}|${time}` keys made a new string every
 * time, and building and hashing them was a fifth of a validator batch's JavaScript.
 */
export class ByMeter<K, V> {
  private readonly byMeter = new Map<number, Map<K, V>>();
  private count = 0;

  get size(): number { return this.count; }

  get(meterId: number, k: K): V | undefined {
    return this.byMeter.get(meterId)?.get(k);
  }

  has(meterId: number, k: K): boolean {
    return this.byMeter.get(meterId)?.has(k) ?? false;
  }

  set(meterId: number, k: K, v: V): this {
    let m = this.byMeter.get(meterId);
    if (!m) this.byMeter.set(meterId, (m = new Map()));
    if (!m.has(k)) this.count++;
    m.set(k, v);
    return this;
  }

  delete(meterId: number, k: K): boolean {
    const gone = this.byMeter.get(meterId)?.delete(k) ?? false;
    if (gone) this.count--;
    return gone;
  }

  *values(): IterableIterator<V> {
    for (const m of this.byMeter.values()) yield* m.values();
  }
}
