/**
 * The readings core's pure judge, case by case as an auditor, an inspector and a careless office would
 * try it. Every instant is fixed (Europe/Moscow = UTC+3, no DST); nothing reads today's date.
 */
import { describe, expect, it } from 'vitest';
import { entryInstant, insideWindow, judgeReading, registerStep, type JudgeContext, type MeterForWrite, type NeighbourFacts } from '../../src/readings/judge.js';
import { DEFAULT_SETTINGS } from '../../src/collection/rules.js';
import { rolloverConsumption } from '../../src/vee/register.js';

const TZ = 'Europe/Moscow';
const meter = (over: Partial<MeterForWrite> = {}): MeterForWrite => ({
  id: 7, serial: 'SN-7', resource: 'hot_water', placement: 'apartment', status: 'active', zones: 1, registerDigits: 5, installedOn: '2020-01-15',
  decommissionedOn: null, nextVerificationOn: null, timezone: TZ, ...over,
});
const facts = (over: Partial<NeighbourFacts> = {}): NeighbourFacts => ({
  previous: null, next: null, earliestInThreeMonths: null, atInstant: null, staffAtInstant: null, replacementAtInstant: null, plausibleMonthly: 8, ...over,
});
const at = (iso: string) => new Date(iso);
const ctx = (over: Partial<JudgeContext> = {}): JudgeContext => ({
  source: 'staff', rights: { write: true, outsideWindow: false, correct: false }, now: at('2026-11-20T09:00:00Z'),
  settings: { ...DEFAULT_SETTINGS, window_start_day: 15, window_end_day: 25 }, confirmed: false, ...over,
});

describe('register step: rollover only where the digits make it plausible', () => {
  it('5 digits: 99 996.5 → 2.5 is a rollover of 6.0 m³ (100 000 − 99 996.5 + 2.5)', () => {
    expect(registerStep(99_996.5, 2.5, 5)).toEqual({ consumption: 6, via: 'rollover' });
  });
  it('8 digits: 99 999 990 → 15 is 25 kWh (100 000 000 − 99 999 990 + 15)', () => {
    expect(registerStep(99_999_990, 15, 8)).toEqual({ consumption: 25, via: 'rollover' });
  });
  it('5 digits: 5 000 → 10 would be 95 010 m³ — more than a tenth of the register: a typo, not a rollover', () => {
    expect(registerStep(5_000, 10, 5)).toBeNull();
  });
  it('digits unknown: any decrease is refused, never guessed', () => {
    expect(registerStep(99_996.5, 2.5, null)).toBeNull();
  });
  it('equal is zero consumption', () => {
    expect(registerStep(110, 110, 5)).toEqual({ consumption: 0, via: 'plain' });
  });
});

describe('whose instant: the window dates an entry at its start, outside it when taken', () => {
  const s = { ...DEFAULT_SETTINGS, window_start_day: 15, window_end_day: 25 };
  it('20 Nov 12:00 Moscow, window 15–25: dated 15 Nov 00:00 Moscow = 14 Nov 21:00 UTC', () => {
    const e = entryInstant(at('2026-11-20T09:00:00Z'), TZ, s);
    expect(e.inWindow).toBe(true);
    expect(e.time.toISOString()).toBe('2026-11-14T21:00:00.000Z');
  });
  it('6 Dec (closed): dated when taken, not at the last window 15 Nov', () => {
    const now = at('2026-12-06T08:00:00Z');
    const e = entryInstant(now, TZ, s);
    expect(e.inWindow).toBe(false);
    expect(e.time).toEqual(now);
  });
  it('31 Dec 23:30 Moscow is still December there (20:30 UTC); a window 25–5 is open and started 25 Dec', () => {
    const e = entryInstant(at('2027-12-31T20:30:00Z'), TZ, { ...s, window_start_day: 25, window_end_day: 5 });
    expect(e.inWindow).toBe(true);
    expect(e.time.toISOString()).toBe('2027-12-24T21:00:00.000Z');
  });
  it('29 Feb 2028 with a window 25–31: the window ends on the 29th (clamped), so the 29th is inside', () => {
    const leap = at('2028-02-29T12:00:00Z');
    expect(insideWindow(at('2028-02-29T10:00:00Z'), leap, TZ, { ...s, window_start_day: 25, window_end_day: 31 })).toBe(true);
    expect(insideWindow(at('2028-03-01T10:00:00Z'), at('2028-03-01T12:00:00Z'), TZ, { ...s, window_start_day: 25, window_end_day: 31 })).toBe(false);
  });
  it('an explicit time at 14 Nov 22:00 UTC is 15 Nov 01:00 in Moscow: inside the window 15–25', () => {
    const nov20 = at('2026-11-20T09:00:00Z');
    expect(insideWindow(at('2026-11-14T22:00:00Z'), nov20, TZ, s)).toBe(true);
    expect(insideWindow(at('2026-11-14T20:00:00Z'), nov20, TZ, s)).toBe(false);
  });
  it("only the current window counts: on 6 Dec (closed) November's window still does (a late sync); October's is a settled month", () => {
    const dec6 = at('2026-12-06T08:00:00Z');
    expect(insideWindow(at('2026-11-20T09:00:00Z'), dec6, TZ, s)).toBe(true);
    expect(insideWindow(at('2026-10-20T09:00:00Z'), dec6, TZ, s)).toBe(false);
    // 20 Nov with the window open: October's window is the previous one, no longer current.
    expect(insideWindow(at('2026-10-20T09:00:00Z'), at('2026-11-20T09:00:00Z'), TZ, s)).toBe(false);
  });
});

