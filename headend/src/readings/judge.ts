/**
 * The rules every written reading passes, pure: no clock, no database. The store loads the facts
 * (write-store.ts), this module judges one reading, write.ts writes what passed. Every path that writes
 * readings — residents, staff and inspectors, imports and exchange, corrections, estimates,
 * replacements — comes through here, so a rule cannot be applied by one path and forgotten by another.
 *
 * In the order a person wants to hear them:
 *   1. rights: the source needs its permission; a reading dated outside the collection window needs
 *      the outside-window privilege (residents never have it);
 *   2. the meter: active (or removed after the instant), verification not expired, collection of the
 *      resource enabled;
 *   3. the instant: not in the future beyond a small clock skew, not before the meter was installed,
 *      not after it was removed; a window entry is dated at the window's start (its month's reading,
 *      see docs/billing.md "whose month a reading is"), a privileged entry outside the window when it
 *      was taken;
 *   4. the value: a non-negative number, whole where the building wants whole numbers, that fits the
 *      register's digits;
 *   5. neighbours: not below the previous reading nor above the next one — unless the one rollover
 *      rule (vee/register.ts: the register's digits, and the meter's usual monthly use) makes a
 *      rollover plausible, and then only when a person confirms it;
 *   6. plausibility: a first reading far above what the premise could have used needs confirmation;
 *      consumption far above the meter's average needs confirmation;
 *   7. versioning: a reading made by a replacement changes only through the replacement; a resident's
 *      entry where staff already took the reading is refused with the staff's value; the same value
 *      sent again for the same instant by the same kind of writer (a phone or an office screen that
 *      lost the answer and resends) is "unchanged": no new version, the stored one is the answer.
 */
import { registerModulus, rolloverConsumption, ROLLOVER_MAX_SHARE } from '../vee/register.js';
import { averageMonthly, fmt, highConsumptionWarning, localDate, periodFor, windowState, type CollectionSettings, type PriorReading } from '../collection/rules.js';

/** Where a written reading comes from. 'estimate' fills a gap; 'telemetry' does not come through here (ingest). */
export type WriteSource = 'resident' | 'staff' | 'import' | 'estimate';

/** What the caller may do, decided once from the principal (write.ts rightsFor). */
export interface WriteRights {
  /** May write readings of this source at all. */
  write: boolean;
  /** readings:enter_outside_window. */
  outsideWindow: boolean;
  /** readings:correct — a new version where a reading already exists at the instant. */
  correct: boolean;
}

/** Allowed clock skew of a reading's time ahead of the head-end's clock. */
export const FUTURE_SKEW_MS = 5 * 60_000;
/** Nothing was metered by this system before this date: older times are typos (0026 for 2026). */
export const EARLIEST_READING = new Date('1990-01-01T00:00:00Z');

export interface MeterForWrite {
  id: number;
  /** How people name the meter (its serial): refusals say it, never the internal id. */
  serial?: string | null;
  resource: string;
  placement: string;
  status: string;
  zones: number;
  registerDigits: number | null;
  /** YYYY-MM-DD in the building's time zone, or null when not known. */
  installedOn: string | null;
  decommissionedOn: string | null;
  nextVerificationOn: string | null;
  timezone: string;
}

export interface NeighbourFacts {
  /** The counting reading before the instant (or the installation reading of a replacement). */
  previous: PriorReading | null;
  /** The counting reading after the instant, if any. */
  next: PriorReading | null;
  /** The earliest reading in the 3 months before `previous`, for the average. */
  earliestInThreeMonths: PriorReading | null;
  /** The current version at exactly this instant, if one exists. */
  atInstant: { value: number | null; source: string; version: number } | null;
  /** A staff/import reading at this instant (a resident's entry there would not count). */
  staffAtInstant: { value: number } | null;
  /** The replacement whose removal/installation reading is at this instant. */
  replacementAtInstant: { id: number; which: 'removal' | 'installation' } | null;
  /** What the premise could plausibly have used in a month (norm × residents, or the resource's default). */
  plausibleMonthly: number;
}

