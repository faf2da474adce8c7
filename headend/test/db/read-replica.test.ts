/**
 * The read-only pool for dashboards against the local PostgreSQL server (127.0.0.1:5432, trust auth):
 * a unique database is created for this file and dropped afterwards. Without DATABASE_READ_URL the
 * primary handle is returned as is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { createPgDb, type Db } from '../../src/db/index.js';
import { openReadDb, readOnlyUrl, type ReadDb } from '../../src/db/read-replica.js';

const SERVER = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `amrtest_read_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
const url = (() => {
  const u = new URL(SERVER);
  u.pathname = `/${dbName}`;
  return u.toString();
})();

let admin: Db;
let primary: Db;
let read: ReadDb | undefined;

beforeAll(async () => {
  admin = createPgDb({ connectionString: SERVER, max: 1 });
  await admin.query(`CREATE DATABASE ${dbName}`);
  primary = createPgDb({ connectionString: url, max: 2 });
  await primary.query('CREATE TABLE t (id int PRIMARY KEY, v text)');
  await primary.query("INSERT INTO t VALUES (1, 'one'), (2, 'two')");
});

afterAll(async () => {
  await read?.close();
  await primary?.close();
  await admin?.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin?.close();
});

describe('openReadDb', () => {
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

  it('keeps options already on the URL', () => {
    expect(new URL(readOnlyUrl('postgres://h/db?options=-c%20statement_timeout%3D5000')).searchParams.get('options')).toBe(
      '-c statement_timeout=5000 -c default_transaction_read_only=on',
    );
    expect(readOnlyUrl(readOnlyUrl('postgres://h/db'))).toBe(readOnlyUrl('postgres://h/db'));
  });
});
