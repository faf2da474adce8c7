/**
 * Reading collection rules, pure: no clock, no database. Callers pass "now", the building's time zone,
 * the settings and the meter's previous readings; the functions say when the window is open, what a
 * meter usually uses and when consumption is high. An entered reading is judged by readings/judge.ts,
 * which uses these.
 *
 * The collection window is a range of days of the month in the building's time zone. A window whose
 * start day is after its end day (25–5) crosses the month end. Days past a short month's end are
 * clamped (a window ending on the 31st ends on Feb 28/29).
 */
import { consumptionBetween } from '../vee/register.js';

export interface LocalDate { y: number; m: number; d: number }

export interface CollectionSettings {
  enabled: boolean;
  window_start_day: number;
  window_end_day: number;
  integer_only: boolean;
  accept_expired_verification: boolean;
  reminder_days: number[];
  warn_factor: number;
}

export const DEFAULT_SETTINGS: CollectionSettings = {
  enabled: true, window_start_day: 15, window_end_day: 25, integer_only: false,
  accept_expired_verification: false, reminder_days: [15, 25], warn_factor: 3,
};

const pad = (n: number) => String(n).padStart(2, '0');
export const fmt = (x: LocalDate): string => `${x.y}-${pad(x.m)}-${pad(x.d)}`;
export const daysInMonth = (y: number, m: number): number => new Date(Date.UTC(y, m, 0)).getUTCDate();
const dayNumber = (x: LocalDate): number => Date.UTC(x.y, x.m - 1, x.d) / 86_400_000;
const addMonths = (y: number, m: number, k: number): { y: number; m: number } => {
  const i = y * 12 + (m - 1) + k;
  return { y: Math.floor(i / 12), m: (i % 12) + 1 };
};
const onDay = (ym: { y: number; m: number }, day: number): LocalDate => ({ ...ym, d: Math.min(day, daysInMonth(ym.y, ym.m)) });

// Building a DateTimeFormat costs far more than using one (a 100 000-row import dates every row):
// one per time zone, kept.
const offsetFormats = new Map<string, Intl.DateTimeFormat>();
function formatter(cache: Map<string, Intl.DateTimeFormat>, timeZone: string, make: () => Intl.DateTimeFormat): Intl.DateTimeFormat {
  let f = cache.get(timeZone);
  if (!f) { f = make(); cache.set(timeZone, f); }
  return f;
}

/** The calendar date of an instant in a time zone: the UTC date of the instant shifted by the zone's offset. */
export function localDate(at: Date, timeZone: string): LocalDate {
  const t = at.getTime();
  const shifted = new Date(t + offsetAt(t, timeZone));
  return { y: shifted.getUTCFullYear(), m: shifted.getUTCMonth() + 1, d: shifted.getUTCDate() };
}

/**
 * Offsets by zone and quarter hour of UTC. Since 1973 every zone's offset, and so every instant it
 * changes at, is a whole number of quarter hours (Liberia's −0:44:30 was the last odd one), so an
 * offset holds for the whole quarter hour. A 100 000-row import asks for the same few
 * quarter hours again and again; asking Intl each time was a tenth of the import's time.
 */
const QUARTER_HOUR = 900_000;
const offsets = new Map<string, number>();
const OFFSETS_KEPT = 50_000;

/** Offset (ms) of a time zone from UTC at an instant. */
function offsetAt(at: number, timeZone: string): number {
  const slot = Math.floor(at / QUARTER_HOUR);
  const key = `${timeZone}|${slot}`;
  let off = offsets.get(key);
  if (off === undefined) {
    const start = slot * QUARTER_HOUR;
    const parts = formatter(offsetFormats, timeZone, () => new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })).formatToParts(new Date(start));
    const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
    off = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - start;
    if (offsets.size >= OFFSETS_KEPT) offsets.clear();
    offsets.set(key, off);
  }
  return off;
}

