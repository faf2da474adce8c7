// M-Bus segment link behaviour (FCB repeat, secondary selection with wildcards, collision,
// multi-telegram, application reset) and interop with libmbus through node-mbus.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import {
  SECONDARY_WILDCARD, applicationReset, decodeTelegram, encodeRspUd, reqUd2, selectSecondary, sndNke, type RecordSpec,
} from '@amr/protocols';
import { electricityMeterRecords, heatMeterRecords, heatMonthEndRecords, pulseAdapterRecords, startMbusSegment, waterMeterRecords, type MbusSegment } from '@amr/simulators';
import { TestMaster } from './mbus-master.js';
import { libmbusFactor } from './libmbus-units.js';


const time = new Date('2026-03-15T10:30:00Z');
const history = Array.from({ length: 12 }, (_, i) => ({ date: `2025-${String(12 - i).padStart(2, '0')}-01`, value: 40000 - i * 1000, value2: 900 - i * 20 }));
const heatEnergy = 41234;
const heat = () => heatMeterRecords({ time, energyKwh: heatEnergy, volumeM3: 912.34, powerW: 15200, flowM3h: 0.654, flowTempC: 70.3, returnTempC: 45.1, operatingHours: 8123, errorFlags: 0, history });
const water = (v: number) => (): RecordSpec[] => waterMeterRecords({ time, volumeM3: v, flowM3h: 0.12, errorFlags: 0, history: [] });

