// Every simulated M-Bus meter type read through both drivers (native codec and libmbus via
// node-mbus), over a pty and over TCP, with the same expectations: the drivers must agree.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import {
  electricityMeterRecords, heatMeterRecords, pulseAdapterRecords, startMbusSegment, waterMeterRecords,
  type Endpoint, type MbusSegment, type MbusSlaveSpec,
} from '@amr/simulators';
import { BusConfig, MeterConfig, createDriver, resolveBus, resolveMeter, MbusNativeDriver, type BusDriver, type MeterRead } from '../src/index.js';

const time = new Date('2026-03-15T10:30:00Z');
const history = Array.from({ length: 12 }, (_, i) => ({ date: `2025-${String(12 - i).padStart(2, '0')}-01`, value: 40000 - i * 1000, value2: 900 - i * 20 }));
const heat = () => heatMeterRecords({ time, energyKwh: 41234, volumeM3: 912.34, powerW: 15200, flowM3h: 0.654, flowTempC: 70.3, returnTempC: 45.1, operatingHours: 8123, errorFlags: 0, history: [] });
const heatHist = () => heatMeterRecords({ time, energyKwh: 50000, volumeM3: 1000, powerW: 1, flowM3h: 0.1, flowTempC: 60, returnTempC: 40, operatingHours: 1, errorFlags: 0, history });

const SLAVES = (): MbusSlaveSpec[] => [
  { primaryAddress: 1, id: '12345678', manufacturer: 'KAM', version: 0x19, medium: 0x04, records: heat },
  { primaryAddress: 2, id: '22000001', manufacturer: 'ZRI', version: 0x01, medium: 0x16, records: () => waterMeterRecords({ time, volumeM3: 123.456, flowM3h: 0.12, errorFlags: 0, history: [] }) },
  { primaryAddress: 4, id: '44000001', manufacturer: 'ABB', version: 0x20, medium: 0x02, records: () => electricityMeterRecords({ time, energyKwh: 7654.3, energyT1Kwh: 5000.1, energyT2Kwh: 2654.2, powerW: 1234, errorFlags: 0, history: [] }) },
  { primaryAddress: 5, id: '55000001', manufacturer: 'REL', version: 0x02, medium: 0x00, records: () => pulseAdapterRecords({ time, volumesM3: [11.111, 22.222] }) },
  { primaryAddress: 6, id: '66000001', manufacturer: 'SEN', version: 0x0b, medium: 0x04, records: heatHist, maxUserData: 80 },
  { primaryAddress: 0, id: '77000001', manufacturer: 'ZRI', version: 0x01, medium: 0x06, records: () => waterMeterRecords({ time, volumeM3: 45.678, flowM3h: 0, errorFlags: 0, history: [] }) },
  { primaryAddress: 7, id: '22000002', manufacturer: 'ZRI', version: 0x01, medium: 0x06, records: () => waterMeterRecords({ time, volumeM3: 1, flowM3h: 0, errorFlags: 0, history: [] }) },
  { primaryAddress: 9, id: '99000001', manufacturer: 'ZRI', version: 0x01, medium: 0x16, records: () => [], faults: { silent: true } },
];

const portOf = (e: Endpoint) => (e.kind === 'pty' ? e.path : `tcp://${e.host}:${e.port}`);
const vals = (r: MeterRead) => Object.fromEntries(r.values.map((v) => [v.quantity, v.value]));

interface Case {
  meter: Record<string, unknown>;
  expect: Record<string, number>;
  profile?: string;
}
const CASES: [string, Case][] = [
  ['heat meter (KAM)', { meter: { primary: 1 }, expect: { energy_kwh: 41234, volume_m3: 912.34, power_w: 15200, volume_flow_m3h: 0.654, flow_temp_c: 70.3, return_temp_c: 45.1, temp_diff_k: 25.2, operating_time_s: 8123 * 3600, error_flags: 0 } }],
  ['cold water meter', { meter: { primary: 2 }, expect: { volume_m3: 123.456, volume_flow_m3h: 0.12 } }],
  ['electricity meter with tariffs', { meter: { primary: 4 }, expect: { energy_kwh: 7654.3, energy_t1_kwh: 5000.1, energy_t2_kwh: 2654.2, power_w: 1234 } }],
  ['pulse adapter (generic records)', { meter: { primary: 5 }, expect: { 'mbus.instantaneous.volume': 11.111, 'mbus.instantaneous.volume.u1': 22.222 } }],
  ['warm water by secondary address', { meter: { secondary: '77000001' }, expect: { volume_m3: 45.678 } }],
];

