// Planning a heat calculator's daily back-fill, pure (no line, no simulator): which meter-local days
// a gap leaves unread, when each becomes readable, how the jobs sit in backfill.json beside the
// hourly ones (and how a file from before daily jobs loads), and the config's choice of archives.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REGISTER_MAPS } from '@amr/protocols';
import { validateConfig } from '../src/index.js';
import { BackfillStore, backfillKinds, dueRecords, gapJob, jobKey, recordStartOf, routineJob, routineKinds, selectClock } from '../src/runtime/backfill.js';
import { HOUR, MIN, local } from './archive-clock.js';

const DAY = 24 * HOUR;
const iso = (t: number) => new Date(t).toISOString();
// The meter's clock is Moscow's (UTC+3): local(0) is its midnight of 15 January (day 1), 14 January 21:00 UTC.
const s = { interval: 15 * MIN, slack: MIN, utcOffsetMinutes: 180, maxAge: 7 * DAY };

describe('the daily job of a gap (pure)', () => {
  it('off from 10:30 on day 1 to 09:00 on day 4: days 1, 2, 3 are due, day 4 waits for its end', () => {
    const job = gapJob(iso(local(10, 30)), local(72 + 9), s, DAY, undefined, 'daily')!;
    // From the day holding the last success (day 1, its record unread then: the day was not over).
    expect(job).toEqual({ kind: 'daily', next: iso(local(0)), until: iso(local(81)) });
    expect(job.next).toBe('2026-01-14T21:00:00.000Z');
    expect(dueRecords(job, local(81), DAY)).toEqual([local(0), local(24), local(48)]);
    // Day 4 (local 72…96) touched the gap; its record exists from its midnight on, not a minute earlier.
    const rest = { ...job, next: iso(local(72)) };
    expect(dueRecords(rest, local(95, 59), DAY)).toEqual([]);
    expect(dueRecords(rest, local(96), DAY)).toEqual([local(72)]);
    // The same gap's hourly job: hours 10:00 on day 1 … 08:00 on day 4, 71 of them.
    const hourly = gapJob(iso(local(10, 30)), local(81), s, HOUR)!;
    expect(hourly.kind).toBe('hourly');
    expect(dueRecords(hourly, local(81), HOUR)).toHaveLength(81 - 10);
  });

  it('a gap inside one day opens a daily job with nothing due until the day ends', () => {
    const job = gapJob(iso(local(10, 30)), local(15), s, DAY, undefined, 'daily')!;
    expect(job).toEqual({ kind: 'daily', next: iso(local(0)), until: iso(local(15)) });
    expect(dueRecords(job, local(15), DAY)).toEqual([]);
    expect(dueRecords(job, local(23, 59), DAY)).toEqual([]);
    // First poll after midnight: the day's record, and only it (the job ends with the gap, at 15:00).
    expect(dueRecords(job, local(24, 5), DAY)).toEqual([local(0)]);
    expect(dueRecords(job, local(24 * 5), DAY)).toEqual([local(0)]);
  });

  it('no gap, no daily job; the very first poll knows no gap', () => {
    expect(gapJob(iso(local(23, 50)), local(24, 5), s, DAY, undefined, 'daily')).toBeNull();
    expect(gapJob(null, local(81), s, DAY, undefined, 'daily')).toBeNull();
  });

  it('never older than maxAge: the first whole day within it', () => {
    // Off from midnight of day 1 to 09:00 on day 11 (local 249), maxAge 2 days: 2 days back is 09:00
    // on day 9 (local 201), so the first whole day within is day 10 (local 216…240); day 11 is not over.
    const job = gapJob(iso(local(0)), local(249), { ...s, maxAge: 2 * DAY }, DAY, undefined, 'daily')!;
    expect(job).toEqual({ kind: 'daily', next: iso(local(216)), until: iso(local(249)) });
    expect(dueRecords(job, local(249), DAY)).toEqual([local(216)]);
  });

  it('an open daily job is extended by a later gap, never moved past its unread days', () => {
    const open = { kind: 'daily' as const, next: iso(local(24)), until: iso(local(30)) };
    // Another gap from 02:00 on day 4 to 06:00 on day 5: its day (day 4) is later than the open cursor (day 2).
    expect(gapJob(iso(local(74)), local(102), s, DAY, open, 'daily')).toEqual({ kind: 'daily', next: iso(local(24)), until: iso(local(102)) });
  });

  it('a meter on a fixed offset (UTC+5:30) has its days from 18:30 UTC; a record stamped at its end is selected by the next midnight', () => {
    expect(recordStartOf(Date.UTC(2026, 0, 15, 10, 10), DAY, 330)).toBe(Date.UTC(2026, 0, 14, 18, 30));
    expect(recordStartOf(Date.UTC(2026, 0, 15, 18, 29), DAY, 330)).toBe(Date.UTC(2026, 0, 14, 18, 30));
    expect(recordStartOf(Date.UTC(2026, 0, 15, 18, 30), DAY, 330)).toBe(Date.UTC(2026, 0, 15, 18, 30));
    expect(selectClock(local(24), DAY, 'start', 180)).toEqual({ year: 2026, month: 1, day: 16, hour: 0, minute: 0, second: 0 });
    expect(selectClock(local(24), DAY, 'end', 180)).toEqual({ year: 2026, month: 1, day: 17, hour: 0, minute: 0, second: 0 });
  });
});

