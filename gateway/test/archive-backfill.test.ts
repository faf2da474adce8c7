// Back-fill from a heat calculator's hourly archive, end to end in one process: the ТВ7 simulator on
// a Modbus RTU line over TCP → the gateway (its driver writes the select, reads the record block,
// decodes it with the map) → outbox → an embedded MQTT broker. Simulated time throughout: the
// gateway polls, is stopped for hours of simulated time, starts again, and publishes every missed
// hour once, with the values the calculator's archive holds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ReadingsMessage, topics, type MeterReading } from '@amr/protocols';
import { ConsumerSeries, HeatVolumeSeries, SimClock, Tv7Simulator, circuitTemps, startModbusBus, type ModbusBus } from '@amr/simulators';
import { Gateway, validateConfig } from '../src/index.js';
import { gapJob, dueRecords, recordStartOf } from '../src/runtime/backfill.js';
import { startBroker, type TestBroker } from './helpers/broker.js';
import { HOUR, MIN, local, startMs, until } from './archive-clock.js';


describe('planning a back-fill (pure)', () => {
  const s = { interval: 15 * MIN, slack: MIN, utcOffsetMinutes: 180, maxAge: 2 * 86_400_000 };
  it('no gap when the last success is within an interval plus slack, none on the very first poll', () => {
    expect(gapJob(new Date(local(8)).toISOString(), local(8, 16), s, HOUR)).toBeNull();
    expect(gapJob(null, local(20), s, HOUR)).toBeNull();
  });
  it('a gap opens a job from the hour of the last success to now; never older than maxAge', () => {
    expect(gapJob(new Date(local(8, 40)).toISOString(), local(15, 20), s, HOUR)).toEqual({ kind: 'hourly', next: new Date(local(8)).toISOString(), until: new Date(local(15, 20)).toISOString() });
    const long = gapJob(new Date(local(0)).toISOString(), local(24 * 10, 30), s, HOUR)!;
    expect(long.next).toBe(new Date(local(24 * 8 + 1)).toISOString()); // the first whole hour within 2 days
  });
  it('only records whose hour is over are due; an open job is extended, not moved past unpublished records', () => {
    const job = { kind: 'hourly' as const, next: new Date(local(8)).toISOString(), until: new Date(local(15, 20)).toISOString() };
    expect(dueRecords(job, local(15, 20), HOUR)).toEqual([8, 9, 10, 11, 12, 13, 14].map((h) => local(h)));
    const merged = gapJob(new Date(local(18)).toISOString(), local(20, 5), s, HOUR, job)!;
    expect(merged).toEqual({ kind: 'hourly', next: job.next, until: new Date(local(20, 5)).toISOString() });
  });
  it('a meter clock at a half-hour offset has its hours at :30 UTC', () => {
    expect(recordStartOf(Date.UTC(2026, 0, 15, 10, 10), HOUR, 330)).toBe(Date.UTC(2026, 0, 15, 9, 30));
  });
});

describe('back-fill in the config', () => {
  const base = { gateway: { id: 'gw-cfg', bufferDir: '/tmp/unused' }, mqtt: { url: 'mqtt://127.0.0.1:1' } };
  const modbus = { name: 'rs485', protocol: 'modbus', port: '/dev/ttyUSB0' };
  it('is refused on a register map without archives and on a non-Modbus meter; needs the meter clock\'s offset', () => {
    expect(() => validateConfig({ ...base, buses: [modbus], meters: [{ id: 'el', bus: 'rs485', slave: 1, registerMap: 'sdm630', backfill: { utcOffsetMinutes: 180 } }] }))
      .toThrow(/register map sdm630 has no archives to back-fill from/);
    expect(() => validateConfig({ ...base, buses: [{ name: 'mb', protocol: 'mbus', port: '/dev/ttyUSB1' }], meters: [{ id: 'h', bus: 'mb', primary: 1, backfill: { utcOffsetMinutes: 180 } }] }))
      .toThrow(/backfill.*not allowed for a mbus meter|not allowed for a mbus meter/s);
    expect(() => validateConfig({ ...base, buses: [modbus], meters: [{ id: 'tv7', bus: 'rs485', slave: 2, registerMap: 'tv7', backfill: {} }] })).toThrow(/utcOffsetMinutes/);
    const ok = validateConfig({ ...base, buses: [modbus], meters: [{ id: 'tv7', bus: 'rs485', slave: 2, registerMap: 'tv7', backfill: { utcOffsetMinutes: 180, maxAge: '3d' } }] });
    expect(ok.meters[0].backfill).toEqual({ utcOffsetMinutes: 180, maxAge: 3 * 86_400_000, slack: 60_000 });
  });
});

