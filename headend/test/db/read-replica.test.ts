/**
 * The read-only pool for dashboards against the tests' TimescaleDB server (headend/test/engine.ts): a
 * database of this file's own, dropped afterwards. Without DATABASE_READ_URL the primary handle is
 * returned as is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../src/db/index.js';
import { openReadDb, readOnlyUrl, type ReadDb } from '../../src/db/read-replica.js';
import { testDatabase, TEST_ENGINE, type TestDatabase } from '../engine.js';

// A read replica is a second server reached by its own URL; the embedded engine serves one
// connection at a time and has none (DATABASE_READ_URL is for server deployments).
describe.skipIf(TEST_ENGINE !== 'server')('openReadDb', () => {
  let database: TestDatabase;
  let url: string;
  let primary: Db;
  let read: ReadDb | undefined;

  beforeAll(async () => {
    database = await testDatabase();
    url = database.databaseUrl!;
    primary = createPgDb({ connectionString: url, max: 2 });
    await primary.query('CREATE TABLE t (id int PRIMARY KEY, v text)');
    await primary.query("INSERT INTO t VALUES (1, 'one'), (2, 'two')");
  });

  afterAll(async () => {
    await read?.close();
    await primary?.close();
    await database?.drop();
  });

  it('falls back to the primary when DATABASE_READ_URL is unset or empty, and never closes it', async () => {
    for (const cfg of [{ DB_POOL_MAX: 3 }, { DB_POOL_MAX: 3, DATABASE_READ_URL: '  ' }]) {
      const r = await openReadDb(primary, cfg);
      expect(r.db).toBe(primary);
      expect(r.replica).toBe(false);
      expect(r.url).toBeNull();
      await r.close();
    }
    expect((await primary.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(2);
  });

  it('opens a second pool on DATABASE_READ_URL that answers SELECTs and refuses writes', async () => {
    const lines: string[] = [];
    read = await openReadDb(primary, { DATABASE_READ_URL: url, DB_POOL_MAX: 2 }, (m) => lines.push(m));
    expect(read.replica).toBe(true);
    expect(read.db).not.toBe(primary);
    expect(lines).toEqual([`read-only queries on ${url}`]);
    const { rows } = await read.db.query<{ v: string }>('SELECT v FROM t ORDER BY id');
    expect(rows.map((r) => r.v)).toEqual(['one', 'two']);
    await expect(read.db.query("INSERT INTO t VALUES (3, 'three')")).rejects.toThrow(/read-only transaction/);
    await expect(read.db.tx((q) => q.query('DELETE FROM t'))).rejects.toThrow(/read-only transaction/);
    expect((await primary.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(2);
  });

  it('does not block start-up on an unreachable replica, and hides its password in the log', async () => {
    const lines: string[] = [];
    const r = await openReadDb(primary, { DATABASE_READ_URL: 'postgres://amr:secret@127.0.0.1:1/amr', DB_POOL_MAX: 1 }, (m) => lines.push(m));
    expect(r.replica).toBe(true);
    expect(r.url).toBe('postgres://amr:***@127.0.0.1:1/amr');
    expect(lines.join('\n')).toMatch(/read replica postgres:\/\/amr:\*\*\*@127\.0\.0\.1:1\/amr unreachable/);
    expect(lines.join('\n')).not.toContain('secret');
    await r.close();
  });
});

describe('readOnlyUrl', () => {
  it('keeps options already on the URL', () => {
    expect(new URL(readOnlyUrl('postgres://h/db?options=-c%20statement_timeout%3D5000')).searchParams.get('options')).toBe(
      '-c statement_timeout=5000 -c default_transaction_read_only=on',
    );
    expect(readOnlyUrl(readOnlyUrl('postgres://h/db'))).toBe(readOnlyUrl('postgres://h/db'));
  });
});
