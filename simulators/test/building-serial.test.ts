// The building on real pty lines, read by a master nobody here wrote: mbpoll reads the ОДПУ
// electricity meter (SDM630, unit 1) and an apartment meter (SDM120) and gets the model's registers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { decodePulseResponse, encodePulseRequest, pulseResponseLength } from '@amr/protocols';
import { SimClock, startBuilding, type Building } from '@amr/simulators';
import { SerialClient } from './serial-client.js';

const run = promisify(execFile);

describe('building on pty lines', () => {
  let b: Building;
  const start = new Date('2026-01-01T00:00:00Z');
  beforeAll(async () => {
    b = await startBuilding(
      { seed: 3, start, apartments: 2, pacing: false, buses: { mbus: { transport: 'tcp', port: 0, baud: 2400 }, modbus: { transport: 'pty', baud: 9600 }, pulse: { transport: 'pty', baud: 9600 } } },
      { clock: new SimClock(new Date('2026-01-15T00:00:00Z'), 0) },
    );
  });
  afterAll(async () => b?.close());

  it.each([['odpu-electricity', 1], ['apt-2-electricity', 12]] as const)('mbpoll reads %s total import kWh', async (meterId, unit) => {
    const ep = b.endpoints.buses.modbus!.endpoint;
    if (ep.kind !== 'pty') throw new Error('pty expected');
    const { stdout } = await run('mbpoll', ['-m', 'rtu', '-b', '9600', '-P', 'none', '-1', '-o', '1', '-a', String(unit), '-t', '3:float', '-B', '-0', '-r', '72', '-c', '1', ep.path], { timeout: 10_000 });
    const got = Number(/\[72\]:\s+([\d.]+)/.exec(stdout)?.[1]);
    const m = b.meters.find((x) => x.meterId === meterId)!;
    const want = m.register(b.clock.nowMs());
    expect(Math.abs(got - want) / want).toBeLessThan(1e-5); // float32 and mbpoll print precision
    expect(b.endpoints.meters.find((x) => x.meterId === meterId)?.modbus?.unitId).toBe(unit);
  });

  it('apartment water through the pulse counter over a pty: pulses × weight = true consumption', async () => {
    const ep = b.endpoints.buses.pulse!.endpoint;
    if (ep.kind !== 'pty') throw new Error('pty expected');
    const meta = b.endpoints.meters.find((m) => m.meterId === 'apt-1-cold_water')!.pulse!;
    const client = await SerialClient.open(ep.path, 9600);
    const poll = async () => {
      client.reset();
      client.write(encodePulseRequest(meta.deviceId));
      return decodePulseResponse(await client.waitFor(pulseResponseLength(2)));
    };
    try {
      const t1 = new Date('2026-01-15T00:00:00Z');
      const t2 = new Date('2026-01-22T00:00:00Z');
      b.clock.setTime(t1);
      const a = await poll();
      b.clock.setTime(t2);
      const c = await poll();
      const measuredM3 = ((c.counters[meta.channel] - a.counters[meta.channel]) * meta.weightL) / 1000;
      const truth = b.truth({ from: t1, to: t2 }).meters.find((m) => m.meterId === 'apt-1-cold_water')!.consumption;
      expect(truth).toBeGreaterThan(0.5);
      expect(Math.abs(measuredM3 - truth)).toBeLessThanOrEqual(meta.weightL / 1000); // one pulse
    } finally {
      await client.close();
    }
  });
});