export interface ReadingRequest {
  value: number;
  /** Explicit instant (import date, staff-given time, correction, estimate); absent: dated by the window rule. */
  time?: Date;
  /** A correction of the reading at `time`: a new version where one exists. */
  correction?: boolean;
  /** The replacement writing its own readings (the only path that may write at a replacement's instant). */
  byReplacement?: boolean;
  /**
   * What the quantity is (@amr/protocols QUANTITIES): a cumulative register (default), an amount within
   * one archive record (an hour's or a day's heat: 'interval') or an instantaneous value (a temperature,
   * a flow: 'instant'). Only a register is checked against its neighbours, its digits, rollover and the
   * consumption it implies: a day's heat below the previous day's is no decrease, and a corrected mean
   * temperature may be below zero.
   */
  kind?: 'register' | 'interval' | 'instant';
}

export interface JudgeContext {
  source: WriteSource;
  rights: WriteRights;
  now: Date;
  settings: CollectionSettings;
  confirmed: boolean;
  /**
   * An identical value at the instant is unchanged whoever stored it (a file import read again). Without
   * it, only when the stored version came from the same source (a resend).
   */
  skipUnchanged?: boolean;
}

/** The values a page words a refusal or warning with (web-shared/errors.js), beside the English sentence. */
export type NoticeParams = Record<string, string | number | boolean | null>;

/** A value that needs a person's confirmation: its code, the values to say it, and the English sentence. */
export interface Notice { code: WarningCode; params: NoticeParams; message: string }

export type Judgement =
  | { ok: false; reason: string; code: RefusalCode; params: NoticeParams }
  | { ok: true; time: Date; consumption: number | null; via: 'plain' | 'rollover' | null; warnings: Notice[]; unchanged: boolean };

export const REFUSAL_CODES = [
  'forbidden', 'window_closed', 'outside_window', 'disabled', 'inactive', 'verification_expired', 'future', 'implausible_date', 'before_installation',
  'after_removal', 'not_a_number', 'not_integer', 'too_many_digits', 'below_previous', 'above_next', 'taken_by_staff',
  'replacement_reading', 'not_found', 'zone', 'duplicate', 'taken_too_long_ago',
] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

/** Values that are saved only when a person confirms them (409 confirmation_required). */
export const WARNING_CODES = ['rollover', 'rollover_next', 'first_reading_high', 'high_consumption'] as const;
export type WarningCode = (typeof WARNING_CODES)[number];

/** The field of the request a refusal is about (error details name it). */
export const REFUSAL_FIELD: Record<RefusalCode, 'meter' | 'time' | 'value' | 'zone'> = {
  forbidden: 'meter', window_closed: 'time', outside_window: 'time', disabled: 'meter', inactive: 'meter', verification_expired: 'meter',
  future: 'time', implausible_date: 'time', before_installation: 'time', after_removal: 'time', not_a_number: 'value', not_integer: 'value', too_many_digits: 'value',
  below_previous: 'value', above_next: 'value', taken_by_staff: 'value', replacement_reading: 'time', not_found: 'time', zone: 'zone', duplicate: 'meter',
  taken_too_long_ago: 'time',
};

const refuse = (code: RefusalCode, reason: string, params: NoticeParams): Judgement => ({ ok: false, code, reason, params });

/** "meter SN-1234" in an English sentence; a meter without a serial is just "the meter" (never its id). */
export const meterName = (m: Pick<MeterForWrite, 'serial'>): string => (m.serial ? `meter ${m.serial}` : 'the meter');
const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** The instant a window entry (no explicit time) is dated, and whether it is outside the window. */
export function entryInstant(now: Date, timezone: string, s: CollectionSettings): { time: Date; inWindow: boolean } {
  const p = periodFor(now, timezone, s);
  // In the window: the window's start, so every entry of one window is one instant (re-entries are
  // versions) and billing attributes it to the window's month. Outside it (privileged): when taken.
  return p.window.open ? { time: p.time, inWindow: true } : { time: now, inWindow: false };
}

