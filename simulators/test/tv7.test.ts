// The ТВ7 simulator: archive records computed from a heat circuit's truth, НС events that show up in
// them, and the calculator on a real bus read by two masters nobody here wrote (modbus-serial over
// Modbus/TCP, mbpoll over an RTU pty), decoded with the same map the gateway uses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import {
  TV7, archiveSelectWords, decodeArchiveRecord, decodeRegisters, planReads, type ArchiveRecord,
} from '@amr/protocols';
import {
  ConsumerSeries, HeatVolumeSeries, SimClock, Tv7Simulator, circuitTemps, startBuilding, startModbusBus, type Building, type ModbusBus,
} from '@amr/simulators';

const ModbusRTU = createRequire(import.meta.url)('modbus-serial') as typeof import('modbus-serial').default;
const run = promisify(execFile);

const HOUR = 3_600_000;
const MIN = 60_000;
// Commissioned at local midnight of 15 January 2026 (Moscow, UTC+3) = 14 January 21:00 UTC.
const startMs = Date.UTC(2026, 0, 14, 21);
/** UTC of a local (meter) hour on 15 January. */
const local = (hour: number, minute = 0) => startMs + hour * HOUR + minute * MIN;

function makeCalculator() {
  const clock = new SimClock(new Date(startMs), 0);
  const heat = new ConsumerSeries('heat', startMs, 7, 1, 40);
  const volume = new HeatVolumeSeries((t) => heat.cumulative(t), startMs, 0.01);
  const truth = { energyKwh: (t: number) => heat.cumulative(t), returnVolumeM3: (t: number) => volume.cumulative(t), temps: circuitTemps };
  const calc = new Tv7Simulator({ clock, truth, startMs, utcOffsetMinutes: 180 });
  // Δt below minimum 10:00–13:00 local; mains off 15:20–15:50 local.
  calc.inject({ code: 'dt_low', from: new Date(local(10)), to: new Date(local(13)) });
  calc.inject({ code: 'power_off', from: new Date(local(15, 20)), to: new Date(local(15, 50)) });
  clock.setTime(new Date(local(29))); // 05:00 local on the 16th: the 15th is archived
  return { clock, truth, calc };
}

/** Truth energy between two instants, kWh. */
const energyBetween = (truth: { energyKwh: (t: number) => number }, a: number, b: number) => truth.energyKwh(b) - truth.energyKwh(a);

describe('ТВ7 archive from the truth', () => {
  const { truth, calc } = makeCalculator();
  const hourly = Array.from({ length: 24 }, (_, h) => calc.record('hourly', local(h)));

  it('every hourly record has Тр + Тнс = 3600 s, stamped with its local start hour', () => {
    hourly.forEach((r, h) => {
      expect(r.workingSeconds + r.nsSeconds, `hour ${h}`).toBe(3600);
      expect(r.time).toMatchObject({ year: 2026, month: 1, day: 15, hour: h });
    });
  });

  it('hours without НС carry the truth: heat of that hour, no codes, no Тнс', () => {
    for (const h of [0, 9, 13, 14, 16, 23]) {
      const r = hourly[h];
      expect(r.nsCodes).toEqual([]);
      expect(r.nsSeconds).toBe(0);
      expect(r.values.energy_delta_kwh).toBeCloseTo(energyBetween(truth, local(h), local(h + 1)), 9);
      expect(r.values.return_volume_delta_m3).toBeCloseTo(truth.returnVolumeM3(local(h + 1)) - truth.returnVolumeM3(local(h)), 9);
      expect(r.values.temp_diff_mean_k).toBeGreaterThan(3);
    }
  });

  it('Δt < Δtmin hours: code dt_low, the whole hour is Тнс, no heat counted, volume still counted', () => {
    for (const h of [10, 11, 12]) {
      const r = hourly[h];
      expect(r.nsCodes).toEqual(['dt_low']);
      expect(r.nsSeconds).toBe(3600);
      expect(r.values.energy_delta_kwh).toBe(0);
      expect(r.values.return_volume_delta_m3).toBeGreaterThan(0);
      expect(r.values.temp_diff_mean_k).toBeCloseTo(1.5, 9);
    }
  });

  it('power off 15:20–15:50: code power_off, 30 min Тнс, and the hour has only 30 minutes of heat and volume', () => {
    const r = hourly[15];
    expect(r.nsCodes).toEqual(['power_off']);
    expect(r.nsSeconds).toBe(1800);
    const counted = energyBetween(truth, local(15), local(15, 20)) + energyBetween(truth, local(15, 50), local(16));
    expect(r.values.energy_delta_kwh).toBeCloseTo(counted, 9);
  });

  it('the daily record is the day of the hours: Тр + Тнс = 86400, both codes, heat = truth − heat during НС', () => {
    const d = calc.record('daily', local(0));
    expect(d.workingSeconds + d.nsSeconds).toBe(86_400);
    expect(d.nsSeconds).toBe(3 * 3600 + 1800);
    expect(d.nsCodes).toEqual(['dt_low', 'power_off']);
    const lost = energyBetween(truth, local(10), local(13)) + energyBetween(truth, local(15, 20), local(15, 50));
    expect(d.values.energy_delta_kwh).toBeCloseTo(energyBetween(truth, local(0), local(24)) - lost, 6);
    expect(d.values.energy_delta_kwh).toBeCloseTo(hourly.reduce((s, r) => s + r.values.energy_delta_kwh, 0), 6);
  });

  it('an НС cannot be injected into hours already archived', () => {
    expect(() => calc.inject({ code: 'flow_low', from: new Date(local(3)), to: new Date(local(4)) })).toThrow(/already written/);
  });
});

