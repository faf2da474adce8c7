/**
 * When the demo polls: the simulated period ends at "now" (the wall clock when the demo starts, or
 * `--now`), so that after the run the dashboard shows meters seen minutes ago, not weeks ago, and the
 * head-end's silence check (which judges by its own clock, i.e. real time) finds nothing silent.
 *
 * Pure functions of the instants they are given (the tests pass fixed ones), in UTC: the demo
 * building is registered with the UTC time zone, so its billing and imbalance months are UTC months.
 */
export const DAY_MS = 86_400_000;
/** The last stretch before now is polled at the fine step: the dashboard's "last 24 h" has its curve. */
export const RECENT_MS = DAY_MS;

/**
 * The run's start: `days` before now, or by default a day before the last calendar month that ended at
 * or before now (on 10 March: 31 January), so that one whole month is there to compare and bill, and its
 * first bound is not the run's first poll: a meter that misses that one poll is still interpolated
 * between its readings around the bound, not estimated (which billing would replace by the norm).
 */
export function runStart(nowMs, days) {
  if (days !== undefined) return nowMs - days * DAY_MS;
  const n = new Date(nowMs);
  return Date.UTC(n.getUTCFullYear(), n.getUTCMonth() - 1, 1) - DAY_MS;
}

/** The last whole calendar month inside [startMs, endMs], or null when the run holds none. */
export function lastWholeMonth(startMs, endMs) {
  const e = new Date(endMs);
  // The month that ends at the first instant of endMs's month (endMs itself when it is a month's first instant).
  const end = Date.UTC(e.getUTCFullYear(), e.getUTCMonth(), 1);
  const start = Date.UTC(e.getUTCFullYear(), e.getUTCMonth() - 1, 1);
  if (start < startMs) return null;
  const s = new Date(start);
  return { year: s.getUTCFullYear(), month: s.getUTCMonth() + 1, start, end };
}

/**
 * The poll instants, ascending: the start, then every `historyStepMs` up to the last day, every
 * `stepMs` within it, and now itself. Steps are counted from the epoch (UTC midnight for any step that
 * divides a day), so every month bound is polled exactly and the compared month needs no interpolation.
 * Older days at a coarse step keep the run short; the fine step never comes before a coarser one, so the
 * validator's gap rule (gaps measured against the meter's usual spacing) sees no gap.
 */
export function pollPlan(startMs, nowMs, stepMs, historyStepMs = stepMs) {
  const grid = (from, to, step) => {
    const out = [];
    for (let t = Math.ceil(from / step) * step; t < to; t += step) out.push(t);
    return out;
  };
  const recentFrom = Math.max(startMs, nowMs - RECENT_MS);
  const all = [startMs, ...grid(startMs, recentFrom, historyStepMs), ...grid(recentFrom, nowMs, stepMs), nowMs];
  return [...new Set(all)].filter((t) => t >= startMs && t <= nowMs).sort((a, b) => a - b);
}
