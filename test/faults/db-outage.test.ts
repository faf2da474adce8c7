// The database is unreachable for 30 s while gateways keep publishing. The database of this run's
// engine (the embedded PGlite-TimescaleDB served from the test, or a database of its own on the tests'
// TimescaleDB server) sits behind a TCP proxy we control; the head-end (in process, the real
// start-up) reaches it through DATABASE_URL = the proxy. Cutting the proxy destroys the open
// connection and refuses new ones. Expected by the design (src/ingest/README.md): nothing is
// acknowledged that is not committed, so the publishers keep their messages (gateway outbox, MQTT
// session) and, once the database is back, every reading lands exactly once; the head-end itself
// neither crashes nor needs a restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import type { ModbusBus } from '@amr/simulators';
import { topics } from '@amr/protocols';
import { Gateway, validateConfig } from '@amr/gateway';
import { createPgDb, loadConfig, startHeadend, type Headend } from '@amr/headend';
import { registerGateway, readings, type Fixture } from '../../headend/test/ingest/fixtures.js';
import { startProxy } from './tcp-proxy.js';
import { countsOf, everySecond, meterBus, range, reachableDb, sleep, startEnergyMeters, tempDir, until, type ReachableDb } from './harness.js';

const OUTAGE_MS = 30_000;

