/**
 * The embedded database end to end: PGlite + TimescaleDB behind pglite-socket, reached through `pg`
 * with a one-connection pool; migrations; and many concurrent callers sharing that one connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { createPgDb, openDb, migrate, startEmbeddedDb, type OpenedDb } from '../../src/db/index.js';

let opened: OpenedDb;

beforeAll(async () => {
  opened = await openDb({ dataDir: 'memory://', dbPort: 0, poolMax: 10 });
});
afterAll(async () => {
  await opened?.close();
});

describe('embedded database', () => {
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

  it('serves many concurrent queries and transactions through the one connection, losing none', async () => {
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
    // One transaction fails mid-way: it must roll back alone and leave the connection usable.
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

  it('accepts a statement far larger than one TCP read (framing in front of pglite-socket)', async () => {
    const n = 50_000;
    const texts = Array.from({ length: n }, (_, i) => `row-${i}-${'x'.repeat(20)}`); // ~1.5 MB of Bind parameters
    const { rows } = await opened.db.query<{ c: number; last: string }>(
      'SELECT count(*)::int AS c, max(t) AS last FROM unnest($1::text[]) AS u(t)', [texts],
    );
    expect(rows[0].c).toBe(n);
    expect(rows[0].last).toBe([...texts].sort().at(-1));
  });

  it('names a transaction that holds the one connection too long: what it runs and where it started; waiters too', async () => {
    // A second pool on a server of its own (the shared one's single connection belongs to `opened`).
    const server = await startEmbeddedDb({ dataDir: 'memory://', port: 0 });
    const reports: string[] = [];
    const db = createPgDb({ connectionString: server.url, max: 1, slowMs: 150, onSlow: (r) => reports.push(r) });
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