describe('the judge', () => {
  const inWin = at('2026-11-14T21:00:00Z');

  it('an operator without the privilege cannot date a reading outside the window; with it, can', () => {
    const t = at('2026-12-06T08:00:00Z');
    const no = judgeReading({ value: 120, time: t }, meter(), facts(), ctx({ now: t }), t, false);
    expect(no).toMatchObject({ ok: false, code: 'outside_window' });
    expect(!no.ok && no.reason).toContain('readings:enter_outside_window');
    const yes = judgeReading({ value: 120, time: t }, meter(), facts({ previous: { time: inWin, value: 115 } }), ctx({ now: t, rights: { write: true, outsideWindow: true, correct: false } }), t, false);
    expect(yes).toMatchObject({ ok: true, consumption: 5 });
  });

  it('a resident never enters outside the window, whatever the rights say', () => {
    const t = at('2026-12-06T08:00:00Z');
    const r = judgeReading({ value: 120 }, meter(), facts(), ctx({ source: 'resident', now: t, rights: { write: true, outsideWindow: true, correct: false } }), t, false);
    expect(r).toMatchObject({ ok: false, code: 'window_closed' });
  });

  it('below the previous reading is refused naming both values and the date', () => {
    const r = judgeReading({ value: 95 }, meter({ registerDigits: null }), facts({ previous: { time: at('2026-10-14T21:00:00Z'), value: 100 } }), ctx(), inWin, true);
    expect(r).toMatchObject({ ok: false, code: 'below_previous', params: { serial: 'SN-7', value: 95, previous: 100, previous_time: '2026-10-14T21:00:00.000Z', why: 'digits_unknown' } });
    expect(!r.ok && r.reason).toBe("meter SN-7: 95 is less than the previous reading 100 of 2026-10-14 (the register's digits are not known, so a rollover cannot be told from a typo)");
  });

  it('a 5-digit rollover 99 996.5 → 2.5 needs a person to confirm it, and then counts 6 m³', () => {
    const r = judgeReading({ value: 2.5 }, meter(), facts({ previous: { time: at('2026-10-14T21:00:00Z'), value: 99_996.5 } }), ctx(), inWin, true);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.consumption).toBe(6);
    expect(r.via).toBe('rollover');
    expect(r.warnings[0].message).toContain('rolling over zero, consumption 6');
  });

  it('above the next reading is refused (it would make the next period negative)', () => {
    const t = at('2026-11-01T09:00:00Z');
    const r = judgeReading({ value: 120, time: t }, meter(), facts({ previous: { time: at('2026-10-14T21:00:00Z'), value: 110 }, next: { time: inWin, value: 115 } }),
      ctx({ rights: { write: true, outsideWindow: true, correct: false } }), t, false);
    expect(r).toMatchObject({ ok: false, code: 'above_next' });
  });

  it('a time beyond 5 minutes ahead of the clock is refused; 4 minutes is clock skew', () => {
    const now = at('2026-11-20T09:00:00Z');
    const rights = { write: true, outsideWindow: true, correct: false };
    expect(judgeReading({ value: 1, time: at('2026-11-20T09:06:00Z') }, meter(), facts(), ctx({ now, rights }), at('2026-11-20T09:06:00Z'), true)).toMatchObject({ ok: false, code: 'future' });
    expect(judgeReading({ value: 1, time: at('2026-11-20T09:04:00Z') }, meter(), facts(), ctx({ now, rights }), at('2026-11-20T09:04:00Z'), true)).toMatchObject({ ok: true });
    expect(judgeReading({ value: 1, time: at('9999-01-01T00:00:00Z') }, meter(), facts(), ctx({ now, rights }), at('9999-01-01T00:00:00Z'), true)).toMatchObject({ ok: false, code: 'future' });
  });

  it('before the meter was installed is refused', () => {
    const t = at('2019-12-20T09:00:00Z');
    expect(judgeReading({ value: 1, time: t }, meter(), facts(), ctx({ rights: { write: true, outsideWindow: true, correct: false } }), t, true)).toMatchObject({ ok: false, code: 'before_installation' });
  });

  it('a first reading of 99 999 999 kWh on a flat electricity meter needs confirmation; a value that does not fit 8 digits is refused', () => {
    const el = meter({ resource: 'electricity', registerDigits: 8, installedOn: '2025-11-15' });
    // plausible: 400 kWh a month × 12 months (installed a year before) × 3 = 14 400 kWh
    const r = judgeReading({ value: 99_999_999 }, el, facts({ plausibleMonthly: 400 }), ctx(), inWin, true);
    expect(r.ok && r.warnings[0].message).toContain('first reading 99999999 is more than this premise could have used since installation (about 14');
    const ok = judgeReading({ value: 4_210 }, el, facts({ plausibleMonthly: 400 }), ctx(), inWin, true);
    expect(ok).toMatchObject({ ok: true, warnings: [] });
    expect(judgeReading({ value: 100_000_000 }, el, facts(), ctx(), inWin, true)).toMatchObject({ ok: false, code: 'too_many_digits' });
  });

  it('installation not recorded: an old meter may have counted for 15 years — 25 000 kWh passes, 99 999 999 does not', () => {
    const el = meter({ resource: 'electricity', registerDigits: 8, installedOn: null });
    // 400 kWh a month × 180 months × 3 = 216 000 kWh
    expect(judgeReading({ value: 25_000 }, el, facts({ plausibleMonthly: 400 }), ctx(), inWin, true)).toMatchObject({ ok: true, warnings: [] });
    const r = judgeReading({ value: 99_999_999 }, el, facts({ plausibleMonthly: 400 }), ctx(), inWin, true);
    expect(r.ok && r.warnings[0].message).toContain('(about 216000)');
  });

  it('a reading made by a replacement changes only through the replacement', () => {
    const r = judgeReading({ value: 106.5, time: inWin, correction: true }, meter(), facts({ atInstant: { value: 106.25, source: 'staff', version: 1 }, replacementAtInstant: { id: 3, which: 'removal' } }),
      ctx({ rights: { write: true, outsideWindow: true, correct: true } }), inWin, true);
    expect(r).toMatchObject({ ok: false, code: 'replacement_reading' });
    expect(!r.ok && r.reason).toContain('the removal reading of replacement 3; correct it through the replacement: PATCH /replacements/3');
  });

  it("a resident's entry where staff read the meter is refused with the staff's value", () => {
    const r = judgeReading({ value: 117 }, meter(), facts({ staffAtInstant: { value: 115 } }), ctx({ source: 'resident' }), inWin, true);
    expect(r).toMatchObject({ ok: false, code: 'taken_by_staff' });
    expect(!r.ok && r.reason).toContain('(115)');
  });

  it('a correction needs readings:correct and an existing reading at the instant', () => {
    expect(judgeReading({ value: 1, time: inWin, correction: true }, meter(), facts(), ctx(), inWin, true)).toMatchObject({ ok: false, code: 'forbidden' });
    expect(judgeReading({ value: 1, time: inWin, correction: true }, meter(), facts(), ctx({ rights: { write: true, outsideWindow: false, correct: true } }), inWin, true))
      .toMatchObject({ ok: false, code: 'not_found' });
  });

  it('integer-only buildings refuse 12.5; a disabled resource refuses everything', () => {
    expect(judgeReading({ value: 12.5 }, meter(), facts(), ctx({ settings: { ...ctx().settings, integer_only: true } }), inWin, true)).toMatchObject({ ok: false, code: 'not_integer' });
    expect(judgeReading({ value: 12 }, meter(), facts(), ctx({ settings: { ...ctx().settings, enabled: false } }), inWin, true)).toMatchObject({ ok: false, code: 'disabled' });
  });
});

