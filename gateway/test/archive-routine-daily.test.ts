// The daily archive read routinely, without any gap: the ТВ7 simulator on a Modbus RTU line over TCP →
// the gateway → outbox → an embedded MQTT broker, on simulated time (Moscow clock, UTC+3). The gateway
// polls every hour at hh:30 from 10:30 on 15 January (day 1) to 01:30 on the 18th (day 4) and never
// misses a poll, so no back-fill is ever opened; it is restarted twice on the way: at 14:30 on day 2
// (after day 1 was read) and across the midnight of day 3 (stopped after 23:30 on day 2, started for
// 00:30 on day 3: one hour, within interval + slack, so still no gap).
//
// Expected, by hand: days 1, 2 and 3 (local 0…24, 24…48, 48…72) are each published exactly once, at
// the first poll after their midnight — 00:30 on days 2, 3 and 4 (local 24:30, 48:30, 72:30) — and
// never before; day 4 is under way at the end. Each day's heat is the simulator's daily record, which
// is the sum of its 24 hourly records, and on days without НС the circuit's heat from midnight to
// midnight (truth.energyKwh(end) − truth.energyKwh(start)). No hourly record is read (no gap; the
// hourly archive is not read routinely by default). The cursor ends on day 4: next = local 72.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ReadingsMessage, topics, type MeterReading } from '@amr/protocols';
import { ConsumerSeries, HeatVolumeSeries, SimClock, Tv7Simulator, circuitTemps, startModbusBus, type ModbusBus } from '@amr/simulators';
import { Gateway, validateConfig } from '../src/index.js';
import { startBroker, type TestBroker } from './helpers/broker.js';
import { HOUR, local, startMs, until } from './archive-clock.js';

const iso = (t: number) => new Date(t).toISOString();
const value = (r: MeterReading, q: string) => r.values.find((v) => v.quantity === q)?.value;
/** Float32 on the wire: a day's heat (hundreds of kWh) to a millionth of itself. */
const near = (got: number | null | undefined, want: number, what: string) => expect(Math.abs(got! - want), `${what}: ${got} vs ${want}`).toBeLessThanOrEqual(Math.max(1e-3, Math.abs(want) * 1e-6));

