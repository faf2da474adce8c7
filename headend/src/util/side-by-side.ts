/**
 * Independent steps run at most `width` at a time, each started as one ends, in the order given.
 * For long work split into short transactions where the engine has several connections (a server);
 * width 1 is one after another (the embedded engine's one connection).
 *
 * On the first failure no further step starts; the steps already running are awaited, then the first
 * error is thrown — a caller's clean-up never runs beside a step still writing.
 *
 * Written here: p-limit and p-map start every step eagerly or keep going after a failure unless told,
 * and neither awaits the running ones before rejecting; this is the dozen lines that matter.
 */
export async function sideBySide<T>(steps: Iterable<T>, width: number, run: (step: T) => Promise<void>): Promise<void> {
  const it = steps[Symbol.iterator]();
  let failed = false;
  const lane = async () => {
    while (!failed) {
      const next = it.next();
      if (next.done) return;
      try {
        await run(next.value);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const ends = await Promise.allSettled(Array.from({ length: Math.max(1, Math.floor(width)) }, lane));
  for (const end of ends) if (end.status === 'rejected') throw end.reason;
}
