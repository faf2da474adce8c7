/**
 * The engineers' work list (GET /buildings/:id/flagged) holds a heat meter's archive records flagged for
 * abnormal situations (НС) and working-time shortfalls next to its register readings, with their
 * reasons, filterable by reason code and verdict; another organisation's engineer sees none of it.
 * Records go through the ingest writer (the one path of archive records), verdicts through the
 * validator. Runs on both engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startHarness, type Harness } from '../api/harness.js';
import { writeReadings } from '../../src/ingest/index.js';
import { startValidator, type Validator } from '../../src/validation/index.js';
import { hourlyArchiveMessage, registerGateway, type Fixture, type HourRecord } from '../ingest/fixtures.js';

let h: Harness;
let v: Validator;
let a: Fixture, b: Fixture;
let buildingA: number, buildingB: number, meterA: number;
let engineerA: string, engineerB: string;
const clock = () => new Date('2026-01-16T12:00:00Z');
const range = 'from=2026-01-15T00:00:00Z&to=2026-01-16T00:00:00Z';

interface FlaggedOut { rows: { meter_id: number; time: string; quantity: string; value: number; status: string; reasons: { code: string; status: string; message: string; details?: Record<string, unknown> }[] }[] }

/** One hourly record as the gateway's back-fill publishes it; `local` its start on the meter's clock (Moscow), `utc` the same instant. */
const hour = (fx: Fixture, seq: number, utc: string, local: string, x: HourRecord) => hourlyArchiveMessage(fx.gatewayId, seq, utc, local, x);

const buildingOf = async (meterId: number) => Number((await h.opened.db.query<{ building_id: string }>('SELECT building_id FROM meters WHERE id = $1', [meterId])).rows[0].building_id);
const list = (building: number, token: string, extra = '') => h.call<FlaggedOut>('GET', `/buildings/${building}/flagged?${range}${extra}`, token);
const summary = (r: { body: FlaggedOut }) => r.body.rows.map((x) => [x.time, x.quantity, x.status, x.reasons.map((y) => y.code)]);

beforeAll(async () => {
  h = await startHarness();
  a = await registerGateway(h.opened.db, 'gw-flagged-ns-a', 1);
  b = await registerGateway(h.opened.db, 'gw-flagged-ns-b', 1);
  meterA = a.meterIds[0];
  buildingA = await buildingOf(meterA);
  buildingB = await buildingOf(b.meterIds[0]);
  engineerA = await h.userToken('engineer', { buildingIds: [buildingA] });
  engineerB = await h.userToken('engineer', { buildingIds: [buildingB] });
  // Moscow = UTC+3: 10:00 local is 07:00 UTC.
  await writeReadings(h.opened.db, [
    // Δt below minimum for 20 min (Тр 40 min + Тнс 20 min = the hour): suspect, ns_dt_low and ns_time.
    hour(a, 1, '2026-01-15T07:00:00.000Z', '2026-01-15T10:00:00', { q: 10.2, tr: 2400, tns: 1200, codes: ['dt_low'] }),
    // Power off the whole hour (Тр = 0): invalid, by the meter's code and by the 3600 s of missing working time.
    hour(a, 2, '2026-01-15T08:00:00.000Z', '2026-01-15T11:00:00', { q: 0, tr: 0, tns: 0, codes: ['power_off'] }),
    // No code, but Тр 2400 + Тнс 0 is 1200 s short of the hour: a working-time shortfall, suspect.
    hour(a, 3, '2026-01-15T09:00:00.000Z', '2026-01-15T12:00:00', { q: 70, tr: 2400, tns: 0, codes: [] }),
    // A normal hour: valid, not on the list.
    hour(a, 4, '2026-01-15T10:00:00.000Z', '2026-01-15T13:00:00', { q: 104.5, tr: 3600, tns: 0, codes: [] }),
    // Organisation B's meter: the same power-off hour.
    hour(b, 1, '2026-01-15T08:00:00.000Z', '2026-01-15T11:00:00', { q: 0, tr: 0, tns: 0, codes: ['power_off'] }),
  ], { clock });
  v = startValidator({ db: h.opened.db, logger: pino({ level: 'silent' }), intervalMs: 3_600_000 });
  await v.drain();
}, 120_000);
afterAll(async () => {
  await v?.stop();
  await h?.close();
});