describe('an entered value, case by case (what collection checked before the one judge)', () => {
  // Meter 7, 5 digits; the February window read 100 (15 Feb), November's 70 (15 Nov 2025): 30 m³ over
  // 92 days = 3.022 months, about 9.93 m³ a month. March's window reading is dated 15 Mar.
  const MARCH = at('2026-03-15T00:00:00Z');
  const mar20 = (over: Partial<JudgeContext> = {}) => ctx({ now: at('2026-03-20T09:00:00Z'), ...over });
  const hist = (over: Partial<NeighbourFacts> = {}) => facts({
    previous: { time: at('2026-02-15T00:00:00Z'), value: 100 }, earliestInThreeMonths: { time: at('2025-11-15T00:00:00Z'), value: 70 }, ...over,
  });
  const judge = (value: number, f = hist(), c = mar20(), m = meter()) => judgeReading({ value }, m, f, c, MARCH, true);

  it('accepts ≥ previous, zero consumption included; refuses a decrease naming the meter, the previous value and its date', () => {
    expect(judge(110)).toEqual({ ok: true, time: MARCH, consumption: 10, via: 'plain', warnings: [], unchanged: false });
    expect(judge(100)).toEqual({ ok: true, time: MARCH, consumption: 0, via: 'plain', warnings: [], unchanged: false });
    // 100 000 − 100 + 99.5 = 99 999.5 would be the wrap: far more than a tenth of the register, so no rollover.
    expect(judge(99.5)).toMatchObject({ ok: false, code: 'below_previous', reason: 'meter SN-7: 99.5 is less than the previous reading 100 of 2026-02-15' });
  });

  it('a resend of the stored value by the same source is unchanged (no confirmation asked again); by another source, or as a correction, it is a new version', () => {
    // 100 → 140 is 40 m³ against about 9.93 a month: a warning when new, none for the value already stored and confirmed.
    const stored = (source: string) => hist({ atInstant: { value: 140, source, version: 1 } });
    expect(judge(140, stored('staff'), mar20({ source: 'staff' }))).toEqual({ ok: true, time: MARCH, consumption: 40, via: 'plain', warnings: [], unchanged: true });
    expect(judge(140, stored('resident'), mar20({ source: 'resident' }))).toMatchObject({ ok: true, unchanged: true, warnings: [] });
    // Staff taking over the resident's value is the office's reading now: a version of its own.
    expect(judge(140, stored('resident'), mar20({ source: 'staff' }))).toMatchObject({ ok: true, unchanged: false });
    expect(judge(141, stored('staff'), mar20({ source: 'staff' }))).toMatchObject({ ok: true, unchanged: false });
    const corrector = mar20({ source: 'staff', rights: { write: true, outsideWindow: false, correct: true } });
    expect(judgeReading({ value: 140, correction: true }, meter(), stored('staff'), corrector, MARCH, true)).toMatchObject({ ok: true, unchanged: false });
    // A file read again: unchanged whoever stored the value.
    expect(judge(140, stored('telemetry'), mar20({ source: 'import', skipUnchanged: true }))).toMatchObject({ ok: true, unchanged: true });
  });

  it('a new meter compares with its installation reading (the store passes it as previous)', () => {
    const f = hist({ previous: { time: at('2026-03-01T00:00:00Z'), value: 0.5 }, earliestInThreeMonths: null });
    expect(judge(3, f)).toMatchObject({ ok: true, consumption: 2.5, warnings: [] });
    expect(judge(0, f)).toMatchObject({ ok: false, code: 'below_previous' });
  });

  it('integer-only', () => {
    const c = mar20({ settings: { ...ctx().settings, integer_only: true } });
    expect(judge(110.5, hist(), c)).toMatchObject({ ok: false, code: 'not_integer', reason: 'meter SN-7: only whole numbers are accepted (got 110.5)' });
    expect(judge(110, hist(), c)).toMatchObject({ ok: true });
  });

  it('outside the window (10 Mar): refused with the dates, unless the caller may enter outside it (then dated when taken)', () => {
    const now = at('2026-03-10T09:00:00Z');
    expect(judgeReading({ value: 110 }, meter(), hist(), ctx({ now }), now, false))
      .toMatchObject({ ok: false, code: 'window_closed', reason: 'meter SN-7: the collection window is closed (last 2026-02-15 – 2026-02-25; next opens 2026-03-15, days 15–25)' });
    const yes = judgeReading({ value: 110 }, meter(), hist(), ctx({ now, rights: { write: true, outsideWindow: true, correct: false } }), now, false);
    expect(yes).toMatchObject({ ok: true, time: now, consumption: 10 });
  });

  it('disabled resource and expired verification', () => {
    expect(judge(110, hist(), mar20({ settings: { ...ctx().settings, enabled: false } }))).toMatchObject({ ok: false, code: 'disabled' });
    // 15 Mar 00:00 UTC is 15 Mar in Moscow: after the verification date of 1 Mar.
    const m = meter({ nextVerificationOn: '2026-03-01' });
    expect(judge(110, hist(), mar20(), m)).toMatchObject({ ok: false, code: 'verification_expired', reason: 'meter SN-7: verification expired on 2026-03-01; readings of this meter are not accepted' });
    expect(judge(110, hist(), mar20({ settings: { ...ctx().settings, accept_expired_verification: true } }), m)).toMatchObject({ ok: true });
  });

  it('high consumption: the average 30 / (92 / 30.44) = 9.926 a month; 31 in a month warns (> 29.78), 29 does not; needs ≥ 2 months of history', () => {
    const hi = judge(131);
    expect(hi.ok && hi.warnings.map((w) => w.message)).toEqual(['meter SN-7: consumption 31 is more than 3× the average of the last 3 months (9.926 a month); confirm to save']);
    expect(judge(129)).toMatchObject({ ok: true, warnings: [] });
    // 15 Jan → 15 Feb is 31 days = 1.02 months of history: no average, no warning even for 100.
    expect(judge(200, hist({ earliestInThreeMonths: { time: at('2026-01-15T00:00:00Z'), value: 90 } }))).toMatchObject({ ok: true, warnings: [] });
    // Factor 5: 31 ≤ 5 × 9.926 = 49.6.
    expect(judge(131, hist(), mar20({ settings: { ...ctx().settings, warn_factor: 5 } }))).toMatchObject({ ok: true, warnings: [] });
  });
});

