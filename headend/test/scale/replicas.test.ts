/**
 * Scale-out: three head-end processes on one TimescaleDB server, taking readings from one Mosquitto
 * (of this test's own) through an MQTT 5 shared subscription. Gateways publish a stream of readings
 * messages (QoS 1, the contract's shape); one replica is killed mid-stream with SIGKILL (no shutdown
 * at all) and started again under the same client id, as an orchestrator restarts a pod. Every
 * reading published is stored exactly once: counted by the readings' keys against the count worked
 * out from what was published.
 *
 * Server project only: an embedded database belongs to one process, so there are no replicas to run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { topics } from '@amr/protocols';
import { openDb, type OpenedDb } from '../../src/db/index.js';
import { TEST_ENGINE, testDatabase, type TestDatabase } from '../engine.js';
import { startMosquitto, type Mosquitto } from '../mosquitto.js';
import { registerGateway, readings } from '../ingest/fixtures.js';

const REPLICA = fileURLToPath(new URL('./replica.mjs', import.meta.url));
const GATEWAYS = ['gw-scale-1', 'gw-scale-2', 'gw-scale-3'];
const MESSAGES = 80; // per gateway
const PER_MESSAGE = 5; // readings per message, one per meter (addresses 1..5)
// 3 gateways × 80 messages × 5 readings, each on its own (meter, time).
const EXPECTED = GATEWAYS.length * MESSAGES * PER_MESSAGE;
const T0 = Date.parse('2026-11-01T00:00:00Z');

let broker: Mosquitto;
let database: TestDatabase;
let opened: OpenedDb;
const replicas = new Map<string, ChildProcess>();
const publishers: MqttClient[] = [];

/** Starts replica `name` and resolves once it says it is subscribed; rejects naming it (with its stderr) otherwise. */
function startReplica(name: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [REPLICA], {
    env: {
      ...process.env,
      DATA_DIR: 'memory://', DATABASE_URL: database.databaseUrl!, DB_POOL_MAX: '3',
      MQTT_URL: broker.url, MQTT_SHARE_GROUP: 'scale', MQTT_CLIENT_ID: name, INGEST_LINGER_MS: '5', LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  replicas.set(name, child);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`replica ${name} not ready within 60 s; its stderr:\n${stderr}`)), 60_000);
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) { clearTimeout(t); resolve(child); }
    });
    child.once('exit', (code) => { clearTimeout(t); reject(new Error(`replica ${name} exited with ${code} before it was ready; its stderr:\n${stderr}`)); });
  });
}

async function kill(name: string): Promise<void> {
  const child = replicas.get(name)!;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGKILL');
  await exited;
}

const stored = async () => (await opened.db.query<{ n: number }>('SELECT count(*)::int AS n FROM readings WHERE gateway_id = ANY($1)', [GATEWAYS])).rows[0].n;

/** One gateway's stream: message s carries readings seq (s-1)·5+a for addresses a = 1..5 at T0 + s minutes. */
async function publishStream(gw: string, client: MqttClient): Promise<void> {
  for (let s = 1; s <= MESSAGES; s++) {
    const time = new Date(T0 + s * 60_000).toISOString();
    const msg = readings(gw, Array.from({ length: PER_MESSAGE }, (_, i) => ({ seq: (s - 1) * PER_MESSAGE + i + 1, address: String(i + 1), value: s, time })));
    await client.publishAsync(topics.readings(gw), JSON.stringify(msg), { qos: 1 });
    await new Promise((r) => setTimeout(r, 10)); // a stream, not a burst: the kill lands in the middle of it
  }
}

describe.skipIf(TEST_ENGINE !== 'server')('replicas on one TimescaleDB behind one Mosquitto (server project only: an embedded database has one process)', () => {
  beforeAll(async () => {
    broker = await startMosquitto();
    database = await testDatabase();
    opened = await openDb({ databaseUrl: database.databaseUrl, dataDir: 'memory://', dbPort: 0, poolMax: 2 });
    for (const gw of GATEWAYS) await registerGateway(opened.db, gw, PER_MESSAGE);
    await Promise.all(['he-r1', 'he-r2', 'he-r3'].map(startReplica));
    for (const gw of GATEWAYS) publishers.push(await mqtt.connectAsync(broker.url, { clientId: `amr-gw-${gw}`, protocolVersion: 5, reconnectPeriod: 0 }));
  }, 120_000);

  afterAll(async () => {
    for (const p of publishers) await p.endAsync(true);
    for (const name of replicas.keys()) await kill(name);
    await opened?.close();
    await database?.drop();
    await broker?.stop();
  });

  it('a replica killed mid-stream loses nothing and duplicates nothing', async () => {
    const streams = Promise.all(GATEWAYS.map((gw, i) => publishStream(gw, publishers[i])));
    // Killed once the three replicas have stored a quarter of the stream between them.
    await expect.poll(stored, { timeout: 60_000, interval: 20 }).toBeGreaterThanOrEqual(EXPECTED / 4);
    await kill('he-r2');
    const atKill = await stored();
    expect(atKill).toBeLessThan(EXPECTED); // mid-stream indeed
    await streams;
    // The orchestrator brings it back under the same client id: its session's messages come to it again.
    await startReplica('he-r2');
    await expect.poll(stored, { timeout: 60_000, interval: 100, message: `readings stored by the replicas, of ${EXPECTED} published` }).toBe(EXPECTED);

    const byKey = await opened.db.query<{ keys: number; rows: number; repeated: number }>(
      `SELECT count(DISTINCT (meter_id, time, quantity))::int AS keys, count(*)::int AS rows,
              (SELECT count(*)::int FROM (SELECT 1 FROM readings WHERE gateway_id = ANY($1) GROUP BY gateway_id, seq HAVING count(*) > 1) d) AS repeated
         FROM readings WHERE gateway_id = ANY($1)`, [GATEWAYS]);
    expect(byKey.rows[0]).toEqual({ keys: EXPECTED, rows: EXPECTED, repeated: 0 });
    // Every gateway's every sequence number, once.
    const perGateway = await opened.db.query<{ gateway_id: string; n: number; lo: string; hi: string }>(
      'SELECT gateway_id, count(DISTINCT seq)::int AS n, min(seq)::text AS lo, max(seq)::text AS hi FROM readings WHERE gateway_id = ANY($1) GROUP BY gateway_id ORDER BY gateway_id', [GATEWAYS]);
    expect(perGateway.rows).toEqual(GATEWAYS.map((g) => ({ gateway_id: g, n: MESSAGES * PER_MESSAGE, lo: '1', hi: String(MESSAGES * PER_MESSAGE) })));
  }, 180_000);
});