/** The instant of local midnight starting a date in a time zone. */
export function localMidnight(x: LocalDate, timeZone: string): Date {
  const guess = Date.UTC(x.y, x.m - 1, x.d);
  // Midnight under the offset of the day before and of the day after: one of them is it, unless the
  // clocks jump over midnight (São Paulo 2007-10-14 went from 00:00 to 01:00). Then the day starts
  // at the jump, which is midnight under the earlier offset — the first instant with that date.
  const candidates = [...new Set([guess - offsetAt(guess - 86_400_000, timeZone), guess - offsetAt(guess + 86_400_000, timeZone)])]
    .filter((t) => sameDate(localDate(new Date(t), timeZone), x))
    .sort((a, b) => a - b);
  const exact = candidates.find((t) => t + offsetAt(t, timeZone) === guess);
  return new Date(exact ?? candidates[0] ?? guess - offsetAt(guess, timeZone));
}

/**
 * The instant a wall-clock time (`YYYY-MM-DDTHH:MM:SS`, no zone: what a meter's clock shows) names in
 * a time zone. The hour the clocks repeat in autumn: its first pass. A time the clocks skip in
 * spring: the jump (the time under the offset before it) — as localMidnight does for a skipped midnight.
 */
export function localInstant(local: string, timeZone: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(local);
  if (!m) throw new RangeError(`"${local}" is not a local time YYYY-MM-DDTHH:MM:SS`);
  const guess = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  const before = guess - offsetAt(guess - 86_400_000, timeZone);
  const candidates = [...new Set([before, guess - offsetAt(guess + 86_400_000, timeZone)])].sort((a, b) => a - b);
  return new Date(candidates.find((t) => t + offsetAt(t, timeZone) === guess) ?? before);
}

const sameDate = (a: LocalDate, b: LocalDate) => a.y === b.y && a.m === b.m && a.d === b.d;

export type WindowState =
  | { open: true; start: string; end: string; due: string; periodStart: LocalDate }
  | { open: false; opensOn: string; opensInDays: number; lastStart: LocalDate; last: { start: string; end: string } };

/**
 * Whether the window is open on a local date, and the dates that matter: while open, the window's
 * dates and its last day (due); while closed, when the next window opens and which window was last.
 * `periodStart` / `lastStart` name the collection period a reading entered now belongs to.
 */
export function windowState(today: LocalDate, startDay: number, endDay: number): WindowState {
  const here = { y: today.y, m: today.m };
  const crosses = startDay > endDay;
  // Candidate windows: the one starting last month, this month and next month; pick by date.
  const windows = [-1, 0, 1].map((k) => {
    const sm = addMonths(here.y, here.m, k);
    const start = onDay(sm, startDay);
    const end = onDay(crosses ? addMonths(sm.y, sm.m, 1) : sm, endDay);
    return { start, end };
  });
  const t = dayNumber(today);
  const cur = windows.find((w) => dayNumber(w.start) <= t && t <= dayNumber(w.end));
  if (cur) return { open: true, start: fmt(cur.start), end: fmt(cur.end), due: fmt(cur.end), periodStart: cur.start };
  const next = windows.find((w) => dayNumber(w.start) > t)!;
  const last = [...windows].reverse().find((w) => dayNumber(w.end) < t)!;
  return { open: false, opensOn: fmt(next.start), opensInDays: dayNumber(next.start) - t, lastStart: last.start, last: { start: fmt(last.start), end: fmt(last.end) } };
}

/** The collection period (its first day) a reading entered today belongs to: the open window, else the last one. */
export const periodOf = (w: WindowState): LocalDate => (w.open ? w.periodStart : w.lastStart);

export interface Period { today: LocalDate; window: WindowState; time: Date }

/**
 * Where "now" falls for a meter: its window and the instant its period's readings are dated (local
 * midnight of the window's first day, so every entry of one window is one instant). The entry's
 * dating (readings/judge.ts entryInstant) and the residents' "submitted this period" both use it.
 */
