// When `npm run demo` polls: the run ends at now (here fixed instants, never today's date), the month
// compared is the last whole calendar month inside the run, and its bounds are polled exactly.
import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain ES module of the demo, without types
import { DAY_MS as DAY, lastWholeMonth, pollPlan, runStart } from '../scripts/demo-plan.mjs';

const DAY_MS = DAY as number;

const H = 3_600_000;
const at = (s: string) => Date.parse(s);
const iso = (ms: number) => new Date(ms).toISOString();

describe('the demo\'s window', () => {
  it('by default starts a day before the last whole month and compares that month', () => {
    const now = at('2026-03-10T12:00:00Z');
    const start = runStart(now, undefined) as number;
    expect(iso(start)).toBe('2026-01-31T00:00:00.000Z');
    expect(lastWholeMonth(start, now)).toEqual({ year: 2026, month: 2, start: at('2026-02-01T00:00:00Z'), end: at('2026-03-01T00:00:00Z') });
  });

  it('across a new year, and on a month\'s first instant (the month that just ended is whole)', () => {
    const jan = at('2027-01-05T08:30:00Z');
    expect(iso(runStart(jan, undefined))).toBe('2026-11-30T00:00:00.000Z');
    expect(lastWholeMonth(runStart(jan, undefined), jan)).toMatchObject({ year: 2026, month: 12 });
    const first = at('2026-04-01T00:00:00Z');
    expect(lastWholeMonth(runStart(first, undefined), first)).toMatchObject({ year: 2026, month: 3, end: first });
  });

  it('with --days, starts that many days before now; a run holding no whole month compares the run', () => {
    const now = at('2026-03-10T12:00:00Z');
    expect(iso(runStart(now, 3))).toBe('2026-03-07T12:00:00.000Z');
    expect(lastWholeMonth(runStart(now, 3), now)).toBeNull();
    expect(lastWholeMonth(runStart(at('2026-02-06T00:00:00Z'), 36), at('2026-02-06T00:00:00Z'))).toMatchObject({ year: 2026, month: 1 });
  });
});

describe('the demo\'s polls', () => {
  const now = at('2026-03-10T12:40:00Z');
  const start = runStart(now, undefined) as number;
  const polls = pollPlan(start, now, 3 * H, DAY_MS) as number[];

  it('end at now itself and begin at the start', () => {
    expect(iso(polls[0])).toBe('2026-01-31T00:00:00.000Z');
    expect(iso(polls.at(-1)!)).toBe('2026-03-10T12:40:00.000Z');
  });

  it('are daily before the last day and 3-hourly within it, never finer before coarser', () => {
    const gaps = polls.slice(1).map((t, i) => t - polls[i]);
    const recent = polls.filter((t) => t >= now - DAY_MS);
    expect(polls.filter((t) => t < now - DAY_MS).every((t) => t % DAY_MS === 0)).toBe(true);
    expect(recent.slice(0, -1).every((t) => t % (3 * H) === 0)).toBe(true);
    expect(recent.length).toBe(9); // 15:00 … 12:00 every 3 h, and 12:40
    for (let i = 1; i < gaps.length; i++) expect(gaps[i], iso(polls[i + 1])).toBeLessThanOrEqual(gaps[i - 1]);
    expect(polls.length).toBe(38 + 9); // 31 Jan … 9 Mar daily, then the last day
  });

  it('include the compared month\'s bounds', () => {
    expect(polls).toContain(at('2026-02-01T00:00:00Z'));
    expect(polls).toContain(at('2026-03-01T00:00:00Z'));
  });

  it('with one step all along, are the old grid from the start', () => {
    const old = pollPlan(at('2026-01-01T00:00:00Z'), at('2026-01-04T00:00:00Z'), 12 * H) as number[];
    expect(old.map(iso)).toEqual([0, 12, 24, 36, 48, 60, 72].map((h) => iso(at('2026-01-01T00:00:00Z') + h * H)));
  });
});
