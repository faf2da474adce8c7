// The building on real pty lines, read by a master nobody here wrote: mbpoll reads the ОДПУ
// electricity meter (SDM630, unit 1) and an apartment meter (SDM120) and gets the model's registers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SimClock, startBuilding, type Building } from '@amr/simulators';

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
});
