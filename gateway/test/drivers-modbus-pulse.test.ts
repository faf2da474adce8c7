// Modbus and pulse drivers against @amr/simulators over real ptys (socat) and TCP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startModbusBus, startPulseBus, type ModbusBus, type PulseBus, type Endpoint } from '@amr/simulators';
import { createServer, type AddressInfo } from 'node:net';
import { encodePulseResponse } from '@amr/protocols';
import { BusConfig, MeterConfig, resolveBus, resolveMeter, ModbusDriver, PulseDriver, BusWorker } from '../src/index.js';
import { PulseState } from '../src/drivers/pulse.js';

const portOf = (e: Endpoint) => (e.kind === 'pty' ? e.path : `tcp://${e.host}:${e.port}`);
const bus = (protocol: string, e: Endpoint, extra: Record<string, unknown> = {}) =>
  resolveBus(BusConfig.parse({ name: 'b', protocol, port: portOf(e), timeout: '300ms', retries: 1, ...extra }));
const meter = (b: ReturnType<typeof resolveBus>, m: Record<string, unknown>) => resolveMeter(MeterConfig.parse({ id: 'm', bus: 'b', ...m }), b);

const SDM630_VALUES = { energy_kwh: 12345.5, power_w: 2300, voltage_l1_v: 230.5, frequency_hz: 50 };
const HEAT_VALUES = { energy_kwh: 4321.123, volume_m3: 98.765, flow_temp_c: 70.5, return_temp_c: 45.25, power_w: 15000, error_flags: 0 };

describe.each(['pty', 'tcp'] as const)('modbus driver over %s', (kind) => {
  let sim: ModbusBus;
  beforeAll(async () => {
    sim = await startModbusBus({
      transport: kind === 'pty' ? { kind: 'pty' } : { kind: 'tcp', port: 0 },
      framing: 'rtu',
      timing: { pacing: false },
      slaves: [
        { unitId: 1, map: 'sdm630', read: () => SDM630_VALUES },
        { unitId: 7, map: 'amr-heat-calc', read: () => HEAT_VALUES },
        { unitId: 9, map: 'sdm120', read: () => SDM630_VALUES, faults: { silent: true } },
      ],
    });
  });
  afterAll(async () => sim?.close());

  it('reads several slaves on one line with their register maps', async () => {
    const b = bus('modbus', sim.endpoint);
    const d = new ModbusDriver(b);
    await d.open();
    try {
      const r1 = await d.read(meter(b, { slave: 1, registerMap: 'sdm630' }));
      const v1 = Object.fromEntries(r1.values.map((v) => [v.quantity, v.value]));
      expect(v1.energy_kwh).toBeCloseTo(12345.5, 1);
      expect(v1.power_w).toBeCloseTo(2300, 3);
      expect(v1.voltage_l1_v).toBeCloseTo(230.5, 3);
      const r7 = await d.read(meter(b, { slave: 7, registerMap: 'amr-heat-calc' }));
      const v7 = Object.fromEntries(r7.values.map((v) => [v.quantity, v.value]));
      expect(v7.energy_kwh).toBeCloseTo(4321.123, 3);
      expect(v7.volume_m3).toBeCloseTo(98.765, 3);
      expect(v7.return_temp_c).toBeCloseTo(45.25, 2);
      expect(r7.values.find((v) => v.quantity === 'energy_kwh')!.unit).toBe('kWh');
    } finally {
      await d.close();
    }
  });

  it('a silent slave times out, is retried, and the next slave is still read', async () => {
    const b = bus('modbus', sim.endpoint);
    const w = new BusWorker(b, new ModbusDriver(b), 3);
    try {
      const [dead, alive] = await Promise.all([w.poll(meter(b, { id: 'dead', slave: 9, registerMap: 'sdm120' })), w.poll(meter(b, { id: 'ok', slave: 1, registerMap: 'sdm630' }))]);
      expect(dead.ok).toBe(false);
      expect(dead.attempts).toBe(2);
      expect(alive.ok).toBe(true);
    } finally {
      await w.close();
    }
  });

  it('scan finds the answering ids', async () => {
    const b = bus('modbus', sim.endpoint, { timeout: '150ms' });
    const d = new ModbusDriver(b);
    await d.open();
    try {
      const hits = await d.scan({ from: 1, to: 10, timeoutMs: 100 }, () => undefined);
      expect(hits.map((h) => h.address)).toEqual(['1', '7']);
    } finally {
      await d.close();
    }
  });
});