/** Compares a decoded record with the simulator's own (float32 on the wire: 7 significant digits). */
function expectSameRecord(got: ArchiveRecord, want: ReturnType<Tv7Simulator['record']>) {
  expect(got.nsCodes).toEqual(want.nsCodes);
  expect(got.workingSeconds).toBe(want.workingSeconds);
  expect(got.nsSeconds).toBe(want.nsSeconds);
  for (const [k, v] of Object.entries(want.values)) {
    expect(Math.abs(got.values[k] - v), k).toBeLessThanOrEqual(Math.abs(v) * 1e-6 + 1e-9);
  }
}

describe('ТВ7 on Modbus/TCP, read by modbus-serial', () => {
  const { clock, calc } = makeCalculator();
  let bus: ModbusBus;
  let client: InstanceType<typeof ModbusRTU>;
  beforeAll(async () => {
    bus = await startModbusBus({ transport: { kind: 'tcp', port: 0 }, timing: { pacing: false }, slaves: [calc.slave(5)] });
    if (bus.endpoint.kind !== 'tcp') throw new Error('expected tcp');
    client = new ModbusRTU();
    await client.connectTCP(bus.endpoint.host, { port: bus.endpoint.port });
    client.setID(5);
    client.setTimeout(1000);
  });
  afterAll(async () => {
    client?.close(() => undefined);
    await bus?.close();
  });

  const readRecord = async (kind: 'hourly' | 'daily', hour: number, day = 15) => {
    await client.writeRegisters(99, archiveSelectWords(TV7, kind, { year: 2026, month: 1, day, hour }));
    const r = await client.readHoldingRegisters(TV7.archives!.record.address, TV7.archives!.record.count);
    return decodeArchiveRecord(TV7, kind, r.data);
  };

  it('select + read gives back the record the calculator computed from the truth (hour with Δt НС)', async () => {
    const got = await readRecord('hourly', 11);
    expect(got.time).toBe('2026-01-15T11:00:00');
    expectSameRecord(got, calc.record('hourly', local(11)));
    expect(got.nsCodes).toEqual(['dt_low']);
  });

  it('the daily record over the wire: Тр + Тнс = 86400 and both НС codes', async () => {
    const got = await readRecord('daily', 0);
    expect(got.time).toBe('2026-01-15T00:00:00');
    expect(got.workingSeconds + got.nsSeconds).toBe(got.seconds);
    expectSameRecord(got, calc.record('daily', local(0)));
  });

  it('asking for a record not yet archived is refused (exception), not answered with zeros', async () => {
    await expect(client.writeRegisters(99, archiveSelectWords(TV7, 'hourly', { year: 2026, month: 1, day: 16, hour: 5 }))).rejects.toThrow(/exception|illegal/i);
  });

  it('current registers decode to the calculator\'s current values; Тр/Тнс totals in whole hours', async () => {
    const got: Record<string, number> = {};
    for (const b of planReads(TV7)) {
      const r = await client.readHoldingRegisters(b.start, b.count);
      Object.assign(got, decodeRegisters(TV7, { fn: b.fn, start: b.start, words: r.data }));
    }
    const want = calc.current();
    for (const k of ['flow_temp_c', 'return_temp_c', 'volume_flow_m3h', 'power_w', 'energy_kwh', 'volume_m3', 'return_mass_t']) {
      expect(Math.abs(got[k] - want[k]), k).toBeLessThanOrEqual(Math.abs(want[k]) * 1e-6 + 1e-9);
    }
    // 29 h since commissioning, 3.5 h of them in НС: the hour counters show 25 h and 3 h passed.
    expect(got.operating_time_s).toBe(25 * 3600);
    expect(got.error_time_s).toBe(3 * 3600);
    expect(got.error_flags).toBe(0);
  });

  it('falls silent while its mains are off (the master times out)', async () => {
    const now = clock.nowMs();
    clock.setTime(new Date(local(15, 30)));
    try {
      await expect(client.readHoldingRegisters(3543, 2)).rejects.toThrow(/timed out/i);
    } finally {
      clock.setTime(new Date(now));
    }
  });
});

