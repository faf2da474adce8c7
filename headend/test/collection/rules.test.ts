/** Worked examples of the collection rules (pure; dates in the building's time zone). */
import { describe, expect, it } from 'vitest';
import { checkEntry, DEFAULT_SETTINGS, localDate, localMidnight, summarise, windowState, type EntryContext, type MeterFacts } from '../../src/collection/rules.js';

const D = (s: string) => ({ y: Number(s.slice(0, 4)), m: Number(s.slice(5, 7)), d: Number(s.slice(8, 10)) });

describe('window', () => {
  it('15–25: open on the 15th and 25th, closed on the 14th (opens in 1 day) and 26th (next month)', () => {
    expect(windowState(D('2026-03-15'), 15, 25)).toMatchObject({ open: true, start: '2026-03-15', due: '2026-03-25' });
    expect(windowState(D('2026-03-25'), 15, 25)).toMatchObject({ open: true });
    expect(windowState(D('2026-03-14'), 15, 25)).toMatchObject({ open: false, opensOn: '2026-03-15', opensInDays: 1, last: { start: '2026-02-15', end: '2026-02-25' } });
    expect(windowState(D('2026-03-26'), 15, 25)).toMatchObject({ open: false, opensOn: '2026-04-15', opensInDays: 20 });
  });
  it('25–5 crosses the month end: open on Dec 28 and Jan 3 (due Jan 5), closed on Jan 10', () => {
    expect(windowState(D('2026-12-28'), 25, 5)).toMatchObject({ open: true, start: '2026-12-25', due: '2027-01-05' });
    expect(windowState(D('2027-01-03'), 25, 5)).toMatchObject({ open: true, start: '2026-12-25', due: '2027-01-05' });
    expect(windowState(D('2027-01-10'), 25, 5)).toMatchObject({ open: false, opensOn: '2027-01-25', opensInDays: 15 });
  });
  it('a window ending on the 31st ends on Feb 28', () => {
    expect(windowState(D('2026-02-28'), 20, 31)).toMatchObject({ open: true, due: '2026-02-28' });
  });
  it('dates are taken in the building time zone', () => {
    const at = new Date('2026-03-14T22:30:00Z'); // 01:30 on the 15th in Moscow
    expect(localDate(at, 'Europe/Moscow')).toEqual(D('2026-03-15'));
    expect(localDate(at, 'UTC')).toEqual(D('2026-03-14'));
    expect(localMidnight(D('2026-03-15'), 'Europe/Moscow').toISOString()).toBe('2026-03-14T21:00:00.000Z');
    expect(localMidnight(D('2026-03-15'), 'Asia/Yekaterinburg').toISOString()).toBe('2026-03-14T19:00:00.000Z');
  });
});

const t = (s: string) => new Date(s);
function ctx(today: string, over: Partial<EntryContext> = {}): EntryContext {
  const w = windowState(D(today), 15, 25);
  return { today: D(today), settings: DEFAULT_SETTINGS, window: w, mayBypassWindow: false, readingTime: t('2026-03-15T00:00:00Z'), ...over };
}
const facts = (over: Partial<MeterFacts> = {}): MeterFacts => ({
  meterId: 7, nextVerificationOn: null, previous: { time: t('2026-02-15T00:00:00Z'), value: 100 },
  earliestInThreeMonths: { time: t('2025-11-15T00:00:00Z'), value: 70 }, ...over,
});