describe('НС verdicts in the work list', () => {
  it('lists the flagged archive records with their reasons; the normal hour is not there', async () => {
    const r = await list(buildingA, engineerA);
    expect(r.status).toBe(200);
    expect(summary(r)).toEqual([
      ['2026-01-15T07:00:00.000Z', 'energy_delta_kwh', 'suspect', ['ns_dt_low', 'ns_time']],
      ['2026-01-15T08:00:00.000Z', 'energy_delta_kwh', 'invalid', ['ns_power_off', 'ns_power_off']],
      ['2026-01-15T09:00:00.000Z', 'energy_delta_kwh', 'suspect', ['ns_power_off']],
    ]);
    // The shortfall says how long: 3600 − 2400 − 0 = 1200 s of the hour, in the statement's words.
    const shortfall = r.body.rows[2];
    expect(shortfall).toMatchObject({ meter_id: meterA, value: 70 });
    expect(shortfall.reasons[0]).toMatchObject({ status: 'suspect', details: { kind: 'hourly', seconds: 1200, working_seconds: 2400, ns_seconds: 0 } });
    expect(shortfall.reasons[0].message).toMatch(/^отключение питания.*: 1200 s of the hourly record$/i);
  });

  it('filters by reason code (any of them) and by verdict', async () => {
    expect(summary(await list(buildingA, engineerA, '&reason=ns_power_off')).map((x) => x[0])).toEqual(['2026-01-15T08:00:00.000Z', '2026-01-15T09:00:00.000Z']);
    expect(summary(await list(buildingA, engineerA, '&reason=ns_time,ns_flow_low')).map((x) => x[0])).toEqual(['2026-01-15T07:00:00.000Z']);
    expect(summary(await list(buildingA, engineerA, '&status=invalid')).map((x) => x[0])).toEqual(['2026-01-15T08:00:00.000Z']);
    expect(summary(await list(buildingA, engineerA, '&status=suspect&reason=ns_power_off')).map((x) => x[0])).toEqual(['2026-01-15T09:00:00.000Z']);
    expect((await list(buildingA, engineerA, '&reason=spike')).body.rows).toEqual([]);
  });

  it('an unknown reason code is refused by name, with the known ones', async () => {
    const r = await h.call<{ message: string }>('GET', `/buildings/${buildingA}/flagged?${range}&reason=ns_power_off,power_off`, engineerA);
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('querystring.reason: unknown reason code "power_off"; use one or more of register_decreased, ');
    expect(r.body.message).toContain(' ns_dt_low, ns_power_off, ns_sensor, ns_time, ns_unknown, separated by commas');
  });

  it('an engineer of another organisation gets 404 for this building, and their own list holds only their record', async () => {
    expect((await list(buildingA, engineerB)).status).toBe(404);
    expect((await list(buildingA, engineerB, '&reason=ns_power_off')).status).toBe(404);
    const own = await list(buildingB, engineerB);
    expect(own.body.rows.map((x) => x.meter_id)).toEqual([b.meterIds[0]]);
  });

  it('an accepted record leaves the list', async () => {
    const r = await h.call('POST', `/meters/${meterA}/readings/review`, engineerA, { time: '2026-01-15T09:00:00.000Z', quantity: 'energy_delta_kwh', decision: 'accept', reason: 'planned maintenance, 20 min' });
    expect(r.status).toBe(201);
    expect(summary(await list(buildingA, engineerA, '&reason=ns_power_off')).map((x) => x[0])).toEqual(['2026-01-15T08:00:00.000Z']);
  });
});
