/**
 * Rotating a gateway's MQTT secret through the API ends the gateway's live session at once, through a
 * whole head-end (embedded broker, API over real HTTP): the old secret is refused from then on, the new
 * one connects and publishes, and another organisation's engineer cannot rotate it (404, nothing changes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, dbEnv, type TestDatabase } from '../engine.js';
import { pino } from 'pino';
import mqtt from 'mqtt';
import { loadConfig } from '../../src/config/index.js';
import { startHeadend, fixedClock, type Headend } from '../../src/server/index.js';
import { createUser } from '../../src/auth/index.js';
import { removeRedisKeys } from '../redis.js';

const prefix = `amrtest-rotation-${process.pid}`;
let he: Headend;
let database: TestDatabase | undefined;

async function call(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${he.httpUrl}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
async function ok<T>(token: string, method: string, path: string, body?: unknown): Promise<T> {
  const r = await call(token, method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path} → ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body as T;
}
const login = async (username: string, password: string) =>
  (await ok<{ token: string }>('', 'POST', '/auth/login', { username, password })).token;

/** Connects and resolves with the client, or rejects with the CONNACK's refusal code. */
function connect(username: string, password: string): Promise<mqtt.MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${he.mqttPort}`, { clientId: `amr-gw-${username}`, username, password, reconnectPeriod: 0, connectTimeout: 10_000, clean: false });
    c.once('connect', () => resolve(c));
    c.once('error', (e: Error & { code?: number }) => { c.end(true); reject(Object.assign(new Error(`CONNECT refused: ${e.message}`), { code: e.code })); });
  });
}

beforeAll(async () => {
  database = await testDatabase();
  const config = loadConfig({
    DATA_DIR: 'memory://', ...dbEnv(database), DB_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_PORT: '0', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0',
    REDIS_PREFIX: prefix, LOG_LEVEL: 'silent',
  });
  he = await startHeadend({ config, logger: pino({ level: 'silent' }), clock: fixedClock('2027-03-10T12:00:00+03:00') });
  await createUser(he.db, { username: 'admin', password: 'admin-password-1', role: 'admin' });
}, 120_000);

afterAll(async () => {
  await he?.close();
  await database?.drop();
  await removeRedisKeys(prefix);
});

describe('gateway secret rotation through the API', () => {
  it('ends the live session with the old secret; the old secret is refused, the new one connects; B cannot rotate A\'s gateway', async () => {
    const admin = await login('admin', 'admin-password-1');
    const orgA = (await ok<{ id: number }>(admin, 'POST', '/organisations', { name: 'УК А' })).id;
    const orgB = (await ok<{ id: number }>(admin, 'POST', '/organisations', { name: 'УК Б' })).id;
    const bA = (await ok<{ id: number }>(admin, 'POST', '/buildings', { org_id: orgA, address: 'ул. Первая, 1', timezone: 'Europe/Moscow' })).id;
    const bB = (await ok<{ id: number }>(admin, 'POST', '/buildings', { org_id: orgB, address: 'ул. Вторая, 2', timezone: 'Europe/Moscow' })).id;
    const created = await ok<{ mqtt: { username: string; password: string } }>(admin, 'POST', '/gateways', { id: 'gw-rot-a', building_id: bA });
    const oldSecret = created.mqtt.password;
    const engBId = (await ok<{ id: number }>(admin, 'POST', '/users', { username: 'eng-b', password: 'engineer-b-password', role: 'engineer' })).id;
    expect((await call(admin, 'POST', `/users/${engBId}/grants`, { building_id: bB })).status).toBe(204);
    const engB = await login('eng-b', 'engineer-b-password');

    const live = await connect('gw-rot-a', oldSecret);
    const closed = new Promise<void>((resolve) => live.once('close', () => resolve()));

    // B's engineer: the same 404 as a gateway that does not exist; the session stays up, the secret unchanged.
    const hashBefore = (await he.db.query<{ credential_hash: string }>('SELECT credential_hash FROM gateways WHERE id = $1', ['gw-rot-a'])).rows[0].credential_hash;
    const byB = await call(engB, 'POST', '/gateways/gw-rot-a/credentials');
    const missing = await call(engB, 'POST', '/gateways/gw-no-such/credentials');
    expect(byB.status).toBe(404);
    expect(byB.body).toEqual(missing.body);
    expect((await he.db.query<{ credential_hash: string }>('SELECT credential_hash FROM gateways WHERE id = $1', ['gw-rot-a'])).rows[0].credential_hash).toBe(hashBefore);
    expect(live.connected).toBe(true);

    const rotated = await ok<{ username: string; password: string }>(admin, 'POST', '/gateways/gw-rot-a/credentials');
    expect(rotated.password).not.toBe(oldSecret);
    await closed; // the broker ended the old session without waiting for the gateway to reconnect
    await expect(connect('gw-rot-a', oldSecret)).rejects.toMatchObject({ code: 4 }); // bad user name or password
    const fresh = await connect('gw-rot-a', rotated.password);
    expect(fresh.connected).toBe(true);
    await fresh.endAsync();
  }, 60_000);
});
