/**
 * External-broker mode: gateways publish to a Mosquitto of this test's own (headend/test/mosquitto.ts,
 * a free port, anonymous clients allowed); the head-end subscribes with a shared subscription and
 * writes into this run's database engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { topics } from '@amr/protocols';
import { loadConfig } from '../../src/config/index.js';
import { startHeadend, type Headend } from '../../src/server/index.js';
import { registerGateway, readings, type Fixture } from './fixtures.js';
import { SYSTEM_ACTOR } from '../../src/audit/index.js';
import { startMosquitto, type Mosquitto } from '../mosquitto.js';
import { dbEnv, testDatabase, type TestDatabase } from '../engine.js';

let MOSQUITTO: string;
let broker: Mosquitto;
let database: TestDatabase;
const run = `${process.pid}-${Date.now().toString(36)}`;
let he: Headend;
let gw: Fixture;
let pub: MqttClient;

const count = async (sql: string, params: unknown[] = []) => (await he.db.query<{ n: number }>(sql, params)).rows[0].n;

beforeAll(async () => {
  broker = await startMosquitto();
  MOSQUITTO = broker.url;
  database = await testDatabase();
  const config = loadConfig({
    DATA_DIR: 'memory://', ...dbEnv(database), MQTT_URL: MOSQUITTO, MQTT_SHARE_GROUP: `t${run}`.replace(/[^A-Za-z0-9_-]/g, '_'), MQTT_CLIENT_ID: `he-${run}`,
    INGEST_LINGER_MS: '5', LOG_LEVEL: 'silent',
  });
  he = await startHeadend({ config, logger: pino({ level: 'silent' }), api: false, jobs: false });
  await he.subscriber!.ready;
  gw = await registerGateway(he.db, `gw-mq-${run}`, 2);
  pub = await mqtt.connectAsync(MOSQUITTO, { clientId: `pub-${run}`, reconnectPeriod: 0 });
});
afterAll(async () => {
  await pub?.endAsync();
  await he?.close();
  await broker?.stop();
  await database?.drop();
});

describe('ingestion through Mosquitto (shared subscription)', () => {
  it('sends a gateway command through Mosquitto and stores the reply it takes in its share group', async () => {
    // A stand-in gateway: answers every command on its topic.
    const fake = await mqtt.connectAsync(MOSQUITTO, { clientId: `fake-gw-${run}`, reconnectPeriod: 0 });
    try {
      fake.on('message', (topic, payload) => {
        const req = JSON.parse(payload.toString()) as { id: string };
        fake.publish(topics.reply(gw.gatewayId, topic.split('/').pop()!), JSON.stringify({ v: 1, id: req.id, ok: true, result: { via: 'mosquitto' }, ts: new Date().toISOString() }), { qos: 1 });
      });
      await fake.subscribeAsync(topics.command(gw.gatewayId, '+'), { qos: 1 });
      await he.commands.ready;
      const sent = await he.commands.send({ gatewayId: gw.gatewayId, buildingId: null, name: 'get_config', args: {}, actor: SYSTEM_ACTOR });
      await expect.poll(async () => (await he.db.query<{ status: string; result: unknown }>(
        'SELECT status, result FROM gateway_commands WHERE command_id = $1', [sent.command_id])).rows[0]).toEqual({ status: 'ok', result: { via: 'mosquitto' } });
    } finally {
      await fake.endAsync();
    }
  });

  it('stores readings once; a duplicate publish adds none', async () => {
    const msg = readings(gw.gatewayId, [{ seq: 1, address: '1', value: 10 }, { seq: 2, address: '2', value: 20 }]);
    await pub.publishAsync(topics.readings(gw.gatewayId), JSON.stringify(msg), { qos: 1 });
    await expect.poll(() => count('SELECT count(*)::int AS n FROM readings WHERE meter_id = ANY($1)', [gw.meterIds])).toBe(2);
    await pub.publishAsync(topics.readings(gw.gatewayId), JSON.stringify(msg), { qos: 1 });
    // The duplicate was handled (counted: both readings' keys were stored with the same values) and added nothing.
    await expect.poll(async () => (await he.registry.getSingleMetric('amr_ingest_duplicate_readings_total')!.get()).values[0]?.value).toBe(2);
    expect(await count('SELECT count(*)::int AS n FROM readings WHERE meter_id = ANY($1)', [gw.meterIds])).toBe(2);
    // Stored readings claim no (gateway, seq).
    expect(await count('SELECT count(*)::int AS n FROM ingest_log WHERE gateway_id = $1', [gw.gatewayId])).toBe(0);
  });

  it('dead-letters a bad payload and quarantines an unknown meter', async () => {
    await pub.publishAsync(topics.readings(gw.gatewayId), '{"v":2}', { qos: 1 });
    await pub.publishAsync(topics.readings(gw.gatewayId), JSON.stringify(readings(gw.gatewayId, [{ seq: 5, address: '77', value: 1 }])), { qos: 1 });
    await expect.poll(() => count('SELECT count(*)::int AS n FROM dead_letters WHERE gateway_id = $1', [gw.gatewayId])).toBe(1);
    const dl = await he.db.query<{ reason: string }>('SELECT reason FROM dead_letters WHERE gateway_id = $1', [gw.gatewayId]);
    expect(dl.rows[0].reason).toMatch(/^invalid v:/);
    await expect.poll(() => count(`SELECT count(*)::int AS n FROM quarantine WHERE gateway_id = $1 AND reason = 'unknown_meter'`, [gw.gatewayId])).toBe(1);
  });

  it('quarantines readings of a gateway that is not registered', async () => {
    const stranger = `gw-stranger-${run}`;
    await pub.publishAsync(topics.readings(stranger), JSON.stringify(readings(stranger, [{ seq: 1, address: '1', value: 1 }])), { qos: 1 });
    await expect.poll(() => count(`SELECT count(*)::int AS n FROM quarantine WHERE gateway_id = $1 AND reason = 'unknown_gateway'`, [stranger])).toBe(1);
  });

  it('does not acknowledge a message it could not store; Mosquitto redelivers it and it lands once', async () => {
    await he.db.query('ALTER TABLE ingest_log RENAME TO ingest_log_away'); // the next commit fails
    const failuresBefore = (await he.registry.getSingleMetric('amr_ingest_batch_failures_total')!.get()).values[0]?.value ?? 0;
    await pub.publishAsync(topics.readings(gw.gatewayId), JSON.stringify(readings(gw.gatewayId, [{ seq: 60, address: '2', value: 66, time: '2026-11-05T00:00:00Z' }])), { qos: 1 });
    await expect.poll(async () => (await he.registry.getSingleMetric('amr_ingest_batch_failures_total')!.get()).values[0]?.value ?? 0).toBeGreaterThan(failuresBefore);
    expect(await count('SELECT count(*)::int AS n FROM readings WHERE meter_id = $1 AND value = 66', [gw.meterIds[1]])).toBe(0);
    await he.db.query('ALTER TABLE ingest_log_away RENAME TO ingest_log');
    // The subscriber dropped its connection without PUBACK; after it reconnects the broker redelivers.
    await expect.poll(() => count('SELECT count(*)::int AS n FROM readings WHERE meter_id = $1 AND value = 66', [gw.meterIds[1]]), { timeout: 15_000 }).toBe(1);
  });
});
