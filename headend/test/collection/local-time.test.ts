/**
 * The building's local calendar (collection/rules.ts localDate, localMidnight) keeps zone offsets
 * per quarter hour of UTC instead of asking Intl for every instant. Checked against Intl itself
 * (a formatter made here, never the module's cache) at random instants from 1973 to 2100 in zones
 * whose offsets or daylight-saving steps are not whole hours, and by hand at the instants a step
 * happens.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { localDate, localInstant, localMidnight } from '../../src/collection/rules.js';

const ZONES = ['Europe/Moscow', 'Europe/Berlin', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'America/St_Johns', 'Asia/Kolkata', 'Pacific/Chatham', 'America/Sao_Paulo', 'UTC'];

const formats = new Map<string, Intl.DateTimeFormat>();
function intlDate(at: Date, timeZone: string) {
  let f = formats.get(timeZone);
  if (!f) formats.set(timeZone, (f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  const parts = f.formatToParts(at);
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

  it('puts local midnight on the local date it names, at its first instant', () => {
    fc.assert(fc.property(
      fc.constantFrom(...ZONES, 'America/Havana', 'Asia/Beirut', 'America/Santiago'), fc.integer({ min: 1973, max: 2099 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 }),
      (zone, y, m, d) => {
        const at = localMidnight({ y, m, d }, zone);
        expect(intlDate(at, zone)).toEqual({ y, m, d });
        // One millisecond earlier is the day before (midnight is the day's first instant).
        expect(intlDate(new Date(at.getTime() - 1), zone)).not.toEqual({ y, m, d });
      },
    ), { numRuns: 5000 });
  });

  it('starts every day of 1973–2099 at its first instant in zones whose clocks jumped over midnight', () => {
    const wrong: string[] = [];
    for (const zone of ['America/Sao_Paulo', 'America/Havana', 'Asia/Beirut', 'America/Santiago']) {
      for (let day = Date.UTC(1973, 0, 1); day < Date.UTC(2100, 0, 1); day += 86_400_000) {
        const d = new Date(day);
        const x = { y: d.getUTCFullYear(), m: d.getUTCMonth() + 1, d: d.getUTCDate() };
        const at = localMidnight(x, zone);
        const same = (v: { y: number; m: number; d: number }) => v.y === x.y && v.m === x.m && v.d === x.d;
        if (!same(intlDate(at, zone)) || same(intlDate(new Date(at.getTime() - 1), zone))) wrong.push(`${zone} ${d.toISOString().slice(0, 10)} → ${at.toISOString()}`);
      }
    }
    expect(wrong).toEqual([]);
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
    // São Paulo's clocks jumped from 00:00 to 01:00 on 2007-10-14 (−3 → −2): that day has no midnight,
    // it starts at the jump, 03:00 UTC (01:00 local); the day before ends one millisecond earlier.
    expect(localMidnight({ y: 2007, m: 10, d: 14 }, 'America/Sao_Paulo').toISOString()).toBe('2007-10-14T03:00:00.000Z');
    expect(localDate(new Date('2007-10-14T02:59:59.999Z'), 'America/Sao_Paulo')).toEqual({ y: 2007, m: 10, d: 13 });
    // Moscow was +4 all year from 2011-03-27 to 2014-10-26: its midnight of 2014-01-01 is 20:00 UTC.
    expect(localMidnight({ y: 2014, m: 1, d: 1 }, 'Europe/Moscow').toISOString()).toBe('2013-12-31T20:00:00.000Z');
  });

  it('places a meter clock time in a zone: plain, at the autumn repeat (first pass), in the spring gap (the jump)', () => {
    expect(localInstant('2026-01-01T00:00:00', 'Europe/Moscow').toISOString()).toBe('2025-12-31T21:00:00.000Z');
    expect(localInstant('2026-03-01T00:00:00', 'Asia/Yekaterinburg').toISOString()).toBe('2026-02-28T19:00:00.000Z');
    // Berlin 2025-10-26: 02:00–03:00 CEST (UTC+2) comes again as CET (UTC+1); the first is 00:30 UTC.
    expect(localInstant('2025-10-26T02:30:00', 'Europe/Berlin').toISOString()).toBe('2025-10-26T00:30:00.000Z');
    // Berlin 2025-03-30: 02:00 CET jumps to 03:00 CEST; 02:30 never shows, the jump is 01:00 UTC, + 30 min under CET.
    expect(localInstant('2025-03-30T02:30:00', 'Europe/Berlin').toISOString()).toBe('2025-03-30T01:30:00.000Z');
    // São Paulo 2007-10-14 went from 00:00 to 01:00: midnight is the jump, as localMidnight says.
    expect(localInstant('2007-10-14T00:00:00', 'America/Sao_Paulo').toISOString()).toBe(localMidnight({ y: 2007, m: 10, d: 14 }, 'America/Sao_Paulo').toISOString());
    expect(() => localInstant('2026-01-01', 'UTC')).toThrow(/"2026-01-01" is not a local time YYYY-MM-DDTHH:MM:SS/);
  });
});