describe('database unreachable for 30 s', () => {
  const dir = tempDir('dbout');
  let database: ReachableDb;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let he: Headend | undefined;
  let sim: ModbusBus;
  let gw: Gateway | undefined;
  let raw: MqttClient | undefined;
  let real: Fixture;
  let rawFx: Fixture;
  const outcome = { gatewayReconnected: false, gatewayErrors: [] as string[] };

  beforeAll(async () => {
    database = await reachableDb();
    await database.withDb(async (db) => {
      real = await registerGateway(db, `gw-dbo-real-${process.pid}`, 3);
      rawFx = await registerGateway(db, `gw-dbo-raw-${process.pid}`, 2);
    });
    proxy = await startProxy(database.port);
    sim = await startEnergyMeters(3, 100, 0.5);
  });
  afterAll(async () => {
    await gw?.stop().catch(() => undefined);
    await raw?.endAsync(true).catch(() => undefined);
    await he?.close().catch(() => undefined);
    await proxy?.cut();
    await sim?.close();
    await database?.stop();
    dir.remove();
  });

  it('pauses ingestion, keeps accepting and buffering, then stores every reading exactly once', async () => {
    const config = loadConfig({
      DATA_DIR: join(dir.path, 'unused'),
      DATABASE_URL: database.url(proxy.port),
      DB_POOL_MAX: '1',
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: '0',
      INGEST_LINGER_MS: '20',
      VALIDATOR_INTERVAL_MS: '1000',
      LOG_LEVEL: 'silent',
    });
    he = await startHeadend({ config, logger: pino({ level: 'silent' }), api: false, jobs: false });
    const url = `mqtt://127.0.0.1:${he.mqttPort}`;

    // A real gateway polling three meters on a Modbus simulator every second.
    const gwConfig = validateConfig({
        gateway: { id: real.gatewayId, bufferDir: join(dir.path, 'gw') },
        mqtt: { url, username: real.gatewayId, password: real.password, batchSize: 10, reconnectMin: '200ms', reconnectMax: '2s' },
        buses: [meterBus(sim)],
        meters: everySecond(3),
    });
    gw = new Gateway({ config: gwConfig, logger: pino({ level: 'silent' }) });
    await gw.start();
    // The session's errors (the gateway swallows them; we only read them to explain an outcome).
    const gwErrors: string[] = [];
    (gw as unknown as { conn: { client: MqttClient } }).conn.client.on('error', (e) => gwErrors.push(e.message));

    // A bare MQTT publisher with known seqs: persistent session, QoS 1, one message every 150 ms.
    // It retries after a refused CONNACK (reconnectOnConnackError) so it isolates the head-end's behaviour.
    raw = await mqtt.connectAsync(url, {
      username: rawFx.gatewayId, password: rawFx.password, clientId: `${rawFx.gatewayId}:raw-${process.pid}`, clean: false,
      reconnectPeriod: 300, reconnectOnConnackError: true,
    });
    const sent: Promise<unknown>[] = [];
    let rawSeq = 0;
    let publishing = true;
    const rawLoop = (async () => {
      while (publishing) {
        const items = [1, 2].map((a) => ({ seq: ++rawSeq, address: String(a), value: rawSeq, time: new Date(Date.parse('2026-09-01T00:00:00Z') + rawSeq * 60_000).toISOString() }));
        sent.push(raw.publishAsync(topics.readings(rawFx.gatewayId), JSON.stringify(readings(rawFx.gatewayId, items)), { qos: 1 }));
        await sleep(150);
      }
    })();

    await until(() => gw!.outbox.ackedSeq >= 6, 'the gateway delivering before the outage');
    await until(async () => rawSeq >= 10 && (await Promise.race([Promise.all(sent.slice(0, 5)).then(() => true), sleep(10).then(() => false)])), 'the publisher delivering before the outage');

    // ---- outage ----
    await proxy.cut();
    const cutAt = Date.now();
    await until(() => !gw!.health().mqttConnected, 'the gateway losing its unacknowledged session (no PUBACK without commit)');
    // The broker still answers: a new connection gets a CONNACK saying the server is unavailable.
    await expect(mqtt.connectAsync(url, { username: rawFx.gatewayId, password: rawFx.password, clientId: `${rawFx.gatewayId}:probe-${process.pid}`, reconnectPeriod: 0 }))
      .rejects.toThrow(/Server unavailable/i);
    const depthInOutage = gw.outbox.depth;
    await until(() => gw!.outbox.depth >= depthInOutage + 10, 'the gateway buffering polls in its outbox');
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - cutAt)));
    expect(gw.outbox.depth).toBeGreaterThan(depthInOutage);
    const lastBeforeRestore = gw.outbox.nextSeq - 1;
    const connectionsBefore = proxy.connections;
    await proxy.restore();

    // ---- recovery ----
    publishing = false;
    await rawLoop;
    const rawDone = Promise.all(sent).then(() => true);
    await until(async () => await Promise.race([rawDone, sleep(10).then(() => false)]), 'every message of the publisher acknowledged', 60_000);
    expect(proxy.connections).toBeGreaterThan(connectionsBefore); // the head-end reconnected by itself
    // The real gateway: give it a bounded time to come back by itself (reconnectMax is 2 s).
    try {
      await until(() => gw!.health().mqttConnected === true, 'the gateway reconnecting by itself', 8_000);
      outcome.gatewayReconnected = true;
    } catch {
      outcome.gatewayReconnected = false;
    }
    outcome.gatewayErrors = [...new Set(gwErrors)];
    // It was refused while the database was away (not left hanging): CONNACK 3.
    expect(outcome.gatewayErrors.join('; ')).toMatch(/Server unavailable/i);
    if (!outcome.gatewayReconnected) {
      // What an operator (or systemd) would do: restart the gateway process. Its outbox kept everything.
      await gw.stop();
      gw = new Gateway({ config: gwConfig, logger: pino({ level: 'silent' }) });
      await gw.start();
    }
    await until(() => gw!.outbox.depth === 0 && gw!.outbox.ackedSeq > lastBeforeRestore, 'the gateway draining its outbox after the outage', 30_000);
    await gw.stop();
    const lastSeq = gw.outbox.nextSeq - 1;
    gw = undefined;
    await raw.endAsync();
    raw = undefined;
    const failures = await he.registry.getSingleMetricAsString('amr_ingest_batch_failures_total');
    await he.close();
    he = undefined;

    await database.withDb(async (db) => {
      const r = await countsOf(db, rawFx.gatewayId);
      expect(r.duplicates).toBe(0);
      expect(r.logged).toEqual(range(1, rawSeq));
      expect(r.rows).toBe(rawSeq);
      expect(r.deadLetters + r.quarantined).toBe(0);

      const g = await countsOf(db, real.gatewayId);
      expect(g.duplicates).toBe(0);
      expect(g.deadLetters + g.quarantined).toBe(0);
      expect(g.logged).toEqual(range(1, lastSeq));
      expect(g.seqs).toEqual(range(1, lastSeq));
    });
    expect(failures).toMatch(/amr_ingest_batch_failures_total [1-9]/);
  }, 120_000);

  // Found by the outage above: a connection that dies between two statements of a
  // transaction made pg emit 'error' on a checked-out client nobody listened to — an uncaught
  // exception, i.e. a head-end crash. Now the transaction fails, the client is discarded, the next works.
  it('a connection lost inside a transaction fails that transaction, not the process', async () => {
    const db = createPgDb({ connectionString: database.url(proxy.port), max: 1 });
    try {
      await db.query('CREATE TABLE IF NOT EXISTS fault_probe (x int)');
      await expect(
        db.tx(async (q) => {
          await q.query('INSERT INTO fault_probe VALUES (1)');
          await proxy.cut();
          await sleep(200); // the socket closes while no query is running
          await q.query('SELECT 2');
        }),
      ).rejects.toThrow(/Connection terminated|not queryable/);
      await proxy.restore();
      expect((await db.query<{ n: number }>('SELECT 1::int AS n')).rows).toEqual([{ n: 1 }]);
      // What the cut transaction wrote is gone, also after the next commit (no half transaction
      // left open in the database session and committed by the next user of the connection).
      expect(await db.tx(async (q) => (await q.query<{ n: number }>('SELECT count(*)::int AS n FROM fault_probe')).rows[0].n)).toBe(0);
      expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM fault_probe')).rows[0].n).toBe(0);
    } finally {
      await db.close();
    }
  });

  // Found by this test: during the outage the embedded broker answers a reconnecting gateway with
  // CONNACK 3 "Server unavailable" (it cannot check the password), and mqtt.js gives up after a refused
  // CONNACK unless `reconnectOnConnackError` is set (gateway/src/mqtt/connection.ts now sets it).
  it('the gateway reconnects by itself once the database is back', () => {
    expect(outcome.gatewayReconnected, `errors seen by the gateway: ${outcome.gatewayErrors.join('; ')}`).toBe(true);
  });
});
