/**
 * An M-Bus meter's stored values (its due date's registers, its month ends) arrive as archive
 * readings of kind due_date / month_end: register readings (`energy_kwh`, `volume_m3`) at the
 * record's instant, which the meter names on its local clock and the head-end places in the
 * building's zone. Stored with source 'meter_archive' like any archive record; never over a live
 * reading at the same instant (same value: one row; different: quarantine); no interval record in
 * meter_archive_ns (they have no interval and no НС). Runs on both engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeterReading, ReadingsMessage, ReadingValue } from '@amr/protocols';
import type { OpenedDb } from '../../src/db/index.js';
import { writeReadings } from '../../src/ingest/index.js';
import { openTestDb } from '../engine.js';
import { registerGateway, type Fixture } from './fixtures.js';

let opened: OpenedDb;
const clock = () => new Date('2026-03-15T12:00:00Z');

/** Kamstrup's due date 2025-12-31: its registers as they stood at 24:00 that day, on the meter's clock. */
const DUE: NonNullable<MeterReading['archive']> = { kind: 'due_date', record: '2026-01-01T00:00:00', date: '2025-12-31', storage: 1, nsCodes: [] };
/** Midnight 1 January in Moscow (UTC+3, no DST since 2014). */
const DUE_MOSCOW = '2025-12-31T21:00:00.000Z';

function message(fx: Fixture, seq: number, values: ReadingValue[], archive?: MeterReading['archive']): ReadingsMessage {
  const reading: MeterReading = { seq, meter: { meterKey: 'heat-1', bus: 'm1', protocol: 'mbus', address: '1' }, gatewayTime: '2026-03-15T10:30:00.000Z', quality: archive ? ['archive'] : [], values };
  if (archive) reading.archive = archive;
  return { v: 1, gatewayId: fx.gatewayId, sentAt: '2026-03-15T10:30:01.000Z', readings: [reading] };
}
const registers = (energy: number, volume: number): ReadingValue[] => [
  { quantity: 'energy_kwh', value: energy, unit: 'kWh', storage: 1, quality: [] },
  { quantity: 'volume_m3', value: volume, unit: 'm3', storage: 1, quality: [] },
];

const rows = async (meterId: number) =>
  (await opened.db.query<{ time: Date; quantity: string; value: number; source: string; quality: string[]; version: number; seq: number }>(
    `SELECT time, quantity, value, source, quality, version, seq::int AS seq FROM reading_rows WHERE meter_id = $1 ORDER BY time, quantity`, [meterId])).rows;

beforeAll(async () => {
  opened = await openTestDb();
}, 120_000);
afterAll(() => opened?.close());

describe('M-Bus stored values (due date, month end) at ingest', () => {
  it('a due-date value is a register reading at the due date’s end in the building’s zone, source meter_archive, no interval record', async () => {
    const fx = await registerGateway(opened.db, 'gw-due-msk', 1);
    const res = await writeReadings(opened.db, [message(fx, 1, registers(33_361, 500.98), DUE)], { clock });
    expect(res).toEqual({ stored: 2, duplicates: 0, quarantined: {} });
    expect(await rows(fx.meterIds[0])).toEqual([
      { time: new Date(DUE_MOSCOW), quantity: 'energy_kwh', value: 33_361, source: 'meter_archive', quality: ['archive'], version: 1, seq: 1 },
      { time: new Date(DUE_MOSCOW), quantity: 'volume_m3', value: 500.98, source: 'meter_archive', quality: ['archive'], version: 1, seq: 1 },
    ]);
    const ns = await opened.db.query(`SELECT 1 FROM meter_archive_ns WHERE meter_id = $1`, [fx.meterIds[0]]);
    expect(ns.rows).toEqual([]);
    // Published again (a gateway that lost its state): the same value at the same key, nothing added.
    expect(await writeReadings(opened.db, [message(fx, 2, registers(33_361, 500.98), DUE)], { clock })).toEqual({ stored: 0, duplicates: 1, quarantined: {} });
  });

  it('the zone is the building’s: a month value of a meter in Yekaterinburg (UTC+5) lands at its local midnight', async () => {
    const fx = await registerGateway(opened.db, 'gw-due-yek', 1);
    await opened.db.query(`UPDATE buildings SET timezone = 'Asia/Yekaterinburg' WHERE id = (SELECT building_id FROM meters WHERE id = $1)`, [fx.meterIds[0]]);
    const month: NonNullable<MeterReading['archive']> = { kind: 'month_end', record: '2026-03-01T00:00:00', date: '2026-03-01', storage: 32, nsCodes: [] };
    await writeReadings(opened.db, [message(fx, 1, [{ quantity: 'energy_kwh', value: 3, unit: 'kWh', storage: 32, quality: [] }], month)], { clock });
    expect((await rows(fx.meterIds[0])).map((r) => [r.time.toISOString(), r.quantity, r.value, r.source])).toEqual([['2026-02-28T19:00:00.000Z', 'energy_kwh', 3, 'meter_archive']]);
  });

  it('a live reading at the due date’s instant is never overwritten: the same value is one row, a different one goes to quarantine', async () => {
    const fx = await registerGateway(opened.db, 'gw-due-live', 1);
    // A live poll exactly at midnight stored 33 361 kWh and 501.00 m³.
    const live = message(fx, 1, [
      { quantity: 'energy_kwh', value: 33_361, unit: 'kWh', time: DUE_MOSCOW, quality: [] },
      { quantity: 'volume_m3', value: 501, unit: 'm3', time: DUE_MOSCOW, quality: [] },
    ]);
    expect(await writeReadings(opened.db, [live], { clock })).toEqual({ stored: 2, duplicates: 0, quarantined: {} });
    const res = await writeReadings(opened.db, [message(fx, 2, registers(33_361, 500.98), DUE)], { clock });
    expect(res).toEqual({ stored: 0, duplicates: 0, quarantined: { conflicting_value: 1 } });
    expect((await rows(fx.meterIds[0])).map((r) => [r.quantity, r.value, r.source, r.seq])).toEqual([
      ['energy_kwh', 33_361, 'telemetry', 1],
      ['volume_m3', 501, 'telemetry', 1],
    ]);
    const q = await opened.db.query<{ reason: string; detail: string }>(`SELECT reason, detail FROM quarantine WHERE gateway_id = $1`, [fx.gatewayId]);
    expect(q.rows).toHaveLength(1);
    expect(q.rows[0].detail).toBe(`meter ${fx.meterIds[0]} volume_m3 at ${DUE_MOSCOW}: value 500.98 differs from 501 stored earlier`);
  });

  it('a record dated after the head-end’s clock (a meter clock years ahead) is quarantined as implausible, by its zoned instant', async () => {
    const fx = await registerGateway(opened.db, 'gw-due-future', 1);
    const res = await writeReadings(opened.db, [message(fx, 1, registers(1, 1), { ...DUE, record: '2031-01-01T00:00:00', date: '2030-12-31' })], { clock });
    expect(res).toEqual({ stored: 0, duplicates: 0, quarantined: { implausible_time: 1 } });
    const q = await opened.db.query<{ detail: string }>(`SELECT detail FROM quarantine WHERE gateway_id = $1`, [fx.gatewayId]);
    expect(q.rows[0].detail).toMatch(/^time 2030-12-31T21:00:00\.000Z is more than 10 min after the head-end's clock/);
  });
});
