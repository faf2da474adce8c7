/**
 * A residents' sign-in wave while a gateway publishes, through one whole head-end (this run's database,
 * the embedded broker, the API over real HTTP): every resident signs in with a right code and submits
 * a reading, the gateway publishes its readings at QoS 1 meanwhile. Sign-in hashes codes outside any
 * transaction (collection/sign-in.ts), so the wave never holds the database connection the ingestion
 * needs. Asserted as counts, not times: every sign-in answered 200, every submission 201, every PUBACK
 * came, and every reading and submission is stored exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { topics } from '@amr/protocols';
import { testDatabase, dbEnv, type TestDatabase } from '../engine.js';
import { loadConfig } from '../../src/config/index.js';
import { startHeadend, fixedClock, type Headend } from '../../src/server/index.js';
import { codeKeyOf, prepareAccessCode, storeAccessCode } from '../../src/collection/access.js';
import { registerGateway, readings, type Fixture } from '../ingest/fixtures.js';

const RESIDENTS = 40;
const MESSAGES = 40;
const PER_MESSAGE = 5;

let he: Headend;
let database: TestDatabase | undefined;
/** The head-end's key: the codes are stored hashed with it, as the head-end issues them. */
const SECRETS_KEY = Buffer.alloc(32, 5).toString('base64');
let gw: Fixture;
let client: MqttClient | undefined;
const flats: { number: string; code: string; meterId: number }[] = [];

beforeAll(async () => {
  database = await testDatabase();
  const config = loadConfig({
    DATA_DIR: 'memory://', ...dbEnv(database), MQTT_HOST: '127.0.0.1', MQTT_PORT: '0', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0',
    INGEST_LINGER_MS: '5', LOG_LEVEL: 'silent', SECRETS_KEY,
  });
  he = await startHeadend({ config, logger: pino({ level: 'silent' }), jobs: false, clock: fixedClock('2026-12-10T12:00:00+03:00') });
  gw = await registerGateway(he.db, 'gw-wave', PER_MESSAGE);
  const q = async (sql: string, params: unknown[]) => Number((await he.db.query<{ id: string }>(sql, params)).rows[0].id);
  const org = await q(`INSERT INTO organisations (name) VALUES ('УК Волна') RETURNING id`, []);
  const building = await q(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, 'ул. Волновая, 1', 'Europe/Moscow') RETURNING id`, [org]);
  await he.db.query(`INSERT INTO collection_settings (building_id, resource, enabled, window_start_day, window_end_day, integer_only, accept_expired_verification, reminder_days, warn_factor)
    VALUES ($1, NULL, true, 1, 31, false, false, '{1}', 3)`, [building]);
  for (let i = 0; i < RESIDENTS; i++) {
    const premise = await q('INSERT INTO premises (building_id, number) VALUES ($1, $2) RETURNING id', [building, String(i + 1)]);
    const account = await q('INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, $2, $3) RETURNING id', [org, `WAVE-${i}`, premise]);
    const meterId = await q(`INSERT INTO meters (placement, building_id, premise_id, resource, make, serial_number) VALUES ('apartment', $1, $2, 'cold_water', 'TEST', $3) RETURNING id`,
      [building, premise, `WAVE-CW-${i}`]);
    const prepared = await prepareAccessCode(codeKeyOf(SECRETS_KEY));
    await storeAccessCode(he.db, account, prepared, null, 14);
    flats.push({ number: `WAVE-${i}`, code: prepared.code, meterId });
  }
}, 300_000);

afterAll(async () => {
  await client?.endAsync(true);
  await he?.close();
  await database?.drop();
});

async function post(path: string, body: unknown, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${he.httpUrl}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() as Record<string, unknown> };
}

describe('a sign-in wave and a gateway at the same time', () => {
  it('every resident signs in and submits, every PUBACK comes, every reading and submission is stored exactly once', async () => {
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${he.mqttPort}`, { username: gw.gatewayId, password: gw.password, clientId: `amr-gw-${gw.gatewayId}`, reconnectPeriod: 0 });
    const gateway = Promise.all(Array.from({ length: MESSAGES }, (_, m) => client!.publishAsync(topics.readings(gw.gatewayId), JSON.stringify(readings(gw.gatewayId,
      Array.from({ length: PER_MESSAGE }, (_, a) => ({ seq: m * PER_MESSAGE + a + 1, address: String(a + 1), value: m + 1, time: new Date(Date.UTC(2026, 10, 1, 0, m)).toISOString() })))), { qos: 1 })));
    const wave = Promise.all(flats.map(async (f) => {
      const signedIn = await post('/resident/sign-in', { account_number: f.number, code: f.code });
      if (signedIn.status !== 200) return { signIn: signedIn.status, submit: 0 };
      const submitted = await post('/resident/readings', { readings: [{ meter_id: f.meterId, value: 12.5 }] }, String(signedIn.body.token));
      return { signIn: signedIn.status, submit: submitted.status };
    }));
    const [acks, answers] = await Promise.all([gateway, wave]);

    expect(acks).toHaveLength(MESSAGES);
    expect(answers).toEqual(flats.map(() => ({ signIn: 200, submit: 201 })));
    const count = async (sql: string, params: unknown[]) => (await he.db.query<{ n: number; d: number }>(sql, params)).rows[0];
    // The gateway's readings: one row per (meter, time, quantity), all of them, none twice.
    expect(await count(`SELECT count(*)::int AS n, count(DISTINCT (meter_id, time, quantity))::int AS d FROM readings WHERE meter_id = ANY($1::bigint[]) AND source = 'telemetry'`, [gw.meterIds]))
      .toEqual({ n: MESSAGES * PER_MESSAGE, d: MESSAGES * PER_MESSAGE });
    // The residents' submissions: one reading per flat, each on its own meter.
    expect(await count(`SELECT count(*)::int AS n, count(DISTINCT meter_id)::int AS d FROM readings WHERE meter_id = ANY($1::bigint[]) AND source = 'resident'`, [flats.map((f) => f.meterId)]))
      .toEqual({ n: RESIDENTS, d: RESIDENTS });
    // Every code spent once, by its own resident user (made without a password).
    expect(await count(`SELECT count(*)::int AS n, count(DISTINCT c.used_by)::int AS d FROM resident_access_codes c JOIN users u ON u.id = c.used_by
      WHERE c.used_at IS NOT NULL AND u.password_hash IS NULL AND u.username LIKE 'account-%'`, [])).toEqual({ n: RESIDENTS, d: RESIDENTS });
  }, 300_000);
});
