/**
 * The archive back-fill tests' day: a ТВ7 commissioned at local midnight of 15 January 2026 on a
 * Moscow clock (UTC+3), i.e. 14 January 21:00 UTC; `local(h, m)` is that day's h:m as a UTC instant.
 * And `until`: waits on a condition in real time, failing with what it waited for.
 */
export const HOUR = 3_600_000;
export const MIN = 60_000;
export const startMs = Date.UTC(2026, 0, 14, 21);
export const local = (hour: number, minute = 0): number => startMs + hour * HOUR + minute * MIN;
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