/**
 * Whether an explicit instant counts as taken in the window: inside a collection window (in the
 * building's time zone) AND in the current one — the open window, or while closed the last one (a
 * phone that synced late). An earlier window's month was billed: dating a reading back into it
 * rewrites a settled month, so it needs the outside-window privilege like any other date.
 */
export function insideWindow(time: Date, now: Date, timezone: string, s: CollectionSettings): boolean {
  if (!windowState(localDate(time, timezone), s.window_start_day, s.window_end_day).open) return false;
  return time.getTime() >= periodFor(now, timezone, s).time.getTime();
}

/**
 * Consumption from `prev` to `cur` on one register: plain when not decreasing; a rollover past zero
 * only where the one rollover rule (vee/register.ts rolloverConsumption, as validation and billing
 * count it) finds it plausible: the wrapped amount small against the register's range and, when the
 * meter's usual monthly consumption is known, against that over the time elapsed.
 */
export function registerStep(prev: number, cur: number, registerDigits: number | null, usualMonthly?: number | null, elapsedMs?: number): { consumption: number; via: 'plain' | 'rollover' } | null {
  if (cur >= prev) return { consumption: cur - prev, via: 'plain' };
  const wrapped = rolloverConsumption(prev, cur, registerDigits, usualMonthly, elapsedMs);
  return wrapped === null ? null : { consumption: wrapped, via: 'rollover' };
}

/**
 * Why a decrease is not read as a rollover, for the refusal: the digits are not known, or the wrap
 * would be small against the register but far above what this meter usually uses (a typo, a fault or
 * an unrecorded replacement: a person decides). Empty when the wrap is simply too large.
 */
function noRolloverNote(prev: number, cur: number, registerDigits: number | null, usualMonthly: number | null): { note: string; params: NoticeParams } {
  const modulus = registerModulus(registerDigits);
  if (modulus === null) return { note: ' (the register\'s digits are not known, so a rollover cannot be told from a typo)', params: { why: 'digits_unknown' } };
  const wrapped = modulus - prev + cur;
  if (usualMonthly === null || usualMonthly <= 0 || wrapped < 0 || wrapped > modulus * ROLLOVER_MAX_SHARE) return { note: '', params: {} };
  return {
    note: ` (read as the ${registerDigits}-digit register rolling over zero it would be ${r3(wrapped)}, far more than this meter's usual ${r3(usualMonthly)} a month; check the value, or record the meter's replacement)`,
    params: { why: 'rollover_implausible', digits: registerDigits, wrapped: r3(wrapped), usual: r3(usualMonthly) },
  };
}

const MONTH_MS = 30.44 * 86_400_000;
/** A meter's service life when its installation date is unknown: 15 years. */
export const UNKNOWN_SERVICE_MONTHS = 180;

/**
 * How long an entry may wait on a phone without signal (a basement, a dead zone) and still be dated by
 * when it was taken: three days covers a weekend; older entries are entered again, or with an explicit
 * time by someone allowed to enter outside the window.
 */
export const MAX_QUEUED_MS = 72 * 3_600_000;

/**
 * A queued entry — taken on a phone at `takenAt`, sent when the signal returned — is dated as if it had
 * been sent when taken: the window rule applied at `takenAt`. A reading typed on the 25th at 23:50 and
 * sent on the 26th belongs to the window it was taken in, not to "window closed". `takenAt` comes from
 * the phone's clock, so it is bounded: not ahead of the head-end's clock (skew allowed), not older than
 * MAX_QUEUED_MS.
 */