export function periodFor(now: Date, timezone: string, s: Pick<CollectionSettings, 'window_start_day' | 'window_end_day'>): Period {
  const today = localDate(now, timezone);
  const window = windowState(today, s.window_start_day, s.window_end_day);
  return { today, window, time: localMidnight(periodOf(window), timezone) };
}

export interface PriorReading { time: Date; value: number }

/** What the average and the high-consumption warning need of a meter's readings (the judge has the meter itself). */
export interface MeterFacts {
  /** The latest reading before this period (current version); a new meter: its installation reading. */
  previous: PriorReading | null;
  /** The earliest reading in the 3 months before `previous`, for the average. */
  earliestInThreeMonths: PriorReading | null;
  /** Register digits (rollover at 10^N), when known: a lower value may then be the register passing zero. */
  registerDigits?: number | null;
}

const MONTH_MS = 30.44 * 86_400_000;

/**
 * Average monthly consumption over the 3 months before the previous reading, or null when there is
 * less than 2 months of history to average (then no warning is given rather than a noisy one).
 */
export function averageMonthly(f: MeterFacts): number | null {
  const { previous: p, earliestInThreeMonths: e } = f;
  if (!p || !e) return null;
  const months = (p.time.getTime() - e.time.getTime()) / MONTH_MS;
  if (months < 1.9) return null; // "≥ 2 months", with slack for window days moving between months
  // The same register arithmetic as billing's (vee/register.ts): a rollover in between counts as wrapped.
  const c = consumptionBetween(e, p, { registerDigits: f.registerDigits ?? null });
  return c.decreased ? null : c.consumption / months;
}

/**
 * The high-consumption warning (its English sentence about `meterName` and its values), or null.
 * Compares the monthly rate since the previous reading.
 */
export function highConsumptionWarning(meterName: string, consumption: number, readingTime: Date, f: MeterFacts, factor: number): { message: string; params: { consumption: number; factor: number; average: number } } | null {
  const avg = averageMonthly(f);
  if (avg === null || avg <= 0 || !f.previous) return null;
  const months = Math.max(1, (readingTime.getTime() - f.previous.time.getTime()) / MONTH_MS);
  const rate = consumption / months;
  if (rate <= factor * avg) return null;
  return {
    message: `${meterName}: consumption ${round(consumption)} is more than ${factor}× the average of the last 3 months (${round(avg)} a month); confirm to save`,
    params: { consumption: round(consumption), factor, average: round(avg) },
  };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

export interface MeterSummaryInput { window: WindowState; submitted: boolean; enabled: boolean }

export type Summary =
  | { state: 'open'; submitted: number; total: number; due: string; text: string }
  | { state: 'closed'; submitted: number; total: number; opensOn: string | null; opensInDays: number | null; text: string };

/** The resident's home widget: "k of N meters submitted, due by DATE" or "opens in N days". */
export function summarise(meters: MeterSummaryInput[]): Summary {
  const live = meters.filter((m) => m.enabled);
  const open = live.filter((m) => m.window.open);
  if (open.length > 0) {
    const submitted = open.filter((m) => m.submitted).length;
    const due = open.map((m) => (m.window.open ? m.window.due : '')).sort()[0];
    const text = submitted === open.length ? `readings submitted (${submitted} of ${open.length})` : `${submitted} of ${open.length} meters submitted, due by ${due}`;
    return { state: 'open', submitted, total: open.length, due, text };
  }
  const next = live.map((m) => (m.window.open ? null : m.window)).filter((w) => w !== null).sort((a, b) => a.opensInDays - b.opensInDays)[0];
  return {
    state: 'closed', submitted: 0, total: live.length, opensOn: next?.opensOn ?? null, opensInDays: next?.opensInDays ?? null,
    text: next ? `opens in ${next.opensInDays} days` : 'no readings are collected',
  };
}