describe('pulse driver over a pty', () => {
  let sim: PulseBus;
  let counters = [100, 2 ** 32 - 5, 0, 7];
  const dirs: string[] = [];
  beforeAll(async () => {
    sim = await startPulseBus({ timing: { pacing: false }, devices: [{ deviceId: 3, read: () => counters }, { deviceId: 4, read: () => [1, 2], faults: { badChecksum: true } }] });
  });
  afterAll(async () => {
    await sim?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('pulses × weight + initial value, wrap of the 32-bit counter handled and persisted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'amr-pulse-'));
    dirs.push(dir);
    const b = bus('pulse', sim.endpoint);
    const mk = () => new PulseDriver(b, dir, () => 4);
    const m = meter(b, { device: 3, channel: 1, channels: 4, weight: 0.01, quantity: 'volume_m3', initialValue: 100, offsetPulses: 2 ** 32 - 105 });
    let d = mk();
    await d.open();
    const r1 = await d.read(m);
    expect(r1.values[0]).toMatchObject({ quantity: 'volume_m3', unit: 'm3' });
    expect(r1.values[0].value).toBeCloseTo(100 + 100 * 0.01, 9);
    await d.close();
    // the counter passes 2^32 and restarts; a new driver instance (restart) must keep the wrap count
    counters = [100, 15, 0, 7];
    d = mk();
    await d.open();
    const r2 = await d.read(m);
    expect(r2.quality).toContain('counter_wrapped');
    expect(r2.values[0].value).toBeCloseTo(100 + (105 + 15 + 5 - 5) * 0.01 + 0, 6);
    expect(r2.values[0].value).toBeCloseTo(101 + 20 * 0.01, 6);
    await d.close();
  });

  it('a counter that went back a little is passed on as it is, not taken for a 32-bit wrap', () => {
    const st = new PulseState(null);
    expect(st.update('3:0', 1000)).toEqual({ total: 1000, wrapped: false });
    // 10 pulses back (a stale frame, a reset, reverse pulses): adding 2³² pulses would book 42 949 672.96 m³
    // at 10 L a pulse; the head-end gets 990 and flags the decrease.
    expect(st.update('3:0', 990)).toEqual({ total: 990, wrapped: false });
    // A real wrap: from 5 below 2³² to 10, 15 pulses on.
    st.update('3:1', 2 ** 32 - 5);
    expect(st.update('3:1', 10)).toEqual({ total: 2 ** 32 + 10, wrapped: true });
  });

  it('an answer from another device (a late answer to an earlier request) is refused', async () => {
    // A line where device 6's answer arrives whatever is asked.
    const server = createServer((sock) => sock.on('data', () => sock.write(encodePulseResponse({ deviceId: 6, counters: [777, 888], status: { lowBattery: false, tamper: false, wrapped: false, powerOn: false } }))));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const b = bus('pulse', { kind: 'tcp', host: '127.0.0.1', port: (server.address() as AddressInfo).port });
    const d = new PulseDriver(b, null, () => 2);
    await d.open();
    try {
      await expect(d.read(meter(b, { device: 5, channel: 0, channels: 2, weight: 0.01, quantity: 'volume_m3' }))).rejects.toThrow(/device 5: the answer came from device 6/);
    } finally {
      await d.close();
      server.close();
    }
  });

  it('a bad CRC is reported as a checksum error', async () => {
    const b = bus('pulse', sim.endpoint);
    const d = new PulseDriver(b, null, () => 2);
    await d.open();
    try {
      await expect(d.read(meter(b, { device: 4, channel: 0, channels: 2, weight: 1, quantity: 'volume_m3' }))).rejects.toThrow(/CRC/);
    } finally {
      await d.close();
    }
  });
});
