// The built head-end CLI is stopped with SIGTERM in the states a field test found it hanging in:
// Redis unreachable, the database unreachable, and the broker busy with a gateway publishing QoS 1
// in a loop. Each time it must exit by itself within the harness's wait (the shutdown deadline is
// SHUTDOWN_TIMEOUT_SECONDS = 10 s), with status 0 (every step finished), having stopped MQTT before
// anything else; and every reading acknowledged before the exit must be stored. The readiness probe
// names what is missing: `jobs` while Redis is away, `database` while the database is cut, and is
// 200 again once it is back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { topics } from '@amr/protocols';
import type { Db } from '@amr/headend';
import { readings, registerGateway, type Fixture } from '../../headend/test/ingest/fixtures.js';
import { build, dropRedisPrefix, freePort, killAll, reachableDb, sleep, spawnHeadend, tempDir, until, type HeadendProcess, type ReachableDb } from './harness.js';
import { startProxy } from './tcp-proxy.js';

/** SHUTDOWN_TIMEOUT_SECONDS (10) plus the time a loaded machine needs to start and end a process. */
const EXIT_WAIT_MS = 20_000;
// The head-end here always runs in server mode (DATABASE_URL through the proxy), so it has the policy watcher's timer.
const STEP_ORDER = ['broker', 'commands', 'ingest', 'validator', 'jobs', 'http', 'admin socket', 'policy timer', 'read database', 'database'];

