// A gateway SIGKILLed in the middle of its DAILY back-fill (the harness of archive-sigkill.test.ts: a
// child gateway process, the ТВ7 simulator on a paced 9600 Bd line, an embedded broker, a head-end
// database on both engines). It back-fills the daily archive only (`archives: [daily]`), polls once at
// 08:00 on 15 January (day 0) and is off for 20 days: at 08:00 on day 20 the days 0…19 are due, 20
// records of about a quarter of a second each, so the back-fill lasts several seconds. It is killed
// once the broker has six of them, and started again with the same bufferDir.
//
// What must hold, worked out by hand:
// - every day 0…19 reaches the broker, nothing else (day 20 is under way);
// - the restarted gateway resumes at the cursor: with one reading per message (batchSize 1) and the
//   cursor written (fsync, rename) before the record can be sent, a day the broker had before the kill
//   comes again only if it was the last message, still without its PUBACK; the day at the cursor may
//   come twice (replayed from the outbox and read again). So the restarted gateway publishes at most
//   (20 − days before the kill) + 2 daily records, and no day before the last one the first had sent;
//   restarted from day 0 it would publish all 20;
// - each day's heat is the simulator's: the sum of its 24 hourly records; day 9 has Δt < min 10:00–12:00,
//   so 7 200 s in Тнс and those two hours' heat not counted;
// - the head-end, given every message in arrival order (duplicates included), keeps one row per
//   (meter, day quantity, day): 20 × 13 rows, none twice, no quarantine.
import { describe, expect, it } from 'vitest';
import { ARCHIVE_DAILY_NAMES, type MeterReading } from '@amr/protocols';
import { writeReadings } from '../headend/src/ingest/index.js';
import { HOUR, local, until } from '../gateway/test/archive-clock.js';
import { sigkillRig } from './archive-sigkill-rig.js';

const DAYS = 20;
const NS_DAY = 9;
const iso = (t: number) => new Date(t).toISOString();
/** The meter-clock label of the day starting at local(24 d): "2026-01-15T00:00:00" for day 0. */
const label = (d: number) => new Date(local(24 * d) + 3 * HOUR).toISOString().slice(0, 19);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const value = (x: MeterReading, q: string) => x.values.find((v) => v.quantity === q)?.value;
/** Float32 on the wire: a day's heat (hundreds of kWh) to a millionth of itself. */
const near = (got: number | null | undefined, want: number, what: string) => expect(Math.abs(got! - want), `${what}: ${got} vs ${want}`).toBeLessThanOrEqual(Math.max(1e-3, Math.abs(want) * 1e-6));

