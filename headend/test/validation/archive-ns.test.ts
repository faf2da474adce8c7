/**
 * НС verdicts of archive records: a heat calculator's records written through the ingest writer (the
 * one path of archive records: readings + meter_archive_ns in one transaction), the validator drained,
 * the verdicts of the records' heat rows read back. Runs on both engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { archiveQuantity, type MeterReading, type ReadingsMessage } from '@amr/protocols';
import type { OpenedDb } from '../../src/db/index.js';
import { writeReadings } from '../../src/ingest/index.js';
import { startValidator, type Validator } from '../../src/validation/index.js';
import { openTestDb } from '../engine.js';
import { registerGateway, type Fixture } from '../ingest/fixtures.js';

let opened: OpenedDb;
let validator: Validator;
const clock = () => new Date('2026-01-16T12:00:00Z');

interface Rec { q: number; tr: number; tns: number; codes: string[] }

/** One record as the gateway's back-fill publishes it; `local` its start on the meter's clock (Moscow), `utc` the same instant. */
function record(fx: Fixture, seq: number, kind: 'hourly' | 'daily', utc: string, local: string, x: Rec): ReadingsMessage {
  const v = (quantity: string, value: number, unit: string) => ({ quantity: archiveQuantity(quantity, kind), value, unit, time: utc, quality: ['archive' as const] });
  const reading: MeterReading = {
    seq, meter: { meterKey: 'tv7', bus: 'm1', protocol: 'modbus', address: '1' }, gatewayTime: '2026-01-16T11:00:00.000Z',
    quality: x.codes.length ? ['archive', 'meter_error'] : ['archive'],
    values: [v('energy_delta_kwh', x.q, 'kWh'), v('operating_time_delta_s', x.tr, 's'), v('error_time_delta_s', x.tns, 's'), v('mass_delta_t', 4.2, 't')],
    archive: { kind, record: local, stamp: 'start', seconds: kind === 'daily' ? 86_400 : 3600, nsCodes: x.codes },
  };
  return { v: 1, gatewayId: fx.gatewayId, sentAt: '2026-01-16T11:00:01.000Z', readings: [reading] };
}

async function verdicts(meterId: number) {
  const { rows } = await opened.db.query<{ quantity: string; time: Date; version: number; status: string; reasons: Array<{ code: string; status: string; details?: Record<string, unknown> }> }>(
    `SELECT quantity, time, version, status, reasons FROM reading_validations WHERE meter_id = $1 ORDER BY time, quantity, version`, [meterId]);
  return rows.map((r) => ({
    quantity: r.quantity, time: new Date(r.time).toISOString(), version: r.version, status: r.status,
    reasons: r.reasons.map((x) => [x.code, x.status, x.details?.seconds ?? x.details?.meterCode]),
  }));
}

beforeAll(async () => {
  opened = await openTestDb();
  validator = startValidator({ db: opened.db, logger: pino({ level: 'silent' }), intervalMs: 3_600_000 });
}, 120_000);
afterAll(async () => {
  await validator?.stop();
  await opened?.close();
});

describe('НС verdicts of archive records', () => {
  it('dt_low → suspect (ns_dt_low, ns_time); power off with Тр = 0 → invalid (ns_power_off); part of an hour off → suspect; a clean record → valid', async () => {
    const fx = await registerGateway(opened.db, 'gw-ns-verdicts', 1);
    const m = fx.meterIds[0];
    // Moscow = UTC+3: 10:00 local is 07:00 UTC.
    await writeReadings(opened.db, [
      // Δt below minimum for 20 min: Тр 40 min + Тнс 20 min = the hour (nothing off); the calculator counted Q.
      record(fx, 1, 'hourly', '2026-01-15T07:00:00.000Z', '2026-01-15T10:00:00', { q: 10.2, tr: 2400, tns: 1200, codes: ['dt_low'] }),
      // Without power all hour: Тр 0, Тнс 0 → 3600 s off (working time), and the meter's own power_off code.
      record(fx, 2, 'hourly', '2026-01-15T08:00:00.000Z', '2026-01-15T11:00:00', { q: 0, tr: 0, tns: 0, codes: ['power_off'] }),
      // 20 min off, no code: Тр 2400 + Тнс 0 = 1200 s short of the hour; the meter counted the rest.
      record(fx, 3, 'hourly', '2026-01-15T09:00:00.000Z', '2026-01-15T12:00:00', { q: 70, tr: 2400, tns: 0, codes: [] }),
      // A normal hour.
      record(fx, 4, 'hourly', '2026-01-15T10:00:00.000Z', '2026-01-15T13:00:00', { q: 104.5, tr: 3600, tns: 0, codes: [] }),
    ], { clock });
    await validator.drain();
    expect(await verdicts(m)).toEqual([
      { quantity: 'energy_delta_kwh', time: '2026-01-15T07:00:00.000Z', version: 1, status: 'suspect', reasons: [['ns_dt_low', 'suspect', 'dt_low'], ['ns_time', 'suspect', 1200]] },
      { quantity: 'energy_delta_kwh', time: '2026-01-15T08:00:00.000Z', version: 1, status: 'invalid', reasons: [['ns_power_off', 'invalid', 'power_off'], ['ns_power_off', 'invalid', 3600]] },
      { quantity: 'energy_delta_kwh', time: '2026-01-15T09:00:00.000Z', version: 1, status: 'suspect', reasons: [['ns_power_off', 'suspect', 1200]] },
      { quantity: 'energy_delta_kwh', time: '2026-01-15T10:00:00.000Z', version: 1, status: 'valid', reasons: [] },
    ]);
    expect((await opened.db.query<{ n: number }>('SELECT count(*)::int AS n FROM vee_queue WHERE meter_id = $1', [m])).rows[0].n).toBe(0);
  });

  it('a daily record and the hourly one at the same midnight each get the verdict of their own НС', async () => {
    const fx = await registerGateway(opened.db, 'gw-ns-kinds', 1);
    const midnight = '2026-01-14T21:00:00.000Z'; // 15 January 00:00 in Moscow
    await writeReadings(opened.db, [
      // The day: 2 h under Δt < Δtmin (Тр 22 h + Тнс 2 h = 24 h).
      record(fx, 1, 'daily', midnight, '2026-01-15T00:00:00', { q: 2300.1, tr: 79_200, tns: 7200, codes: ['dt_low'] }),
      record(fx, 2, 'hourly', midnight, '2026-01-15T00:00:00', { q: 104.5, tr: 3600, tns: 0, codes: [] }),
    ], { clock });
    await validator.drain();
    expect(await verdicts(fx.meterIds[0])).toEqual([
      { quantity: 'energy_day_kwh', time: midnight, version: 1, status: 'suspect', reasons: [['ns_dt_low', 'suspect', 'dt_low'], ['ns_time', 'suspect', 7200]] },
      { quantity: 'energy_delta_kwh', time: midnight, version: 1, status: 'valid', reasons: [] },
    ]);
  });
});