describe('a gateway stopped for hours reads them back from the ТВ7 archive', () => {
  const clock = new SimClock(new Date(local(8)), 0);
  const heat = new ConsumerSeries('heat', startMs, 7, 1, 40);
  const volume = new HeatVolumeSeries((t) => heat.cumulative(t), startMs, 0.01);
  const truth = { energyKwh: (t: number) => heat.cumulative(t), returnVolumeM3: (t: number) => volume.cumulative(t), temps: circuitTemps };
  const calc = new Tv7Simulator({ clock, truth, startMs, utcOffsetMinutes: 180 });
  // While the gateway is off: Δt below minimum 10:00–12:00 local.
  calc.inject({ code: 'dt_low', from: new Date(local(10)), to: new Date(local(12)) });
  let sim: ModbusBus;
  let broker: TestBroker;
  let dir: string;
  const gwId = `gw-archive-${process.pid}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'amr-archive-'));
    broker = await startBroker();
    sim = await startModbusBus({ transport: { kind: 'tcp', port: 0 }, framing: 'rtu', timing: { pacing: false }, slaves: [calc.slave(5)] });
  });
  afterAll(async () => {
    await sim?.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = () => {
    if (sim.endpoint.kind !== 'tcp') throw new Error('expected tcp');
    return validateConfig({
      gateway: { id: gwId, bufferDir: dir },
      mqtt: { url: broker.url, reconnectMin: '200ms', reconnectMax: '1s' },
      buses: [{ name: 'rs485', protocol: 'modbus', port: `tcp://127.0.0.1:${sim.endpoint.port}`, timeout: '500ms', retries: 1 }],
      meters: [{ id: 'tv7', bus: 'rs485', slave: 5, registerMap: 'tv7', interval: '15m', backfill: { utcOffsetMinutes: 180, maxAge: '2d' } }],
    });
  };
  const published = (): MeterReading[] =>
    broker.published.filter((p) => p.topic === topics.readings(gwId)).flatMap((p) => ReadingsMessage.parse(JSON.parse(p.payload.toString())).readings);
  const archived = () => published().filter((r) => r.archive);
  const value = (r: MeterReading, q: string) => r.values.find((v) => v.quantity === q)?.value;

  /** Runs a gateway on the simulated clock: one poll at each given instant, waiting for its back-fill and delivery. */
  async function runGateway(at: number[]): Promise<void> {
    const gw = new Gateway({ config: config(), logger: pino({ level: 'silent' }), scheduler: false, now: () => clock.nowMs() });
    await gw.start();
    try {
      for (const t of at) {
        clock.setTime(new Date(t));
        const out = await gw.poll(gw.cfg.meters[0]);
        expect(out?.ok, `poll at ${new Date(t).toISOString()}`).toBe(true);
        await gw.backfillIdle('tv7');
        await until(() => gw.outbox.depth === 0, 'outbox drained');
      }
    } finally {
      await gw.stop();
    }
  }

  it('polls live at 08:00, is off until 15:20: hours 08…14 are published once each, the archive\'s truth', async () => {
    await runGateway([local(8)]);
    expect(archived()).toEqual([]); // the first poll ever: no gap known
    await runGateway([local(15, 20)]);
    const recs = archived();
    expect(recs.map((r) => r.archive!.record)).toEqual([8, 9, 10, 11, 12, 13, 14].map((h) => `2026-01-15T${String(h).padStart(2, '0')}:00:00`));
    for (const [i, r] of recs.entries()) {
      const h = 8 + i;
      const truthRec = calc.record('hourly', local(h));
      // Every value at the record's instant (its start, in UTC), flagged as from the archive.
      for (const v of r.values) expect(v, v.quantity).toMatchObject({ time: new Date(local(h)).toISOString(), quality: expect.arrayContaining(['archive']) });
      // float32 on the wire: the archive's truth to its precision.
      expect(value(r, 'energy_delta_kwh')).toBeCloseTo(truthRec.values.energy_delta_kwh, 3);
      expect(value(r, 'return_volume_delta_m3')).toBeCloseTo(truthRec.values.return_volume_delta_m3, 5);
      expect(value(r, 'flow_temp_mean_c')).toBeCloseTo(truthRec.values.flow_temp_mean_c, 3);
      expect(value(r, 'operating_time_delta_s')).toBe(truthRec.workingSeconds);
      expect(value(r, 'error_time_delta_s')).toBe(truthRec.nsSeconds);
    }
    // Hand-checked hours: 09:00 is a normal hour — the heat delivered between 09:00 and 10:00.
    const h9 = recs[1];
    expect(value(h9, 'energy_delta_kwh')).toBeCloseTo(truth.energyKwh(local(10)) - truth.energyKwh(local(9)), 3);
    expect(value(h9, 'energy_delta_kwh')).toBeGreaterThan(0);
    expect(h9.archive!.nsCodes).toEqual([]);
    expect(h9.quality).toEqual(['archive']);
    // 10:00 and 11:00: Δt below minimum all hour — no heat counted, the whole hour in Тнс, the НС named.
    for (const r of [recs[2], recs[3]]) {
      expect(value(r, 'energy_delta_kwh')).toBe(0);
      expect(value(r, 'operating_time_delta_s')).toBe(0);
      expect(value(r, 'error_time_delta_s')).toBe(3600);
      // The record's НС word under its own name: a live poll at the same instant has its own error_flags.
      expect(value(r, 'error_flags_interval')).toBe(1 << 2);
      expect(r.values.map((x) => x.quantity)).not.toContain('error_flags');
      expect(r.archive!.nsCodes).toEqual(['dt_low']);
      expect(r.quality).toEqual(['archive', 'meter_error']);
      expect(value(r, 'volume_delta_m3')).toBeGreaterThan(0); // volume still counted
    }
    // The hour under way (15:00) is not in the archive yet: not published.
    expect(recs.some((r) => r.archive!.record.startsWith('2026-01-15T15'))).toBe(false);
  });

  it('the next poll after 16:00 publishes the 15:00 hour, then nothing more', async () => {
    await runGateway([local(16, 5), local(16, 20)]);
    const recs = archived();
    expect(recs.map((r) => r.archive!.record.slice(11, 13))).toEqual(['08', '09', '10', '11', '12', '13', '14', '15']);
    expect(value(recs[7], 'energy_delta_kwh')).toBeCloseTo(calc.record('hourly', local(15)).values.energy_delta_kwh, 3);
  });

  it('a crash after a record reached the outbox but before the cursor moved: resumed, that record comes again with the same values', async () => {
    const before = archived();
    // What a crash leaves: the cursor back at 14:00, the gap not finished.
    writeFileSync(join(dir, 'backfill.json'), JSON.stringify({ v: 1, jobs: { tv7: { kind: 'hourly', next: new Date(local(14)).toISOString(), until: new Date(local(16)).toISOString() } } }));
    await runGateway([local(16, 35)]);
    const again = archived().slice(before.length);
    expect(again.map((r) => r.archive!.record.slice(11, 13))).toEqual(['14', '15']);
    for (const r of again) {
      const first = before.find((b) => b.archive!.record === r.archive!.record)!;
      expect(r.values).toEqual(first.values); // never a different value for the same hour
      expect(r.seq).toBeGreaterThan(first.seq);
    }
  });

  it('the success that ends a gap is on disk at once: a kill soon after would otherwise bring the gap back and move the cursor to its start', async () => {
    // Last success 16:35 (the test before); a poll at 19:00 ends a gap. Routine successes reach
    // meter-state.json only within 30 s; this one must be there before the gateway stops (stopping
    // flushes too, so the file is read while it runs), its jobs beside it.
    const gw = new Gateway({ config: config(), logger: pino({ level: 'silent' }), scheduler: false, now: () => clock.nowMs() });
    await gw.start();
    try {
      clock.setTime(new Date(local(19)));
      expect((await gw.poll(gw.cfg.meters[0]))?.ok).toBe(true);
      const state = JSON.parse(readFileSync(join(dir, 'meter-state.json'), 'utf8')) as { meters: Record<string, { lastSuccessAt: string }> };
      expect(state.meters.tv7.lastSuccessAt).toBe(new Date(local(19)).toISOString());
      await gw.backfillIdle('tv7');
      // A poll within the interval is no gap: written within the flush interval, not at once.
      clock.setTime(new Date(local(19, 10)));
      expect((await gw.poll(gw.cfg.meters[0]))?.ok).toBe(true);
      const again = JSON.parse(readFileSync(join(dir, 'meter-state.json'), 'utf8')) as typeof state;
      expect(again.meters.tv7.lastSuccessAt).toBe(new Date(local(19)).toISOString());
      await gw.backfillIdle('tv7');
    } finally {
      await gw.stop();
    }
  });
});

