// The test engine matrix itself: each file's database is its own, migrated, and (server) dropped on close.
import { describe, expect, it } from 'vitest';
import { openTestDb, TEST_ENGINE } from '../engine.js';

describe(`test database (${TEST_ENGINE})`, () => {
  it('is migrated, runs TimescaleDB, and is gone after close on the server', async () => {
    const a = await openTestDb();
    const b = await openTestDb();
    try {
      const ext = await a.db.query<{ extversion: string }>("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'");
      expect(ext.rows[0]?.extversion).toMatch(/^2\.23\./);
      expect((await a.db.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations')).rows[0].n).toBeGreaterThan(20);
      await a.db.query("INSERT INTO organisations (name) VALUES ('only in a')");
      const inB = await b.db.query<{ n: number }>("SELECT count(*)::int AS n FROM organisations WHERE name = 'only in a'");
      expect(inB.rows[0].n).toBe(0);
      if (TEST_ENGINE === 'server') expect(a.url).not.toBe(b.url);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
