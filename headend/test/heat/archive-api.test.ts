/**
 * A heat meter's archive over the API (GET /meters/:id/archive), on a real database (both engines):
 * three daily records of February 2026 and three hourly records of 10 February (Moscow) written through
 * the ingest writer as a gateway's back-fill sends them, one day and one hour under НС. Each record's
 * values, ΔT, flow and power, and reasons are checked against values worked out by hand; the kind is
 * chosen (daily when there are any) or asked; a range the wrong way round or over a year is refused by
 * name; another organisation's engineer gets 404; the inspector (no heat:read) 403.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveQuantity, type MeterReading, type ReadingsMessage } from '@amr/protocols';
import { startHarness, type Harness } from '../api/harness.js';
import { registerGateway, type Fixture } from '../ingest/fixtures.js';
import { writeReadings } from '../../src/ingest/index.js';
import { fixedClock } from '../../src/util/clock.js';

let h: Harness;
let A: Fixture & { building: number };
let B: Fixture & { building: number };
let engineerA = '';
let engineerB = '';
let billingA = '';
let operatorA = '';
const clock = fixedClock('2026-03-05T09:00:00Z');

interface Rec { t1: number; t2: number; m1: number; m2: number; q: number; tr: number; tns: number; codes: string[] }

/** One archive record's message; `local` its start in Moscow ('YYYY-MM-DDTHH:MM:SS'), `utc` the same instant. */
function recordMessage(fx: Fixture, kind: 'hourly' | 'daily', utc: string, local: string, x: Rec, seq: number): ReadingsMessage {
  const v = (quantity: string, value: number, unit: string) => ({ quantity: archiveQuantity(quantity, kind), value, unit, time: utc, quality: ['archive' as const] });
  const reading: MeterReading = {
    seq, meter: { meterKey: 'tv7', bus: 'm1', protocol: 'modbus', address: '1' }, gatewayTime: '2026-03-01T08:00:00.000Z', quality: ['archive'],
    values: [
      v('flow_temp_mean_c', x.t1, '°C'), v('return_temp_mean_c', x.t2, '°C'), v('mass_delta_t', x.m1, 't'), v('return_mass_delta_t', x.m2, 't'),
      v('energy_delta_kwh', x.q, 'kWh'), v('operating_time_delta_s', x.tr, 's'), v('error_time_delta_s', x.tns, 's'),
    ],
    archive: { kind, record: local, stamp: 'start', seconds: kind === 'daily' ? 86_400 : 3600, nsCodes: x.codes },
  };
  return { v: 1, gatewayId: fx.gatewayId, sentAt: '2026-03-01T08:00:01.000Z', readings: [reading] };
}

async function seed(gw: string): Promise<Fixture & { building: number }> {
  const fx = await registerGateway(h.opened.db, gw, 1);
  const { rows } = await h.opened.db.query<{ building_id: number }>(`SELECT building_id FROM meters WHERE id = $1`, [fx.meterIds[0]]);
  const building = Number(rows[0].building_id);
  await h.opened.db.query(`UPDATE buildings SET timezone = 'Europe/Moscow' WHERE id = $1`, [building]);
  return { ...fx, building };
}

const DAY: Rec = { t1: 70.5, t2: 45.25, m1: 100.125, m2: 99.5, q: 2500.4, tr: 86_400, tns: 0, codes: [] };
// 9 February: 6 h without power (Тр 18 h, Тнс 0) and the meter's own power_off code.
const DAY_OFF: Rec = { t1: 70.5, t2: 45.25, m1: 75, m2: 74.625, q: 1875.3, tr: 64_800, tns: 0, codes: ['power_off'] };
const HOUR: Rec = { t1: 71.3, t2: 46.05, m1: 4.2, m2: 4.15, q: 104.5, tr: 3600, tns: 0, codes: [] };
// 10 February 03:00: Δt below minimum for 20 min (Тнс 1200 s), the rest counted.
const HOUR_NS: Rec = { t1: 60.1, t2: 57.95, m1: 4.05, m2: 4.0, q: 10.2, tr: 2400, tns: 1200, codes: ['dt_low'] };

