/**
 * Gateways → embedded aedes broker → ingestion → PGlite-TimescaleDB, through the real head-end
 * start-up (no API, no jobs). Real MQTT clients (mqtt.js) publish at QoS 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, dbEnv, type TestDatabase } from '../engine.js';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { topics } from '@amr/protocols';
import { loadConfig } from '../../src/config/index.js';
import { startHeadend, type Headend } from '../../src/server/index.js';
import { registerGateway, readings, type Fixture } from '../ingest/fixtures.js';

let he: Headend;
let database: TestDatabase | undefined;
let gw: Fixture;
let other: Fixture;
const clients: MqttClient[] = [];

const connect = (username: string, password: string) =>
  new Promise<MqttClient>((resolve, reject) => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${he.mqttPort}`, { username, password, clientId: `${username}:${clients.length}`, reconnectPeriod: 0 });
    clients.push(c);
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
const publish = (c: MqttClient, topic: string, payload: unknown) =>
  c.publishAsync(topic, typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1 });
const count = async (sql: string, params: unknown[] = []) => (await he.db.query<{ n: number }>(sql, params)).rows[0].n;
const readingsOf = (meterId: number) => count('SELECT count(*)::int AS n FROM readings WHERE meter_id = $1', [meterId]);

const certDir = mkdtempSync(join(tmpdir(), 'amr-tls-'));

beforeAll(async () => {
  // A self-signed certificate for the TLS listener (openssl is part of the base system).
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem')], { stdio: 'ignore' });
  database = await testDatabase();
  const config = loadConfig({
    DATA_DIR: 'memory://', ...dbEnv(database), MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', INGEST_LINGER_MS: '5', LOG_LEVEL: 'silent',
    MQTT_TLS_CERT: join(certDir, 'cert.pem'), MQTT_TLS_KEY: join(certDir, 'key.pem'), MQTT_TLS_PORT: '0',
  });
  he = await startHeadend({ config, logger: pino({ level: 'silent' }), api: false, jobs: false });
  gw = await registerGateway(he.db, 'gw-emb-1', 3);
  other = await registerGateway(he.db, 'gw-emb-2', 1);
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await he?.close();
  await database?.drop();
  rmSync(certDir, { recursive: true, force: true });
});

describe('embedded broker ingestion', () => {
  it('stores readings once; a redelivered message adds no row', async () => {
    const c = await connect(gw.gatewayId, gw.password);
    const msg = readings(gw.gatewayId, [{ seq: 1, address: '1', value: 100.5 }, { seq: 2, address: '2', value: 7 }]);
    await publish(c, topics.readings(gw.gatewayId), msg);
    // PUBACK came: the rows are committed already (ack after commit).
    expect(await readingsOf(gw.meterIds[0])).toBe(1);
    expect(await readingsOf(gw.meterIds[1])).toBe(1);
    await publish(c, topics.readings(gw.gatewayId), msg);
    expect(await readingsOf(gw.meterIds[0])).toBe(1);
    expect(await readingsOf(gw.meterIds[1])).toBe(1);
    // Stored readings claim no (gateway, seq): their keys turned the second delivery away, 2 duplicates.
    expect(await count('SELECT count(*)::int AS n FROM ingest_log WHERE gateway_id = $1', [gw.gatewayId])).toBe(0);
    expect(await he.registry.getSingleMetricAsString('amr_ingest_duplicate_readings_total')).toMatch(/ 2$/m);
    const { rows } = await he.db.query('SELECT value, unit, source, version, seq FROM readings WHERE meter_id = $1', [gw.meterIds[0]]);
    expect(rows).toEqual([{ value: 100.5, unit: 'kWh', source: 'telemetry', version: 1, seq: 1 }]);
    const seen = await he.db.query<{ last_seen_at: Date }>('SELECT last_seen_at FROM meters WHERE id = $1', [gw.meterIds[0]]);
    expect(seen.rows[0].last_seen_at.toISOString()).toBe('2026-11-01T10:00:00.000Z');
  });

  it('puts a different value for an existing meter/quantity/time in quarantine, keeping the stored one', async () => {
    const c = await connect(gw.gatewayId, gw.password);
    await publish(c, topics.readings(gw.gatewayId), readings(gw.gatewayId, [{ seq: 10, address: '1', value: 999 }]));
    expect(await readingsOf(gw.meterIds[0])).toBe(1);
    const q = await he.db.query<{ reason: string }>(`SELECT reason FROM quarantine WHERE gateway_id = $1 AND seq = 10`, [gw.gatewayId]);
    expect(q.rows).toEqual([{ reason: 'conflicting_value' }]);
  });

  it('sends an unbound meter address to quarantine, never drops it', async () => {
    const c = await connect(gw.gatewayId, gw.password);
    await publish(c, topics.readings(gw.gatewayId), readings(gw.gatewayId, [{ seq: 20, address: '99', value: 1 }]));
    const q = await he.db.query<{ reason: string; meter_ref: { address: string } }>(
      `SELECT reason, meter_ref FROM quarantine WHERE gateway_id = $1 AND seq = 20`, [gw.gatewayId]);
    expect(q.rows).toHaveLength(1);
    expect(q.rows[0].reason).toBe('unknown_meter');
    expect(q.rows[0].meter_ref.address).toBe('99');
  });

  it.each([
    ['not JSON', '{oops', 'not JSON'],
    ['schema violation', { v: 1, gatewayId: 'gw-emb-1', sentAt: 'yesterday', readings: [] }, 'invalid sentAt'],
    ['gateway id mismatch', readings('gw-emb-9', [{ seq: 1, address: '1', value: 1 }]), 'differs from topic'],
  ])('dead-letters a bad payload (%s) with the reason', async (_name, payload, reason) => {
    const c = await connect(gw.gatewayId, gw.password);
    const before = await count('SELECT count(*)::int AS n FROM dead_letters');
    await publish(c, topics.readings(gw.gatewayId), payload);
    const { rows } = await he.db.query<{ reason: string; gateway_id: string }>('SELECT reason, gateway_id FROM dead_letters ORDER BY id DESC LIMIT 1');
    expect(await count('SELECT count(*)::int AS n FROM dead_letters')).toBe(before + 1);
    expect(rows[0].reason).toContain(reason);
    expect(rows[0].gateway_id).toBe(gw.gatewayId);
  });

  it('refuses a gateway publishing under another gateway id, and counts it', async () => {
    const c = await connect(gw.gatewayId, gw.password);
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    c.publish(topics.readings(other.gatewayId), JSON.stringify(readings(other.gatewayId, [{ seq: 1, address: '1', value: 5 }])), { qos: 1 });
    await closed; // aedes drops the connection of a client whose publish is not authorised
    expect(await readingsOf(other.meterIds[0])).toBe(0);
    const m = await he.registry.getSingleMetricAsString('amr_broker_rejected_total');
    expect(m).toMatch(/action="publish"} [1-9]/);
  });

  it('refuses a wrong password and an unknown gateway', async () => {
    await expect(connect(gw.gatewayId, 'wrong')).rejects.toThrow(/Bad username or password/i);
    await expect(connect('gw-nobody', 'x')).rejects.toThrow(/Bad username or password/i);
    expect(await he.registry.getSingleMetricAsString('amr_broker_rejected_total')).toMatch(/action="connect"} [2-9]/);
  });

  it('does not acknowledge until the batch is committed', async () => {
    const c = await connect(gw.gatewayId, gw.password);
    // Hold a transaction that locks the validation queue, which the batch's readings write inserts
    // into, so the batch cannot commit: embedded it also holds the only connection; on a server the
    // batch's own connection waits for the lock.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let holding!: () => void;
    const isHolding = new Promise<void>((r) => (holding = r));
    const hold = he.db.tx(async (q) => {
      await q.query('LOCK TABLE vee_queue IN EXCLUSIVE MODE');
      holding();
      await held;
    });
    await isHolding;
    let acked = false;
    const pub = publish(c, topics.readings(gw.gatewayId), readings(gw.gatewayId, [{ seq: 30, address: '3', value: 42 }])).then(() => {
      acked = true;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(acked).toBe(false);
    expect(he.ingest.pending).toBe(1);
    release();
    await hold;
    await pub;
    expect(await readingsOf(gw.meterIds[2])).toBe(1);
  });

  it('on a failed commit sends no PUBACK and drops the connection; the re-sent message is stored once', async () => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${he.mqttPort}`, { username: gw.gatewayId, password: gw.password, clientId: `${gw.gatewayId}:retry`, reconnectPeriod: 200 });
    clients.push(c);
    await new Promise((r) => c.once('connect', r));
    await he.db.query('ALTER TABLE ingest_log RENAME TO ingest_log_away'); // the next commit fails
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    let acked = false;
    const pub = publish(c, topics.readings(gw.gatewayId), readings(gw.gatewayId, [{ seq: 40, address: '2', value: 77, time: '2026-11-02T00:00:00Z' }])).then(() => {
      acked = true;
    });
    await closed;
    expect(acked).toBe(false);
    expect(await count(`SELECT count(*)::int AS n FROM readings WHERE meter_id = $1 AND value = 77`, [gw.meterIds[1]])).toBe(0);
    await he.db.query('ALTER TABLE ingest_log_away RENAME TO ingest_log');
    await pub; // mqtt.js re-sends its unacknowledged message after reconnecting
    expect(await count(`SELECT count(*)::int AS n FROM readings WHERE meter_id = $1 AND value = 77`, [gw.meterIds[1]])).toBe(1);
    expect(await he.registry.getSingleMetricAsString('amr_ingest_batch_failures_total')).toMatch(/ [1-9]/);
  });

  it('accepts gateways over TLS with the same credentials and ACL', async () => {
    const c = await mqtt.connectAsync(`mqtts://127.0.0.1:${he.broker!.tlsPort}`, {
      username: gw.gatewayId, password: gw.password, clientId: `${gw.gatewayId}:tls`, reconnectPeriod: 0,
      ca: readFileSync(join(certDir, 'cert.pem')),
    });
    clients.push(c);
    await publish(c, topics.readings(gw.gatewayId), readings(gw.gatewayId, [{ seq: 50, address: '1', value: 500, time: '2026-11-03T00:00:00Z' }]));
    expect(await count('SELECT count(*)::int AS n FROM readings WHERE meter_id = $1 AND value = 500', [gw.meterIds[0]])).toBe(1);
  });

  it('tracks gateway online/offline from birth and last will', async () => {
    const lwt = { v: 1, gatewayId: gw.gatewayId, state: 'offline', reason: 'lwt' };
    const c = await new Promise<MqttClient>((resolve, reject) => {
      const cl = mqtt.connect(`mqtt://127.0.0.1:${he.mqttPort}`, {
        username: gw.gatewayId, password: gw.password, clientId: `${gw.gatewayId}:lwt`, reconnectPeriod: 0,
        will: { topic: topics.status(gw.gatewayId), payload: Buffer.from(JSON.stringify(lwt)), qos: 1, retain: true },
      });
      cl.once('connect', () => resolve(cl));
      cl.once('error', reject);
    });
    await publish(c, topics.status(gw.gatewayId), { v: 1, gatewayId: gw.gatewayId, state: 'online', reason: 'birth', ts: new Date().toISOString() });
    expect((await he.db.query('SELECT online FROM gateways WHERE id = $1', [gw.gatewayId])).rows[0].online).toBe(true);
    c.stream.destroy(); // abrupt loss → aedes publishes the will
    await expect.poll(async () => (await he.db.query('SELECT online FROM gateways WHERE id = $1', [gw.gatewayId])).rows[0].online).toBe(false);
  });

  it('maps an address to the meter bound at the time of the reading (re-wired address keeps history)', async () => {
    const newMeter = await he.db.tx(async (q) => {
      const old = (await q.query<{ building_id: number }>('SELECT building_id FROM meters WHERE id = $1', [other.meterIds[0]])).rows[0];
      const m = (await q.query<{ id: number }>(
        `INSERT INTO meters (placement, building_id, resource, make, serial_number) VALUES ('building', $1, 'heat', 'TEST', 'rewired-1') RETURNING id`,
        [old.building_id])).rows[0].id;
      await q.query(`UPDATE bindings SET valid_to = '2026-06-01Z' WHERE gateway_id = $1 AND valid_to IS NULL`, [other.gatewayId]);
      await q.query(`INSERT INTO bindings (gateway_id, bus, address, meter_id, valid_from) VALUES ($1, 'm1', '1', $2, '2026-06-01Z')`, [other.gatewayId, m]);
      return m;
    });
    const c = await connect(other.gatewayId, other.password);
    await publish(c, topics.readings(other.gatewayId), readings(other.gatewayId, [
      { seq: 100, address: '1', value: 1, time: '2026-05-01T00:00:00Z' },
      { seq: 101, address: '1', value: 2, time: '2026-07-01T00:00:00Z' },
    ]));
    const { rows } = await he.db.query<{ meter_id: number; value: number }>(
      'SELECT meter_id, value FROM readings WHERE meter_id = ANY($1) ORDER BY time', [[other.meterIds[0], newMeter]]);
    expect(rows).toEqual([{ meter_id: other.meterIds[0], value: 1 }, { meter_id: newMeter, value: 2 }]);
  });
});
