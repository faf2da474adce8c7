// A meter's stored values (due date, month ends) published with the live poll, once per new date:
// an M-Bus segment on a pty with a Kamstrup MULTICAL (version 0x08) whose telegram is split in
// several (EN 13757-3 "more records follow", DIF 0x1F) so that its storages come in the second and
// third telegrams, read by the native driver with FCB toggling; the gateway restarted in between.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startMbusSegment, type MbusSegment } from '@amr/simulators';
import { ReadingsMessage, topics, type MeterReading, type RecordSpec } from '@amr/protocols';
import { Gateway, validateConfig } from '../src/index.js';
import { startBroker, type TestBroker } from './helpers/broker.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The meter's readout: live registers, then storage 1 (the due date) and storage 2 (an undated storage). */
function readout(due: { date: string; energyKwh: number; volumeM3: number }): RecordSpec[] {
  return [
    { quantity: 'energy', unit: 'Wh', exponent: 3, value: 40_000_000, coding: 'bcd8' },
    { quantity: 'volume', unit: 'm3', exponent: -2, value: 600.5, coding: 'bcd8' },
    { quantity: 'flow_temperature', exponent: -2, value: 70.25, coding: 'int16' },
    { quantity: 'return_temperature', exponent: -2, value: 40.5, coding: 'int16' },
    { quantity: 'datetime', value: '2026-03-15T10:30', coding: 'typeF' },
    { quantity: 'energy', unit: 'Wh', exponent: 3, value: due.energyKwh * 1000, coding: 'bcd8', storage: 1 },
    { quantity: 'volume', unit: 'm3', exponent: -2, value: due.volumeM3, coding: 'bcd8', storage: 1 },
    { quantity: 'date', value: due.date, coding: 'typeG', storage: 1 },
    { quantity: 'energy', unit: 'Wh', exponent: 3, value: 1_000_000, coding: 'bcd8', storage: 2 },
  ];
}

describe('stored values of an M-Bus meter through the gateway', () => {
  let seg: MbusSegment;
  let broker: TestBroker;
  let dir: string;
  let due = { date: '2025-12-31', energyKwh: 33_361, volumeM3: 500.98 };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'amr-mbarch-'));
    broker = await startBroker();
    seg = await startMbusSegment({
      timing: { pacing: false },
      // At most 24 bytes of records per telegram: the readout (49 bytes of records) comes in three
      // telegrams, the live registers in the first, the due date's in the second, storage 2 in the third.
      slaves: [{ primaryAddress: 5, id: '06855817', manufacturer: 'KAM', version: 0x08, medium: 0x04, maxUserData: 24, records: () => readout(due) }],
    });
  });
  afterAll(async () => {
    await seg?.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const gateway = () =>
    new Gateway({
      config: validateConfig({
        gateway: { id: 'gw-mbarch', bufferDir: dir, clockTolerance: '5m' },
        mqtt: { url: broker.url },
        buses: [{ name: 'mbus1', protocol: 'mbus', port: (seg.endpoint as { path: string }).path, timeout: '300ms' }],
        meters: [{ id: 'heat-1', bus: 'mbus1', primary: 5, interval: '1h' }],
      }),
      logger: pino({ level: 'silent' }),
      scheduler: false,
      now: () => Date.parse('2026-03-15T10:30:00Z'),
    });

  const published = (): MeterReading[] =>
    broker.published.filter((p) => p.topic === topics.readings('gw-mbarch')).flatMap((p) => ReadingsMessage.parse(JSON.parse(p.payload.toString())).readings);

  async function pollAndDrain(gw: Gateway): Promise<void> {
    await gw.pollNow('heat-1');
    for (let i = 0; i < 100 && gw.outbox.depth > 0; i++) await sleep(50);
    expect(gw.outbox.depth).toBe(0);
  }

  it('publishes the due-date value once, also across a restart, and the next due date when it comes', async () => {
    const requestsBefore = seg.stats.requests;
    let gw = gateway();
    await gw.start();
    try {
      await pollAndDrain(gw);
      // One REQ_UD2 per telegram, FCB toggled (a repeat would have answered the first again).
      expect(seg.stats.requests - requestsBefore, 'requests of the first poll').toBeGreaterThanOrEqual(3);
      expect(seg.stats.repeats).toBe(0);
      await pollAndDrain(gw);
    } finally {
      await gw.stop();
    }
    let readings = published();
    const live = readings.filter((r) => !r.archive);
    const archived = readings.filter((r) => r.archive);
    expect(live).toHaveLength(2);
    expect(live[0].values.find((v) => v.quantity === 'energy_kwh')).toMatchObject({ value: 40_000, unit: 'kWh' });
    // Storage 2 has no date: still published, generically, with the live reading.
    expect(live[0].values.find((v) => v.quantity === 'mbus.instantaneous.energy.s2')).toMatchObject({ value: 1_000_000, unit: 'Wh', storage: 2 });
    expect(archived).toHaveLength(1);
    expect(archived[0]).toMatchObject({
      meter: { meterKey: 'heat-1', serial: '06855817', manufacturer: 'KAM' },
      quality: ['archive'],
      archive: { kind: 'due_date', record: '2026-01-01T00:00:00', date: '2025-12-31', storage: 1, nsCodes: [] },
      values: [
        { quantity: 'energy_kwh', value: 33_361, unit: 'kWh', storage: 1 },
        { quantity: 'volume_m3', value: 500.98, unit: 'm3', storage: 1 },
      ],
    });
    expect(archived[0].values.every((v) => v.time === undefined)).toBe(true);
    // The meter state on disk remembers it (a restart reads it back).
    expect(JSON.parse(readFileSync(join(dir, 'meter-state.json'), 'utf8')).meters['heat-1'].archives).toEqual({ due_date: '2026-01-01T00:00:00' });

    gw = gateway();
    await gw.start();
    try {
      await pollAndDrain(gw);
      readings = published();
      expect(readings.filter((r) => !r.archive)).toHaveLength(3);
      expect(readings.filter((r) => r.archive)).toHaveLength(1); // not again after the restart

      due = { date: '2026-02-28', energyKwh: 35_012, volumeM3: 530.07 };
      await pollAndDrain(gw);
      readings = published();
      const next = readings.filter((r) => r.archive);
      expect(next).toHaveLength(2);
      expect(next[1]).toMatchObject({ archive: { kind: 'due_date', record: '2026-03-01T00:00:00', date: '2026-02-28' }, values: [{ quantity: 'energy_kwh', value: 35_012 }, { quantity: 'volume_m3', value: 530.07 }] });
    } finally {
      await gw.stop();
    }
  });
});