describe('checkEntry', () => {
  it('accepts ≥ previous, zero consumption included; refuses a decrease naming the meter', () => {
    expect(checkEntry(110, facts(), ctx('2026-03-20'))).toEqual({ ok: true, consumption: 10, warning: null });
    expect(checkEntry(100, facts(), ctx('2026-03-20'))).toEqual({ ok: true, consumption: 0, warning: null });
    expect(checkEntry(99.5, facts(), ctx('2026-03-20'))).toEqual({ ok: false, reason: 'meter 7: 99.5 is less than the previous reading 100' });
  });
  it('a new meter compares with its installation reading (the caller passes it as previous)', () => {
    const f = facts({ previous: { time: t('2026-03-01T00:00:00Z'), value: 0.5 }, earliestInThreeMonths: null });
    expect(checkEntry(3, f, ctx('2026-03-20'))).toMatchObject({ ok: true, consumption: 2.5, warning: null });
    expect(checkEntry(0, f, ctx('2026-03-20'))).toMatchObject({ ok: false });
  });
  it('integer-only', () => {
    const c = ctx('2026-03-20', { settings: { ...DEFAULT_SETTINGS, integer_only: true } });
    expect(checkEntry(110.5, facts(), c)).toEqual({ ok: false, reason: 'meter 7: only whole numbers are accepted (got 110.5)' });
    expect(checkEntry(110, facts(), c)).toMatchObject({ ok: true });
  });
  it('outside the window: refused with the dates, unless the caller may bypass it', () => {
    const r = checkEntry(110, facts(), ctx('2026-03-10'));
    expect(r).toEqual({ ok: false, reason: 'meter 7: the collection window is closed (last 2026-02-15 – 2026-02-25; next opens 2026-03-15, days 15–25)' });
    expect(checkEntry(110, facts(), ctx('2026-03-10', { mayBypassWindow: true }))).toMatchObject({ ok: true });
  });
  it('disabled resource and expired verification', () => {
    expect(checkEntry(110, facts(), ctx('2026-03-20', { settings: { ...DEFAULT_SETTINGS, enabled: false } }))).toMatchObject({ ok: false });
    const f = facts({ nextVerificationOn: '2026-03-01' });
    expect(checkEntry(110, f, ctx('2026-03-20'))).toEqual({ ok: false, reason: 'meter 7: verification expired on 2026-03-01; readings of this meter are not accepted' });
    expect(checkEntry(110, f, ctx('2026-03-20', { settings: { ...DEFAULT_SETTINGS, accept_expired_verification: true } }))).toMatchObject({ ok: true });
  });
  it('high consumption: 3 months averaged 10 a month; 31 in a month warns, 29 does not; needs ≥ 2 months history', () => {
    expect(checkEntry(131, facts(), ctx('2026-03-20')).ok && (checkEntry(131, facts(), ctx('2026-03-20')) as { warning: string }).warning).toMatch(/^meter 7: consumption 31 is more than 3× the average/);
    expect(checkEntry(129, facts(), ctx('2026-03-20'))).toMatchObject({ ok: true, warning: null });
    const short = facts({ earliestInThreeMonths: { time: t('2026-01-15T00:00:00Z'), value: 90 } });
    expect(checkEntry(200, short, ctx('2026-03-20'))).toMatchObject({ ok: true, warning: null });
    const factor5 = ctx('2026-03-20', { settings: { ...DEFAULT_SETTINGS, warn_factor: 5 } });
    expect(checkEntry(131, facts(), factor5)).toMatchObject({ warning: null });
  });
});

describe('summary widget', () => {
  it('k of N submitted, due by DATE; opens in N days', () => {
    const open = windowState(D('2026-03-20'), 15, 25);
    expect(summarise([{ window: open, submitted: true, enabled: true }, { window: open, submitted: false, enabled: true }]))
      .toMatchObject({ state: 'open', submitted: 1, total: 2, due: '2026-03-25', text: '1 of 2 meters submitted, due by 2026-03-25' });
    expect(summarise([{ window: open, submitted: true, enabled: true }]).text).toBe('readings submitted (1 of 1)');
    const closed = windowState(D('2026-03-10'), 15, 25);
    expect(summarise([{ window: closed, submitted: false, enabled: true }])).toMatchObject({ state: 'closed', opensInDays: 5, text: 'opens in 5 days' });
  });
});
