/**
 * The instants where a calendar rule most easily goes wrong, shared by the tests that stop the
 * head-end's injected clock at each of them (collection, reminders, the billing month): Moscow
 * (UTC+3 all year) and UTC disagree on the day, month or year, and February has its leap day.
 * Only the instants live here; each test keeps its own expected values, worked out by hand per
 * instant (handValues below makes a missing one a type error).
 */

export const EDGE_INSTANTS = [
  // Moscow 2026-03-01, UTC 09:00 the same day: an ordinary first of the month.
  { name: '2026-03-01 12:00 MSK', now: '2026-03-01T12:00:00+03:00' },
  // The year's last half hour: UTC 20:30 on the 31st, the same day.
  { name: '2027-12-31 23:30 MSK', now: '2027-12-31T23:30:00+03:00' },
  // Moscow's new year; UTC still says 2027-12-31 21:00.
  { name: '2028-01-01 00:00 MSK', now: '2028-01-01T00:00:00+03:00' },
  // The leap day.
  { name: '2028-02-29 12:00 MSK', now: '2028-02-29T12:00:00+03:00' },
  // March in Moscow; UTC is still on the leap day (21:30).
  { name: '2028-03-01 00:30 MSK', now: '2028-03-01T00:30:00+03:00' },
] as const;

export type EdgeInstant = (typeof EDGE_INSTANTS)[number];

/** Each instant with the test's hand values for it (keyed by the instant's name), in EDGE_INSTANTS order. */
export function handValues<V extends object>(values: { readonly [K in EdgeInstant['name']]: V }): (EdgeInstant & V)[] {
  return EDGE_INSTANTS.map((i) => ({ ...i, ...values[i.name] }));
}