function rig(name: string, routine?: string[]) {
  const clock = new SimClock(new Date(local(8)), 0);
  const heat = new ConsumerSeries('heat', startMs, 7, 1, 40);
  const volume = new HeatVolumeSeries((t) => heat.cumulative(t), startMs, 0.01);
  const truth = { energyKwh: (t: number) => heat.cumulative(t), returnVolumeM3: (t: number) => volume.cumulative(t), temps: circuitTemps };
  const calc = new Tv7Simulator({ clock, truth, startMs, utcOffsetMinutes: 180 });
  // Day 3: ΔT below minimum 03:00–04:00 local — the day's record then names the НС and counts no heat for that hour.
  calc.inject({ code: 'dt_low', from: new Date(local(48 + 3)), to: new Date(local(48 + 4)) });
  let sim: ModbusBus;
  let broker: TestBroker;
  let dir: string;
  const gwId = `gw-routine-${name}-${process.pid}`;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `amr-routine-${name}-`));
    broker = await startBroker();
    sim = await startModbusBus({ transport: { kind: 'tcp', port: 0 }, framing: 'rtu', timing: { pacing: false }, slaves: [calc.slave(5, { silent: false })] });
  });
  afterAll(async () => {
    await sim?.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const published = (): MeterReading[] => broker.published.filter((p) => p.topic === topics.readings(gwId)).flatMap((p) => ReadingsMessage.parse(JSON.parse(p.payload.toString())).readings);
  const start = async (): Promise<Gateway> => {
    if (sim.endpoint.kind !== 'tcp') throw new Error('expected tcp');
    const gw = new Gateway({
      config: validateConfig({
        gateway: { id: gwId, bufferDir: dir },
        mqtt: { url: broker.url, reconnectMin: '200ms', reconnectMax: '1s' },
        buses: [{ name: 'rs485', protocol: 'modbus', port: `tcp://127.0.0.1:${sim.endpoint.port}`, timeout: '300ms', retries: 0 }],
        meters: [{ id: 'tv7', bus: 'rs485', slave: 5, registerMap: 'tv7', interval: '1h', backfill: { utcOffsetMinutes: 180, ...(routine ? { routine } : {}) } }],
      }),
      logger: pino({ level: 'silent' }),
      scheduler: false,
      now: () => clock.nowMs(),
    });
    await gw.start();
    return gw;
  };
  return { clock, truth, calc, published, start, dir: () => dir };
}

describe('a gateway polling without gaps reads each finished day from the ТВ7 daily archive once', () => {
  const { clock, truth, calc, published, start, dir: bufferDir } = rig('daily');

  it('days 1–3 once each, each at the first poll after its midnight, with the simulator\'s truth; two restarts read no day twice and miss none', async () => {
    const polls = Array.from({ length: 64 }, (_, i) => local(10 + i, 30)); // 10:30 day 1 … 01:30 day 4
    const restartBefore = new Set([local(38, 30), local(48, 30)]); // 14:30 day 2; 00:30 day 3
    let gw = await start();
    try {
      for (const t of polls) {
        if (restartBefore.has(t)) {
          await gw.stop();
          gw = await start();
        }
        clock.setTime(new Date(t));
        expect((await gw.poll(gw.cfg.meters[0]))?.ok, `poll at ${iso(t)}`).toBe(true);
        await gw.backfillIdle('tv7');
        await until(() => gw.outbox.depth === 0, 'outbox drained');
        // Never a day before it is over: the days published so far are exactly those ended by now.
        const days = published().filter((r) => r.archive?.kind === 'daily').map((r) => Date.parse(r.values[0].time!));
        const over = [0, 24, 48, 72].map((h) => local(h)).filter((d) => d + 24 * HOUR <= t);
        expect(days, `days published at ${iso(t)}`).toEqual(over);
      }
    } finally {
      await gw.stop();
    }

    const archived = published().filter((r) => r.archive);
    expect(archived.filter((r) => r.archive!.kind === 'hourly')).toEqual([]); // no gap, hourly not routine
    const days = archived.filter((r) => r.archive!.kind === 'daily');
    expect(days.map((r) => r.archive!.record)).toEqual(['2026-01-15T00:00:00', '2026-01-16T00:00:00', '2026-01-17T00:00:00']);
    // Each read at 00:30 of the next day: the first poll after its midnight.
    expect(days.map((r) => r.gatewayTime)).toEqual([iso(local(24, 30)), iso(local(48, 30)), iso(local(72, 30))]);
    for (const [d, rec] of days.entries()) {
      const day0 = local(24 * d);
      expect(rec.archive).toMatchObject({ kind: 'daily', seconds: 86_400, stamp: 'start' });
      const hours = Array.from({ length: 24 }, (_, h) => calc.record('hourly', day0 + h * HOUR));
      near(value(rec, 'energy_day_kwh'), hours.reduce((a, x) => a + x.values.energy_delta_kwh, 0), `day ${d + 1} heat = Σ its 24 hours`);
      near(value(rec, 'volume_day_m3'), hours.reduce((a, x) => a + x.values.volume_delta_m3, 0), `day ${d + 1} volume = Σ its 24 hours`);
      expect(value(rec, 'operating_time_day_s')! + value(rec, 'error_time_day_s')!).toBe(86_400);
    }
    near(value(days[0], 'energy_day_kwh'), truth.energyKwh(local(24)) - truth.energyKwh(local(0)), 'day 1 truth');
    near(value(days[1], 'energy_day_kwh'), truth.energyKwh(local(48)) - truth.energyKwh(local(24)), 'day 2 truth');
    // Day 3 without its НС hour (03:00–04:00): 3 600 s in Тнс, the НС named, the reading flagged.
    near(value(days[2], 'energy_day_kwh'), truth.energyKwh(local(72)) - truth.energyKwh(local(48)) - (truth.energyKwh(local(52)) - truth.energyKwh(local(51))), 'day 3 truth without its НС hour');
    expect(value(days[2], 'error_time_day_s')).toBe(3600);
    expect(days[2].archive!.nsCodes).toEqual(['dt_low']);
    expect(days[2].quality).toEqual(['archive', 'meter_error']);
    expect(days[0].quality).toEqual(['archive']);

    // The cursor, kept for good: on day 4, stretched to its end.
    expect(JSON.parse(readFileSync(join(bufferDir(), 'backfill.json'), 'utf8'))).toEqual({ v: 1, jobs: { 'tv7#daily': { kind: 'daily', next: iso(local(72)), until: iso(local(96)) } } });
  });
});

describe('the hourly archive read routinely when named (backfill.routine: [hourly, daily])', () => {
  const { clock, calc, published, start, dir: bufferDir } = rig('hourly', ['hourly', 'daily']);

  // Polls every 15 minutes from 22:10 on day 1 to 01:55 on day 2 (local 22:10 … 25:55), no gap. By hand:
  // the first poll opens the hourly cursor on its own hour (22:00); the hours 22:00, 23:00 and 00:00 are
  // each read once, at the first poll after their end (23:10, 00:10, 01:10); 01:00 ends at 02:00, after
  // the run. Day 1 once, at 00:10.
  it('each finished hour once, after its end, with the simulator\'s record; the day after midnight', async () => {
    const polls = Array.from({ length: 16 }, (_, i) => local(22, 10 + 15 * i));
    const gw = await start();
    try {
      for (const t of polls) {
        clock.setTime(new Date(t));
        expect((await gw.poll(gw.cfg.meters[0]))?.ok, `poll at ${iso(t)}`).toBe(true);
        await gw.backfillIdle('tv7');
        await until(() => gw.outbox.depth === 0, 'outbox drained');
        const hours = published().filter((r) => r.archive?.kind === 'hourly').map((r) => Date.parse(r.values[0].time!));
        expect(hours.every((h) => h + HOUR <= t), `no hour before its end at ${iso(t)}`).toBe(true);
      }
    } finally {
      await gw.stop();
    }
    const hours = published().filter((r) => r.archive?.kind === 'hourly');
    expect(hours.map((r) => Date.parse(r.values[0].time!))).toEqual([local(22), local(23), local(24)]);
    expect(hours.map((r) => r.gatewayTime)).toEqual([iso(local(23, 10)), iso(local(24, 10)), iso(local(25, 10))]);
    for (const r of hours) near(value(r, 'energy_delta_kwh'), calc.record('hourly', Date.parse(r.values[0].time!)).values.energy_delta_kwh, `hour ${r.archive!.record}`);
    const days = published().filter((r) => r.archive?.kind === 'daily');
    expect(days.map((r) => r.archive!.record)).toEqual(['2026-01-15T00:00:00']);
    // Hourly first, then the day (the hour 23:00 and day 1 both became due at 00:10).
    expect(days[0].seq).toBeGreaterThan(hours[1].seq);
    expect(JSON.parse(readFileSync(join(bufferDir(), 'backfill.json'), 'utf8'))).toEqual({
      v: 1,
      jobs: { tv7: { kind: 'hourly', next: iso(local(25)), until: iso(local(26)) }, 'tv7#daily': { kind: 'daily', next: iso(local(24)), until: iso(local(48)) } },
    });
  });
});
