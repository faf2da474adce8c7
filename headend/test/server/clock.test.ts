/**
 * The head-end's injected clock reaches both the API and the jobs (startHeadend({ clock }) →
 * app.clock() and the features' deps), through one whole head-end: embedded database, API over real
 * HTTP, jobs on the shared Redis under a prefix of this file.
 *
 * The clock is stopped at 2028-01-01 00:00 Moscow = 2027-12-31T21:00:00Z, after today's real date
 * (this code was written in December 2026) and at an instant where Moscow's and UTC's year differ: a
 * path still on the wall clock would date its data a year or more earlier and fail here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, dbEnv, type TestDatabase } from '../engine.js';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/index.js';
import { startHeadend, fixedClock, type Headend } from '../../src/server/index.js';
import { createUser } from '../../src/auth/index.js';
import { removeRedisKeys } from '../redis.js';
import { waitFor } from '../alerts/receivers.js';

const NOW = '2027-12-31T21:00:00.000Z'; // 2028-01-01 00:00 in Moscow
const prefix = `amrtest-clock-${process.pid}`;
let he: Headend;
let database: TestDatabase | undefined;
let token = '';

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${he.httpUrl}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
/** The body of a successful call, as the type the test states. */
async function ok<T>(method: string, path: string, body?: unknown): Promise<T> {
  const r = await call(method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path} → ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body as T;
}

beforeAll(async () => {
  database = await testDatabase();
  const config = loadConfig({
    DATA_DIR: 'memory://', ...dbEnv(database), DB_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_PORT: '0', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0',
    REDIS_PREFIX: prefix, LOG_LEVEL: 'silent',
  });
  he = await startHeadend({ config, logger: pino({ level: 'silent' }), clock: fixedClock('2028-01-01T00:00:00+03:00') });
  await createUser(he.db, { username: 'admin', password: 'admin-password', role: 'admin' });
  token = (await ok<{ token: string }>('POST', '/auth/login', { username: 'admin', password: 'admin-password' })).token;
}, 120_000);

afterAll(async () => {
  await he?.close();
  await database?.drop();
  await removeRedisKeys(prefix);
});

describe('the injected clock', () => {
  let building = 0;
  const meter = async (serial: string, remote: boolean) =>
    (await ok<{ id: number }>('POST', '/meters', { placement: 'building', building_id: building, resource: 'heat', make: 'X', serial_number: serial, remote_reading: remote })).id;

  it('API: rebinding an address without valid_from ends the old binding and starts the new one at the clock\'s instant', async () => {
    const org = (await ok<{ id: number }>('POST', '/organisations', { name: 'УК Часы' })).id;
    building = (await ok<{ id: number }>('POST', '/buildings', { org_id: org, address: 'ул. Новогодняя, 1', timezone: 'Europe/Moscow' })).id;
    const [a, b] = [await meter('CLK-A', false), await meter('CLK-B', false)];
    await ok<unknown>('POST', '/gateways', { id: 'gw-clock', name: 'Часы', building_id: building });
    const first = await ok<{ id: number; valid_from: string }>('POST', '/gateways/gw-clock/bindings', { bus: 'mbus', address: '1', meter_id: a, valid_from: '2000-01-01T00:00:00Z' });
    const second = await ok<{ id: number; valid_from: string }>('POST', '/gateways/gw-clock/bindings', { bus: 'mbus', address: '1', meter_id: b });
    expect(new Date(second.valid_from).toISOString()).toBe(NOW);
    const old = (await he.db.query<{ valid_to: Date | string }>('SELECT valid_to FROM bindings WHERE id = $1', [first.id])).rows[0];
    expect(new Date(old.valid_to).toISOString()).toBe(NOW);
  });

  it('jobs: alerts.check run without `now` judges silence at the clock (a meter last seen 3 days before it is silent; the raise is dated by it)', async () => {
    // Last seen 2027-12-28 21:00Z: 3 days before the clock (over the 24 h default), but a year after
    // the real date, where it would be "in the future" and never silent.
    const m = await meter('CLK-SILENT', true);
    await he.db.query("UPDATE meters SET last_seen_at = '2027-12-28T21:00:00Z' WHERE id = $1", [m]);
    expect((await call('POST', '/jobs/alerts.check/run', {})).status).toBe(202);
    const alert = await waitFor(`a meter_silent alert for meter ${m} from the alerts.check job`, async () =>
      (await he.db.query<{ raised_at: Date }>("SELECT raised_at FROM alerts WHERE kind = 'meter_silent' AND meter_id = $1", [m])).rows[0]);
    expect(new Date(alert.raised_at).toISOString()).toBe(NOW);
  });
});
