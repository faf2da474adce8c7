// A gateway SIGKILLed in the middle of a back-fill: the gateway runs as a child process (the built
// package, test/archive-sigkill-child.mjs) against the ТВ7 simulator on a paced 9600 Bd Modbus RTU
// line and an embedded broker. It polls once, is off for 48 simulated hours, and starts again; while
// it reads those 48 hours back from the hourly archive it is killed twice and started again with the
// same bufferDir; then it reads the two days that ended in the gap from the daily archive. Every hour
// and day of the gap must reach the broker, a record sent twice must be the same (meter, quantity,
// time, value), and the head-end's ingest writer on a real database keeps exactly one row per
// (meter, quantity, hour) and per (meter, day quantity, day).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { ARCHIVE_DAILY_NAMES, ReadingsMessage, topics, type MeterReading } from '@amr/protocols';
import { ConsumerSeries, HeatVolumeSeries, SimClock, Tv7Simulator, circuitTemps, startModbusBus, type ModbusBus } from '@amr/simulators';
import type { OpenedDb } from '../headend/src/db/index.js';
import { writeReadings } from '../headend/src/ingest/index.js';
import { hashSecret } from '../headend/src/broker/index.js';
import { openTestDb } from '../headend/test/engine.js';
import { startBroker, type TestBroker } from '../gateway/test/helpers/broker.js';
import { local, startMs, until } from '../gateway/test/archive-clock.js';

const repo = fileURLToPath(new URL('../', import.meta.url));
const child = join(repo, 'test/archive-sigkill-child.mjs');
const built = join(repo, 'gateway/dist/index.js');

