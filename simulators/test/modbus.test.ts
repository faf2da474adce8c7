// Modbus simulator against masters nobody here wrote: mbpoll (libmodbus) over a real pty,
// and modbus-serial's client over Modbus/TCP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';

// modbus-serial is CommonJS whose module.exports is the client class; require() gives it directly.
const ModbusRTU = createRequire(import.meta.url)('modbus-serial') as typeof import('modbus-serial').default;
import { startModbusBus, type ModbusBus } from '@amr/simulators';

const run = promisify(execFile);
const values = { voltage_l1_v: 231.5, current_l1_a: 4.25, power_w: 983.5, energy_kwh: 12345.5, energy_export_kwh: 1.25, frequency_hz: 50 };

async function mbpoll(args: string[]): Promise<{ out: string; code: number }> {
  try {
    const { stdout } = await run('mbpoll', ['-m', 'rtu', '-b', '9600', '-P', 'none', '-1', '-o', '1', ...args], { timeout: 10_000 });
    return { out: stdout, code: 0 };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: number };
    return { out: `${err.stdout ?? ''}${err.stderr ?? ''}`, code: err.code ?? -1 };
  }
}

describe('modbus RTU slaves on a pty, read by mbpoll', () => {
  let bus: ModbusBus;
  let path: string;
  const faults = { badChecksum: false };
  beforeAll(async () => {
    bus = await startModbusBus({
      transport: { kind: 'pty' },
      timing: { pacing: false },
      slaves: [
        { unitId: 1, map: 'sdm630', read: () => ({ ...values, voltage_l2_v: 229, voltage_l3_v: 233.25 }) },
        { unitId: 7, map: 'sdm120', read: () => values, faults },
      ],
    });
    if (bus.endpoint.kind !== 'pty') throw new Error('expected pty');
    path = bus.endpoint.path;
  });
  afterAll(async () => bus?.close());

  it('mbpoll reads SDM630 float32 voltages (FC04, big-endian words) from unit 1', async () => {
    const r = await mbpoll(['-a', '1', '-t', '3:float', '-B', '-0', '-r', '0', '-c', '3', path]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/\[0\]:\s+231\.5/);
    expect(r.out).toMatch(/\[2\]:\s+229/);
    expect(r.out).toMatch(/\[4\]:\s+233\.25/);
  });

  it('mbpoll reads total import kWh (30073) from a second slave id on the same bus', async () => {
    const r = await mbpoll(['-a', '7', '-t', '3:float', '-B', '-0', '-r', '72', '-c', '1', path]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/\[72\]:\s+12345\.5/);
  });

  it('answers an unmapped address with exception 02 (illegal data address)', async () => {
    const r = await mbpoll(['-a', '1', '-t', '3', '-0', '-r', '200', '-c', '2', path]);
    expect(r.out).toMatch(/Illegal data address/i);
  });

  it('answers a write (FC06) with exception 01 (illegal function)', async () => {
    const r = await mbpoll(['-a', '1', '-t', '4', '-0', '-r', '0', path, '5']);
    expect(r.out).toMatch(/Illegal function/i);
  });

  it('a slave with the CRC fault switched on is seen as a CRC error by mbpoll', async () => {
    faults.badChecksum = true;
    const r = await mbpoll(['-a', '7', '-t', '3:float', '-B', '-0', '-r', '72', '-c', '1', path]);
    faults.badChecksum = false;
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/CRC|Invalid/i);
  });
});

describe('Modbus/TCP', () => {
  let bus: ModbusBus;
  beforeAll(async () => {
    bus = await startModbusBus({
      transport: { kind: 'tcp', port: 0 },
      timing: { pacing: false },
      slaves: [{ unitId: 3, map: 'amr-heat-calc', read: () => ({ energy_kwh: 5432.123, flow_temp_c: 71.5, return_temp_c: 42.25 }) }],
    });
  });
  afterAll(async () => bus?.close());

  it('modbus-serial client reads a heat calculator map (LE words, scaled)', async () => {
    if (bus.endpoint.kind !== 'tcp') throw new Error('expected tcp');
    const client = new ModbusRTU();
    await client.connectTCP(bus.endpoint.host, { port: bus.endpoint.port });
    client.setID(3);
    const r = await client.readHoldingRegisters(0, 10);
    client.close(() => undefined);
    const energyWh = r.data[0] + r.data[1] * 65536;
    expect(energyWh).toBe(5432123);
    expect(r.data[8]).toBe(7150);
    expect(r.data[9]).toBe(4225);
  });
});
