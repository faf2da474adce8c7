/**
 * Start-up: configuration errors name the key; an unreachable database is reported by URL and
 * retried (no crash); the whole head-end (this run's database engine, broker, ingest, jobs on the
 * shared Redis, API) starts on defaults and shuts down cleanly.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { testDatabase, dbEnv, TEST_ENGINE, type TestDatabase } from '../engine.js';
import { createServer } from 'node:net';
import { pino } from 'pino';
import { ConfigSchema, loadConfig, ConfigError } from '../../src/config/index.js';
import { createPgDb, waitForDb } from '../../src/db/index.js';
import { startHeadend, type Headend } from '../../src/server/index.js';

let he: Headend | undefined;
let database: TestDatabase | undefined;
afterAll(async () => {
  await he?.close();
  await database?.drop();
});

describe('configuration', () => {
  it('has defaults for an embedded start', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ DATA_DIR: './.data', MQTT_PORT: 1884, HTTP_PORT: 8080, REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: 'amr' });
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.MQTT_URL).toBeUndefined();
  });

  it.each([
    [{ HTTP_PORT: 'eighty' }, 'HTTP_PORT'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ MQTT_TLS_CERT: '/tmp/cert.pem' }, 'MQTT_TLS_KEY'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ INGEST_BATCH_SIZE: '0' }, 'INGEST_BATCH_SIZE'],
  ])('names the bad key in %j', (env, key) => {
    let err: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues.map((i) => i.key)).toEqual([key]);
    expect((err as Error).message).toContain(`${key}:`);
  });

  it('exports the schema for deployment checks', () => {
    expect(ConfigSchema.safeParse({ DATABASE_URL: 'postgres://u:p@db:5432/amr', MQTT_URL: 'mqtt://mosquitto:1883' }).success).toBe(true);
  });
});

describe('start-up', () => {
  it('reports an unreachable database by URL and keeps retrying', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r())); // now nothing listens there
    const url = `postgres://amr:secret@127.0.0.1:${port}/amr`;
    const db = createPgDb({ connectionString: url, max: 1 });
    const logs: string[] = [];
    const ac = new AbortController();
    const waiting = waitForDb(db, url, (m) => {
      logs.push(m);
      if (logs.length === 2) ac.abort();
    }, { signal: ac.signal });
    await expect(waiting).rejects.toThrow(/ECONNREFUSED/);
    await db.close();
    expect(logs).toHaveLength(2);
    expect(logs[0]).toContain(`postgres://amr:***@127.0.0.1:${port}/amr`);
    expect(logs[0]).not.toContain('secret');
    expect(logs[1]).toMatch(/attempt 2/);
  });

  it(`starts everything on defaults (${TEST_ENGINE} database) and serves the API and /metrics`, async () => {
    database = await testDatabase();
    const config = loadConfig({
      DATA_DIR: 'memory://', ...dbEnv(database), DB_POOL_MAX: '3', MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0',
      REDIS_PREFIX: `amr-test-${process.pid}`, LOG_LEVEL: 'silent',
    });
    he = await startHeadend({ config, logger: pino({ level: 'silent' }) });
    expect(he.mqttPort).toBeGreaterThan(0);
    expect(he.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // Ready means every part answered within its 2-s bound; on a loaded machine (the whole suite beside
    // this start) one probe may miss it. Ready within 30 s is what counts, and a failure shows the
    // report, which names the part that failed and why.
    const url = he.httpUrl;
    const probe = async () => {
      const r = await fetch(`${url}/health`);
      return { status: r.status, report: await r.json() };
    };
    await expect.poll(probe, { timeout: 30_000, interval: 500 }).toMatchObject({ status: 200, report: { ok: true, failing: [] } });
    const { rows } = await he.db.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
    expect(rows[0].n).toBeGreaterThanOrEqual(2);
    const text = await he.registry.metrics();
    const total = Number(/amr_db_pool_connections\{state="total"\} (\d+)/.exec(text)?.[1]);
    // Embedded serves one connection at a time whatever DB_POOL_MAX says; a server pool opens up to it.
    if (TEST_ENGINE === 'embedded') expect(total).toBe(1);
    else {
      expect(total).toBeGreaterThanOrEqual(1);
      expect(total).toBeLessThanOrEqual(3);
    }
    await he.close();
    he = undefined;
    await database.drop();
    // A whole start (migrations, broker, API, jobs on Redis) takes about 15 s on a quiet 2-core machine
    // and more than the default 30 s when the machine is loaded: a slow start is not what this checks.
  }, 90_000);
});
