// Back-fill of a heat calculator's daily archive beside its hourly one, end to end in one process: the
// ТВ7 simulator on a Modbus RTU line over TCP → the gateway → outbox → an embedded MQTT broker, on
// simulated time. The gateway is off from 10:30 on 15 January (day 1, the meter's local time, UTC+3)
// to 09:00 on the 18th (day 4): at restart it publishes the 71 missed hours, then the days 15, 16 and
// 17 from the daily archive, and the 18th once that day is over.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ReadingsMessage, topics, type MeterReading } from '@amr/protocols';
import { ConsumerSeries, HeatVolumeSeries, SimClock, Tv7Simulator, circuitTemps, startModbusBus, type ModbusBus } from '@amr/simulators';
import { Gateway, validateConfig } from '../src/index.js';
import { startBroker, type TestBroker } from './helpers/broker.js';
import { HOUR, local, startMs, until } from './archive-clock.js';

const iso = (t: number) => new Date(t).toISOString();
/** The meter-clock label of the hour (or day) starting at local(h): "2026-01-15T10:00:00". */
const label = (h: number) => new Date(local(h) + 3 * HOUR).toISOString().slice(0, 19);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** One calculator on one line, a broker, a buffer directory; the gateway runs on the simulated clock. */
function rig(name: string) {
  const clock = new SimClock(new Date(local(8)), 0);
  const heat = new ConsumerSeries('heat', startMs, 7, 1, 40);
  const volume = new HeatVolumeSeries((t) => heat.cumulative(t), startMs, 0.01);
  const truth = { energyKwh: (t: number) => heat.cumulative(t), returnVolumeM3: (t: number) => volume.cumulative(t), temps: circuitTemps };
  const calc = new Tv7Simulator({ clock, truth, startMs, utcOffsetMinutes: 180 });
  // Day 2 (16 January): Δt below minimum 10:00–12:00 local, while the gateway is off.
  calc.inject({ code: 'dt_low', from: new Date(local(24 + 10)), to: new Date(local(24 + 12)) });
  const line = { silent: false };
  const r = {
    clock, truth, calc, line,
    sim: undefined as unknown as ModbusBus,
    broker: undefined as unknown as TestBroker,
    dir: '',
    /** The meter's backfill.archives (undefined: the map's all). */
    archives: undefined as string[] | undefined,
    gwId: `gw-daily-${name}-${process.pid}`,
    config() {
      if (r.sim.endpoint.kind !== 'tcp') throw new Error('expected tcp');
      return validateConfig({
        gateway: { id: r.gwId, bufferDir: r.dir },
        mqtt: { url: r.broker.url, reconnectMin: '200ms', reconnectMax: '1s' },
        buses: [{ name: 'rs485', protocol: 'modbus', port: `tcp://127.0.0.1:${r.sim.endpoint.port}`, timeout: '300ms', retries: 0 }],
        // Hourly polls: 1 h + 1 min without a success is a gap.
        meters: [{ id: 'tv7', bus: 'rs485', slave: 5, registerMap: 'tv7', interval: '1h', backfill: { utcOffsetMinutes: 180, ...(r.archives ? { archives: r.archives } : {}) } }],
      });
    },
    published(): MeterReading[] {
      return r.broker.published.filter((p) => p.topic === topics.readings(r.gwId)).flatMap((p) => ReadingsMessage.parse(JSON.parse(p.payload.toString())).readings);
    },
    archived(kind: 'hourly' | 'daily'): MeterReading[] {
      return r.published().filter((x) => x.archive?.kind === kind);
    },
    async start(): Promise<Gateway> {
      const gw = new Gateway({ config: r.config(), logger: pino({ level: 'silent' }), scheduler: false, now: () => clock.nowMs() });
      await gw.start();
      return gw;
    },
    async pollAt(gw: Gateway, t: number): Promise<void> {
      clock.setTime(new Date(t));
      expect((await gw.poll(gw.cfg.meters[0]))?.ok, `poll at ${iso(t)}`).toBe(true);
      await gw.backfillIdle('tv7');
      await until(() => gw.outbox.depth === 0, 'outbox drained');
    },
    async run(at: number[]): Promise<void> {
      const gw = await r.start();
      try {
        for (const t of at) await r.pollAt(gw, t);
      } finally {
        await gw.stop();
      }
    },
  };
  beforeAll(async () => {
    r.dir = mkdtempSync(join(tmpdir(), `amr-daily-${name}-`));
    r.broker = await startBroker();
    r.sim = await startModbusBus({ transport: { kind: 'tcp', port: 0 }, framing: 'rtu', timing: { pacing: false }, slaves: [calc.slave(5, line)] });
  });
  afterAll(async () => {
    await r.sim?.close();
    await r.broker?.close();
    rmSync(r.dir, { recursive: true, force: true });
  });
  return r;
}

