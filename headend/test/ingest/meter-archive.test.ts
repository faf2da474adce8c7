/**
 * Records read back from a meter's archive (a heat calculator's hourly record, after the gateway was
 * off) are stored once, with source 'meter_archive' and the 'archive' flag: the same record arriving
 * twice (under a new seq, as a resumed back-fill sends it) is one row, and a live reading at the same
 * (meter, quantity, time) is never overwritten — equal value: nothing to do; different: quarantine.
 * The record itself (kind, stamp, length, НС codes) is kept once in meter_archive_ns, in the same
 * transaction as its values. Runs on both engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeterReading, ReadingsMessage, archiveQuantity, parsePayload, type ReadingValue } from '@amr/protocols';
import type { OpenedDb } from '../../src/db/index.js';
import { writeReadings } from '../../src/ingest/index.js';
import { openTestDb } from '../engine.js';
import { registerGateway, type Fixture } from './fixtures.js';

let opened: OpenedDb;
const clock = () => new Date('2026-01-16T12:00:00Z');
/** The 10:00 hour of 15 January, Moscow time: 07:00 UTC. */
const HOUR_10 = '2026-01-15T07:00:00.000Z';

function message(fx: Fixture, seq: number, values: ReadingValue[], archive?: MeterReading['archive']): ReadingsMessage {
  const reading: MeterReading = {
    seq,
    meter: { meterKey: 'tv7', bus: 'm1', protocol: 'modbus', address: '1' },
    gatewayTime: '2026-01-16T11:00:00.000Z',
    quality: [],
    values,
  };
  if (archive) reading.archive = archive;
  return { v: 1, gatewayId: fx.gatewayId, sentAt: '2026-01-16T11:00:01.000Z', readings: [reading] };
}

const archiveHour10: NonNullable<MeterReading['archive']> = { kind: 'hourly', record: '2026-01-15T10:00:00', stamp: 'start', seconds: 3600, nsCodes: ['dt_low'] };
const v = (quantity: string, value: number, unit: string): ReadingValue => ({ quantity, value, unit, time: HOUR_10, quality: ['archive'] });

const stored = async (meterId: number) =>
  (await opened.db.query<{ quantity: string; value: number; source: string; quality: string[]; version: number; seq: number }>(
    `SELECT quantity, value, source, quality, version, seq::int AS seq FROM reading_rows WHERE meter_id = $1 ORDER BY quantity, time`, [meterId])).rows;

beforeAll(async () => {
  opened = await openTestDb();
}, 120_000);
afterAll(() => opened?.close());