describe('the daily archive read routinely, without a gap (pure)', () => {
  // Polls every 15 minutes, no gap. The cursor is stretched to the end of the day under way (local 24
  // on day 1), so it changes once a day, and day 1 is due at the first poll from its midnight on.
  it('the first poll ever opens the cursor on its own day; day 1 is due from midnight on, not a minute earlier', () => {
    const job = routineJob(null, null, local(10, 30), 180, DAY, 'daily');
    expect(job).toEqual({ kind: 'daily', next: iso(local(0)), until: iso(local(24)) });
    expect(dueRecords(job, local(23, 59), DAY)).toEqual([]);
    expect(dueRecords(job, local(24), DAY)).toEqual([local(0)]);
    // Stretched only when a new day starts: the same object back all day (no file write per poll).
    expect(routineJob(job, iso(local(10, 30)), local(23, 45), 180, DAY, 'daily')).toBe(job);
    // The first poll of day 2 (00:00:30): stretched to day 2's end, day 1 due; after it is read the
    // cursor is on day 2 and nothing is due until day 2's midnight.
    const day2 = routineJob(job, iso(local(23, 45)), local(24, 0.5), 180, DAY, 'daily');
    expect(day2).toEqual({ kind: 'daily', next: iso(local(0)), until: iso(local(48)) });
    expect(dueRecords(day2, local(24, 0.5), DAY)).toEqual([local(0)]);
    expect(dueRecords({ ...day2, next: iso(local(24)) }, local(47, 59), DAY)).toEqual([]);
  });

  it('with no cursor (a file from before routine reading) it starts at the day of the last success: the day just over is read, none before it', () => {
    // Last success 23:50 on day 3, now 00:05 on day 4: day 3 (local 48) is due, days 1–2 are not.
    const job = routineJob(null, iso(local(71, 50)), local(72, 5), 180, DAY, 'daily');
    expect(job).toEqual({ kind: 'daily', next: iso(local(48)), until: iso(local(96)) });
    expect(dueRecords(job, local(72, 5), DAY)).toEqual([local(48)]);
    // A last success "in the future" (a clock set back) is not trusted: the cursor starts on today.
    expect(routineJob(null, iso(local(200)), local(72, 5), 180, DAY, 'daily').next).toBe(iso(local(72)));
  });

  it('a gap job is stretched the same way and keeps its unread days', () => {
    const gap = gapJob(iso(local(10, 30)), local(81), s, DAY, undefined, 'daily')!;
    expect(routineJob(gap, iso(local(10, 30)), local(81), 180, DAY, 'daily')).toEqual({ kind: 'daily', next: iso(local(0)), until: iso(local(96)) });
  });

  it('which archives are read routinely: the daily one by default, those named, none with []', () => {
    expect(routineKinds(undefined, ['hourly', 'daily'])).toEqual(['daily']);
    expect(routineKinds(undefined, ['hourly'])).toEqual([]);
    expect(routineKinds(['hourly', 'daily'], ['hourly', 'daily'])).toEqual(['hourly', 'daily']);
    expect(routineKinds([], ['hourly', 'daily'])).toEqual([]);
  });

  const base = { gateway: { id: 'gw-cfg', bufferDir: '/tmp/unused' }, mqtt: { url: 'mqtt://127.0.0.1:1' }, buses: [{ name: 'rs485', protocol: 'modbus', port: '/dev/ttyUSB0' }] };
  const meter = (backfill: Record<string, unknown>) => ({ id: 'tv7', bus: 'rs485', slave: 2, registerMap: 'tv7', backfill: { utcOffsetMinutes: 180, ...backfill } });
  it('a routine archive that is never read is refused, naming it and what is read', () => {
    expect(() => validateConfig({ ...base, meters: [meter({ archives: ['hourly'], routine: ['daily'] })] }))
      .toThrow(/meters\[0\]\.backfill\.routine.*names daily, which backfill\.archives leaves out \(read: hourly\)/s);
    expect(() => validateConfig({ ...base, meters: [meter({ routine: ['monthly'] })] })).toThrow(/backfill\.routine.*names monthly, which register map tv7 has not \(read: hourly, daily\)/s);
    expect(() => validateConfig({ ...base, meters: [meter({ routine: ['daily', 'daily'] })] })).toThrow(/backfill\.routine.*named twice/s);
    expect(validateConfig({ ...base, meters: [meter({ routine: [] })] }).meters[0].backfill).toMatchObject({ routine: [] });
  });
});

