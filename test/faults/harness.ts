// Shared pieces of the fault tests: the built head-end CLI as a child process, a data directory
// (and, on the server engine, a database) prepared with registered gateways, a gateway outbox
// filled with known readings, and bounded polling. Everything runs on loopback, in temporary directories, on free ports.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Outbox, Gateway, validateConfig, type PendingReading } from '@amr/gateway';
import { startModbusBus, type ModbusBus } from '@amr/simulators';
import { createPgDb, openDb, migrate, startEmbeddedDb, type Db } from '@amr/headend';
import { registerGateway, type Fixture } from '../../headend/test/ingest/fixtures.js';
import { freePort } from '../../headend/test/free-port.js';
import { testDatabase, dbEnv, TEST_ENGINE } from '../../headend/test/engine.js';

export const repo = fileURLToPath(new URL('../../', import.meta.url));
export const headendBin = join(repo, 'headend/dist/cli/amr-headend.js');
export const gatewayBin = join(repo, 'gateway/bin/amr-gateway.js');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 50 ms until it holds; fails naming `what` after `ms` (a bound, not an assertion on time). */
export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Polls `read` until `done` holds, for work that moves at the machine's pace (draining a backlog):
 * fails naming `what` only when the value has not changed for `stallMs` (stuck, not slow), or after
 * `capMs` in all. On a loaded CI machine a drain may take minutes; a stuck one still fails in seconds.
 */
export async function untilAdvancing(read: () => number, done: (v: number) => boolean, what: string, o: { stallMs?: number; capMs?: number } = {}): Promise<void> {
  const stallMs = o.stallMs ?? 30_000;
  const capMs = o.capMs ?? 240_000;
  const start = Date.now();
  let last = read();
  let lastChange = start;
  while (!done(last)) {
    const now = Date.now();
    if (now - lastChange > stallMs) throw new Error(`stuck at ${last} for ${stallMs} ms waiting for ${what}`);
    if (now - start > capMs) throw new Error(`timed out after ${capMs} ms waiting for ${what} (at ${last}, still moving)`);
    await sleep(50);
    const v = read();
    if (v !== last) {
      last = v;
      lastChange = Date.now();
    }
  }
}

/** Builds every package (incremental) so the CLIs under test are never stale. */
export function build(): void {
  execFileSync(join(repo, 'node_modules/.bin/tsc'), ['-b'], { cwd: repo, stdio: 'inherit' });
}

export { freePort };

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `amr-fault-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * Where a head-end under a fault test keeps its data, on this run's engine (headend/test/engine.ts):
 * DATA_DIR always (admin socket, secrets key), the embedded database in it, or on the server engine a
 * database of its own that outlives the head-end's restarts as DATA_DIR does.
 */
export interface HeadendStore {
  dataDir: string;
  /** What the head-end is started with: DATA_DIR, and DATABASE_URL on the server engine. */
  env: Record<string, string>;
  /** Drops the server database (embedded: the data goes with the temporary directory). */
  drop(): Promise<void>;
}

export async function headendStore(dataDir: string): Promise<HeadendStore> {
  const database = await testDatabase();
  return { dataDir, env: { DATA_DIR: dataDir, ...dbEnv(database) }, drop: () => database.drop() };
}

/**
 * One database of this run's engine that head-ends reach by DATABASE_URL, so that a proxy the test
 * cuts can stand between them: the embedded PGlite-TimescaleDB served from this process, or a
 * database of its own on the tests' server. Migrated.
 */
export interface ReachableDb {
  /** The port the database listens on (what a proxy forwards to). */
  port: number;
  /** DATABASE_URL for a head-end reaching it on `port` (the database's own, or a proxy's). */
  url(port: number): string;
  /** The test's own connection (embedded: only while no head-end holds the one pglite-socket serves). */
  withDb<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

export async function reachableDb(): Promise<ReachableDb> {
  let port: number;
  let name: string;
  let stop: () => Promise<void>;
  if (TEST_ENGINE === 'server') {
    const t = await testDatabase();
    const u = new URL(t.databaseUrl!);
    port = Number(u.port);
    name = u.pathname.slice(1);
    stop = () => t.drop();
  } else {
    const emb = await startEmbeddedDb({ dataDir: 'memory://', port: 0 });
    port = emb.port;
    name = 'postgres';
    stop = () => emb.stop();
  }
  const url = (p: number) => `postgres://postgres:postgres@127.0.0.1:${p}/${name}?sslmode=disable`;
  const withDb = async <T>(fn: (db: Db) => Promise<T>): Promise<T> => {
    const db = createPgDb({ connectionString: url(port), max: 1 });
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  };
  await withDb((db) => migrate(db));
  return { port, url, withDb, stop };
}

