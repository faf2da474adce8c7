// The test engine matrix itself: each file's database is its own, migrated, and (server) dropped on close.
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { openTestDb, serverUrl, testDatabase, TEST_ENGINE } from '../engine.js';

/** The databases the tests' server lists, read from outside any test database. */
async function serverDatabases(): Promise<string[]> {
  const c = new pg.Client({ connectionString: serverUrl() });
  await c.connect();
  try {
    return (await c.query<{ datname: string }>('SELECT datname FROM pg_database ORDER BY datname')).rows.map((r) => r.datname);
  } finally {
    await c.end();
  }
}
const nameOf = (url: string) => new URL(url).pathname.slice(1);

describe(`test database (${TEST_ENGINE})`, () => {
  it('is migrated, runs TimescaleDB, and is its own', async () => {
    const a = await openTestDb();
    const b = await openTestDb();
    try {
      const ext = await a.db.query<{ extversion: string }>("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'");
      expect(ext.rows[0]?.extversion).toMatch(/^2\.23\./);
      expect((await a.db.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations')).rows[0].n).toBeGreaterThan(20);
      await a.db.query("INSERT INTO organisations (name) VALUES ('only in a')");
      const inB = await b.db.query<{ n: number }>("SELECT count(*)::int AS n FROM organisations WHERE name = 'only in a'");
      expect(inB.rows[0].n).toBe(0);
      if (TEST_ENGINE === 'server') expect(nameOf(a.url)).not.toBe(nameOf(b.url));
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe.skipIf(TEST_ENGINE !== 'server')('test databases on the server', () => {
  it('are listed while open and gone from pg_database once closed, the template kept', async () => {
    const opened = await openTestDb();
    const name = nameOf(opened.url);
    expect(await serverDatabases()).toContain(name);
    await opened.close();
    const after = await serverDatabases();
    expect(after).not.toContain(name);
    expect(after).toContain('amr_template');
  });

  it('a head-end\'s database (testDatabase) is dropped too, and drop() twice is harmless', async () => {
    const t = await testDatabase();
    const name = nameOf(t.databaseUrl!);
    expect(await serverDatabases()).toContain(name);
    await t.drop();
    await t.drop();
    expect(await serverDatabases()).not.toContain(name);
  });

  it('differ between test files: the name carries the worker process and a random part', async () => {
    // Files run in separate worker processes at the same time: a name made of the process id, a
    // sequence and a random part cannot repeat across them, nor within one file.
    const names = await Promise.all(Array.from({ length: 3 }, async () => {
      const t = await testDatabase();
      const name = nameOf(t.databaseUrl!);
      await t.drop();
      return name;
    }));
    expect(new Set(names).size).toBe(3);
    for (const n of names) expect(n).toMatch(new RegExp(`^amr_t_${process.pid}_\\d+_[a-z0-9]+$`));
  });
});
