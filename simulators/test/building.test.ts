// The building's truth adds up (Σ apartments + common + loss = ОДПУ per resource and period), and
// the registers served on the real buses move by exactly the true consumption.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESOURCES, SimClock, startBuilding, type Building } from '@amr/simulators';
import { readMbus as readMbusOrSilent } from './mbus-master.js';

/** A readout of a meter that must answer. */
async function readMbus(port: number, address: number) {
  const t = await readMbusOrSilent(port, address);
  if (!t) throw new Error(`M-Bus address ${address} did not answer`);
  return t;
}


describe('building model', () => {
  let b: Building;
  const start = new Date('2026-01-01T00:00:00Z');
  beforeAll(async () => {
    b = await startBuilding(
      { seed: 7, start, apartments: 5, pacing: false, historyMonths: 2, buses: { mbus: { transport: 'tcp', port: 0, baud: 2400 }, modbus: { transport: 'tcp', port: 0, baud: 9600 }, pulse: { transport: 'tcp', port: 0, baud: 9600 } } },
      { clock: new SimClock(start, 0) },
    );
  });
  afterAll(async () => b?.close());

  it('lists every endpoint and meter', () => {
    expect(b.endpoints.buses.mbus?.endpoint.kind).toBe('tcp');
    expect(b.endpoints.meters.filter((m) => m.role === 'building').map((m) => m.resource).sort()).toEqual([...RESOURCES].sort());
    expect(b.endpoints.meters.filter((m) => m.role === 'apartment')).toHaveLength(5 * 3);
    expect(new Set(b.endpoints.meters.map((m) => m.serial)).size).toBe(b.endpoints.meters.length);
  });

  it('Σ apartments + common + loss = ОДПУ, per resource, monthly and daily; loss share as configured', () => {
    b.clock.setTime(new Date('2026-03-10T12:00:00Z'));
    for (const g of ['month', 'day'] as const) {
      for (const p of b.truthSeries(g)) {
        for (const r of RESOURCES) {
          const t = p.resources[r];
          const odpu = p.meters.find((m) => m.role === 'building' && m.resource === r)!.consumption;
          const apts = p.meters.filter((m) => m.role === 'apartment' && m.resource === r).reduce((s, m) => s + m.consumption, 0);
          expect(t.apartments + t.common + t.loss).toBeCloseTo(odpu, 6);
          expect(t.building).toBeCloseTo(odpu, 6);
          if (r !== 'heat') expect(apts).toBeCloseTo(t.apartments, 6); // heat has no apartment meters here
          if (odpu > 0) expect(t.imbalance).toBeCloseTo(b.config.loss[r], 9);
        }
      }
    }
    expect(b.truthSeries('month')).toHaveLength(3);
  });

  it('the ОДПУ heat register read over M-Bus moves by the true consumption', async () => {
    if (b.endpoints.buses.mbus?.endpoint.kind !== 'tcp') throw new Error('tcp expected');
    const port = b.endpoints.buses.mbus.endpoint.port;
    const t1 = new Date('2026-02-01T00:00:00Z');
    const t2 = new Date('2026-02-08T00:00:00Z');
    b.clock.setTime(t1);
    const r1 = await readMbus(port, 1);
    b.clock.setTime(t2);
    const r2 = await readMbus(port, 1);
    const e = (t: typeof r1) => Number(t.records.find((r) => r.quantity === 'energy' && r.storage === 0)!.value) / 1000;
    const truth = b.truth({ from: t1, to: t2 }).resources.heat.building;
    expect(truth).toBeGreaterThan(100);
    expect(Math.abs(e(r2) - e(r1) - truth)).toBeLessThanOrEqual(1); // register resolution 1 kWh
    // due-date value at storage 1 is the register on the 1st of the month
    expect(r2.records.find((r) => r.quantity === 'date' && r.storage === 1)?.value).toBe('2026-02-01');
    expect(Number(r2.records.find((r) => r.quantity === 'energy' && r.storage === 1)!.value) / 1000).toBe(e(r1));
  });

  it('faults: stuck register stops, replacement changes the serial and restarts at 0, reverse flow counts down', async () => {
    b.clock.setTime(new Date('2026-02-10T00:00:00Z'));
    const m = b.meters.find((x) => x.meterId === 'apt-2-cold_water')!;
    b.setFault(m.meterId, { kind: 'stuck' });
    const stuck = m.register(b.clock.nowMs());
    b.clock.advance(86_400_000);
    expect(m.register(b.clock.nowMs())).toBe(stuck);
    b.setFault(m.meterId, { kind: 'clear' });
    const old = m.serial;
    b.setFault(m.meterId, { kind: 'replaced' });
    expect(m.serial).not.toBe(old);
    expect(m.register(b.clock.nowMs())).toBe(0);
    expect(b.truth({ from: new Date('2026-02-01'), to: new Date('2026-03-01') }).replacements[0]).toMatchObject({ oldSerial: old, newSerial: m.serial, removalReading: stuck });
    const e = b.meters.find((x) => x.meterId === 'apt-3-electricity')!;
    b.setFault(e.meterId, { kind: 'reverseFlow' });
    const before = e.register(b.clock.nowMs());
    b.clock.advance(86_400_000);
    expect(e.register(b.clock.nowMs())).toBeLessThan(before);
  });

  it('clock drift shows in the meter date/time; rollover wraps the register past its modulus', async () => {
    if (b.endpoints.buses.mbus?.endpoint.kind !== 'tcp') throw new Error('tcp expected');
    b.clock.setTime(new Date('2026-02-20T10:00:00Z'));
    b.setFault('odpu-cold_water', { kind: 'clockDrift', driftSeconds: 7200 });
    const t = await readMbus(b.endpoints.buses.mbus.endpoint.port, 2);
    expect(t.records.find((r) => r.quantity === 'datetime')?.value).toBe('2026-02-20T12:00:00');
    b.setFault('odpu-cold_water', { kind: 'rollover', marginUnits: 0.5 });
    const m = b.meters.find((x) => x.meterId === 'odpu-cold_water')!;
    expect(m.register(b.clock.nowMs())).toBeCloseTo(m.modulus - 0.5, 6);
    b.clock.advance(2 * 86_400_000); // the building uses more than 0.5 m³ in two days
    expect(m.register(b.clock.nowMs())).toBeLessThan(50);
    b.setFault('odpu-cold_water', { kind: 'clear' });
  });

  it('a meter switched silent stops answering on its bus; clear brings it back', async () => {
    if (b.endpoints.buses.mbus?.endpoint.kind !== 'tcp') throw new Error('tcp expected');
    const port = b.endpoints.buses.mbus.endpoint.port;
    b.setFault('odpu-hot_water', { kind: 'silent' });
    expect(await readMbusOrSilent(port, 3)).toBeUndefined();
    b.setFault('odpu-hot_water', { kind: 'clear' });
    expect((await readMbus(port, 3)).header.medium).toBe('warm_water');
  });

  it('is deterministic from the seed', async () => {
    const clock = new SimClock(start, 0);
    const b2 = await startBuilding({ seed: 7, start, apartments: 5, pacing: false, buses: { mbus: { transport: 'tcp', port: 0, baud: 2400 }, modbus: { transport: 'tcp', port: 0, baud: 9600 }, pulse: { transport: 'tcp', port: 0, baud: 9600 } } }, { clock });
    try {
      const p = { from: start, to: new Date('2026-01-20T00:00:00Z') };
      expect(b2.truth(p).resources).toEqual(b.truth(p).resources);
      expect(b2.endpoints.meters.map((m) => m.meterId)).toEqual(b.endpoints.meters.map((m) => m.meterId));
    } finally {
      await b2.close();
    }
  });
});