/** Opens the store's database (head-end stopped), runs `fn`, closes it. */
export async function withDataDir<T>(store: HeadendStore, fn: (db: Db) => Promise<T>): Promise<T> {
  const opened = await openDb({ databaseUrl: store.env.DATABASE_URL, dataDir: store.dataDir, dbPort: 0, poolMax: 1 });
  try {
    return await fn(opened.db);
  } finally {
    await opened.close();
  }
}

/** Migrates the store and registers gateways with meters bound on bus "m1", addresses "1".."n". */
export async function prepareDataDir(store: HeadendStore, gateways: { id: string; meters: number }[]): Promise<Fixture[]> {
  return withDataDir(store, async (db) => {
    await migrate(db);
    const out: Fixture[] = [];
    for (const g of gateways) out.push(await registerGateway(db, g.id, g.meters));
    return out;
  });
}

export interface Counts {
  /** Reading rows of the gateway. */
  rows: number;
  /** Distinct seqs of the gateway in readings. */
  seqs: number[];
  /** (meter, quantity, time, version) present more than once — must be empty. */
  duplicates: number;
  /**
   * Seqs of the gateway the head-end committed: in a readings row or a quarantine entry (a stored
   * reading claims no ingest_log row; a quarantined one does, and its entry carries the seq too).
   */
  logged: number[];
  deadLetters: number;
  quarantined: number;
}

export async function countsOf(db: Db, gatewayId: string): Promise<Counts> {
  const one = async (sql: string) => (await db.query<{ n: number }>(sql, [gatewayId])).rows[0].n;
  return {
    rows: await one('SELECT count(*)::int AS n FROM readings WHERE gateway_id = $1'),
    seqs: (await db.query<{ seq: number }>('SELECT DISTINCT seq FROM readings WHERE gateway_id = $1 ORDER BY seq', [gatewayId])).rows.map((r) => r.seq),
    duplicates: (
      await db.query(
        `SELECT meter_id, quantity, time, version FROM readings WHERE gateway_id = $1
          GROUP BY meter_id, quantity, time, version HAVING count(*) > 1`,
        [gatewayId],
      )
    ).rows.length,
    logged: (
      await db.query<{ seq: number }>(
        `SELECT seq FROM readings WHERE gateway_id = $1 UNION SELECT seq FROM quarantine WHERE gateway_id = $1 AND seq IS NOT NULL ORDER BY seq`,
        [gatewayId],
      )
    ).rows.map((r) => Number(r.seq)),
    deadLetters: await one('SELECT count(*)::int AS n FROM dead_letters WHERE gateway_id = $1'),
    quarantined: await one('SELECT count(*)::int AS n FROM quarantine WHERE gateway_id = $1'),
  };
}

export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * Fills a gateway's outbox (`bufferDir/outbox`) with `n` readings, as polls would have: meters on bus
 * "m1" at addresses "1".."meters" in turn, one energy value each, distinct times. Returns the seqs.
 */
export function seedOutbox(bufferDir: string, n: number, meters: number, t0 = Date.parse('2026-10-01T00:00:00Z')): number[] {
  const ob = new Outbox({ dir: join(bufferDir, 'outbox'), maxBytes: 1e9, nearFull: 0.9 });
  ob.open();
  const seqs: number[] = [];
  const chunk: PendingReading[] = [];
  const flush = () => {
    for (const r of ob.append(chunk)) seqs.push(r.seq);
    chunk.length = 0;
  };
  for (let i = 0; i < n; i++) {
    const address = String((i % meters) + 1);
    chunk.push({
      meter: { meterKey: `m-${address}`, bus: 'm1', protocol: 'mbus', address },
      gatewayTime: new Date(t0 + i * 60_000).toISOString(),
      quality: [],
      values: [{ quantity: 'energy_kwh', value: 1000 + i, unit: 'kWh', quality: [] }],
    });
    if (chunk.length === 500) flush();
  }
  flush();
  ob.close();
  return seqs;
}

/** SDM120 meters with unit ids 1..n on one pace-free Modbus RTU-over-TCP line; every read adds `step` kWh. */
export function startEnergyMeters(n: number, start: number, step: number): Promise<ModbusBus> {
  let energy = start;
  return startModbusBus({
    transport: { kind: 'tcp', port: 0 },
    framing: 'rtu',
    timing: { pacing: false },
    slaves: range(1, n).map((unitId) => ({ unitId, map: 'sdm120', read: () => ({ energy_kwh: (energy += step) }) })),
  });
}