// libmbus cannot open a pty as its serial port (its openSerial fails on /dev/pts/N), so it is
// proven over TCP, the way M-Bus/Ethernet converters are used.
const combos = [
  ['native', 'pty'],
  ['native', 'tcp'],
  ['libmbus', 'tcp'],
] as const;

describe.each(combos)('M-Bus driver %s over %s', (driver, kind) => {
  let seg: MbusSegment;
  let d: BusDriver;
  let bus: ReturnType<typeof resolveBus>;
  beforeAll(async () => {
    seg = await startMbusSegment({ transport: kind === 'pty' ? { kind: 'pty' } : { kind: 'tcp', port: 0 }, timing: { pacing: false }, slaves: SLAVES() });
    bus = resolveBus(BusConfig.parse({ name: 'm', protocol: 'mbus', port: portOf(seg.endpoint), driver, timeout: '400ms', retries: 1, sndNke: driver === 'libmbus' ? 'never' : 'once' }));
    d = createDriver(bus, null, []);
    await d.open();
  });
  afterAll(async () => {
    await d?.close();
    await seg?.close();
  });
  const meter = (m: Record<string, unknown>) => resolveMeter(MeterConfig.parse({ id: 'x', bus: 'm', ...m }), bus);

  it.each(CASES)('%s', async (_name, c) => {
    const r = await d.read(meter(c.meter), 0);
    const v = vals(r);
    for (const [q, want] of Object.entries(c.expect)) expect(v[q], q).toBeCloseTo(want, 6);
    expect(r.meterTime).toBe('2026-03-15T10:30:00.000Z');
    expect(r.quality).toContain('clock_far_off'); // the simulated clock is months away from now
  });

  it('units are the contract units', async () => {
    const r = await d.read(meter({ primary: 1 }), 0);
    const u = Object.fromEntries(r.values.map((x) => [x.quantity, x.unit]));
    expect(u).toMatchObject({ energy_kwh: 'kWh', volume_m3: 'm3', power_w: 'W', flow_temp_c: '°C', volume_flow_m3h: 'm3/h' });
  });

  it('a meter that never answers times out', async () => {
    await expect(d.read(meter({ primary: 9 }), 0)).rejects.toThrow();
  });

  it.runIf(driver === 'libmbus')('primary scan finds the addressed meters (libmbus driver, REQ_UD2 per address)', async () => {
    const hits = await d.scan!({ mode: 'primary', from: 1, to: 3 }, () => undefined);
    expect(hits.map((h) => [h.address, h.serial])).toEqual([['1', '12345678'], ['2', '22000001']]);
  });
});

describe('native M-Bus driver link behaviour', () => {
  let seg: MbusSegment;
  let drv: MbusNativeDriver;
  let bus: ReturnType<typeof resolveBus>;
  beforeAll(async () => {
    seg = await startMbusSegment({ transport: { kind: 'pty' }, timing: { pacing: false }, slaves: SLAVES() });
    bus = resolveBus(BusConfig.parse({ name: 'm', protocol: 'mbus', port: portOf(seg.endpoint), timeout: '300ms', retries: 1, maxTelegrams: 16 }));
    drv = new MbusNativeDriver(bus, { clockToleranceMs: 60_000 });
    await drv.open();
  });
  afterAll(async () => {
    await drv?.close();
    await seg?.close();
  });
  const meter = (m: Record<string, unknown>) => resolveMeter(MeterConfig.parse({ id: 'x', bus: 'm', ...m }), bus);

  it('follows a multi-telegram readout (FCB toggled) and keeps the 12-month history', async () => {
    const r = await drv.read(meter({ primary: 6 }));
    const v = vals(r);
    expect(v.energy_kwh).toBe(50000);
    expect(v['mbus.instantaneous.energy.s12']).toBe(29000 * 1000);
    const reqs = r.frames!.filter((f) => f.dir === 'tx' && f.hex.startsWith('10'));
    expect(reqs.length).toBeGreaterThan(2);
    // FCB (bit 5 of C) alternates between consecutive REQ_UD2
    const fcbs = reqs.filter((f) => (parseInt(f.hex.slice(2, 4), 16) & 0x4f) === 0x4b).map((f) => (parseInt(f.hex.slice(2, 4), 16) >> 5) & 1);
    for (let i = 1; i < fcbs.length; i++) expect(fcbs[i]).not.toBe(fcbs[i - 1]);
  });

  it('primary scan finds the addressed meters', async () => {
    const hits = await drv.scan({ mode: 'primary', from: 0, to: 10 }, () => undefined);
    expect(hits.map((h) => h.address)).toEqual(['0', '1', '2', '4', '5', '6', '7']);
  });

  it('secondary search walks the wildcard tree through collisions and finds every meter', async () => {
    const progress: string[] = [];
    // unpaced simulator: a short probe timeout keeps the ~80 selections of the walk quick
    const fast = new MbusNativeDriver(resolveBus(BusConfig.parse({ name: 'm', protocol: 'mbus', port: portOf(seg.endpoint), timeout: '60ms' })), { clockToleranceMs: 60_000 });
    await drv.close();
    await fast.open();
    const hits = await fast.scan({ mode: 'secondary' }, (m) => progress.push(m)).finally(() => fast.close());
    await drv.open();
    expect(hits.map((h) => h.serial).sort()).toEqual(['12345678', '22000001', '22000002', '44000001', '55000001', '66000001', '77000001']);
    expect(progress.some((p) => p.endsWith('collision'))).toBe(true);
  });
});