describe('ТВ7 on an RTU pty, read by mbpoll', () => {
  const { calc } = makeCalculator();
  let bus: ModbusBus;
  let path: string;
  beforeAll(async () => {
    bus = await startModbusBus({ transport: { kind: 'pty' }, timing: { pacing: false }, slaves: [calc.slave(9)] });
    if (bus.endpoint.kind !== 'pty') throw new Error('expected pty');
    path = bus.endpoint.path;
  });
  afterAll(async () => bus?.close());

  async function mbpoll(args: string[]): Promise<string> {
    const { stdout } = await run('mbpoll', ['-m', 'rtu', '-b', '9600', '-P', 'none', '-1', '-o', '1', '-a', '9', ...args], { timeout: 20_000 });
    return stdout;
  }

  it('mbpoll writes the select (FC 16) and reads the record block; the map decodes it to the simulator\'s record', async () => {
    const select = archiveSelectWords(TV7, 'hourly', { year: 2026, month: 1, day: 15, hour: 15 });
    await mbpoll(['-t', '4', '-0', '-r', '99', path, ...select.map(String)]);
    const { address, count } = TV7.archives!.record;
    const out = await mbpoll(['-t', '4:hex', '-0', '-r', String(address), '-c', String(count), path]);
    const words = new Map([...out.matchAll(/\[(\d+)\]:\s+0x([0-9A-Fa-f]{4})/g)].map((m) => [Number(m[1]), parseInt(m[2], 16)]));
    expect(words.size, out).toBe(count);
    const got = decodeArchiveRecord(TV7, 'hourly', Array.from({ length: count }, (_, i) => words.get(address + i)!));
    expect(got.time).toBe('2026-01-15T15:00:00');
    expect(got.nsCodes).toEqual(['power_off']);
    expect(got.workingSeconds + got.nsSeconds).toBe(3600);
    expectSameRecord(got, calc.record('hourly', local(15)));
  });

  it('mbpoll reads the supply temperature as a float with the low word first (-B off) and agrees with the decoder', async () => {
    const out = await mbpoll(['-t', '4:float', '-0', '-r', '3543', '-c', '1', path]);
    const m = /\[3543\]:\s+(-?[\d.]+)/.exec(out);
    expect(m, out).not.toBeNull();
    expect(Number(m![1])).toBeCloseTo(calc.current().flow_temp_c, 3);
  });
});

describe('ТВ7 in the building: the ОДПУ heat circuit on Modbus unit 2', () => {
  const start = new Date('2026-01-01T00:00:00Z');
  let b: Building;
  let client: InstanceType<typeof ModbusRTU>;
  beforeAll(async () => {
    b = await startBuilding(
      { seed: 7, start, apartments: 3, pacing: false, odpuHeatCalculator: 'tv7', buses: { mbus: { transport: 'tcp', port: 0, baud: 2400 }, modbus: { transport: 'tcp', port: 0, baud: 9600 }, pulse: { transport: 'tcp', port: 0, baud: 9600 } } },
      { clock: new SimClock(start, 0) },
    );
    const ep = b.endpoints.buses.modbus!.endpoint;
    if (ep.kind !== 'tcp') throw new Error('expected tcp');
    client = new ModbusRTU();
    await client.connectTCP(ep.host, { port: ep.port });
    client.setID(2);
    client.setTimeout(1000);
  });
  afterAll(async () => {
    client?.close(() => undefined);
    await b?.close();
  });

  it('is listed for the gateway with map tv7, and its hourly heat is the ОДПУ heat truth of that hour', async () => {
    expect(b.endpoints.meters.find((m) => m.meterId === 'odpu-heat-tv7')?.modbus).toEqual({ unitId: 2, map: 'tv7' });
    b.clock.setTime(new Date('2026-01-02T12:00:00Z'));
    // Local (UTC+3) 2 January 10:00 = 07:00 UTC.
    await client.writeRegisters(99, archiveSelectWords(TV7, 'hourly', { year: 2026, month: 1, day: 2, hour: 10 }));
    const r = await client.readHoldingRegisters(TV7.archives!.record.address, TV7.archives!.record.count);
    const rec = decodeArchiveRecord(TV7, 'hourly', r.data);
    const truth = b.truth({ from: new Date('2026-01-02T07:00:00Z'), to: new Date('2026-01-02T08:00:00Z') });
    const odpu = truth.meters.find((m) => m.meterId === 'odpu-heat')!.consumption;
    expect(odpu).toBeGreaterThan(0);
    expect(Math.abs(rec.values.energy_delta_kwh - odpu)).toBeLessThanOrEqual(odpu * 1e-6);
    expect(rec.workingSeconds).toBe(3600);
  });
});