export function queuedEntryInstant(takenAt: Date, now: Date, timezone: string, s: CollectionSettings):
  { time: Date; inWindow: boolean } | { code: RefusalCode; reason: string; params: NoticeParams } {
  if (takenAt.getTime() > now.getTime() + FUTURE_SKEW_MS) {
    return { code: 'future', reason: `taken at ${takenAt.toISOString()}, which is ahead of the server's clock (${now.toISOString()}); check the phone's date and time`, params: { time: takenAt.toISOString(), now: now.toISOString() } };
  }
  if (now.getTime() - takenAt.getTime() > MAX_QUEUED_MS) {
    return { code: 'taken_too_long_ago', reason: `taken at ${takenAt.toISOString()}, more than ${MAX_QUEUED_MS / 3_600_000} h before it was sent; enter the reading again`, params: { time: takenAt.toISOString(), hours: MAX_QUEUED_MS / 3_600_000 } };
  }
  const at = entryInstant(takenAt, timezone, s);
  // Outside the window the entry is dated when taken, to the minute: the same entry sent again (its
  // answer lost) measures its wait again with a few ms of network delay, and must land on the same
  // instant to be answered as unchanged rather than stored twice.
  return at.inWindow ? at : { time: new Date(Math.floor(at.time.getTime() / 60_000) * 60_000), inWindow: false };
}

/**
 * A phone's clock may be wrong by hours or days (set by hand, no network time in a basement), but the
 * time between taking an entry and sending it is measured on that one clock. With both instants from
 * the phone, the entry was taken `sentAt − takenAt` before the head-end received it: that elapsed time,
 * on the head-end's clock, is the instant judged. Without `sentAt`, `takenAt` is taken as it is.
 */
export function takenOnServerClock(takenAt: Date, sentAt: Date | undefined, now: Date): Date {
  return sentAt ? new Date(now.getTime() - (sentAt.getTime() - takenAt.getTime())) : takenAt;
}