describe('echo cancellation (level converter that echoes the request)', () => {
  let seg: MbusSegment;
  let proxy: net.Server;
  beforeAll(async () => {
    seg = await startMbusSegment({ transport: { kind: 'tcp', port: 0 }, timing: { pacing: false }, slaves: SLAVES() });
    const ep = seg.endpoint as { host: string; port: number };
    // A converter that puts the master's own bytes back on its receive line, then the slave's answer.
    proxy = net.createServer((client) => {
      const up = net.connect(ep.port, ep.host);
      client.on('data', (b) => {
        client.write(b);
        up.write(b);
      });
      up.on('data', (b) => client.write(b));
      client.on('close', () => up.destroy());
      up.on('error', () => client.destroy());
      client.on('error', () => up.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  });
  afterAll(async () => {
    await new Promise<void>((r) => proxy.close(() => r()));
    await seg?.close();
  });

  it.each([true, false])('echo: %s', async (echo) => {
    const port = (proxy.address() as net.AddressInfo).port;
    const bus = resolveBus(BusConfig.parse({ name: 'm', protocol: 'mbus', port: `tcp://127.0.0.1:${port}`, timeout: '300ms', echo }));
    const d = new MbusNativeDriver(bus, { clockToleranceMs: 60_000 });
    await d.open();
    try {
      const p = d.read(resolveMeter(MeterConfig.parse({ id: 'x', bus: 'm', primary: 2 }), bus));
      if (echo) expect(vals(await p).volume_m3).toBe(123.456);
      else await expect(p).rejects.toThrow(); // the echoed request is taken for garbage
    } finally {
      await d.close();
    }
  });
});

describe('M-Bus native driver after a failed multi-telegram readout', () => {
  let seg: MbusSegment;
  let d: BusDriver;
  let bus: ReturnType<typeof resolveBus>;
  let energyKwh = 50_000;
  const faults: { badChecksum?: boolean } = {};
  beforeAll(async () => {
    // 12 months of history in 80-byte telegrams: a readout is a series of several telegrams.
    const records = () => heatMeterRecords({ time, energyKwh, volumeM3: 1000, powerW: 1, flowM3h: 0.1, flowTempC: 60, returnTempC: 40, operatingHours: 1, errorFlags: 0, history });
    seg = await startMbusSegment({ transport: { kind: 'pty' }, timing: { pacing: false }, slaves: [{ primaryAddress: 6, id: '66000002', manufacturer: 'SEN', version: 0x0b, medium: 0x04, records, maxUserData: 80, faults }] });
    bus = resolveBus(BusConfig.parse({ name: 'm', protocol: 'mbus', port: portOf(seg.endpoint), timeout: '400ms', retries: 1, sndNke: 'once' }));
    d = createDriver(bus, null, []);
    await d.open();
  });
  afterAll(async () => {
    await d?.close();
    await seg?.close();
  });

  it('starts the next read with SND_NKE: the values are the meter\'s current ones, not the rest of the broken series', async () => {
    const m = resolveMeter(MeterConfig.parse({ id: 'x', bus: 'm', primary: 6 }), bus);
    expect(vals(await d.read(m, 0)).energy_kwh).toBe(50_000);
    // Damaged answers: the meter has begun a readout of 50 010 kWh that the master never finished.
    energyKwh = 50_010;
    faults.badChecksum = true;
    await expect(d.read(m, 0)).rejects.toThrow(/checksum/);
    faults.badChecksum = false;
    energyKwh = 50_020;
    expect(vals(await d.read(m, 0)).energy_kwh).toBe(50_020);
  });
});
