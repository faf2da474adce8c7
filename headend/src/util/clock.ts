/**
 * The head-end's clock: where "now" comes from when a time becomes DATA.
 *
 * Data times read the injected clock (HeadendOptions.clock → the API's `app.clock()` and the jobs'
 * deps): the collection period a reading is dated at, whether a window is open, "this month" and the
 * previous month, the future-reading check, a binding's default valid_from, the `to` of a billing
 * recalculation, the reminders' day, the silence check's instant, the exchange's export stretch.
 * Tests and replays pass a fixed or shifted clock so the same scenario runs at any date.
 *
 * Timing stays on the real clock (Date.now(), performance.now(), setTimeout, SQL now() for audit
 * stamps): back-off, coalescing windows of jobs, watchdogs, metrics, token and code expiry,
 * created_at/updated_at/received_at. Mixing the two would make a test at a fixed date wait for ever
 * or expire its own sign-in.
 */

/** Returns the current instant as data (a new Date each call; callers may keep it). */
export type Clock = () => Date;

/** The wall clock: production's default. */
export const wallClock: Clock = () => new Date();

function instant(at: Date | string, what: string): number {
  const t = typeof at === 'string' ? Date.parse(at) : at.getTime();
  if (!Number.isFinite(t)) throw new TypeError(`${what}: "${String(at)}" is not a valid instant; give a Date or an ISO 8601 string with an offset, e.g. 2026-03-01T12:00:00+03:00`);
  return t;
}

/** A clock stopped at one instant (a test's "today", a replayed day). */
export function fixedClock(at: Date | string): Clock {
  const t = instant(at, 'fixedClock');
  return () => new Date(t);
}

/** A clock that starts at `at` and then runs with the real one (a long scenario at a chosen date). */
export function clockFrom(at: Date | string, realNow: () => number = Date.now): Clock {
  const offset = instant(at, 'clockFrom') - realNow();
  return () => new Date(realNow() + offset);
}