describe('a back-fill cut off by the line resumes where it stopped', () => {
  const clock = new SimClock(new Date(local(8)), 0);
  const heat = new ConsumerSeries('heat', startMs, 7, 1, 40);
  const volume = new HeatVolumeSeries((t) => heat.cumulative(t), startMs, 0.01);
  const calc = new Tv7Simulator({ clock, truth: { energyKwh: (t: number) => heat.cumulative(t), returnVolumeM3: (t: number) => volume.cumulative(t), temps: circuitTemps }, startMs, utcOffsetMinutes: 180 });
  /** The line to the calculator, cut at will (the converter loses power mid-back-fill). */
  const line = { silent: false };
  let sim: ModbusBus;
  let broker: TestBroker;
  let dir: string;
  const gwId = `gw-archive-cut-${process.pid}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'amr-archive-cut-'));
    broker = await startBroker();
    sim = await startModbusBus({ transport: { kind: 'tcp', port: 0 }, framing: 'rtu', timing: { pacing: false }, slaves: [calc.slave(5, line)] });
  });
  afterAll(async () => {
    await sim?.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('four hours out, the line falls silent: the job pauses at the fifth, the next poll publishes the rest, each hour once', async () => {
    if (sim.endpoint.kind !== 'tcp') throw new Error('expected tcp');
    const config = validateConfig({
      gateway: { id: gwId, bufferDir: dir },
      mqtt: { url: broker.url, reconnectMin: '200ms', reconnectMax: '1s' },
      buses: [{ name: 'rs485', protocol: 'modbus', port: `tcp://127.0.0.1:${sim.endpoint.port}`, timeout: '300ms', retries: 0 }],
      meters: [{ id: 'tv7', bus: 'rs485', slave: 5, registerMap: 'tv7', interval: '15m', backfill: { utcOffsetMinutes: 180 } }],
    });
    const archived = () =>
      broker.published.filter((p) => p.topic === topics.readings(gwId)).flatMap((p) => ReadingsMessage.parse(JSON.parse(p.payload.toString())).readings).filter((r) => r.archive);
    const start = async () => {
      const gw = new Gateway({ config, logger: pino({ level: 'silent' }), scheduler: false, now: () => clock.nowMs() });
      await gw.start();
      return gw;
    };
    const pollAt = async (gw: Gateway, t: number) => {
      clock.setTime(new Date(t));
      expect((await gw.poll(gw.cfg.meters[0]))?.ok).toBe(true);
      await gw.backfillIdle('tv7');
      await until(() => gw.outbox.depth === 0, 'outbox drained');
    };

    const first = await start();
    await pollAt(first, local(8));
    await first.stop();

    const gw = await start();
    try {
      let readings = 0;
      // The live poll's reading, then four archive records: then the line goes.
      gw.on('reading', () => {
        if (++readings === 5) line.silent = true;
      });
      await pollAt(gw, local(20, 10));
      expect(archived().map((r) => r.archive!.record.slice(11, 13))).toEqual(['08', '09', '10', '11']);
      expect(gw.backfillJob('tv7')).toEqual({ kind: 'hourly', next: new Date(local(12)).toISOString(), until: new Date(local(20, 10)).toISOString() });
      line.silent = false;
      await pollAt(gw, local(20, 20));
      const hours = archived().map((r) => r.archive!.record.slice(11, 13));
      expect(hours).toEqual(['08', '09', '10', '11', '12', '13', '14', '15', '16', '17', '18', '19']);
      expect(gw.backfillJob('tv7')).toMatchObject({ next: new Date(local(20)).toISOString() }); // the 20:00 hour waits for its end
      for (const r of archived()) {
        const h = Number(r.archive!.record.slice(11, 13));
        expect(r.values.find((v) => v.quantity === 'energy_delta_kwh')!.value).toBeCloseTo(calc.record('hourly', local(h)).values.energy_delta_kwh, 3);
      }
    } finally {
      await gw.stop();
    }
  });
});