describe('meter archive readings', () => {
  it('a message without `archive` (an older gateway) is still a valid readings message', () => {
    const old = { v: 1, gatewayId: 'gw', sentAt: HOUR_10, readings: [{ seq: 1, meter: { meterKey: 'k', bus: 'b', protocol: 'mbus', address: '1' }, gatewayTime: HOUR_10, values: [{ quantity: 'energy_kwh', value: 1, unit: 'kWh' }] }] };
    const r = parsePayload(ReadingsMessage, JSON.stringify(old));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.data.readings[0].archive).toBeUndefined();
    // and an archive reading names its record in the meter's own clock, not as an instant with a zone
    const bad = parsePayload(ReadingsMessage, JSON.stringify({ ...old, readings: [{ ...old.readings[0], archive: { ...archiveHour10, record: HOUR_10 } }] }));
    expect(bad.ok).toBe(false);
  });

  it('the same archive hour read twice is stored once, as meter_archive with the archive flag', async () => {
    const fx = await registerGateway(opened.db, 'gw-archive-twice', 1);
    const values = [v('energy_delta_kwh', 12.5, 'kWh'), v('error_time_delta_s', 1800, 's')];
    const first = await writeReadings(opened.db, [message(fx, 10, values, archiveHour10)], { clock });
    expect(first).toEqual({ stored: 2, duplicates: 0, quarantined: {} });
    // A resumed back-fill publishes the record again under a new seq: nothing added, nothing replaced.
    const again = await writeReadings(opened.db, [message(fx, 11, values, archiveHour10)], { clock });
    expect(again.quarantined).toEqual({});
    expect(await stored(fx.meterIds[0])).toEqual([
      { quantity: 'energy_delta_kwh', value: 12.5, source: 'meter_archive', quality: ['archive'], version: 1, seq: 10 },
      { quantity: 'error_time_delta_s', value: 1800, source: 'meter_archive', quality: ['archive'], version: 1, seq: 10 },
    ]);
  });

  it('the head-end flags an archive record even when the gateway did not', async () => {
    const fx = await registerGateway(opened.db, 'gw-archive-flag', 1);
    await writeReadings(opened.db, [message(fx, 1, [{ quantity: 'energy_delta_kwh', value: 3, unit: 'kWh', time: HOUR_10, quality: [] }], archiveHour10)], { clock });
    expect((await stored(fx.meterIds[0]))[0]).toMatchObject({ source: 'meter_archive', quality: ['archive'] });
  });

  it('a live reading and an archive record at the same instant: one row each key, neither overwritten, a differing value quarantined', async () => {
    const fx = await registerGateway(opened.db, 'gw-archive-live', 1);
    // Live poll at 10:00:00 UTC+3 exactly: energy register and the supply temperature of that instant.
    const live = message(fx, 20, [
      { quantity: 'energy_kwh', value: 1000, unit: 'kWh', time: HOUR_10, quality: [] },
      { quantity: 'flow_temp_c', value: 70.2, unit: '°C', time: HOUR_10, quality: [] },
    ]);
    expect(await writeReadings(opened.db, [live], { clock })).toEqual({ stored: 2, duplicates: 0, quarantined: {} });
    // The archive record of the hour starting then: its own amount, and a mean supply temperature that differs.
    const arch = message(fx, 21, [v('energy_delta_kwh', 12.5, 'kWh'), v('flow_temp_c', 69.8, '°C')], archiveHour10);
    const res = await writeReadings(opened.db, [arch], { clock });
    expect(res).toEqual({ stored: 1, duplicates: 0, quarantined: { conflicting_value: 1 } });
    // Same record again: the amount is a duplicate, the temperature a conflict again (never stored over the live one).
    await writeReadings(opened.db, [message(fx, 22, [v('energy_delta_kwh', 12.5, 'kWh'), v('flow_temp_c', 69.8, '°C')], archiveHour10)], { clock });
    expect(await stored(fx.meterIds[0])).toEqual([
      { quantity: 'energy_delta_kwh', value: 12.5, source: 'meter_archive', quality: ['archive'], version: 1, seq: 21 },
      { quantity: 'energy_kwh', value: 1000, source: 'telemetry', quality: [], version: 1, seq: 20 },
      { quantity: 'flow_temp_c', value: 70.2, source: 'telemetry', quality: [], version: 1, seq: 20 },
    ]);
    const q = await opened.db.query<{ reason: string; detail: string }>(`SELECT reason, detail FROM quarantine WHERE gateway_id = $1 ORDER BY id`, [fx.gatewayId]);
    expect(q.rows.map((r) => r.reason)).toEqual(['conflicting_value', 'conflicting_value']);
    expect(q.rows[0].detail).toMatch(/flow_temp_c .* value 69\.8 differs from 70\.2/);
  });

  it('the НС codes of a record are stored once with the record; a redelivery adds no second row', async () => {
    const fx = await registerGateway(opened.db, 'gw-archive-ns', 1);
    const values = [v('energy_delta_kwh', 12.5, 'kWh'), v('operating_time_delta_s', 1800, 's'), v('error_time_delta_s', 1800, 's')];
    const codes: NonNullable<MeterReading['archive']> = { ...archiveHour10, nsCodes: ['dt_low', 'flow_low'] };
    const ns = async () =>
      (await opened.db.query<{ time: Date; kind: string; stamp: string; seconds: number; codes: string[]; seq: number }>(
        `SELECT time, kind, stamp, seconds, codes, seq::int AS seq FROM meter_archive_ns WHERE meter_id = $1`, [fx.meterIds[0]])).rows;
    await writeReadings(opened.db, [message(fx, 30, values, codes)], { clock });
    const once = [{ time: new Date(HOUR_10), kind: 'hourly', stamp: 'start', seconds: 3600, codes: ['dt_low', 'flow_low'], seq: 30 }];
    expect(await ns()).toEqual(once);
    // Redelivered under a new seq (a resumed back-fill), and twice in one batch: still the one row of the first delivery.
    const again = await writeReadings(opened.db, [message(fx, 31, values, codes), message(fx, 32, values, codes)], { clock });
    expect(again).toEqual({ stored: 0, duplicates: 2, quarantined: {} });
    expect(await ns()).toEqual(once);
    // A normal record (no codes) is a record too, with an empty list; a live poll is none.
    const next = '2026-01-15T08:00:00.000Z';
    await writeReadings(opened.db, [message(fx, 33, [{ ...v('energy_delta_kwh', 13, 'kWh'), time: next }], { ...archiveHour10, record: '2026-01-15T11:00:00', nsCodes: [] })], { clock });
    await writeReadings(opened.db, [message(fx, 34, [{ quantity: 'energy_kwh', value: 2000, unit: 'kWh', time: next, quality: [] }])], { clock });
    expect((await ns()).map((r) => [r.time.toISOString(), r.codes])).toEqual([[HOUR_10, ['dt_low', 'flow_low']], [next, []]]);
  });

  it('a daily record, the hourly record at the same midnight and a live poll with error_flags there: all stored, nothing quarantined', async () => {
    const fx = await registerGateway(opened.db, 'gw-archive-kinds', 1);
    // 00:00 of 15 January in Moscow = 21:00 UTC on the 14th: the start of the day's record and of its first hour.
    const midnight = '2026-01-14T21:00:00.000Z';
    const at = (kind: 'hourly' | 'daily', quantity: string, value: number, unit: string): ReadingValue =>
      ({ quantity: archiveQuantity(quantity, kind), value, unit, time: midnight, quality: ['archive'] });
    const rec = (kind: 'hourly' | 'daily', q: number, tr: number, flags: number) =>
      [at(kind, 'energy_delta_kwh', q, 'kWh'), at(kind, 'flow_temp_mean_c', kind === 'daily' ? 70.1 : 69.4, '°C'), at(kind, 'operating_time_delta_s', tr, 's'), at(kind, 'error_flags_interval', flags, 'flags')];
    const day = message(fx, 40, rec('daily', 2500.4, 79_200, 4), { kind: 'daily', record: '2026-01-15T00:00:00', stamp: 'start', seconds: 86_400, nsCodes: ['dt_low'] });
    const hour = message(fx, 41, rec('hourly', 104.5, 3600, 0), { kind: 'hourly', record: '2026-01-15T00:00:00', stamp: 'start', seconds: 3600, nsCodes: [] });
    // The live poll at the same instant: its current fault word (no НС now) and the register.
    const live = message(fx, 42, [
      { quantity: 'error_flags', value: 1, unit: 'flags', time: midnight, quality: [] },
      { quantity: 'energy_kwh', value: 5000, unit: 'kWh', time: midnight, quality: [] },
    ]);
    expect(await writeReadings(opened.db, [day, hour, live], { clock })).toEqual({ stored: 10, duplicates: 0, quarantined: {} });
    expect((await stored(fx.meterIds[0])).map((r) => [r.quantity, r.value, r.source])).toEqual([
      ['energy_day_kwh', 2500.4, 'meter_archive'],
      ['energy_delta_kwh', 104.5, 'meter_archive'],
      ['energy_kwh', 5000, 'telemetry'],
      ['error_flags', 1, 'telemetry'],
      ['error_flags_day', 4, 'meter_archive'],
      ['error_flags_interval', 0, 'meter_archive'],
      ['flow_temp_day_mean_c', 70.1, 'meter_archive'],
      ['flow_temp_mean_c', 69.4, 'meter_archive'],
      ['operating_time_day_s', 79_200, 'meter_archive'],
      ['operating_time_delta_s', 3600, 'meter_archive'],
    ]);
    expect((await opened.db.query(`SELECT reason FROM quarantine WHERE gateway_id = $1`, [fx.gatewayId])).rows).toEqual([]);
    const ns = await opened.db.query<{ kind: string; codes: string[] }>(`SELECT kind, codes FROM meter_archive_ns WHERE meter_id = $1 ORDER BY kind`, [fx.meterIds[0]]);
    expect(ns.rows).toEqual([{ kind: 'daily', codes: ['dt_low'] }, { kind: 'hourly', codes: [] }]);
  });
});