describe('the judge reads a rollover by the one rule billing uses (vee/register.ts rolloverConsumption)', () => {
  // Meter 9, 5 digits (wraps at 100 000). History: 15 Sep and 15 Nov, 61 days apart = 61 / 30.44 =
  // 2.00394 months. December's window reading is dated 15 Dec, 30 days after 15 Nov: under a month, so
  // the usual consumption is allowed one month's worth: at most 10 × usual.
  const DEC = at('2026-12-15T00:00:00Z');
  const NOV = at('2026-11-15T00:00:00Z');
  const SEP = at('2026-09-15T00:00:00Z');
  const m9 = (over: Partial<MeterForWrite> = {}) => meter({ id: 9, serial: 'SN-9', ...over });
  const judge = (value: number, prev: number, earliest: number | null, m = m9()) => judgeReading({ value }, m,
    facts({ previous: { time: NOV, value: prev }, earliestInThreeMonths: earliest === null ? null : { time: SEP, value: earliest } }), ctx({ now: at('2026-12-20T09:00:00Z') }), DEC, true);

  it('99 996.5 → 2.5 after 99 984.5 → 99 996.5 (6 m³ a month): 100 000 − 99 996.5 + 2.5 = 6 m³, a rollover to confirm', () => {
    const v = judge(2.5, 99_996.5, 99_984.5);
    expect(v).toMatchObject({ ok: true, via: 'rollover', warnings: [expect.objectContaining({ code: 'rollover', message: expect.stringMatching(/rolling over zero, consumption 6; confirm to save$/) })] });
    expect(v.ok && v.consumption).toBeCloseTo(6, 9);
  });

  it('5 000 → 10 is refused (a wrap of 95 010, more than a tenth of the register); without register digits any decrease is refused', () => {
    expect(judge(10, 5_000, 4_990)).toMatchObject({ ok: false, code: 'below_previous', reason: 'meter SN-9: 10 is less than the previous reading 5000 of 2026-11-15' });
    expect(judge(2.5, 99_996.5, 99_984.5, m9({ registerDigits: null }))).toMatchObject({
      ok: false, code: 'below_previous',
      reason: "meter SN-9: 2.5 is less than the previous reading 99996.5 of 2026-11-15 (the register's digits are not known, so a rollover cannot be told from a typo)",
    });
  });

  it('small against the register but not against the usual: 99 978 → 99 990 is 12 m³ in 2.004 months = 5.988 a month, so at most 59.88 may wrap', () => {
    const usual = 12 / (61 / 30.44); // 5.98818…
    // 99 990 → 40: 100 000 − 99 990 + 40 = 50 ≤ 59.88: a rollover, as billing counts it.
    const ok = judge(40, 99_990, 99_978);
    expect(ok).toMatchObject({ ok: true, consumption: 50, via: 'rollover' });
    expect(rolloverConsumption(99_990, 40, 5, usual, 30 * 86_400_000)).toBe(50);
    // 99 990 → 60: 70 > 59.88: refused, as billing refuses it — although 70 is well within a tenth of the register.
    expect(rolloverConsumption(99_990, 60, 5, usual, 30 * 86_400_000)).toBeNull();
    const no = judge(60, 99_990, 99_978);
    expect(no).toMatchObject({
      ok: false, code: 'below_previous', params: { serial: 'SN-9', value: 60, previous: 99_990, why: 'rollover_implausible', digits: 5, wrapped: 70, usual: 5.988 },
      reason: "meter SN-9: 60 is less than the previous reading 99990 of 2026-11-15 (read as the 5-digit register rolling over zero it would be 70, far more than this meter's usual 5.988 a month; check the value, or record the meter's replacement)",
    });
    // Without history (no usual consumption) only the tenth of the register bounds it: 70 is a rollover to confirm.
    expect(judge(60, 99_990, null)).toMatchObject({ ok: true, consumption: 70, via: 'rollover' });
  });

  it('95 000 → 3 000 after 94 988 → 95 000: a wrap of 8 000 fits a tenth (10 000) but not 10 × 5.988; refused', () => {
    expect(rolloverConsumption(95_000, 3_000, 5)).toBe(8_000);
    expect(judge(3_000, 95_000, 94_988)).toMatchObject({ ok: false, code: 'below_previous' });
  });

  it('the next reading is held to the same rule: a back-dated 99 995 before a next reading of 60 (usual 5.988 a month) is refused', () => {
    // Back-dated 1 Dec, next 15 Dec = 60: 100 000 − 99 995 + 60 = 65 > 59.88.
    const t = at('2026-12-01T09:00:00Z');
    const f = facts({ previous: { time: NOV, value: 99_990 }, earliestInThreeMonths: { time: SEP, value: 99_978 }, next: { time: DEC, value: 60 } });
    const c = ctx({ now: at('2026-12-20T09:00:00Z'), rights: { write: true, outsideWindow: true, correct: false } });
    expect(judgeReading({ value: 99_995, time: t }, m9(), f, c, t, false)).toMatchObject({ ok: false, code: 'above_next' });
    // Next = 50: 100 000 − 99 995 + 50 = 55 ≤ 59.88: accepted with a warning to confirm.
    const ok = judgeReading({ value: 99_995, time: t }, m9(), { ...f, next: { time: DEC, value: 50 } }, c, t, false);
    expect(ok).toMatchObject({ ok: true, consumption: 5, warnings: [expect.objectContaining({ code: 'rollover_next', message: expect.stringContaining('that would be a rollover of the register') })] });
  });
});