/** Judge one reading. `time` comes from the request or the window rule; facts are about that instant. */
export function judgeReading(req: ReadingRequest, m: MeterForWrite, f: NeighbourFacts, c: JudgeContext, time: Date, inWindow: boolean): Judgement {
  const id = meterName(m);
  const serial = m.serial ?? null;
  const manual = c.source !== 'estimate';
  // 1. rights
  if (!c.rights.write) return refuse('forbidden', `${id}: you may not write ${c.source} readings`, { serial, source: c.source });
  if (manual && !inWindow && !req.correction && !req.byReplacement) {
    if (c.source === 'resident' || !c.rights.outsideWindow) {
      const w = windowState(localDate(c.now, m.timezone), c.settings.window_start_day, c.settings.window_end_day);
      const days = `days ${c.settings.window_start_day}–${c.settings.window_end_day}`;
      if (!req.time) {
        const last = w.open ? '' : `last ${w.last.start} – ${w.last.end}; next opens ${w.opensOn}, `;
        return refuse('window_closed', `${id}: the collection window is closed (${last}${days})`, {
          serial, start_day: c.settings.window_start_day, end_day: c.settings.window_end_day,
          ...(w.open ? {} : { last_start: w.last.start, last_end: w.last.end, opens_on: w.opensOn }),
        });
      }
      return refuse('outside_window', `${id}: a reading dated ${fmt(localDate(time, m.timezone))} is outside the current collection window (${days}, the one open now or last closed); entering it needs the privilege "readings:enter_outside_window"`,
        { serial, date: fmt(localDate(time, m.timezone)), start_day: c.settings.window_start_day, end_day: c.settings.window_end_day });
    }
  }
  if (req.correction && !c.rights.correct) return refuse('forbidden', `${id}: correcting a reading needs the permission "readings:correct"`, { serial, permission: 'readings:correct' });
  // 2. the meter
  if (manual && !c.settings.enabled && !req.byReplacement) return refuse('disabled', `${id}: collection of readings for this resource is disabled in this building`, { serial, resource: m.resource });
  if (m.status !== 'active' && m.status !== 'removed') return refuse('inactive', `${id}: is ${m.status}`, { serial, status: m.status });
  const day = fmt(localDate(time, m.timezone));
  if (manual && !req.correction && !req.byReplacement && m.nextVerificationOn && m.nextVerificationOn < day && !c.settings.accept_expired_verification) {
    return refuse('verification_expired', `${id}: verification expired on ${m.nextVerificationOn}; readings of this meter are not accepted`, { serial, date: m.nextVerificationOn });
  }
  // 3. the instant
  if (time.getTime() > c.now.getTime() + FUTURE_SKEW_MS) return refuse('future', `${id}: ${time.toISOString()} is in the future; a reading is dated when it was taken`, { serial, time: time.toISOString() });
  if (time < EARLIEST_READING) return refuse('implausible_date', `${id}: ${time.toISOString()} is not a plausible date of a reading; check the year`, { serial, time: time.toISOString() });
  if (m.installedOn && day < m.installedOn) return refuse('before_installation', `${id}: ${day} is before the meter was installed (${m.installedOn})`, { serial, date: day, installed_on: m.installedOn });
  if (m.decommissionedOn && day > m.decommissionedOn) return refuse('after_removal', `${id}: ${day} is after the meter was removed (${m.decommissionedOn})`, { serial, date: day, removed_on: m.decommissionedOn });
  if (m.status === 'removed' && !m.decommissionedOn && !req.correction) return refuse('inactive', `${id}: is removed`, { serial, status: 'removed' });
  // 4. the value
  const v = req.value;
  const register = (req.kind ?? 'register') === 'register';
  if (!Number.isFinite(v) || (v < 0 && req.kind !== 'instant')) return refuse('not_a_number', `${id}: a reading is a non-negative number (got ${v})`, { serial, value: Number.isFinite(v) ? v : String(v) });
  if (manual && c.settings.integer_only && !Number.isInteger(v)) return refuse('not_integer', `${id}: only whole numbers are accepted (got ${v})`, { serial, value: v });
  const modulus = register ? registerModulus(m.registerDigits) : null;
  if (modulus !== null && v >= modulus) return refuse('too_many_digits', `${id}: ${v} does not fit the register's ${m.registerDigits} digits (at most ${modulus - 1}); check the value`, { serial, value: v, digits: m.registerDigits, max: modulus - 1 });
  // 7. (before the neighbours: who may write at this instant at all)
  if (f.replacementAtInstant && !req.byReplacement) {
    const r = f.replacementAtInstant;
    // The replacement's id is a reference for API clients (the PATCH to call); the pages' text does not show it.
    return refuse('replacement_reading', `${id}: the reading at ${time.toISOString()} is the ${r.which} reading of replacement ${r.id}; correct it through the replacement: PATCH /replacements/${r.id} with ${r.which}_reading and reason`,
      { serial, which: r.which, time: time.toISOString(), replacement_id: r.id });
  }
  if (c.source === 'resident' && f.staffAtInstant) {
    return refuse('taken_by_staff', `${id}: this period's reading was already taken by the managing organisation (${f.staffAtInstant.value}); to dispute it, contact the office`, { serial, value: f.staffAtInstant.value });
  }
  if (req.correction && !f.atInstant) return refuse('not_found', `${id}: there is no reading at ${time.toISOString()} to correct`, { serial, time: time.toISOString() });
  if (isResend(req, f, c, v)) {
    // Already stored as it is: nothing to confirm again, no new version (the caller answers with the stored one).
    const step = f.previous && register ? registerStep(f.previous.value, v, m.registerDigits) : null;
    return { ok: true, time, consumption: step?.consumption ?? null, via: step?.via ?? null, warnings: [], unchanged: true };
  }
  // Not a register: no neighbours to be above or below, no consumption to judge.
  if (!register) return { ok: true, time, consumption: null, via: null, warnings: [], unchanged: false };
  // 5. neighbours
  const warnings: Notice[] = [];
  let consumption: number | null = null;
  let via: 'plain' | 'rollover' | null = null;
  // The meter's usual monthly consumption (the 3 months before the previous reading) bounds a plausible rollover.
  const usual = f.previous ? averageMonthly({ previous: f.previous, earliestInThreeMonths: f.earliestInThreeMonths, registerDigits: m.registerDigits }) : null;
  if (f.previous) {
    const step = registerStep(f.previous.value, v, m.registerDigits, usual, time.getTime() - f.previous.time.getTime());
    if (!step) {
      const prevOn = f.previous.time.toISOString().slice(0, 10);
      const why = noRolloverNote(f.previous.value, v, m.registerDigits, usual);
      return refuse('below_previous', `${id}: ${v} is less than the previous reading ${f.previous.value} of ${prevOn}${why.note}`,
        { serial, value: v, previous: f.previous.value, previous_time: f.previous.time.toISOString(), ...why.params });
    }
    consumption = step.consumption;
    via = step.via;
    if (step.via === 'rollover') {
      warnings.push({
        code: 'rollover', params: { serial, value: v, previous: f.previous.value, digits: m.registerDigits, consumption: r3(step.consumption) },
        message: `${id}: ${v} is below the previous reading ${f.previous.value}; read as the ${m.registerDigits}-digit register rolling over zero, consumption ${r3(step.consumption)}; confirm to save`,
      });
    }
  }
  if (f.next) {
    const step = registerStep(v, f.next.value, m.registerDigits, usual, f.next.time.getTime() - time.getTime());
    if (!step) {
      return refuse('above_next', `${id}: ${v} is more than the next reading ${f.next.value} of ${f.next.time.toISOString().slice(0, 10)}`,
        { serial, value: v, next: f.next.value, next_time: f.next.time.toISOString() });
    }
    if (step.via === 'rollover') {
      warnings.push({ code: 'rollover_next', params: { serial, value: v, next: f.next.value }, message: `${id}: ${v} is above the next reading ${f.next.value}; that would be a rollover of the register; confirm to save` });
    }
  }
  // 6. plausibility
  if (!f.previous) {
    // Since installation; a meter whose installation is not recorded may have counted for a whole
    // service life (UNKNOWN_SERVICE_MONTHS): only a value no flat could reach in that time is queried.
    const months = m.installedOn ? Math.max(1, (time.getTime() - Date.parse(`${m.installedOn}T00:00:00Z`)) / MONTH_MS) : UNKNOWN_SERVICE_MONTHS;
    const limit = f.plausibleMonthly * months * 3;
    if (v > limit) {
      warnings.push({
        code: 'first_reading_high', params: { serial, value: v, limit: r3(limit) },
        message: `${id}: first reading ${v} is more than this premise could have used since installation (about ${r3(limit)}); check the value and confirm`,
      });
    }
  } else if (consumption !== null && via === 'plain' && manual) {
    const w = highConsumptionWarning(id, consumption, time, { previous: f.previous, earliestInThreeMonths: f.earliestInThreeMonths, registerDigits: m.registerDigits }, c.settings.warn_factor);
    if (w) warnings.push({ code: 'high_consumption', params: { serial, ...w.params }, message: w.message });
  }
  return { ok: true, time, consumption, via, warnings, unchanged: false };
}

/** The source a written reading is stored with (an estimate is stored as the staff's). */
const storedSource = (s: WriteSource) => (s === 'estimate' ? 'staff' : s);

/**
 * The same value at the same instant, already the current version: by the same source (a resident's
 * or the office's resend), or by anyone when the caller re-reads a file (skipUnchanged). A correction
 * and a replacement's own reading always write: they are deliberate.
 */
function isResend(req: ReadingRequest, f: NeighbourFacts, c: JudgeContext, v: number): boolean {
  if (req.correction || req.byReplacement || !f.atInstant || f.atInstant.value !== v) return false;
  return !!c.skipUnchanged || f.atInstant.source === storedSource(c.source);
}