describe('which archives a meter back-fills', () => {
  it('every one the map has by default, hourly first; only those named when the config names some', () => {
    const tv7 = REGISTER_MAPS.tv7;
    expect(backfillKinds(undefined, tv7)).toEqual(['hourly', 'daily']);
    expect(backfillKinds(['daily', 'hourly'], tv7)).toEqual(['hourly', 'daily']);
    expect(backfillKinds(['daily'], tv7)).toEqual(['daily']);
    expect(backfillKinds(undefined, REGISTER_MAPS.sdm630)).toEqual([]);
  });

  const base = { gateway: { id: 'gw-cfg', bufferDir: '/tmp/unused' }, mqtt: { url: 'mqtt://127.0.0.1:1' }, buses: [{ name: 'rs485', protocol: 'modbus', port: '/dev/ttyUSB0' }] };
  const meter = (archives: unknown) => ({ id: 'tv7', bus: 'rs485', slave: 2, registerMap: 'tv7', backfill: { utcOffsetMinutes: 180, archives } });
  it('a config asking for an archive the map lacks is refused, naming the map and the archives it has', () => {
    expect(() => validateConfig({ ...base, meters: [meter(['hourly', 'monthly'])] }))
      .toThrow(/meters\[0\]\.backfill\.archives.*register map tv7 has no monthly archive \(it has: hourly, daily\)/s);
    expect(() => validateConfig({ ...base, meters: [meter([])] })).toThrow(/backfill\.archives/);
    // A careless copy: the same archive twice is refused by name, not read twice.
    expect(() => validateConfig({ ...base, meters: [meter(['hourly', 'daily', 'hourly'])] })).toThrow(/backfill\.archives.*named twice/s);
    expect(validateConfig({ ...base, meters: [meter(['daily'])] }).meters[0].backfill).toMatchObject({ archives: ['daily'] });
  });
});

describe('the jobs in backfill.json', () => {
  it('the daily job under <id>#daily beside the hourly one under the meter id; an old file of hourly jobs loads as it was', () => {
    const dir = mkdtempSync(join(tmpdir(), 'amr-backfill-store-'));
    try {
      const file = join(dir, 'backfill.json');
      const hourly = { kind: 'hourly' as const, next: iso(local(14)), until: iso(local(16)) };
      // A file written before daily jobs existed: keys are meter ids, jobs hourly.
      writeFileSync(file, JSON.stringify({ v: 1, jobs: { tv7: hourly, gone: hourly } }));
      const old = new BackfillStore(file, ['tv7']);
      expect(old.loadProblem).toBeNull();
      expect(old.get('tv7', 'hourly')).toEqual(hourly);
      expect(old.get('tv7')).toEqual(hourly);
      expect(old.get('tv7', 'daily')).toBeUndefined();

      const daily = { kind: 'daily' as const, next: iso(local(24)), until: iso(local(81)) };
      old.set('tv7', 'daily', daily);
      expect(jobKey('tv7', 'daily')).toBe('tv7#daily');
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ v: 1, jobs: { tv7: hourly, 'tv7#daily': daily } });
      // Reloaded (a restart): both jobs back, each under its archive.
      const again = new BackfillStore(file, ['tv7']);
      expect(again.get('tv7', 'hourly')).toEqual(hourly);
      expect(again.get('tv7', 'daily')).toEqual(daily);
      // The hourly job done: the daily one stays.
      again.set('tv7', 'hourly', null);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ v: 1, jobs: { 'tv7#daily': daily } });

      // A job under the other archive's key (a hand-edited file) would read the wrong records: not loaded.
      writeFileSync(file, JSON.stringify({ v: 1, jobs: { tv7: daily, 'tv7#daily': hourly } }));
      const crossed = new BackfillStore(file, ['tv7']);
      expect(crossed.get('tv7', 'hourly')).toBeUndefined();
      expect(crossed.get('tv7', 'daily')).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