describe('M-Bus segment', () => {
  let seg: MbusSegment;
  let port: number;
  let m: TestMaster;
  beforeAll(async () => {
    seg = await startMbusSegment({
      transport: { kind: 'tcp', port: 0 },
      timing: { pacing: false },
      slaves: [
        { primaryAddress: 1, id: '12345678', manufacturer: 'KAM', version: 0x19, medium: 0x04, records: heat },
        { primaryAddress: 2, id: '22000001', manufacturer: 'ZRI', version: 0x01, medium: 0x16, records: water(123.456) },
        { primaryAddress: 3, id: '22000002', manufacturer: 'ZRI', version: 0x01, medium: 0x06, records: water(45.678) },
        // A heat meter whose month ends come only in the telegram application select 0x30 asks for.
        { primaryAddress: 4, id: '12345679', manufacturer: 'KAM', version: 0x01, medium: 0x04, maxUserData: 100, records: () => heatMeterRecords({ time, energyKwh: heatEnergy, volumeM3: 912.34, powerW: 15200, flowM3h: 0.654, flowTempC: 70.3, returnTempC: 45.1, operatingHours: 8123, errorFlags: 0, history: [] }), selectable: { 0x30: () => heatMonthEndRecords({ time, months: history }) } },
      ],
    });
    if (seg.endpoint.kind !== 'tcp') throw new Error('tcp expected');
    port = seg.endpoint.port;
    m = await TestMaster.connect(port);
  });
  afterAll(async () => { m?.close(); await seg?.close(); });

  it('answers SND_NKE with E5', async () => {
    const r = await m.request(sndNke(2));
    expect([...r.raw]).toEqual([0xe5]);
  });

  it('repeats the last answer when FCB did not toggle, new readout when it did', async () => {
    await m.request(sndNke(2));
    const a = await m.request(reqUd2(2, true));
    const b = await m.request(reqUd2(2, true));
    const c = await m.request(reqUd2(2, false));
    expect(Buffer.compare(a.raw, b.raw)).toBe(0);
    const [ta, tc] = [decodeTelegram(a.frames[0]), decodeTelegram(c.frames[0])];
    expect(tc.header.accessNumber).toBe((ta.header.accessNumber! + 1) & 0xff);
    expect(ta.records[0]).toMatchObject({ quantity: 'volume', value: 123.456 });
  });

  it('splits a 12-month history into several telegrams, stepped through by toggling FCB', async () => {
    await m.request(sndNke(1));
    const telegrams = [];
    let fcb = true;
    for (let i = 0; i < 5; i++) {
      const r = await m.request(reqUd2(1, fcb));
      fcb = !fcb;
      const t = decodeTelegram(r.frames[0]);
      telegrams.push(t);
      if (!t.moreRecordsFollow) break;
    }
    expect(telegrams.length).toBeGreaterThan(1);
    const records = telegrams.flatMap((t) => t.records);
    expect(records.filter((r) => r.quantity === 'date').map((r) => r.value)).toEqual(history.map((h) => h.date));
    expect(records.find((r) => r.quantity === 'energy' && r.storage === 12)?.value).toBe(29000 * 1000);
    expect(records.find((r) => r.quantity === 'flow_temperature')?.value).toBe(70.3);
  });

  it('application reset restarts the readout at its first telegram', async () => {
    await m.request(sndNke(1));
    await m.request(reqUd2(1, true));
    expect([...(await m.request(applicationReset(1))).raw]).toEqual([0xe5]);
    const t = decodeTelegram((await m.request(reqUd2(1, false))).frames[0]);
    expect(t.records[0]).toMatchObject({ quantity: 'energy', storage: 0 });
  });

  it('application select 0x30: the month-end telegrams, then the normal telegram again after the readout; SND_NKE also returns', async () => {
    const read = async (fcb0: boolean) => {
      const ts = [];
      let fcb = fcb0;
      for (let i = 0; i < 6; i++) {
        const t = decodeTelegram((await m.request(reqUd2(4, fcb))).frames[0]);
        fcb = !fcb;
        ts.push(t);
        if (!t.moreRecordsFollow) break;
      }
      return ts;
    };
    await m.request(sndNke(4));
    expect([...(await m.request(applicationReset(4, 0x30))).raw]).toEqual([0xe5]);
    // 12 months × 16 bytes + the clock's 6 at most 87 bytes of records a telegram: 3 telegrams.
    const hist = await read(true);
    expect(hist).toHaveLength(3);
    const recs = hist.flatMap((t) => t.records);
    expect(recs.filter((r) => r.quantity === 'date').map((r) => [r.storage, r.value])).toEqual(history.map((h, i) => [i + 1, h.date]));
    expect(recs.find((r) => r.quantity === 'energy' && r.storage === 12)?.value).toBe(29000 * 1000);
    expect(recs.some((r) => r.storage === 0 && r.quantity === 'energy')).toBe(false);
    // The readout is over: the next new readout is the normal telegram.
    const normal = decodeTelegram((await m.request(reqUd2(4, false))).frames[0]);
    expect(normal.records[0]).toMatchObject({ quantity: 'energy', storage: 0, value: heatEnergy * 1000 });
    // Selected, one telegram read, then SND_NKE: back to the normal telegram.
    await m.request(applicationReset(4, 0x30));
    expect(decodeTelegram((await m.request(reqUd2(4, true))).frames[0]).records[0]).toMatchObject({ quantity: 'datetime', storage: 0 });
    expect([...(await m.request(sndNke(4))).raw]).toEqual([0xe5]);
    expect(decodeTelegram((await m.request(reqUd2(4, true))).frames[0]).records[0]).toMatchObject({ quantity: 'energy', storage: 0 });
    // Selected, then an application reset without subcode (or with one the model has no telegram for): normal.
    await m.request(applicationReset(4, 0x30));
    await m.request(applicationReset(4));
    expect(decodeTelegram((await m.request(reqUd2(4, false))).frames[0]).records[0]).toMatchObject({ quantity: 'energy', storage: 0 });
    await m.request(applicationReset(4, 0x40));
    expect(decodeTelegram((await m.request(reqUd2(4, true))).frames[0]).records[0]).toMatchObject({ quantity: 'energy', storage: 0 });
  });

  it('selects by secondary address with wildcards and answers on 253', async () => {
    const sel = await m.request(selectSecondary({ id: '2200000F', manufacturer: null, version: null, medium: 0x06 }));
    expect([...sel.raw]).toEqual([0xe5]);
    const t = decodeTelegram((await m.request(reqUd2(253, true))).frames[0]);
    expect(t.header.id).toBe('22000002');
    expect(t.frame?.address).toBe(253);
    await m.request(sndNke(253));
  });

  it('a wildcard selection matching two slaves collides: garbled bytes, no valid frame', async () => {
    const before = seg.stats.collisions;
    const r = await m.request(selectSecondary({ id: '2200000F', manufacturer: 'ZRI', version: null, medium: null }));
    expect(r.frames).toHaveLength(0);
    expect(r.raw.length).toBeGreaterThan(0);
    expect([...r.raw]).not.toEqual([0xe5]);
    expect(seg.stats.collisions).toBe(before + 1);
    // ... and both selected slaves answering a REQ_UD2 collide too
    const d = await m.request(reqUd2(253, true));
    expect(d.frames).toHaveLength(0);
    await m.request(selectSecondary({ ...SECONDARY_WILDCARD, id: '99999999' })); // deselect all
  });

  it('a broadcast REQ_UD2 (address 254) that several slaves answer collides', async () => {
    for (const a of [1, 2, 3]) await m.request(sndNke(a));
    const r = await m.request(reqUd2(254, true));
    expect(r.frames).toHaveLength(0);
    expect(r.raw.length).toBeGreaterThan(100);
  });

  it('a silent meter does not answer; a bad-checksum meter sends a frame that fails its check', async () => {
    seg.slaves[1].faults!.silent = true;
    expect((await m.request(sndNke(2), 150)).raw.length).toBe(0);
    seg.slaves[1].faults!.silent = false;
    seg.slaves[1].faults!.badChecksum = true;
    const r = await m.request(reqUd2(2, true), 150);
    seg.slaves[1].faults!.badChecksum = false;
    expect(r.raw[0]).toBe(0x68);
    expect(r.frames).toHaveLength(0);
  });
});

