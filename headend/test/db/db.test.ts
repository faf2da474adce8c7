/**
 * The database end to end on both engines: many concurrent callers through the pool, losing none, and
 * statements far larger than one TCP read. Then what is the embedded engine's own (PGlite +
 * TimescaleDB behind pglite-socket, a one-connection pool, its slow-holder reports and port), and the
 * server's twin of it: migrations from scratch on a real server and a pool of several connections.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { createPgDb, isConnectionLost, openDb, migrate, sessionUrl, startEmbeddedDb, type OpenedDb } from '../../src/db/index.js';
import pg from 'pg';
import { adminQuery } from '../pg-server.js';
import { openTestDb, serverUrl, TEST_ENGINE } from '../engine.js';

describe(`database (${TEST_ENGINE})`, () => {
  let opened: OpenedDb;
  beforeAll(async () => {
    opened = await openTestDb({ poolMax: 4 });
  });
  afterAll(async () => {
    await opened?.close();
  });

  it('serves many concurrent queries and transactions through the pool, losing none', async () => {
    const db = opened.db;
    await db.query('CREATE TABLE load_probe (caller text NOT NULL, n int NOT NULL, PRIMARY KEY (caller, n))');
    const ingest = Array.from({ length: 40 }, (_, i) =>
      db.tx(async (q) => {
        await q.query('INSERT INTO load_probe SELECT $1, g FROM generate_series($2::int, $2::int + 9) g', ['ingest', i * 10]);
        await q.query('SELECT count(*) FROM load_probe');
      }),
    );
    const api = Array.from({ length: 60 }, (_, i) =>
      i % 3 === 0
        ? db.tx(async (q) => q.query('INSERT INTO load_probe VALUES ($1, $2)', ['api', i]))
        : db.query('SELECT count(*)::int AS c FROM load_probe'),
    );
    // One transaction fails mid-way: it must roll back alone and leave its connection usable.
    const failing = db.tx(async (q) => {
      await q.query("INSERT INTO load_probe VALUES ('bad', 1)");
      await q.query('SELECT 1/0');
    });
    const settled = await Promise.allSettled([...ingest, ...api, failing]);
    expect(settled.filter((s) => s.status === 'rejected')).toHaveLength(1);
    const { rows } = await db.query<{ caller: string; c: number }>(
      'SELECT caller, count(*)::int AS c FROM load_probe GROUP BY caller ORDER BY caller',
    );
    expect(rows).toEqual([
      { caller: 'api', c: 20 },
      { caller: 'ingest', c: 400 },
    ]);
  });

  it('tells a transaction whose connection was lost (really closed under it) from one the database refused', async () => {
    const db = opened.db;
    // Refused: a SQL error; the connection lives on.
    const refused = await db.tx((q) => q.query('SELECT 1/0')).catch((e: unknown) => e);
    expect((refused as { code?: string }).code).toBe('22012');
    expect(isConnectionLost(refused)).toBe(false);
    // Lost: embedded, the engine closes the connection holding its session (its watchdog's way); on a
    // server, the transaction's backend is killed from another connection.
    const lost = await db.tx(async (q) => {
      await q.query('SELECT 1');
      if (opened.embedded) expect(opened.embedded.closeSilentHolder(0)).toBe(true);
      else {
        const pid = (await q.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
        await db.query('SELECT pg_terminate_backend($1)', [pid]);
      }
      await q.query('SELECT 2');
    }).catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(Error);
    expect(isConnectionLost(lost)).toBe(true);
    expect(isConnectionLost(new Error('Connection terminated unexpectedly'))).toBe(false); // words alone prove nothing
    // The pool goes on with a new connection.
    expect((await db.query<{ n: number }>('SELECT 3 AS n')).rows).toEqual([{ n: 3 }]);
  });

  it('runs a transaction once more when its connection is lost, only when asked, and never one the database refused', async () => {
    const db = opened.db;
    await db.query('CREATE TABLE again_probe (n int PRIMARY KEY)');
    const lose = async (q: Parameters<Parameters<typeof db.tx>[0]>[0]) => {
      if (opened.embedded) expect(opened.embedded.closeSilentHolder(0)).toBe(true);
      else {
        const pid = (await q.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
        await db.query('SELECT pg_terminate_backend($1)', [pid]);
      }
    };
    // Asked: the first run inserts 1, loses its connection (rolled back), the second run commits it.
    let runs = 0;
    await db.tx(async (q) => {
      runs++;
      await q.query('INSERT INTO again_probe VALUES (1)');
      if (runs === 1) await lose(q);
      await q.query('SELECT 1');
    }, { onceMoreIfConnectionLost: true });
    expect(runs).toBe(2);
    // Not asked: the same loss fails the transaction, run once, nothing stored.
    runs = 0;
    const failed = await db.tx(async (q) => {
      runs++;
      await q.query('INSERT INTO again_probe VALUES (2)');
      await lose(q);
      await q.query('SELECT 1');
    }).catch((e: unknown) => e);
    expect(isConnectionLost(failed)).toBe(true);
    expect(runs).toBe(1);
    // Refused by the database (a duplicate key): run once, whatever was asked.
    runs = 0;
    const refused = await db.tx(async (q) => {
      runs++;
      await q.query('INSERT INTO again_probe VALUES (1)');
    }, { onceMoreIfConnectionLost: true }).catch((e: unknown) => e);
    expect((refused as { code?: string }).code).toBe('23505');
    expect(runs).toBe(1);
    expect((await db.query<{ n: number }>('SELECT n FROM again_probe ORDER BY n')).rows).toEqual([{ n: 1 }]);
  });

  it('accepts a statement far larger than one TCP read (embedded: the framing in front of pglite-socket)', async () => {
    const n = 50_000;
    const texts = Array.from({ length: n }, (_, i) => `row-${i}-${'x'.repeat(20)}`); // ~1.5 MB of Bind parameters
    const { rows } = await opened.db.query<{ c: number; last: string }>(
      'SELECT count(*)::int AS c, max(t) AS last FROM unnest($1::text[]) AS u(t)', [texts],
    );
    expect(rows[0].c).toBe(n);
    expect(rows[0].last).toBe([...texts].sort().at(-1));
  });
});

// What only the embedded engine has: its one-connection pool, the framing in front of pglite-socket
// and its port. The server project runs the twin below instead.
describe.skipIf(TEST_ENGINE === 'server')('embedded database', () => {
  let opened: OpenedDb;
  beforeAll(async () => {
    // From an empty cluster, not the run's seed (embedded-seed.ts): this suite is about migrating one.
    opened = await openDb({ dataDir: 'memory://', dbPort: 0, poolMax: 10, seedless: true });
  });
  afterAll(async () => {
    await opened?.close();
  });

  it('runs TimescaleDB and applies all migrations once', async () => {
    const first = await migrate(opened.db);
    expect(first.applied).toContain('001_registry.sql');
    expect(first.applied).toContain('002_readings.sql');
    const again = await migrate(opened.db);
    expect(again.applied).toEqual([]);
    expect(again.skipped.length).toBe(first.applied.length);
    const { rows } = await opened.db.query<{ hypertable_name: string }>(
      'SELECT hypertable_name FROM timescaledb_information.hypertables',
    );
    expect(rows.map((r) => r.hypertable_name)).toContain('reading_rows');
    const caggs = await opened.db.query<{ view_name: string }>('SELECT view_name FROM timescaledb_information.continuous_aggregates ORDER BY 1');
    expect(caggs.rows.map((r) => r.view_name)).toEqual(['readings_daily', 'readings_hourly']);
  });

  it('uses a pool of exactly one connection in embedded mode', async () => {
    await Promise.all(Array.from({ length: 5 }, () => opened.db.query('SELECT pg_sleep(0.01)')));
    expect(opened.db.stats().total).toBe(1);
  });

  it('names a transaction that holds the one connection too long: what it runs and where it started; waiters too', async () => {
    // A second pool on a server of its own (the shared one's single connection belongs to `opened`).
    const server = await startEmbeddedDb({ dataDir: 'memory://', port: 0 });
    const reports: string[] = [];
    const inFlight: boolean[] = [];
    const db = createPgDb({ connectionString: server.url, max: 1, slowMs: 150, onSlow: (r, h) => { reports.push(r); inFlight.push(h.statementInFlight); } });
    try {
      const holder = db.tx(async (q) => {
        await q.query('SELECT 1 AS started_holding');
        await new Promise((r) => setTimeout(r, 400)); // holds the connection, running nothing
        await q.query('SELECT pg_sleep(0.4) AS slow_statement');
      });
      const waiter = db.query('SELECT 2 AS queued_behind');
      await Promise.all([holder, waiter]);
      const held = reports.find((r) => r.startsWith('tx holding'));
      expect(held, reports.join('\n')).toBeDefined();
      expect(held).toMatch(/now at: (\(between statements\)|SELECT pg_sleep\(0\.4\) AS slow_statement)/);
      expect(held).toContain('db.test.ts');
      expect(reports.some((r) => r.startsWith('query in flight on (or waiting for)') && r.includes('queued_behind'))).toBe(true);
      expect(new Set(reports).size).toBe(reports.length); // each reported once
      // Only a transaction's statement sent and unanswered counts as in flight (what may be lost): not a
      // transaction between statements, nor a query waiting for the connection.
      expect(inFlight).toEqual(reports.map((r) => r.startsWith('tx holding') && !r.includes('(between statements)')));
    } finally {
      await db.close();
      await server.stop();
    }
  });

  it('fails clearly when the configured port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startEmbeddedDb({ dataDir: 'memory://', port })).rejects.toThrow(`127.0.0.1:${port} is already in use`);
    } finally {
      blocker.close();
    }
  });
});

describe.skipIf(TEST_ENGINE !== 'server')('server database', () => {
  it('applies all migrations once to an empty database', async () => {
    const name = `amr_t_scratch_${process.pid}`;
    const url = new URL(serverUrl());
    url.pathname = `/${name}`;
    await adminQuery(serverUrl(), `CREATE DATABASE ${name}`);
    const o = await openDb({ databaseUrl: url.toString(), dataDir: '', dbPort: 0, poolMax: 2 });
    try {
      const first = await migrate(o.db);
      expect(first.applied).toContain('001_registry.sql');
      expect(first.applied).toContain('002_readings.sql');
      const again = await migrate(o.db);
      expect(again.applied).toEqual([]);
      expect(again.skipped.length).toBe(first.applied.length);
      const { rows } = await o.db.query<{ hypertable_name: string }>('SELECT hypertable_name FROM timescaledb_information.hypertables');
      expect(rows.map((r) => r.hypertable_name)).toContain('reading_rows');
      const caggs = await o.db.query<{ view_name: string }>('SELECT view_name FROM timescaledb_information.continuous_aggregates ORDER BY 1');
      expect(caggs.rows.map((r) => r.view_name)).toEqual(['readings_daily', 'readings_hourly']);
    } finally {
      await o.close();
      await adminQuery(serverUrl(), `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  });

  it('runs the head-end\'s sessions without JIT (the server has it on), unless DATABASE_URL asks for it', async () => {
    const o = await openTestDb();
    try {
      // The tests' server leaves PostgreSQL's default: JIT on, with LLVM installed.
      const c = new pg.Client({ connectionString: serverUrl() });
      await c.connect();
      try {
        expect((await c.query<{ jit: string }>('SHOW jit')).rows[0].jit).toBe('on');
      } finally {
        await c.end();
      }
      expect((await o.db.query<{ jit: string }>('SHOW jit')).rows[0].jit).toBe('off');
      const on = createPgDb({ connectionString: `${o.url}?options=-c%20jit%3Don`, max: 1 });
      try {
        expect((await on.query<{ jit: string }>('SHOW jit')).rows[0].jit).toBe('on');
      } finally {
        await on.close();
      }
    } finally {
      await o.close();
    }
  });

  it('opens as many connections as DB_POOL_MAX for callers that overlap, and no more', async () => {
    const o = await openTestDb({ poolMax: 3 });
    try {
      // Five overlapping callers: three connections serve them, two wait their turn.
      await Promise.all(Array.from({ length: 5 }, () => o.db.query('SELECT pg_sleep(0.05)')));
      expect(o.db.stats().total).toBe(3);
    } finally {
      await o.close();
    }
  });
});

describe('sessionUrl', () => {
  it('adds -c jit=off to the options, keeping what the URL already says', () => {
    expect(sessionUrl('postgres://amr:pw@db:5432/amr')).toBe('postgres://amr:pw@db:5432/amr?options=-c+jit%3Doff');
    expect(new URL(sessionUrl('postgres://db/amr?options=-c%20default_transaction_read_only%3Don&sslmode=disable')).searchParams.get('options'))
      .toBe('-c default_transaction_read_only=on -c jit=off');
    expect(new URL(sessionUrl('postgres://db/amr?sslmode=disable')).searchParams.get('sslmode')).toBe('disable');
  });

  it('leaves a URL that sets jit itself, and one that is not a URL, as they are', () => {
    expect(sessionUrl('postgres://db/amr?options=-c%20jit%3Don')).toBe('postgres://db/amr?options=-c%20jit%3Don');
    expect(sessionUrl('postgres://db/amr?options=--jit%3Don')).toBe('postgres://db/amr?options=--jit%3Don');
    expect(sessionUrl('/var/run/postgresql amr')).toBe('/var/run/postgresql amr');
  });
});
