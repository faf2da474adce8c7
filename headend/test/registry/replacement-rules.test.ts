/**
 * The pure replacement rules (registry/replacement.ts): the building's local day and month of an
 * instant, the one-operation-a-day rule on local days, and the removal reading against the last one.
 */
import { describe, expect, it } from 'vitest';
import { localDay, localPeriod, removalProblem, sameLocalDay } from '../../src/registry/replacement.js';

describe('local day and month', () => {
  it('Moscow (UTC+3): 21:30 UTC is already the next day, and the next month on the last evening', () => {
    expect(localDay(new Date('2026-03-10T21:30:00Z'), 'Europe/Moscow')).toBe('2026-03-11'); // 00:30 local
    expect(localDay(new Date('2026-03-10T20:59:59Z'), 'Europe/Moscow')).toBe('2026-03-10'); // 23:59:59 local
    expect(localPeriod(new Date('2026-01-31T21:00:00Z'), 'Europe/Moscow')).toBe('2026-02-01');
    expect(localPeriod(new Date('2026-01-31T21:00:00Z'), 'UTC')).toBe('2026-01-01');
  });

  it('Vladivostok (UTC+10) and Kaliningrad (UTC+2) see different days for one instant', () => {
    const at = new Date('2026-03-10T15:00:00Z');
    expect(localDay(at, 'Asia/Vladivostok')).toBe('2026-03-11'); // 01:00 local
    expect(localDay(at, 'Europe/Kaliningrad')).toBe('2026-03-10'); // 17:00 local
  });
});

describe('one operation per meter per local day', () => {
  const earlier = [{ id: 1, replaced_at: new Date('2026-03-10T10:00:00Z') }]; // 13:00 on 10 March in Moscow
  it('same UTC date, next local day: allowed', () => {
    expect(sameLocalDay(earlier, new Date('2026-03-10T22:30:00Z'), 'Europe/Moscow')).toBeNull(); // 01:30 on 11 March
  });
  it('other UTC date, same local day: refused, naming the earlier one', () => {
    const prior = [{ id: 2, replaced_at: '2026-03-10T22:30:00Z' }]; // 01:30 on 11 March
    expect(sameLocalDay(prior, new Date('2026-03-11T20:00:00Z'), 'Europe/Moscow')).toEqual(prior[0]); // 23:00 on 11 March
  });
});

describe('removal reading against the last reading', () => {
  const last = { time: new Date('2026-01-01T00:00:00Z'), value: 300 };
  it('no last reading, or equal to it (zero consumption), or above: fine', () => {
    expect(removalProblem(null, new Date('2026-01-15T00:00:00Z'), 0)).toBeNull();
    expect(removalProblem(last, new Date('2026-01-15T00:00:00Z'), 300)).toBeNull();
    expect(removalProblem(last, new Date('2026-01-15T00:00:00Z'), 300.5)).toBeNull();
  });
  it('below it: refused (it would read as a rollover past zero), naming both values', () => {
    expect(removalProblem(last, new Date('2026-01-15T00:00:00Z'), 299.9)).toEqual({
      path: 'body.removal_reading', message: 'removal reading 299.9 is lower than the last reading 300 (2026-01-01T00:00:00.000Z); check the value',
    });
  });
  it('not after the last reading in time: refused on replaced_at', () => {
    expect(removalProblem(last, new Date('2026-01-01T00:00:00Z'), 400)?.path).toBe('body.replaced_at');
  });
});