describe('a gateway SIGKILLed mid daily back-fill', () => {
  const r = sigkillRig('daily-kill');
  r.calc.inject({ code: 'dt_low', from: new Date(local(24 * NS_DAY + 10)), to: new Date(local(24 * NS_DAY + 12)) });
  const daily = (msgs = r.messages()) => msgs.flatMap((m) => m.readings).filter((x) => x.archive?.kind === 'daily');

  it('resumes at the day not finished: every day of a 20-day gap stored once, each the sum of its hours', async () => {
    r.configure({ archives: ['daily'], maxAge: '30d' }, { batchSize: 1 });
    let c = r.start();
    await until(() => r.messages().length > 0, `the first live poll (stderr: ${r.stderr})`, 20_000);
    await r.kill(c, 'SIGTERM');
    expect(r.archived()).toEqual([]); // the first poll ever, day 0 under way: nothing due

    r.clock.setTime(new Date(local(24 * DAYS + 8) + 30_000));
    c = r.start();
    await until(() => daily().length >= 6, `six daily records published (stderr: ${r.stderr})`, 30_000);
    await r.kill(c);
    // Which process sent a message: the restarted one builds its messages after it was spawned (sentAt
    // is the sender's wall clock), so a message of the killed one still on its way is not counted as
    // the restarted one's.
    const restartedAt = Date.now();
    c = r.start();
    await until(() => r.cursor('tv7#daily') === iso(local(24 * DAYS)), `the daily cursor at day ${DAYS}, under way (stderr: ${r.stderr})`, 30_000);
    await until(() => new Set(daily().map((x) => x.archive!.record)).size === DAYS, `all ${DAYS} days at the broker (stderr: ${r.stderr})`);
    await r.kill(c, 'SIGTERM');

    const msgs = r.messages();
    const before = daily(msgs.filter((m) => Date.parse(m.sentAt) < restartedAt));
    const after = daily(msgs.filter((m) => Date.parse(m.sentAt) >= restartedAt));
    const firstRun = [...new Set(before.map((x) => x.archive!.record))];
    // Killed partway, in day order, each day once before the kill (one message in flight at a time).
    expect(firstRun).toEqual(range(firstRun.length).map(label));
    expect(before).toHaveLength(firstRun.length);
    expect(firstRun.length).toBeGreaterThanOrEqual(6);
    expect(firstRun.length).toBeLessThanOrEqual(DAYS - 6);
    // The restarted gateway resumed: no day before the first run's last again, at most two repeats.
    const repeated = after.filter((x) => firstRun.includes(x.archive!.record)).map((x) => x.archive!.record);
    expect(repeated.every((d) => d === firstRun.at(-1)), `repeated: ${repeated.join(', ')}`).toBe(true);
    expect(after.length).toBeLessThanOrEqual(DAYS - firstRun.length + 2);
    expect([...new Set(after.map((x) => x.archive!.record))].filter((d) => !firstRun.includes(d))).toEqual(range(DAYS).slice(firstRun.length).map(label));
    // Every day of the gap, nothing else; a day sent twice is the same reading for the head-end.
    const all = daily(msgs);
    expect([...new Set(all.map((x) => x.archive!.record))].sort()).toEqual(range(DAYS).map(label));
    const key = (x: MeterReading) => JSON.stringify(x.values.map((v) => [v.quantity, v.time, v.value]).sort());
    for (const x of all) expect(key(x), x.archive!.record).toBe(key(all.find((y) => y.archive!.record === x.archive!.record)!));

    // The simulator's truth: a day's heat is the sum of its 24 hourly records.
    const hoursOf = (d: number) => range(24).map((h) => r.calc.record('hourly', local(24 * d + h)).values);
    for (const d of range(DAYS)) {
      const rec = all.find((x) => x.archive!.record === label(d))!;
      near(value(rec, 'energy_day_kwh'), hoursOf(d).reduce((a, x) => a + x.energy_delta_kwh, 0), `day ${d} heat = Σ its hours`);
      expect(value(rec, 'error_time_day_s'), `day ${d} Тнс`).toBe(d === NS_DAY ? 7200 : 0);
    }
    // By hand from the circuit: day 3 is normal, midnight to midnight; day 9 without 10:00–12:00.
    const heat = (from: number, to: number) => r.truth.energyKwh(local(to)) - r.truth.energyKwh(local(from));
    near(value(all.find((x) => x.archive!.record === label(3))!, 'energy_day_kwh'), heat(72, 96), 'day 3 truth');
    near(value(all.find((x) => x.archive!.record === label(NS_DAY))!, 'energy_day_kwh'), heat(24 * NS_DAY, 24 * NS_DAY + 24) - heat(24 * NS_DAY + 10, 24 * NS_DAY + 12), `day ${NS_DAY} truth`);

    // The head-end: every message in the order it arrived, duplicates included.
    for (const m of msgs) await writeReadings(r.opened.db, [m], { clock: () => new Date(local(24 * DAYS + 9)) });
    const rows = (await r.opened.db.query<{ quantity: string; time: Date; n: string; value: string }>(
      `SELECT quantity, time, count(*) AS n, max(value)::text AS value FROM reading_rows WHERE meter_id = $1 AND source = 'meter_archive' GROUP BY quantity, time ORDER BY quantity, time`, [r.meterId])).rows;
    const dayNames = new Set(Object.values(ARCHIVE_DAILY_NAMES) as string[]);
    expect(rows.every((x) => dayNames.has(x.quantity))).toBe(true); // no hourly record: not asked for
    expect(rows).toHaveLength(DAYS * 13); // the 13 values of a record (10 from the map, Тр, Тнс, the НС word)
    expect(rows.filter((x) => Number(x.n) !== 1)).toEqual([]);
    const energy = rows.filter((x) => x.quantity === 'energy_day_kwh');
    expect(energy.map((x) => iso(new Date(x.time).getTime()))).toEqual(range(DAYS).map((d) => iso(local(24 * d))));
    for (const [d, x] of energy.entries()) near(Number(x.value), hoursOf(d).reduce((a, h) => a + h.energy_delta_kwh, 0), `stored day ${d}`);
    expect((await r.opened.db.query(`SELECT reason, detail FROM quarantine WHERE gateway_id = $1`, [r.gwId])).rows).toEqual([]);
  }, 120_000);
});