describe('libmbus (node-mbus) reads every simulated meter over TCP', () => {
  let seg: MbusSegment;
  const require = createRequire(import.meta.url);
  const MbusMaster = require('node-mbus');
  beforeAll(async () => {
    seg = await startMbusSegment({
      transport: { kind: 'tcp', port: 0 },
      timing: { pacing: false },
      slaves: [
        { primaryAddress: 5, id: '12345678', manufacturer: 'KAM', version: 0x19, medium: 0x04, records: () => heat().slice(0, 13) },
        { primaryAddress: 6, id: '22000001', manufacturer: 'ZRI', version: 0x01, medium: 0x16, records: water(123.456) },
        { primaryAddress: 7, id: '33000001', manufacturer: 'ABB', version: 0x02, medium: 0x02, records: () => electricityMeterRecords({ time, energyKwh: 12345.6, energyT1Kwh: 8000.1, energyT2Kwh: 4345.5, powerW: 2300, errorFlags: 0, history: [{ date: '2026-03-01', value: 12000.2 }] }) },
        { primaryAddress: 8, id: '44000001', manufacturer: 'REL', version: 0x03, medium: 0x00, records: () => pulseAdapterRecords({ time, volumesM3: [12.345, 6.789] }) },
      ],
    });
  });
  afterAll(async () => seg?.close());

  /** libmbus's answer for one slave, as node-mbus hands it over (the parts this test compares). */
  interface LibmbusData {
    SlaveInformation: { Id: number | string; Manufacturer: string };
    DataRecord: { StorageNumber: number; Unit: string; Value: number | string }[];
  }
  interface NodeMbusMaster { getData(addr: number | string, opts: { pingFirst: boolean }, cb: (err: Error | null, data: LibmbusData) => void): void }
  const getData = (master: NodeMbusMaster, addr: number | string) =>
    new Promise<LibmbusData>((res, rej) => master.getData(addr, { pingFirst: false }, (err, data) => (err ? rej(err) : res(data))));

  it('libmbus and our decoder agree on every record', async () => {
    if (seg.endpoint.kind !== 'tcp') throw new Error('tcp expected');
    const master = new MbusMaster({ host: '127.0.0.1', port: seg.endpoint.port, timeout: 400, autoConnect: true });
    try {
      for (const s of seg.slaves) {
        const data = await getData(master, s.primaryAddress);
        expect(String(data.SlaveInformation.Id)).toBe(String(Number(s.id)));
        expect(data.SlaveInformation.Manufacturer).toBe(s.manufacturer);
        const ours = decodeTelegram(encodeRspUd({
          address: s.primaryAddress, header: { id: s.id, manufacturer: s.manufacturer, version: s.version, medium: s.medium, accessNumber: 0 }, records: s.records(),
        }));
        expect(data.DataRecord.length).toBe(ours.records.length);
        ours.records.forEach((r, i) => {
          const lib = data.DataRecord[i];
          expect(lib.StorageNumber, lib.Unit).toBe(r.storage);
          if (typeof r.value === 'string') expect(String(lib.Value).replace(/Z$/, '')).toBe(r.value);
          else expect(Number(lib.Value) * libmbusFactor(lib.Unit), lib.Unit).toBeCloseTo(r.value as number, 6);
        });
      }
    } finally {
      await new Promise((r) => master.close(r));
    }
  });

  it('libmbus finds every meter by secondary scan (wildcard search through collisions)', async () => {
    if (seg.endpoint.kind !== 'tcp') throw new Error('tcp expected');
    const master = new MbusMaster({ host: '127.0.0.1', port: seg.endpoint.port, timeout: 150, autoConnect: true });
    try {
      const found = await new Promise<string[]>((res, rej) => master.scanSecondary((err: Error | null, d: string[]) => (err ? rej(err) : res(d))));
      expect(found.map((x) => x.slice(0, 8)).sort()).toEqual(['12345678', '22000001', '33000001', '44000001']);
    } finally {
      await new Promise((r) => master.close(r));
    }
  }, 60_000);
});
