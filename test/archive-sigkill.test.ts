// A gateway SIGKILLed in the middle of a back-fill: the gateway runs as a child process (the built
// package, test/archive-sigkill-child.mjs) against the ТВ7 simulator on a paced 9600 Bd Modbus RTU
// line and an embedded broker. It polls once, is off for 48 simulated hours, and starts again; while
// it reads those 48 hours back from the hourly archive it is killed twice and started again with the
// same bufferDir; then it reads the two days that ended in the gap from the daily archive. Every hour
// and day of the gap must reach the broker, a record sent twice must be the same (meter, quantity,
// time, value), and the head-end's ingest writer on a real database keeps exactly one row per
// (meter, quantity, hour) and per (meter, day quantity, day).
import { describe, expect, it } from 'vitest';
import { ARCHIVE_DAILY_NAMES, type MeterReading } from '@amr/protocols';
import { writeReadings } from '../headend/src/ingest/index.js';
import { local, until } from '../gateway/test/archive-clock.js';
import { sigkillRig } from './archive-sigkill-rig.js';

describe('a gateway SIGKILLed mid back-fill', () => {
  // Real speed from 08:00 local on 15 January; the test moves it 48 hours on while the gateway is off.
  const r = sigkillRig('kill');
  const { clock, truth, calc } = r;
  // Δt below minimum on the second day, 10:00–12:00 local: two hours with an НС inside the gap.
  calc.inject({ code: 'dt_low', from: new Date(local(24 + 10)), to: new Date(local(24 + 12)) });
  const messages = () => r.messages();
  const archived = () => r.archived();
  const hourly = () => archived().filter((x) => x.archive!.kind === 'hourly');
  const daily = () => archived().filter((x) => x.archive!.kind === 'daily');
  const hoursOut = () => new Set(hourly().map((x) => x.archive!.record)).size;
  const value = (x: MeterReading, q: string) => x.values.find((v) => v.quantity === q)?.value;

  it('publishes every hour of a 48-hour gap, the same values when twice, and the head-end stores each once', async () => {
    r.configure({ maxAge: '3d' }, { batchSize: 4 });
    // The gateway's last success is at 08:00 on the 15th; then it is off.
    let c = r.start();
    await until(() => messages().length > 0, `the first live poll (stderr: ${r.stderr})`, 20_000);
    await r.kill(c, 'SIGTERM');
    expect(archived()).toEqual([]); // its first poll ever: no gap known

    // 48 hours later it starts again: hours 08:00 on the 15th … 07:00 on the 17th are due.
    clock.setTime(new Date(local(48 + 8, 0) + 30_000));
    c = r.start();
    await until(() => hoursOut() >= 8, `8 archive hours published (stderr: ${r.stderr})`, 30_000);
    await r.kill(c);
    const afterFirstKill = hoursOut();
    expect(afterFirstKill).toBeLessThan(48); // killed partway
    c = r.start();
    await until(() => hoursOut() >= afterFirstKill + 10, `10 more archive hours (stderr: ${r.stderr})`, 30_000);
    await r.kill(c);
    expect(hoursOut()).toBeLessThan(48);
    c = r.start();
    await until(() => hoursOut() >= 48, `all 48 hours (stderr: ${r.stderr})`, 60_000);
    // Once the last record is in the outbox the cursor stands at the hour under way (08:00 on the 17th,
    // read once it is over): nothing of the gap before it is left to read.
        await until(() => r.cursor('tv7') === new Date(local(56)).toISOString(), 'the cursor at the hour under way');
    // Then the days that ended in the gap, 15 and 16 January; the 17th is under way.
    await until(() => r.cursor('tv7#daily') === new Date(local(48)).toISOString(), `the daily cursor at the day under way (stderr: ${r.stderr})`, 30_000);
    await r.kill(c, 'SIGTERM');

    const recs = hourly();
    const expectedHours = Array.from({ length: 48 }, (_, i) => new Date(local(8 + i)).toISOString());
    // Every hour of the gap at least once, nothing outside it (not the hour under way at 08:00 on the 17th).
    const instants = [...new Set(recs.map((x) => x.values[0].time))].sort();
    expect(instants).toEqual(expectedHours);
    // An hour published twice is the same reading for the head-end: meter, and every (quantity, time, value).
    const key = (x: MeterReading) => JSON.stringify([x.meter.meterKey, x.values.map((v) => [v.quantity, v.time, v.value]).sort()]);
    const byRecord = new Map<string, string>();
    for (const x of archived()) {
      const k = key(x);
      const id = `${x.archive!.kind}@${x.archive!.record}`;
      expect(byRecord.get(id) ?? k, id).toBe(k);
      byRecord.set(id, k);
    }
    // Values are the archive's: 09:00 on the 15th is the heat between 09:00 and 10:00; 10:00 and 11:00 on
    // the 16th are under Δt < min, no heat counted and the whole hour in Тнс.
    const at = (h: number) => recs.find((x) => x.values[0].time === new Date(local(h)).toISOString())!;
    expect(value(at(9), 'energy_delta_kwh')).toBeCloseTo(truth.energyKwh(local(10)) - truth.energyKwh(local(9)), 3);
    expect(value(at(24 + 10), 'energy_delta_kwh')).toBe(0);
    expect(value(at(24 + 11), 'error_time_delta_s')).toBe(3600);
    expect(value(at(24 + 12), 'error_time_delta_s')).toBe(0);
    // The days: 15 January (its record from the day holding the last success) and the 16th, each the
    // sum of its hours as the calculator keeps it; the 16th lies wholly in the gap, so its heat is
    // also the sum of the 24 hours published, and its Тнс the two hours of Δt < min.
    const days = daily();
    expect([...new Set(days.map((x) => x.archive!.record))]).toEqual(['2026-01-15T00:00:00', '2026-01-16T00:00:00']);
    expect(Math.max(...recs.map((x) => x.seq))).toBeLessThan(Math.min(...days.map((x) => x.seq))); // hourly first
    const day = (d: number) => days.find((x) => x.values[0].time === new Date(local(24 * d)).toISOString())!;
    expect(value(day(0), 'energy_day_kwh')).toBeCloseTo(calc.record('daily', local(0)).values.energy_delta_kwh, 2);
    const hoursOf16 = Array.from({ length: 24 }, (_, h) => value(at(24 + h), 'energy_delta_kwh')!).reduce((a, b) => a + b, 0);
    expect(value(day(1), 'energy_day_kwh')).toBeCloseTo(hoursOf16, 2);
    expect(value(day(1), 'error_time_day_s')).toBe(7200);
    expect(day(1).archive!.nsCodes).toEqual(['dt_low']);

    // The head-end: every message in the order it arrived, duplicates included.
    const all = messages();
    for (const m of all) await writeReadings(r.opened.db, [m], { clock: () => new Date(local(56, 30)) });
    const rows = (await r.opened.db.query<{ quantity: string; time: Date; n: string }>(
      `SELECT quantity, time, count(*) AS n FROM reading_rows WHERE meter_id = $1 AND source = 'meter_archive' GROUP BY quantity, time ORDER BY quantity, time`, [r.meterId])).rows;
    // 48 hours × the 13 values of a record (10 from the map, Тр, Тнс, the НС word) and 2 days × the
    // same 13 under the day names, each exactly once.
    const perRecord = recs[0].values.length;
    expect(perRecord).toBe(13);
    const dayNames = new Set(Object.values(ARCHIVE_DAILY_NAMES) as string[]);
    expect(rows.filter((x) => !dayNames.has(x.quantity)).length).toBe(48 * perRecord);
    expect(rows.filter((x) => dayNames.has(x.quantity)).length).toBe(2 * perRecord);
    expect(rows.every((x) => Number(x.n) === 1)).toBe(true);
    const energy = rows.filter((x) => x.quantity === 'energy_delta_kwh').map((x) => new Date(x.time).toISOString());
    expect(energy).toEqual(expectedHours);
    const energyDays = rows.filter((x) => x.quantity === 'energy_day_kwh').map((x) => new Date(x.time).toISOString());
    expect(energyDays).toEqual([local(0), local(24)].map((t) => new Date(t).toISOString()));
    const q = (await r.opened.db.query(`SELECT reason, detail FROM quarantine WHERE gateway_id = $1`, [r.gwId])).rows;
    expect(q).toEqual([]);
  }, 240_000);
});
