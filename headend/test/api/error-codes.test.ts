/**
 * Errors as codes end to end, through the real API on the embedded database: a refusal names what was
 * wrong with a code and the values to say it (params), top-level `code` beside the old `error`, and no
 * internal meter id in any message meant for people — a decreasing reading (resident and staff),
 * a closed collection window, a value to confirm, the sign-in limit, a registry form's schema refusal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';
import { fixedClock } from '../../src/util/clock.js';
import { localDate, localMidnight } from '../../src/collection/rules.js';
import { issueCode, seedFlats, type SeededFlats } from '../resident-page/seed.js';

const ZONE = 'Europe/Moscow';
const NOW = new Date('2026-10-14T12:00:00+03:00');

let h: Harness;
let s: SeededFlats;
let resident: string;

interface Detail { path?: string; code?: string; params?: Record<string, unknown>; message: string }
interface Body { statusCode: number; error: string; code: string; message: string; params?: Record<string, unknown>; details?: Detail[] }

/** No "meter 12" (an internal id) anywhere a person could read it. */
function expectNoMeterIds(b: Body, ids: number[]) {
  for (const text of [b.message, ...(b.details ?? []).map((d) => d.message)]) {
    for (const id of ids) expect(text).not.toMatch(new RegExp(`meter ${id}\\b`));
  }
}

beforeAll(async () => {
  h = await startHarness({ clock: fixedClock(NOW) });
  s = await seedFlats(h, 'E');
  const code = await issueCode(h, s.accountA.id);
  const r = await h.call<{ token: string }>('POST', '/resident/sign-in', null, { account_number: s.accountA.number, code });
  expect(r.status).toBe(200);
  resident = r.body.token;
}, 120_000);

afterAll(async () => { await h?.close(); });

describe('errors as codes', () => {
  it('a resident\'s decreasing reading: 400 with details [{ code: below_previous, params: value, previous, unit, serial }]', async () => {
    const r = await h.call<Body>('POST', '/resident/readings', resident, { readings: [{ meter_id: s.cold, value: 1 }] });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ statusCode: 400, error: 'bad_request', code: 'bad_request' });
    expect(r.body.details).toEqual([{
      path: 'readings.0', column: 'value', code: 'below_previous',
      params: expect.objectContaining({ value: 1, previous: 100, unit: 'm3', serial: 'E-CW-1', zone: null }),
      message: expect.stringMatching(/^meter E-CW-1: 1 is less than the previous reading 100 of /),
    }]);
    expectNoMeterIds(r.body, [s.cold, s.hot]);
  });

  it('staff entry of a decrease below 317.92: the same code, the fraction kept in params', async () => {
    const today = localDate(NOW, ZONE);
    const lastMonth = localMidnight({ y: today.y, m: today.m - 1, d: 1 }, ZONE);
    await h.opened.db.query("INSERT INTO readings (meter_id, time, quantity, value, unit, source) VALUES ($1, $2, 'volume_m3', 317.92, 'm3', 'staff')", [s.hot, lastMonth]);
    const operator = await h.userToken('operator', { buildingIds: [s.buildingId] });
    const r = await h.call<Body>('POST', `/meters/${s.hot}/readings`, operator, { time: NOW.toISOString(), value: 1 });
    expect(r.status).toBe(400);
    expect(r.body.details).toEqual([expect.objectContaining({
      path: 'body.value', code: 'below_previous', params: expect.objectContaining({ value: 1, previous: 317.92, unit: 'm3', serial: 'E-HW-1' }),
    })]);
    expectNoMeterIds(r.body, [s.hot]);
  });

  it('a value far above the average: 409 confirmation_required, one detail per warning with its code', async () => {
    const r = await h.call<Body>('POST', '/resident/readings', resident, { readings: [{ meter_id: s.cold, value: 150 }] });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ error: 'confirmation_required', code: 'confirmation_required' });
    expect(r.body.details).toEqual([expect.objectContaining({
      path: 'readings.0', code: 'high_consumption', params: expect.objectContaining({ consumption: 50, factor: 3, unit: 'm3', serial: 'E-CW-1' }),
    })]);
    expectNoMeterIds(r.body, [s.cold]);
  });

  it('a closed window: code window_closed with the last window and the next opening day', async () => {
    const day = localDate(NOW, ZONE).d === 1 ? 2 : 1;
    const put = await h.call('PUT', '/collection-settings', h.adminToken, {
      building_id: s.buildingId, resource: 'hot_water', enabled: true, window_start_day: day, window_end_day: day, integer_only: false,
      accept_expired_verification: false, reminder_days: [day], warn_factor: 3,
    });
    expect(put.status).toBe(200);
    const r = await h.call<Body>('POST', '/resident/readings', resident, { readings: [{ meter_id: s.hot, value: 400 }] });
    expect(r.status).toBe(400);
    expect(r.body.details).toEqual([expect.objectContaining({
      code: 'window_closed', params: expect.objectContaining({ serial: 'E-HW-1', start_day: day, end_day: day, last_start: '2026-10-01', last_end: '2026-10-01', opens_on: '2026-11-01' }),
    })]);
    expectNoMeterIds(r.body, [s.hot]);
  });

  it('the sign-in limit: 429 too_many_requests with the minutes to wait', async () => {
    let last: { status: number; body: Body } | null = null;
    for (let i = 1; i <= 6; i++) last = await h.call<Body>('POST', '/resident/sign-in', null, { account_number: s.accountB.number, code: `WRONG${i}2345` });
    expect(last!.status).toBe(429);
    expect(last!.body).toMatchObject({ error: 'too_many_requests', code: 'too_many_requests', params: { minutes: 15, by: 'account' } });
  });

  it('a registry form: 400 validation, each field with its path, code and params', async () => {
    const r = await h.call<Body>('POST', '/meters', h.adminToken, { make: 'Пульс', placement: 'apartment', premise_id: 1, resource: 'cold_water', serial_number: ' ' });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: 'validation', code: 'validation' });
    expect(r.body.details).toContainEqual(expect.objectContaining({ path: 'body.serial_number', code: 'too_short', params: expect.objectContaining({ minimum: 1 }) }));
  });
});