interface Probe { status: number; body: { ok: boolean; failing?: string[]; parts?: Record<string, { ok: boolean; error?: string }> } }
async function probe(he: HeadendProcess, path: string): Promise<Probe> {
  const r = await fetch(`${he.httpUrl}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: r.status, body: (await r.json()) as Probe['body'] };
}

/**
 * A gateway publishing one reading per QoS 1 message as fast as the broker takes them (up to 20 in
 * flight), until stopped. `acked` holds the seqs whose PUBACK came back: those must be stored.
 */
async function busyPublisher(mqttPort: number, fx: Fixture, firstSeq = 1) {
  const client: MqttClient = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
    username: fx.gatewayId, password: fx.password, clientId: `${fx.gatewayId}:busy`, reconnectPeriod: 0,
  });
  client.on('error', () => undefined);
  const acked: number[] = [];
  let seq = firstSeq - 1;
  let inFlight = 0;
  let running = true;
  const loop = (async () => {
    while (running && client.connected) {
      if (inFlight >= 20) {
        await sleep(2);
        continue;
      }
      const s = ++seq;
      inFlight++;
      const msg = readings(fx.gatewayId, [{ seq: s, address: String((s % 2) + 1), value: s, time: new Date(Date.parse('2026-10-01T00:00:00Z') + s * 60_000).toISOString() }]);
      client.publishAsync(topics.readings(fx.gatewayId), JSON.stringify(msg), { qos: 1 }).then(
        () => { acked.push(s); inFlight--; },
        () => { inFlight--; },
      );
      await sleep(1);
    }
  })();
  return {
    acked,
    get sent() { return seq - firstSeq + 1; },
    async stop() {
      running = false;
      await loop;
      await client.endAsync(true).catch(() => undefined);
    },
  };
}

async function storedSeqs(db: Db, gatewayId: string): Promise<Set<number>> {
  // Committed = a readings row (stored readings claim no ingest_log row) or a quarantine entry.
  const { rows } = await db.query<{ seq: number }>(
    'SELECT seq FROM readings WHERE gateway_id = $1 UNION SELECT seq FROM quarantine WHERE gateway_id = $1 AND seq IS NOT NULL', [gatewayId]);
  return new Set(rows.map((r) => Number(r.seq)));
}

/** The steps of the shutdown's last log line, in the order they ran. */
function shutdownSteps(he: HeadendProcess): { name: string; outcome: string }[] {
  const line = he.lines.find((l) => Array.isArray(l.steps));
  expect(line, `no shutdown report; last lines: ${he.lines.slice(-5).map((l) => String(l.msg)).join(' | ')}`).toBeDefined();
  return line!.steps as { name: string; outcome: string }[];
}

/** What the log says about the shutdown (for failure messages). */
const shutdownLog = (he: HeadendProcess) => he.lines.filter((l) => /shut|SIGTERM/.test(String(l.msg))).map((l) => JSON.stringify(l)).join('\n');

describe('head-end SIGTERM', () => {
  const dir = tempDir('shutdown');
  const children: ChildProcess[] = [];
  const prefix = `amr-fault-shutdown-${process.pid}`;
  // One database for all cases (the head-end reaches it by DATABASE_URL, directly or through a proxy
  // that can be cut): embedded in this process, cheaper than one per head-end on disk, or the server's.
  let database: ReachableDb;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let redisFx: Fixture;
  let dbFx: Fixture;
  let busyFx: Fixture;
  let frozenFx: Fixture;
  const pgUrl = (port: number) => database.url(port);
  const withDb = <T>(fn: (db: Db) => Promise<T>): Promise<T> => database.withDb(fn);
  beforeAll(async () => {
    build();
    database = await reachableDb();
    await withDb(async (db) => {
      redisFx = await registerGateway(db, `gw-sd-redis-${process.pid}`, 2);
      dbFx = await registerGateway(db, `gw-sd-db-${process.pid}`, 2);
      busyFx = await registerGateway(db, `gw-sd-busy-${process.pid}`, 2);
      frozenFx = await registerGateway(db, `gw-sd-frozen-${process.pid}`, 2);
    });
    proxy = await startProxy(database.port);
  }, 180_000);
  afterAll(async () => {
    await killAll(children);
    await proxy?.cut();
    await database?.stop();
    await dropRedisPrefix(prefix);
    dir.remove();
  });

  it('with Redis unreachable and a gateway publishing QoS 1 in a loop: exits in time, MQTT first, every acknowledged reading stored', async () => {
    const fx = redisFx;
    const deadRedis = await freePort(); // nothing listens there
    const he = await spawnHeadend({
      DATA_DIR: join(dir.path, 'redis-down'), DATABASE_URL: pgUrl(database.port), DB_POOL_MAX: '1',
      MQTT_PORT: '0', REDIS_URL: `redis://127.0.0.1:${deadRedis}`, REDIS_PREFIX: prefix, VALIDATOR_INTERVAL_MS: '200',
    }, children);

    // Not ready, and it says why: jobs (Redis); database and broker are fine. Alive all the same.
    await until(async () => (await probe(he, '/health/ready')).status === 503, 'readiness to report Redis down', 10_000);
    const ready = await probe(he, '/health/ready');
    expect(ready.body.failing).toEqual(['jobs']);
    expect(ready.body.parts?.jobs?.error).toContain(`127.0.0.1:${deadRedis}`);
    expect(ready.body.parts?.database).toEqual({ ok: true });
    expect((await probe(he, '/health')).status).toBe(503); // the old path answers like readiness now
    expect((await probe(he, '/health/live')).status).toBe(200);
    // The outage is an error in the log, not an info line.
    expect(he.lines.some((l) => (l.level as number) >= 50 && String(l.msg).startsWith('Redis unreachable'))).toBe(true);

    const pub = await busyPublisher(he.mqttPort, fx);
    await until(() => pub.acked.length >= 50, 'the broker acknowledging readings before SIGTERM');
    const exit = await he.stop('SIGTERM', EXIT_WAIT_MS);
    await pub.stop();
    expect(exit, shutdownLog(he)).toEqual({ code: 0, signal: null });
    const steps = shutdownSteps(he);
    expect(steps.map((s) => s.name)).toEqual(STEP_ORDER);
    expect(steps.filter((s) => s.outcome === 'timed_out')).toEqual([]);

    const stored = await withDb((db) => storedSeqs(db, fx.gatewayId));
    const lost = pub.acked.filter((s) => !stored.has(s));
    expect(lost, `acknowledged but not stored (of ${pub.acked.length} acknowledged, ${pub.sent} sent)`).toEqual([]);
  }, 120_000);

  it('with everything up and a gateway publishing QoS 1 in a loop: stops taking messages first, stores every acknowledged one exactly once', async () => {
    const fx = busyFx;
    const he = await spawnHeadend({
      DATA_DIR: join(dir.path, 'busy'), DATABASE_URL: pgUrl(database.port), DB_POOL_MAX: '1',
      MQTT_PORT: '0', REDIS_PREFIX: prefix, VALIDATOR_INTERVAL_MS: '200',
    }, children);
    const pub = await busyPublisher(he.mqttPort, fx);
    await until(() => pub.acked.length >= 100, 'the broker acknowledging readings before SIGTERM');
    const exit = await he.stop('SIGTERM', EXIT_WAIT_MS);
    const ackedAtExit = pub.acked.length;
    await pub.stop();
    expect(exit, shutdownLog(he)).toEqual({ code: 0, signal: null });
    expect(shutdownSteps(he).map((s) => s.name)).toEqual(STEP_ORDER);
    expect(pub.acked.length).toBe(ackedAtExit); // nothing acknowledged after the exit
    expect(pub.sent).toBeGreaterThan(ackedAtExit); // it was still publishing when the broker closed

    const { stored, rows } = await withDb(async (db) => ({
      stored: await storedSeqs(db, fx.gatewayId),
      rows: (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM readings WHERE gateway_id = $1', [fx.gatewayId])).rows[0].n,
    }));
    expect(pub.acked.filter((s) => !stored.has(s)), 'acknowledged but not stored').toEqual([]);
    expect(rows).toBe(stored.size); // one reading per message, none twice
  }, 120_000);

  it('with the database cut: readiness names the database, recovers with it, and SIGTERM still exits in time', async () => {
    const fx = dbFx;
    const he = await spawnHeadend({
      DATA_DIR: join(dir.path, 'db-down'), DATABASE_URL: pgUrl(proxy.port),
      DB_POOL_MAX: '1', MQTT_PORT: '0', REDIS_PREFIX: prefix, VALIDATOR_INTERVAL_MS: '200',
    }, children);
    await until(async () => (await probe(he, '/health/ready')).status === 200, 'readiness with everything up', 10_000);
    expect((await probe(he, '/health/ready')).body).toEqual({ ok: true, failing: [], parts: { database: { ok: true }, broker: { ok: true }, jobs: { ok: true } } });

    // Readings acknowledged before the cut.
    const pub = await busyPublisher(he.mqttPort, fx);
    await until(() => pub.acked.length >= 30, 'readings acknowledged before the cut');
    await proxy.cut();
    await until(async () => (await probe(he, '/health/ready')).status === 503, 'readiness to report the database cut', 10_000);
    const cut = await probe(he, '/health/ready');
    expect(cut.body.failing).toEqual(['database']);
    expect(cut.body.parts?.database?.error).toMatch(/database unreachable|no answer within/);
    expect((await probe(he, '/health/live')).status).toBe(200); // a restart would not bring the database back
    // The lost connection is a warning (or worse), not an info line.
    await until(() => he.lines.some((l) => (l.level as number) >= 40 && /database .* (connection lost|unreachable)|not committed/.test(String(l.msg))), 'a warning about the lost database', 10_000);

    await proxy.restore();
    await until(async () => (await probe(he, '/health/ready')).status === 200, 'readiness once the database is back', 20_000);
    await pub.stop();

    // Cut again, and stop the head-end while the database is away.
    const pub2 = await busyPublisher(he.mqttPort, fx, 1_000_000);
    await until(() => pub2.acked.length >= 10, 'readings acknowledged after the recovery');
    await proxy.cut();
    await sleep(300);
    const exit = await he.stop('SIGTERM', EXIT_WAIT_MS);
    await pub2.stop();
    expect(exit, shutdownLog(he)).toEqual({ code: 0, signal: null });
    expect(shutdownSteps(he).map((s) => s.name)).toEqual(STEP_ORDER);

    await proxy.restore();
    const stored = await withDb((db) => storedSeqs(db, fx.gatewayId));
    const acked = [...pub.acked, ...pub2.acked];
    expect(acked.filter((s) => !stored.has(s)), 'acknowledged but not stored').toEqual([]);
  }, 120_000);

  it('with a database that stops answering: readiness says so within its bound, and the exit comes at the deadline with status 1 naming the steps cut off', async () => {
    const fx = frozenFx;
    const he = await spawnHeadend({
      DATA_DIR: join(dir.path, 'db-frozen'), DATABASE_URL: pgUrl(proxy.port),
      DB_POOL_MAX: '1', MQTT_PORT: '0', REDIS_PREFIX: prefix, VALIDATOR_INTERVAL_MS: '200',
    }, children);
    const pub = await busyPublisher(he.mqttPort, fx);
    await until(() => pub.acked.length >= 30, 'readings acknowledged before the freeze');
    proxy.freeze(); // connections stay open; nothing goes through any more
    await until(async () => (await probe(he, '/health/ready')).status === 503, 'readiness to report the silent database', 10_000);
    expect((await probe(he, '/health/ready')).body.parts?.database?.error).toMatch(/no answer within 2000 ms/);

    const exit = await he.stop('SIGTERM', EXIT_WAIT_MS);
    await pub.stop();
    expect(exit, shutdownLog(he)).toEqual({ code: 1, signal: null });
    // Each step that hung is named at error level, and the final report lists the same ones.
    const cutOff = he.lines.filter((l) => (l.level as number) >= 50 && /^shutdown: .* did not finish/.test(String(l.msg))).map((l) => String(l.step));
    expect(cutOff.length, shutdownLog(he)).toBeGreaterThan(0);
    expect(cutOff).toContain('ingest'); // its batch waits on the silent database
    const steps = shutdownSteps(he);
    expect(steps.filter((x) => x.outcome === 'timed_out').map((x) => x.name).sort()).toEqual([...cutOff].sort());
    expect(steps[0]).toMatchObject({ name: 'broker', outcome: 'done' }); // MQTT was closed first all the same

    await proxy.cut(); // ends the frozen connections
    await proxy.restore();
    const stored = await withDb((db) => storedSeqs(db, fx.gatewayId));
    expect(pub.acked.filter((x) => !stored.has(x)), 'acknowledged but not stored').toEqual([]);
  }, 120_000);
});