/** The gateway's bus entry for those meters. */
export function meterBus(sim: ModbusBus) {
  const ep = sim.endpoint as { host: string; port: number };
  return { name: 'm1', protocol: 'modbus' as const, port: `tcp://${ep.host}:${ep.port}`, timeout: '200ms', retries: 1 };
}

/** Gateway meters polling units 1..n of that bus every second. */
export const everySecond = (n: number) => range(1, n).map((slave) => ({ id: `el-${slave}`, bus: 'm1', slave, registerMap: 'sdm120', interval: '1s' }));

/** An in-process gateway that only drains its outbox (one bus, no meters, no scheduler). */
export async function drainingGateway(o: { id: string; password: string; bufferDir: string; mqttPort: number; batchSize: number; deadBusPort: number }): Promise<Gateway> {
  const config = validateConfig({
    gateway: { id: o.id, bufferDir: o.bufferDir },
    mqtt: { url: `mqtt://127.0.0.1:${o.mqttPort}`, username: o.id, password: o.password, batchSize: o.batchSize, reconnectMin: '100ms', reconnectMax: '1s' },
    buses: [{ name: 'm1', protocol: 'modbus', port: `tcp://127.0.0.1:${o.deadBusPort}`, timeout: '200ms' }],
    meters: [],
  });
  const gw = new Gateway({ config, logger: pino({ level: 'silent' }), scheduler: false });
  await gw.start();
  return gw;
}

export interface HeadendProcess {
  child: ChildProcess;
  mqttPort: number;
  httpUrl: string;
  /** Parsed pino lines (stdout) and raw stderr, for diagnostics and log assertions. */
  lines: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` and waits (bounded) for the exit. */
  stop(signal?: NodeJS.Signals, ms?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Environment for the head-end CLI: only what the test sets, nothing inherited that points elsewhere. */
export function headendEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['DATABASE_URL', 'MQTT_URL', 'MQTT_USERNAME', 'MQTT_PASSWORD', 'MQTT_TLS_CERT', 'MQTT_TLS_KEY', 'DB_PORT', 'HTTP_PORT', 'MQTT_PORT']) delete base[k];
  return { ...base, MQTT_HOST: '127.0.0.1', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', DB_PORT: '0', MQTT_TLS_PORT: '0', LOG_LEVEL: 'info', ...env };
}

/** `node headend/dist/cli/amr-headend.js serve`, resolved once it logs "head-end running". */
export async function spawnHeadend(env: Record<string, string>, all: ChildProcess[]): Promise<HeadendProcess> {
  const child = spawn(process.execPath, [headendBin, 'serve'], { cwd: repo, env: headendEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  all.push(child);
  const lines: Record<string, unknown>[] = [];
  let err = '';
  let buf = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  let ready: ((v: { mqttPort: number; http: string }) => void) | null = null;
  const running = new Promise<{ mqttPort: number; http: string }>((r) => (ready = r));
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        lines.push(o);
        if (o.msg === 'head-end running') ready?.({ mqttPort: o.mqttPort as number, http: o.http as string });
      } catch {
        /* not a log line */
      }
    }
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const started = await Promise.race([
    running,
    exited.then((x) => {
      throw new Error(`head-end exited (${x.code ?? x.signal}) before running; stderr:\n${err.slice(-2000)}\nlog:\n${lines.slice(-10).map((l) => JSON.stringify(l)).join('\n')}`);
    }),
    sleep(60_000).then(() => {
      throw new Error('head-end did not log "head-end running" within 60 s');
    }),
  ]);
  return {
    child,
    mqttPort: started.mqttPort,
    httpUrl: started.http,
    lines,
    stderr: () => err,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM', ms = 20_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return Promise.race([
        exited,
        sleep(ms).then(() => {
          const tail = lines.slice(-5).map((l) => String(l.msg)).join(' | ');
          throw new Error(`head-end did not exit within ${ms} ms of ${signal}; last log: ${tail}`);
        }),
      ]);
    },
  };
}

/** Kills what is still running (afterAll). */
export async function killAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await gone;
    }),
  );
}

/** Removes the bullmq keys a head-end wrote under `prefix`. */
export async function dropRedisPrefix(prefix: string): Promise<void> {
  const r = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await r.connect();
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
  } catch {
    /* Redis not there: nothing to clean */
  } finally {
    r.disconnect();
  }
}
