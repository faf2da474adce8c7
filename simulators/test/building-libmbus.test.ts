// libmbus (node-mbus) reads every M-Bus meter of a building over TCP — multi-telegram readouts
// included — and gets the same values our own decoder reads from the same meters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { decodeTelegram, reqUd2, sndNke, type MbusRecord } from '@amr/protocols';
import { SimClock, startBuilding, type Building } from '@amr/simulators';
import { TestMaster } from './mbus-master.js';
import { libmbusFactor } from './libmbus-units.js';

const MbusMaster = createRequire(import.meta.url)('node-mbus');

describe('building M-Bus meters read by libmbus', () => {
  let b: Building;
  let port: number;
  beforeAll(async () => {
    b = await startBuilding(
      { seed: 5, start: new Date('2026-01-01T00:00:00Z'), apartments: 2, apartmentWater: 'mbus', apartmentHeat: true, pacing: false,
        buses: { mbus: { transport: 'tcp', port: 0, baud: 2400 }, modbus: { transport: 'tcp', port: 0, baud: 9600 }, pulse: { transport: 'tcp', port: 0, baud: 9600 } } },
      { clock: new SimClock(new Date('2026-03-15T08:00:00Z'), 0) }, // frozen: both masters see one instant
    );
    const ep = b.endpoints.buses.mbus!.endpoint;
    if (ep.kind !== 'tcp') throw new Error('tcp expected');
    port = ep.port;
  });
  afterAll(async () => b?.close());

  async function ourReadout(address: number): Promise<MbusRecord[]> {
    const m = await TestMaster.connect(port);
    try {
      await m.request(sndNke(address));
      const recs: MbusRecord[] = [];
      let fcb = true;
      for (let i = 0; i < 10; i++) {
        const t = decodeTelegram((await m.request(reqUd2(address, fcb))).frames[0]);
        fcb = !fcb;
        recs.push(...t.records);
        if (!t.moreRecordsFollow) break;
      }
      return recs;
    } finally {
      m.close();
    }
  }

  it('heat-cost allocators: HCA units read over M-Bus = true heat × units per kWh', async () => {
    const hcaB = await startBuilding(
      { seed: 5, start: new Date('2026-01-01T00:00:00Z'), apartments: 2, apartmentHeat: 'hca', pacing: false, historyMonths: 1,
        buses: { mbus: { transport: 'tcp', port: 0, baud: 2400 }, modbus: { transport: 'tcp', port: 0, baud: 9600 }, pulse: { transport: 'tcp', port: 0, baud: 9600 } } },
      { clock: new SimClock(new Date('2026-02-10T00:00:00Z'), 0) },
    );
    try {
      const ep = hcaB.endpoints.meters.find((m) => m.meterId === 'apt-2-heat')!;
      expect(ep.mbus?.medium).toBe(0x08);
      const ep2 = hcaB.endpoints.buses.mbus!.endpoint;
      if (ep2.kind !== 'tcp') throw new Error('tcp expected');
      const m = await TestMaster.connect(ep2.port);
      await m.request(sndNke(ep.mbus!.primaryAddress));
      const t = decodeTelegram((await m.request(reqUd2(ep.mbus!.primaryAddress, true))).frames[0]);
      m.close();
      const units = Number(t.records.find((r) => r.quantity === 'hca_units' && r.storage === 0)?.value);
      const truth = hcaB.truth({ from: hcaB.config.start, to: hcaB.clock.now() });
      const kwh = truth.meters.find((x) => x.meterId === 'apt-2-heat')!;
      expect(kwh.unit).toBe('hca');
      expect(units).toBe(Math.floor(kwh.consumption));
      expect(units).toBeGreaterThan(100);
    } finally {
      await hcaB.close();
    }
  });

  it('every M-Bus meter: same records, same values', async () => {
    const master = new MbusMaster({ host: '127.0.0.1', port, timeout: 300, autoConnect: true });
    const meters = b.endpoints.meters.filter((m) => m.bus === 'mbus');
    expect(meters.length).toBe(3 + 2 * 3);
    try {
      for (const meter of meters) {
        const addr = meter.mbus!.primaryAddress;
        const lib: { SlaveInformation: { Id: number }; DataRecord: { Unit: string; Value: unknown; StorageNumber: number }[] } =
          await new Promise((res, rej) => master.getData(addr, { pingFirst: false }, (e: Error | null, d: never) => (e ? rej(e) : res(d))));
        const ours = await ourReadout(addr);
        expect(String(lib.SlaveInformation.Id)).toBe(String(Number(meter.serial)));
        // libmbus lists the 0x1F DIF between telegrams as a pseudo-record "More records follow".
        const libRecords = lib.DataRecord.filter((d) => (d as { Function?: string }).Function !== 'More records follow');
        expect(libRecords.length, meter.meterId).toBe(ours.length);
        ours.forEach((r, i) => {
          const l = libRecords[i];
          expect(l.StorageNumber, `${meter.meterId} #${i}`).toBe(r.storage);
          if (typeof r.value === 'string') expect(String(l.Value).replace(/Z$/, '')).toBe(r.value);
          else expect(Number(l.Value) * libmbusFactor(l.Unit), `${meter.meterId} ${l.Unit}`).toBeCloseTo(r.value as number, 6);
        });
      }
    } finally {
      await new Promise((r) => master.close(r));
    }
  });
});