const value = (r: MeterReading, q: string) => r.values.find((v) => v.quantity === q)?.value;
/** Float32 on the wire: a day's heat (hundreds of kWh) to a millionth of itself. */
const near = (got: number | null | undefined, want: number, what: string) => expect(Math.abs(got! - want), `${what}: ${got} vs ${want}`).toBeLessThanOrEqual(Math.max(1e-3, Math.abs(want) * 1e-6));

describe('a gateway off for three days reads the days back from the ТВ7 daily archive too', () => {
  const r = rig('three');

  it('restarted at 09:00 on day 4: every hour of the gap once, then days 1–3 once each, the day\'s heat the sum of its hours', async () => {
    await r.run([local(10, 30)]);
    expect(r.published().filter((x) => x.archive)).toEqual([]); // the first poll ever: no gap known
    await r.run([local(72 + 9)]);

    // The hours: from the one holding the last success (10:00 on day 1) to the last one over (08:00 on day 4).
    const hours = r.archived('hourly');
    expect(hours.map((x) => x.archive!.record)).toEqual(range(10, 81).map(label));
    expect(hours).toHaveLength(71);
    // The days: from the day holding the last success to the last day over; day 4 is under way.
    const days = r.archived('daily');
    expect(days.map((x) => x.archive!.record)).toEqual(['2026-01-15T00:00:00', '2026-01-16T00:00:00', '2026-01-17T00:00:00']);
    // Hourly first (what the imbalance needs), then the days.
    expect(Math.max(...hours.map((x) => x.seq))).toBeLessThan(Math.min(...days.map((x) => x.seq)));

    for (const [d, rec] of days.entries()) {
      const day0 = local(24 * d);
      expect(rec.archive).toMatchObject({ kind: 'daily', seconds: 86_400, stamp: 'start' });
      // Every value at the day's start (its midnight, 21:00 UTC the day before), under the day names.
      for (const v of rec.values) expect(v, v.quantity).toMatchObject({ time: iso(day0), quality: expect.arrayContaining(['archive']) });
      expect(rec.values.map((v) => v.quantity)).not.toContain('energy_delta_kwh');
      // The simulator's day: the sum of its 24 hourly records, as the calculator's own daily record.
      const hourly = range(0, 24).map((h) => r.calc.record('hourly', day0 + h * HOUR));
      const sum = (f: (x: (typeof hourly)[number]) => number) => hourly.reduce((a, x) => a + f(x), 0);
      near(value(rec, 'energy_day_kwh'), sum((x) => x.values.energy_delta_kwh), `day ${d + 1} heat = Σ hours`);
      near(value(rec, 'energy_day_kwh'), r.calc.record('daily', day0).values.energy_delta_kwh, `day ${d + 1} heat = the daily record`);
      near(value(rec, 'volume_day_m3'), sum((x) => x.values.volume_delta_m3), `day ${d + 1} volume`);
      expect(value(rec, 'operating_time_day_s')! + value(rec, 'error_time_day_s')!).toBe(86_400);
    }
    // By hand from the truth: days 1 and 3 are normal — the circuit's heat from midnight to midnight.
    near(value(days[0], 'energy_day_kwh'), r.truth.energyKwh(local(24)) - r.truth.energyKwh(local(0)), 'day 1 truth');
    near(value(days[2], 'energy_day_kwh'), r.truth.energyKwh(local(72)) - r.truth.energyKwh(local(48)), 'day 3 truth');
    expect(value(days[0], 'error_time_day_s')).toBe(0);
    expect(days[0].quality).toEqual(['archive']);
    // Day 2: Δt < min 10:00–12:00, no heat counted for those two hours, 7 200 s in Тнс, the НС named.
    const day2Truth = r.truth.energyKwh(local(48)) - r.truth.energyKwh(local(24)) - (r.truth.energyKwh(local(36)) - r.truth.energyKwh(local(34)));
    near(value(days[1], 'energy_day_kwh'), day2Truth, 'day 2 truth without 10:00–12:00');
    expect(day2Truth).toBeLessThan(r.truth.energyKwh(local(48)) - r.truth.energyKwh(local(24)));
    expect(value(days[1], 'error_time_day_s')).toBe(7200);
    expect(value(days[1], 'operating_time_day_s')).toBe(86_400 - 7200);
    expect(value(days[1], 'error_flags_day')).toBe(1 << 2);
    expect(days[1].archive!.nsCodes).toEqual(['dt_low']);
    expect(days[1].quality).toEqual(['archive', 'meter_error']);
    // Days 2 and 3 were wholly in the gap: the day's heat is also the sum of the published hours.
    for (const d of [1, 2]) {
      const published = hours.filter((x) => Date.parse(x.values[0].time!) >= local(24 * d) && Date.parse(x.values[0].time!) < local(24 * d + 24));
      expect(published).toHaveLength(24);
      near(value(days[d], 'energy_day_kwh'), published.reduce((a, x) => a + value(x, 'energy_delta_kwh')!, 0), `day ${d + 1} = Σ published hours`);
    }

    // Left: the daily job waits for day 4 to end (the daily archive is read routinely too: its cursor,
    // stretched to the end of the day under way, is kept for good); the hourly one is done.
    const file = JSON.parse(readFileSync(join(r.dir, 'backfill.json'), 'utf8')) as { jobs: Record<string, unknown> };
    expect(file.jobs).toEqual({ 'tv7#daily': { kind: 'daily', next: iso(local(72)), until: iso(local(96)) } });
  });

  it('hourly polls on to midnight of day 5: day 4 is published once it is over, and nothing else', async () => {
    const before = r.published().filter((x) => x.archive).length;
    await r.run(range(82, 96).map((h) => local(h)));
    expect(r.archived('daily').length).toBe(3); // day 4 under way until its midnight
    await r.run([local(96)]);
    const fresh = r.published().filter((x) => x.archive).slice(before);
    expect(fresh.map((x) => `${x.archive!.kind}@${x.archive!.record}`)).toEqual(['daily@2026-01-18T00:00:00']);
    near(value(fresh[0], 'energy_day_kwh'), r.truth.energyKwh(local(96)) - r.truth.energyKwh(local(72)), 'day 4 truth');
    // The hourly job is done and gone; the daily cursor stays, on day 5 (under way until local 120).
    expect(JSON.parse(readFileSync(join(r.dir, 'backfill.json'), 'utf8'))).toEqual({ v: 1, jobs: { 'tv7#daily': { kind: 'daily', next: iso(local(96)), until: iso(local(120)) } } });
  });

  it('a backfill.json from before daily jobs (meter ids, hourly) resumes its hours and reads no day', async () => {
    const before = r.published().filter((x) => x.archive);
    // As a crash left it before daily jobs existed: the cursor on 07:00 of day 4, the gap's last hours.
    writeFileSync(join(r.dir, 'backfill.json'), JSON.stringify({ v: 1, jobs: { tv7: { kind: 'hourly', next: iso(local(79)), until: iso(local(81)) } } }));
    await r.run([local(97)]);
    const again = r.published().filter((x) => x.archive).slice(before.length);
    expect(again.map((x) => `${x.archive!.kind}@${x.archive!.record}`)).toEqual([`hourly@${label(79)}`, `hourly@${label(80)}`]);
    for (const x of again) {
      const first = before.find((b) => b.archive!.kind === 'hourly' && b.archive!.record === x.archive!.record)!;
      expect(x.values).toEqual(first.values); // the same hour, the same values
    }
    // The daily cursor a routine archive keeps, on day 5 (the day holding the last success, 96:00): no day read.
    expect(JSON.parse(readFileSync(join(r.dir, 'backfill.json'), 'utf8'))).toEqual({ v: 1, jobs: { 'tv7#daily': { kind: 'daily', next: iso(local(96)), until: iso(local(120)) } } });
  });
});

