/**
 * Worked examples of the collection rules (pure; dates in the building's time zone). An entered value
 * is judged by readings/judge.ts: its cases are in test/readings/judge.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { localDate, localMidnight, summarise, windowState } from '../../src/collection/rules.js';

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