describe('a gateway SIGKILLed mid back-fill', () => {
  // Real speed from 08:00 local on 15 January; the test moves it 48 hours on while the gateway is off.
  const clock = new SimClock(new Date(local(8)), 1);
  const heat = new ConsumerSeries('heat', startMs, 7, 1, 40);
  const volume = new HeatVolumeSeries((t) => heat.cumulative(t), startMs, 0.01);
  const truth = { energyKwh: (t: number) => heat.cumulative(t), returnVolumeM3: (t: number) => volume.cumulative(t), temps: circuitTemps };
  const calc = new Tv7Simulator({ clock, truth, startMs, utcOffsetMinutes: 180 });
  // Δt below minimum on the second day, 10:00–12:00 local: two hours with an НС inside the gap.
  calc.inject({ code: 'dt_low', from: new Date(local(24 + 10)), to: new Date(local(24 + 12)) });
  const gwId = `gw-archive-kill-${process.pid}`;
  const children: ChildProcess[] = [];
  let sim: ModbusBus;
  let broker: TestBroker;
  let dir: string;
  let opened: OpenedDb;
  let meterId: number;
  let stderr = '';

  beforeAll(async () => {
    if (!existsSync(built)) throw new Error(`${built} missing: run \`npx tsc -b\` first`);
    dir = mkdtempSync(join(tmpdir(), 'amr-archive-kill-'));
    broker = await startBroker();
    // Paced at 9600 Bd: a record (select + 90 words) takes about a quarter of a second, so the
    // back-fill of 48 hours lasts long enough to be killed in the middle.
    sim = await startModbusBus({ transport: { kind: 'tcp', port: 0 }, framing: 'rtu', timing: { pacing: true, baud: 9600, bitsPerChar: 10 }, slaves: [calc.slave(5)] });
    opened = await openTestDb();
    meterId = await opened.db.tx(async (q) => {
      const org = (await q.query<{ id: number }>(`INSERT INTO organisations (name) VALUES ('org archive kill') RETURNING id`)).rows[0].id;
      const b = (await q.query<{ id: number }>(`INSERT INTO buildings (org_id, address) VALUES ($1, 'ТП-9') RETURNING id`, [org])).rows[0].id;
      await q.query(`INSERT INTO gateways (id, name, building_id, credential_hash) VALUES ($1, $1, $2, $3)`, [gwId, b, await hashSecret('pw-archive-kill')]);
      const m = (await q.query<{ id: number }>(`INSERT INTO meters (placement, building_id, resource, make, serial_number) VALUES ('building', $1, 'heat', 'ТВ7', 'tv7-kill') RETURNING id`, [b])).rows[0].id;
      await q.query(`INSERT INTO bindings (gateway_id, bus, address, meter_id) VALUES ($1, 'rs485', '5', $2)`, [gwId, m]);
      return m;
    });
  }, 120_000);
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await sim?.close();
    await broker?.close();
    await opened?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (): ChildProcess => {
    const c = spawn(process.execPath, [child, join(dir, 'gateway.yaml'), String(clock.nowMs())], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, AMR_LOG_LEVEL: 'warn' } });
    c.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    children.push(c);
    return c;
  };
  const kill = async (c: ChildProcess, signal: NodeJS.Signals = 'SIGKILL') => {
    const gone = new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r)));
    c.kill(signal);
    await gone;
  };
  const messages = () => broker.published.filter((p) => p.topic === topics.readings(gwId)).map((p) => ReadingsMessage.parse(JSON.parse(p.payload.toString())));
  const archived = (): MeterReading[] => messages().flatMap((m) => m.readings).filter((r) => r.archive);
  const hourly = () => archived().filter((r) => r.archive!.kind === 'hourly');
  const daily = () => archived().filter((r) => r.archive!.kind === 'daily');
  const hoursOut = () => new Set(hourly().map((r) => r.archive!.record)).size;
  const value = (r: MeterReading, q: string) => r.values.find((v) => v.quantity === q)?.value;

  it('publishes every hour of a 48-hour gap, the same values when twice, and the head-end stores each once', async () => {
    if (sim.endpoint.kind !== 'tcp') throw new Error('expected tcp');
    writeFileSync(
      join(dir, 'gateway.yaml'),
      stringify({
        gateway: { id: gwId, bufferDir: join(dir, 'buf') },
        mqtt: { url: broker.url, batchSize: 4, reconnectMin: '100ms', reconnectMax: '500ms' },
        buses: [{ name: 'rs485', protocol: 'modbus', port: `tcp://127.0.0.1:${sim.endpoint.port}`, timeout: '1s', retries: 1 }],
        meters: [{ id: 'tv7', bus: 'rs485', slave: 5, registerMap: 'tv7', interval: '2s', backfill: { utcOffsetMinutes: 180, maxAge: '3d' } }],
      }),
    );
    // The gateway's last success is at 08:00 on the 15th; then it is off.
    let c = start();
    await until(() => messages().length > 0, `the first live poll (stderr: ${stderr})`, 20_000);
    await kill(c, 'SIGTERM');
    expect(archived()).toEqual([]); // its first poll ever: no gap known

    // 48 hours later it starts again: hours 08:00 on the 15th … 07:00 on the 17th are due.
    clock.setTime(new Date(local(48 + 8, 0) + 30_000));
    c = start();
    await until(() => hoursOut() >= 8, `8 archive hours published (stderr: ${stderr})`, 30_000);
    await kill(c);
    const afterFirstKill = hoursOut();
    expect(afterFirstKill).toBeLessThan(48); // killed partway
    c = start();
    await until(() => hoursOut() >= afterFirstKill + 10, `10 more archive hours (stderr: ${stderr})`, 30_000);
    await kill(c);
    expect(hoursOut()).toBeLessThan(48);
    c = start();
    await until(() => hoursOut() >= 48, `all 48 hours (stderr: ${stderr})`, 60_000);
    // Once the last record is in the outbox the cursor stands at the hour under way (08:00 on the 17th,
    // read once it is over): nothing of the gap before it is left to read.
    const cursor = (key: string) => (JSON.parse(readFileSync(join(dir, 'buf', 'backfill.json'), 'utf8')) as { jobs: Record<string, { next: string }> }).jobs[key]?.next;
    await until(() => cursor('tv7') === new Date(local(56)).toISOString(), 'the cursor at the hour under way');
    // Then the days that ended in the gap, 15 and 16 January; the 17th is under way.
    await until(() => cursor('tv7#daily') === new Date(local(48)).toISOString(), `the daily cursor at the day under way (stderr: ${stderr})`, 30_000);
    await kill(c, 'SIGTERM');

    const recs = hourly();
    const expectedHours = Array.from({ length: 48 }, (_, i) => new Date(local(8 + i)).toISOString());
    // Every hour of the gap at least once, nothing outside it (not the hour under way at 08:00 on the 17th).
    const instants = [...new Set(recs.map((r) => r.values[0].time))].sort();
    expect(instants).toEqual(expectedHours);
    // An hour published twice is the same reading for the head-end: meter, and every (quantity, time, value).
    const key = (r: MeterReading) => JSON.stringify([r.meter.meterKey, r.values.map((v) => [v.quantity, v.time, v.value]).sort()]);
    const byRecord = new Map<string, string>();
    for (const r of archived()) {
      const k = key(r);
      const id = `${r.archive!.kind}@${r.archive!.record}`;
      expect(byRecord.get(id) ?? k, id).toBe(k);
      byRecord.set(id, k);
    }
    // Values are the archive's: 09:00 on the 15th is the heat between 09:00 and 10:00; 10:00 and 11:00 on
    // the 16th are under Δt < min, no heat counted and the whole hour in Тнс.
    const at = (h: number) => recs.find((r) => r.values[0].time === new Date(local(h)).toISOString())!;
    expect(value(at(9), 'energy_delta_kwh')).toBeCloseTo(truth.energyKwh(local(10)) - truth.energyKwh(local(9)), 3);
    expect(value(at(24 + 10), 'energy_delta_kwh')).toBe(0);
    expect(value(at(24 + 11), 'error_time_delta_s')).toBe(3600);
    expect(value(at(24 + 12), 'error_time_delta_s')).toBe(0);
    // The days: 15 January (its record from the day holding the last success) and the 16th, each the
    // sum of its hours as the calculator keeps it; the 16th lies wholly in the gap, so its heat is
    // also the sum of the 24 hours published, and its Тнс the two hours of Δt < min.
    const days = daily();
    expect([...new Set(days.map((r) => r.archive!.record))]).toEqual(['2026-01-15T00:00:00', '2026-01-16T00:00:00']);
    expect(Math.max(...recs.map((r) => r.seq))).toBeLessThan(Math.min(...days.map((r) => r.seq))); // hourly first
    const day = (d: number) => days.find((r) => r.values[0].time === new Date(local(24 * d)).toISOString())!;
    expect(value(day(0), 'energy_day_kwh')).toBeCloseTo(calc.record('daily', local(0)).values.energy_delta_kwh, 2);
    const hoursOf16 = Array.from({ length: 24 }, (_, h) => value(at(24 + h), 'energy_delta_kwh')!).reduce((a, b) => a + b, 0);
    expect(value(day(1), 'energy_day_kwh')).toBeCloseTo(hoursOf16, 2);
    expect(value(day(1), 'error_time_day_s')).toBe(7200);
    expect(day(1).archive!.nsCodes).toEqual(['dt_low']);

    // The head-end: every message in the order it arrived, duplicates included.
    const all = messages();
    for (const m of all) await writeReadings(opened.db, [m], { clock: () => new Date(local(56, 30)) });
    const rows = (await opened.db.query<{ quantity: string; time: Date; n: string }>(
      `SELECT quantity, time, count(*) AS n FROM reading_rows WHERE meter_id = $1 AND source = 'meter_archive' GROUP BY quantity, time ORDER BY quantity, time`, [meterId])).rows;
    // 48 hours × the 13 values of a record (10 from the map, Тр, Тнс, the НС word) and 2 days × the
    // same 13 under the day names, each exactly once.
    const perRecord = recs[0].values.length;
    expect(perRecord).toBe(13);
    const dayNames = new Set(Object.values(ARCHIVE_DAILY_NAMES) as string[]);
    expect(rows.filter((r) => !dayNames.has(r.quantity)).length).toBe(48 * perRecord);
    expect(rows.filter((r) => dayNames.has(r.quantity)).length).toBe(2 * perRecord);
    expect(rows.every((r) => Number(r.n) === 1)).toBe(true);
    const energy = rows.filter((r) => r.quantity === 'energy_delta_kwh').map((r) => new Date(r.time).toISOString());
    expect(energy).toEqual(expectedHours);
    const energyDays = rows.filter((r) => r.quantity === 'energy_day_kwh').map((r) => new Date(r.time).toISOString());
    expect(energyDays).toEqual([local(0), local(24)].map((t) => new Date(t).toISOString()));
    const q = (await opened.db.query(`SELECT reason, detail FROM quarantine WHERE gateway_id = $1`, [gwId])).rows;
    expect(q).toEqual([]);
  }, 240_000);
});
