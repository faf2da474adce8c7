/**
 * The readings core's pure judge, case by case as an auditor, an inspector and a careless office would
 * try it. Every instant is fixed (Europe/Moscow = UTC+3, no DST); nothing reads today's date.
 */
import { describe, expect, it } from 'vitest';
import { entryInstant, insideWindow, judgeReading, registerStep, type JudgeContext, type MeterForWrite, type NeighbourFacts } from '../../src/readings/judge.js';
import { DEFAULT_SETTINGS } from '../../src/collection/rules.js';

const TZ = 'Europe/Moscow';
const meter = (over: Partial<MeterForWrite> = {}): MeterForWrite => ({
  id: 7, resource: 'hot_water', placement: 'apartment', status: 'active', zones: 1, registerDigits: 5, installedOn: '2020-01-15',
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
    expect(insideWindow(at('2028-02-29T10:00:00Z'), TZ, { ...s, window_start_day: 25, window_end_day: 31 })).toBe(true);
    expect(insideWindow(at('2028-03-01T10:00:00Z'), TZ, { ...s, window_start_day: 25, window_end_day: 31 })).toBe(false);
  });
  it('an explicit time at 14 Nov 22:00 UTC is 15 Nov 01:00 in Moscow: inside the window 15–25', () => {
    expect(insideWindow(at('2026-11-14T22:00:00Z'), TZ, s)).toBe(true);
    expect(insideWindow(at('2026-11-14T20:00:00Z'), TZ, s)).toBe(false);
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
    expect(r).toMatchObject({ ok: false, code: 'below_previous' });
    expect(!r.ok && r.reason).toBe("meter 7: 95 is less than the previous reading 100 of 2026-10-14 (the register's digits are not known, so a rollover cannot be told from a typo)");
  });

  it('a 5-digit rollover 99 996.5 → 2.5 needs a person to confirm it, and then counts 6 m³', () => {
    const r = judgeReading({ value: 2.5 }, meter(), facts({ previous: { time: at('2026-10-14T21:00:00Z'), value: 99_996.5 } }), ctx(), inWin, true);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.consumption).toBe(6);
    expect(r.via).toBe('rollover');
    expect(r.warnings[0]).toContain('rolling over zero, consumption 6');
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
    expect(r.ok && r.warnings[0]).toContain('first reading 99999999 is more than this premise could have used since installation (about 14');
    const ok = judgeReading({ value: 4_210 }, el, facts({ plausibleMonthly: 400 }), ctx(), inWin, true);
    expect(ok).toMatchObject({ ok: true, warnings: [] });
    expect(judgeReading({ value: 100_000_000 }, el, facts(), ctx(), inWin, true)).toMatchObject({ ok: false, code: 'too_many_digits' });
  });

  it('installation not recorded: an old meter may have counted for 15 years — 25 000 kWh passes, 99 999 999 does not', () => {
    const el = meter({ resource: 'electricity', registerDigits: 8, installedOn: null });
    // 400 kWh a month × 180 months × 3 = 216 000 kWh
    expect(judgeReading({ value: 25_000 }, el, facts({ plausibleMonthly: 400 }), ctx(), inWin, true)).toMatchObject({ ok: true, warnings: [] });
    const r = judgeReading({ value: 99_999_999 }, el, facts({ plausibleMonthly: 400 }), ctx(), inWin, true);
    expect(r.ok && r.warnings[0]).toContain('(about 216000)');
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
