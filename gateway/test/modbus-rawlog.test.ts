// Modbus through the gateway's driver: float32 registers published at the precision the meter has
// (230.1, not 230.10000610351562), NaN/±Inf as flagged nulls, integers scaled without binary noise;
// each read's request and answer frames in hex for the raw log, failed reads included, and
// `replay` decoding them again with the logged map.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModbusBus, type ModbusBus } from '@amr/simulators';
import { AMR_HEAT_CALC, decodeValue, encodeValue, shortestFloat32 } from '@amr/protocols';
import { BusConfig, MeterConfig, ModbusDriver, resolveBus, resolveMeter, TimeoutError } from '../src/index.js';
import { replayLog } from '../src/cli/replay.js';

describe('float32 precision', () => {
  it.each<[number, number]>([
    [0.1, 0.1],
    [230.1, 230.1],
    [1e-7, 1e-7],
    [16777217, 16777216], // not a float32: the nearest one, printed exactly
    [-49.98, -49.98],
    [0, 0],
    [3.4028234663852886e38, 3.4028235e38],
  ])('%s is read back as %s', (x, want) => {
    const e = { name: 'v', address: 0, fn: 'input' as const, type: 'float32' as const, wordOrder: 'BE' as const, scale: 1, unit: 'V' };
    expect(decodeValue(e, encodeValue(e, x))).toBe(want);
    expect(shortestFloat32(x)).toBe(want);
  });
  it('NaN and infinities stay what they are (the driver flags them)', () => {
    expect(shortestFloat32(NaN)).toBeNaN();
    expect(shortestFloat32(-Infinity)).toBe(-Infinity);
  });
  it('scaled integers carry no binary noise', () => {
    const e = AMR_HEAT_CALC.entries.find((x) => x.name === 'energy_kwh')!; // uint32 × 0.001
    expect(decodeValue(e, encodeValue(e, 4321.123))).toBe(4321.123);
    expect(4321123 * 0.001).toBe(4321.1230000000005); // what the plain product would have published
  });
});

describe('modbus driver: values and raw frames', () => {
  let sim: ModbusBus;
  beforeAll(async () => {
    sim = await startModbusBus({
      transport: { kind: 'pty' },
      framing: 'rtu',
      timing: { pacing: false },
      slaves: [
        { unitId: 4, map: 'sdm120', read: () => ({ voltage_l1_v: 230.1, current_l1_a: 0.1, power_w: 1e-7, energy_kwh: 16777217, frequency_hz: NaN, energy_export_kwh: Infinity }) },
        { unitId: 5, map: 'sdm120', read: () => ({}), faults: { silent: true } },
      ],
    });
  });
  afterAll(async () => sim?.close());

  it('publishes float32 at their precision, NaN/Inf as flagged nulls, and keeps the frames', async () => {
    const bus = resolveBus(BusConfig.parse({ name: 'rs485', protocol: 'modbus', port: (sim.endpoint as { path: string }).path, timeout: '300ms' }));
    const d = new ModbusDriver(bus);
    await d.open();
    try {
      const r = await d.read(resolveMeter(MeterConfig.parse({ id: 'e4', bus: 'rs485', slave: 4, registerMap: 'sdm120' }), bus));
      const by = Object.fromEntries(r.values.map((v) => [v.quantity, v]));
      expect(by.voltage_l1_v).toMatchObject({ value: 230.1, quality: [] });
      expect(by.current_l1_a.value).toBe(0.1);
      expect(by.power_w.value).toBe(1e-7);
      expect(by.energy_kwh.value).toBe(16777216);
      expect(by.frequency_hz).toMatchObject({ value: null, quality: ['meter_error'] });
      expect(by.energy_export_kwh).toMatchObject({ value: null, quality: ['value_overflow'] });
      // sdm120's first block bridges the gap 0x0002…0x0005, which this slave refuses (exception 2):
      // the driver reads entry by entry from then on — all of it in the frames, tx/rx in turn
      expect(r.frames!.map((f) => f.dir)).toEqual(['tx', 'rx', 'tx', 'rx', 'tx', 'rx', 'tx', 'rx', 'tx', 'rx']);
      expect(r.frames![0].hex).toMatch(/^04040000000e[0-9a-f]{4}$/); // unit 4, FC 04, start 0, 14 words, CRC
      expect(r.frames![1].hex).toMatch(/^048402[0-9a-f]{4}$/); // exception 2
      expect(r.frames![2].hex).toMatch(/^040400000002[0-9a-f]{4}$/);
      expect(r.frames![3].hex).toMatch(/^040404/); // 2 words
      expect(r.frames![3].hex.slice(6, 14)).toBe('4366199a'); // 230.1 as float32 (0x4366199A, rounded to nearest), big-endian
      const line = { ts: '2026-01-01T00:00:00.000Z', bus: 'rs485', meter: 'e4', protocol: 'modbus', address: '4', map: 'sdm120', frames: r.frames, ok: true };
      const [back] = replayLog(JSON.stringify(line));
      expect(back).toMatchObject({ ok: true, decoded: { values: { voltage_l1_v: 230.1, current_l1_a: 0.1, energy_kwh: 16777216 }, exceptions: ['unit 4: exception 2 to function 4'] } });

      // a silent slave: the timeout carries the request that went unanswered
      const err = await d.read(resolveMeter(MeterConfig.parse({ id: 'e5', bus: 'rs485', slave: 5, registerMap: 'sdm120' }), bus)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TimeoutError);
      expect((err as { frames: unknown }).frames).toEqual([{ dir: 'tx', hex: expect.stringMatching(/^05040000000e[0-9a-f]{4}$/) }]);
    } finally {
      await d.close();
    }
  });
});