const archive = (token: string, meter: number, query: string) => h.call('GET', `/meters/${meter}/archive?${query}`, token);
/** February 2026 in Moscow. */
const FEB = 'from=2026-01-31T21:00:00Z&to=2026-02-28T21:00:00Z';

beforeAll(async () => {
  h = await startHarness({ clock });
  A = await seed('gw-arch-a');
  B = await seed('gw-arch-b');
  const msgs = [
    // Daily records of 8, 9 and 11 February (local midnight = 21:00 UTC the day before).
    recordMessage(A, 'daily', '2026-02-07T21:00:00.000Z', '2026-02-08T00:00:00', DAY, 1),
    recordMessage(A, 'daily', '2026-02-08T21:00:00.000Z', '2026-02-09T00:00:00', DAY_OFF, 2),
    recordMessage(A, 'daily', '2026-02-10T21:00:00.000Z', '2026-02-11T00:00:00', DAY, 3),
    // Hourly records of 10 February 02:00–04:00 Moscow (never a local midnight: that key is the daily record's).
    recordMessage(A, 'hourly', '2026-02-09T23:00:00.000Z', '2026-02-10T02:00:00', HOUR, 4),
    recordMessage(A, 'hourly', '2026-02-10T00:00:00.000Z', '2026-02-10T03:00:00', HOUR_NS, 5),
    recordMessage(A, 'hourly', '2026-02-10T01:00:00.000Z', '2026-02-10T04:00:00', HOUR, 6),
  ];
  expect(await writeReadings(h.opened.db, msgs, { clock })).toMatchObject({ stored: 6 * 7, quarantined: {} });
  engineerA = await h.userToken('engineer', { buildingIds: [A.building] });
  engineerB = await h.userToken('engineer', { buildingIds: [B.building] });
  billingA = await h.userToken('billing', { buildingIds: [A.building] });
  operatorA = await h.userToken('operator', { buildingIds: [A.building] });
}, 120_000);
afterAll(() => h?.close());