describe('a daily back-fill cut off mid-way resumes at the day not finished', () => {
  const r = rig('cut');

  it('the line goes after two days, the gateway dies: restarted, day 2 comes again with the same values, day 3 once, nothing lost', async () => {
    await r.run([local(10, 30)]);
    const gw = await r.start();
    try {
      let readings = 0;
      // The live poll's reading, the 71 hours, days 1 and 2: then the line goes.
      gw.on('reading', () => {
        if (++readings === 1 + 71 + 2) r.line.silent = true;
      });
      await r.pollAt(gw, local(81));
    } finally {
      await gw.stop();
    }
    expect(r.archived('hourly')).toHaveLength(71);
    expect(r.archived('daily').map((x) => x.archive!.record)).toEqual(['2026-01-15T00:00:00', '2026-01-16T00:00:00']);
    const file = join(r.dir, 'backfill.json');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ v: 1, jobs: { 'tv7#daily': { kind: 'daily', next: iso(local(48)), until: iso(local(96)) } } });
    // A kill between day 2 reaching the outbox and its cursor moving leaves the cursor on day 2.
    writeFileSync(file, JSON.stringify({ v: 1, jobs: { 'tv7#daily': { kind: 'daily', next: iso(local(24)), until: iso(local(81)) } } }));

    r.line.silent = false;
    const first = r.archived('daily');
    await r.run([local(81, 30)]); // within an interval of the last success: no new gap
    const days = r.archived('daily');
    expect(days.map((x) => x.archive!.record)).toEqual(['2026-01-15T00:00:00', '2026-01-16T00:00:00', '2026-01-16T00:00:00', '2026-01-17T00:00:00']);
    expect(days[2].values).toEqual(first[1].values); // day 2 twice: the same reading, which the head-end stores once
    expect(days[2].seq).toBeGreaterThan(first[1].seq);
    near(value(days[3], 'energy_day_kwh'), r.calc.record('daily', local(48)).values.energy_delta_kwh, 'day 3');
    expect(r.archived('hourly')).toHaveLength(71); // no hour read again
    expect(new Set(r.archived('hourly').map((x) => x.archive!.record)).size).toBe(71);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ v: 1, jobs: { 'tv7#daily': { kind: 'daily', next: iso(local(72)), until: iso(local(96)) } } });
  });

  it('a config that stops asking for the daily archive drops its open job; no day is read', async () => {
    r.archives = ['hourly'];
    const before = r.published().filter((x) => x.archive).length;
    await r.run([local(82, 15), local(96, 30)]); // a gap from 82:15 to 96:30: hours only
    const fresh = r.published().filter((x) => x.archive).slice(before);
    expect(fresh.map((x) => x.archive!.kind)).toEqual(range(82, 96).map(() => 'hourly'));
    expect(fresh.map((x) => x.archive!.record)).toEqual(range(82, 96).map(label));
    expect(JSON.parse(readFileSync(join(r.dir, 'backfill.json'), 'utf8'))).toEqual({ v: 1, jobs: { tv7: { kind: 'hourly', next: iso(local(96)), until: iso(local(96, 30)) } } });
  });
});
