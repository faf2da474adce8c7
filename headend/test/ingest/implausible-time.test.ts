/**
 * Telemetry with implausible times, through the real ingest writer on the embedded DB with the clock
 * stopped at 2026-11-01 12:00 UTC: a reading more than 10 minutes (the default skew) after it, before
 * 1990 (the readings core's EARLIEST_READING) or before its meter's installation day, goes to quarantine as 'implausible_time' with the reason, never into readings; it does not move
 * the meter's last_seen_at (a year-9999 reading would otherwise silence its alerts for ever).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenedDb } from '../../src/db/index.js';
import { openTestDb } from '../engine.js';
import { writeReadings } from '../../src/ingest/writer.js';
import { fixedClock } from '../../src/util/clock.js';
import { readings, registerGateway, type Fixture } from './fixtures.js';

let opened: OpenedDb;
let fx: Fixture;
const clock = fixedClock('2026-11-01T12:00:00Z');

beforeAll(async () => {
  opened = await openTestDb();
  fx = await registerGateway(opened.db, 'gw-time', 2);
}, 60_000);
afterAll(() => opened?.close());

const stored = async (meterId: number) =>
  (await opened.db.query<{ time: Date }>('SELECT time FROM readings WHERE meter_id = $1 ORDER BY time', [meterId])).rows.map((r) => new Date(r.time).toISOString());
const quarantined = async () =>
  (await opened.db.query<{ seq: number; reason: string; detail: string }>("SELECT seq, reason, detail FROM quarantine WHERE gateway_id = 'gw-time' ORDER BY seq")).rows;

describe('implausible reading times', () => {
  it('year 9999, 10 min + 1 s ahead and 1970 are quarantined with the reason; 10 min ahead exactly and the past are stored', async () => {
    const [m1] = fx.meterIds;
    const res = await writeReadings(opened.db, [readings(fx.gatewayId, [
      { seq: 1, address: '1', value: 100, time: '2026-11-01T11:00:00Z' }, // an hour ago: normal
      { seq: 2, address: '1', value: 101, time: '2026-11-01T12:10:00Z' }, // 12:00 + 10 min = the edge: allowed
      { seq: 3, address: '1', value: 102, time: '2026-11-01T12:10:01Z' }, // 1 s past the edge
      { seq: 4, address: '1', value: 103, time: '9999-12-31T23:59:59Z' },
      { seq: 5, address: '1', value: 104, time: '1970-01-01T00:00:00Z' }, // gateway clock never set
    ])], { clock });
    expect(res).toEqual({ stored: 2, duplicates: 0, quarantined: { implausible_time: 3 } });
    expect(await stored(m1)).toEqual(['2026-11-01T11:00:00.000Z', '2026-11-01T12:10:00.000Z']);
    expect(await quarantined()).toEqual([
      { seq: 3, reason: 'implausible_time', detail: "time 2026-11-01T12:10:01Z is more than 10 min after the head-end's clock (2026-11-01T12:00:00.000Z); check the gateway's clock" },
      { seq: 4, reason: 'implausible_time', detail: "time 9999-12-31T23:59:59Z is more than 10 min after the head-end's clock (2026-11-01T12:00:00.000Z); check the gateway's clock" },
      { seq: 5, reason: 'implausible_time', detail: "time 1970-01-01T00:00:00Z is before 1990-01-01; the gateway's clock is probably not set" },
    ]);
    // The meter was last seen at its latest plausible reading, not in 9999.
    const seen = (await opened.db.query<{ last_seen_at: Date }>('SELECT last_seen_at FROM meters WHERE id = $1', [m1])).rows[0].last_seen_at;
    expect(new Date(seen).toISOString()).toBe('2026-11-01T12:10:00.000Z');
    // The whole reading is kept in quarantine for the engineer (never dropped).
    const kept = (await opened.db.query<{ reading: { values: { value: number }[] } }>("SELECT reading FROM quarantine WHERE gateway_id = 'gw-time' AND seq = 4")).rows[0].reading;
    expect(kept.values[0].value).toBe(103);
  });

  it('a value whose own time is implausible quarantines its reading; the skew is configurable', async () => {
    const [, m2] = fx.meterIds;
    const msg = readings(fx.gatewayId, [{ seq: 10, address: '2', value: 5, time: '2026-11-01T11:59:00Z' }]);
    msg.readings[0].values[0].time = '2099-01-01T00:00:00Z';
    const res = await writeReadings(opened.db, [msg], { clock });
    expect(res.quarantined).toEqual({ implausible_time: 1 });
    // With a skew of 0, one second ahead of the clock is already too far: 12:00:01 > 12:00:00 + 0.
    const strict = await writeReadings(opened.db, [readings(fx.gatewayId, [{ seq: 11, address: '2', value: 6, time: '2026-11-01T12:00:01Z' }])], { clock, maxFutureSkewMs: 0 });
    expect(strict.quarantined).toEqual({ implausible_time: 1 });
    expect(await stored(m2)).toEqual([]);
  });

  it('a gateway whose clock reset to 2000-01-01 (its first binding reaches back for ever): readings before the meter was installed are quarantined', async () => {
    const rtc = await registerGateway(opened.db, 'gw-rtc', 1);
    const [m] = rtc.meterIds;
    // Installed 2026-10-15 in a Moscow building (UTC+3): that day starts at 2026-10-14T21:00:00Z.
    await opened.db.query(`UPDATE meters SET installed_on = '2026-10-15' WHERE id = $1`, [m]);
    const res = await writeReadings(opened.db, [readings('gw-rtc', [
      { seq: 1, address: '1', value: 7, time: '2000-01-01T00:05:00Z' }, // the reset RTC: after 1990, 26 years early
      { seq: 2, address: '1', value: 8, time: '2026-10-14T20:59:59Z' }, // 23:59:59 MSK on the 14th: the day before
      { seq: 3, address: '1', value: 9, time: '2026-10-14T21:00:00Z' }, // 00:00 MSK on the 15th: the day itself
    ])], { clock });
    expect(res).toEqual({ stored: 1, duplicates: 0, quarantined: { implausible_time: 2 } });
    expect(await stored(m)).toEqual(['2026-10-14T21:00:00.000Z']);
    const q = (await opened.db.query<{ seq: number; detail: string }>("SELECT seq, detail FROM quarantine WHERE gateway_id = 'gw-rtc' ORDER BY seq")).rows;
    expect(q).toEqual([
      { seq: 1, detail: `time 2000-01-01T00:05:00Z is before meter ${m} was installed (2026-10-15); check the gateway's clock` },
      { seq: 2, detail: `time 2026-10-14T20:59:59Z is before meter ${m} was installed (2026-10-15); check the gateway's clock` },
    ]);
  });
});