describe('a heat meter\'s archive', () => {
  it('daily records by default: values, ΔT, mean flow and power, НС reasons, worked out by hand', async () => {
    const r = await archive(engineerA, A.meterIds[0], FEB);
    expect(r.status).toBe(200);
    expect(r.body.meter).toMatchObject({ id: A.meterIds[0], resource: 'heat', building_id: A.building, timezone: 'Europe/Moscow', records: 6 });
    expect([r.body.kind, r.body.counts]).toEqual(['daily', { hourly: 3, daily: 3 }]);
    expect(r.body.records).toHaveLength(3);
    expect(r.body.records[0]).toEqual({
      kind: 'daily', time: '2026-02-07T21:00:00.000Z', end: '2026-02-08T21:00:00.000Z', local_start: '2026-02-08T00:00', local_end: '2026-02-09T00:00', seconds: 86_400,
      t1: 70.5, t2: 45.25, dt: 25.25, m1: 100.125, m2: 99.5, q_kwh: 2500.4, working_hours: 24, ns_hours: 0,
      flow_tph: 4.172, // 100.125 t / 24 h = 4.171875 → 4.172
      power_kw: 104.183, // 2500.4 kWh / 24 h = 104.18333… → 104.183
      codes: [], reasons: [],
    });
    // 9 February: the meter's power_off code, and 24 − 18 − 0 = 6 h counted by nobody.
    expect(r.body.records[1]).toMatchObject({
      local_start: '2026-02-09T00:00', working_hours: 18, ns_hours: 0, flow_tph: 3.125, power_kw: 78.138, // 75 / 24; 1875.3 / 24 = 78.1375 → 78.138
      codes: ['power_off'],
      reasons: [{ code: 'ns_power_off', from: 'meter', meter_code: 'power_off' }, { code: 'ns_power_off', from: 'working_time', seconds: 21_600 }],
    });
    expect(r.body.records[2].local_start).toBe('2026-02-11T00:00');
  });

  it('hourly records when asked: the НС hour with Δt low and Тнс 20 min', async () => {
    const r = await archive(billingA, A.meterIds[0], `${FEB}&kind=hourly`);
    expect(r.status).toBe(200);
    expect(r.body.kind).toBe('hourly');
    expect(r.body.records.map((x: { local_start: string }) => x.local_start)).toEqual(['2026-02-10T02:00', '2026-02-10T03:00', '2026-02-10T04:00']);
    expect(r.body.records[0]).toMatchObject({ dt: 25.25, flow_tph: 4.2, power_kw: 104.5, reasons: [] });
    expect(r.body.records[1]).toEqual({
      kind: 'hourly', time: '2026-02-10T00:00:00.000Z', end: '2026-02-10T01:00:00.000Z', local_start: '2026-02-10T03:00', local_end: '2026-02-10T04:00', seconds: 3600,
      t1: 60.1, t2: 57.95, dt: 2.15, // 60.1 − 57.95 exactly, not the binary 2.1500000000000057
      m1: 4.05, m2: 4, q_kwh: 10.2, working_hours: 0.67, ns_hours: 0.33, // 2400 s = 0.666… h; 1200 s = 0.333… h
      flow_tph: 4.05, power_kw: 10.2,
      codes: ['dt_low'],
      reasons: [{ code: 'ns_dt_low', from: 'meter', meter_code: 'dt_low' }, { code: 'ns_time', from: 'working_time', seconds: 1200 }],
    });
  });

  it('only hourly records in the range: hourly without asking; a range without records: none, the meter\'s total still told', async () => {
    const tenth = await archive(engineerA, A.meterIds[0], 'from=2026-02-09T21:00:00Z&to=2026-02-10T21:00:00Z');
    expect([tenth.body.kind, tenth.body.counts, tenth.body.records.length]).toEqual(['hourly', { hourly: 3, daily: 0 }, 3]);
    const march = await archive(engineerA, A.meterIds[0], 'from=2026-02-28T21:00:00Z&to=2026-03-31T21:00:00Z');
    expect(march.status).toBe(200);
    expect([march.body.records, march.body.counts, march.body.meter.records]).toEqual([[], { hourly: 0, daily: 0 }, 6]);
  });

  it('a range the wrong way round, over a year or missing is refused by name', async () => {
    const back = await archive(engineerA, A.meterIds[0], 'from=2026-03-01T00:00:00Z&to=2026-02-01T00:00:00Z');
    expect([back.status, back.body.message]).toEqual([400, expect.stringMatching(/from .* must be earlier than to/)]);
    const long = await archive(engineerA, A.meterIds[0], 'from=2025-01-01T00:00:00Z&to=2026-02-01T00:00:00Z');
    expect([long.status, long.body.message]).toEqual([400, expect.stringMatching(/longer than 366 days/)]);
    const none = await archive(engineerA, A.meterIds[0], 'from=2026-02-01T00:00:00Z');
    expect(none.status).toBe(400);
    expect(JSON.stringify(none.body)).toMatch(/to/);
  });

  it('another organisation\'s engineer: 404 as for a meter that does not exist; the inspector: 403', async () => {
    const other = await archive(engineerB, A.meterIds[0], FEB);
    expect([other.status, other.body.records]).toEqual([404, undefined]);
    expect((await archive(engineerA, 999_999, FEB)).status).toBe(404);
    expect((await archive(engineerB, B.meterIds[0], FEB)).body).toMatchObject({ records: [], meter: { records: 0 } });
    expect((await archive(operatorA, A.meterIds[0], FEB)).status).toBe(403);
  });
});
