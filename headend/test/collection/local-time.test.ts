/**
 * The building's local calendar (collection/rules.ts localDate, localMidnight) keeps zone offsets
 * per quarter hour of UTC instead of asking Intl for every instant. Checked against Intl itself
 * (a formatter made here, never the module's cache) at random instants from 1973 to 2100 in zones
 * whose offsets or daylight-saving steps are not whole hours, and by hand at the instants a step
 * happens.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { localDate, localMidnight } from '../../src/collection/rules.js';

const ZONES = ['Europe/Moscow', 'Europe/Berlin', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'America/St_Johns', 'Asia/Kolkata', 'Pacific/Chatham', 'America/Sao_Paulo', 'UTC'];

function intlDate(at: Date, timeZone: string) {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  return { y: get('year'), m: get('month'), d: get('day') };
}

describe('local calendar of a building', () => {
  it('gives the same date as Intl at any instant in any zone', () => {
    fc.assert(fc.property(
      fc.constantFrom(...ZONES), fc.integer({ min: Date.UTC(1973, 0, 1), max: Date.UTC(2100, 0, 1) }),
      (zone, t) => {
        expect(localDate(new Date(t), zone)).toEqual(intlDate(new Date(t), zone));
      },
    ), { numRuns: 3000 });
  });

  it('puts local midnight on the local date it names, at 00:00 local', () => {
    fc.assert(fc.property(
      fc.constantFrom(...ZONES), fc.integer({ min: 1973, max: 2099 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 }),
      (zone, y, m, d) => {
        const at = localMidnight({ y, m, d }, zone);
        expect(intlDate(at, zone)).toEqual({ y, m, d });
        // One millisecond earlier is the day before (midnight is the day's first instant).
        expect(intlDate(new Date(at.getTime() - 1), zone)).not.toEqual({ y, m, d });
      },
    ), { numRuns: 2000 });
  });

  it('turns the date at the instant a daylight-saving step happens, worked out by hand', () => {
    // Berlin, 2026-03-29 01:00 UTC: 02:00 CET becomes 03:00 CEST; the local date stays the 29th.
    expect(localDate(new Date('2026-03-29T00:59:59.999Z'), 'Europe/Berlin')).toEqual({ y: 2026, m: 3, d: 29 });
    // Lord Howe steps half an hour (+11 → +10:30 at 02:00 local on 5 April 2026, 15:00 UTC on the 4th);
    // before the step it is +11, so its 5 April begins at 13:00 UTC on the 4th.
    expect(localDate(new Date('2026-04-04T12:59:59Z'), 'Australia/Lord_Howe')).toEqual({ y: 2026, m: 4, d: 4 });
    expect(localDate(new Date('2026-04-04T13:00:00Z'), 'Australia/Lord_Howe')).toEqual({ y: 2026, m: 4, d: 5 });
    // Kathmandu is +5:45: its midnight of 2026-01-01 is 18:15 UTC on 31 December.
    expect(localMidnight({ y: 2026, m: 1, d: 1 }, 'Asia/Kathmandu').toISOString()).toBe('2025-12-31T18:15:00.000Z');
    // Moscow was +4 all year from 2011-03-27 to 2014-10-26: its midnight of 2014-01-01 is 20:00 UTC.
    expect(localMidnight({ y: 2014, m: 1, d: 1 }, 'Europe/Moscow').toISOString()).toBe('2013-12-31T20:00:00.000Z');
  });
});
