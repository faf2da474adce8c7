/**
 * The database engine of this test run — the matrix every head-end suite that touches the database
 * runs in: `AMR_TEST_ENGINE=server` (the `server` vitest project) uses the TimescaleDB server the
 * global setup started (global-pg.ts: our own PostgreSQL 15 on a free port, a migrated template
 * database); otherwise the embedded PGlite-TimescaleDB in memory, as the demo runs.
 *
 * Each test file gets a database of its own: in memory embedded, a copy of the template on the
 * server (CREATE DATABASE … TEMPLATE: milliseconds, where migrating from scratch takes seconds),
 * dropped when the file closes it.
 */
import { inject } from 'vitest';
import { openDb, migrate, type OpenedDb } from '../src/db/index.js';
import { adminQuery } from './pg-server.js';

export type TestEngine = 'embedded' | 'server';
export const TEST_ENGINE: TestEngine = process.env.AMR_TEST_ENGINE === 'server' ? 'server' : 'embedded';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The tests' TimescaleDB server (superuser, database `postgres`); '' in the embedded project. */
    amrPgUrl: string;
  }
}

let seq = 0;

/** The server's admin URL; throws when the run is embedded or the global setup did not start one. */
export function serverUrl(): string {
  const url = inject('amrPgUrl');
  if (!url) throw new Error('no TimescaleDB server in this run: the server project (AMR_TEST_ENGINE=server) starts one in headend/test/global-pg.ts');
  return url;
}

export interface TestDatabase {
  /** Set on the server engine: what DATABASE_URL a head-end under test is given. */
  databaseUrl?: string;
  /** Drops the database (server); nothing to do embedded. Safe to call twice. */
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database for one test file (server), or nothing to do (embedded: the head-end
 * opens memory:// itself). Spread `{ DATABASE_URL }` into a head-end's config with `dbEnv()`.
 */
export async function testDatabase(): Promise<TestDatabase> {
  if (TEST_ENGINE !== 'server') return { drop: async () => undefined };
  const admin = serverUrl();
  const name = `amr_t_${process.pid}_${++seq}_${Math.random().toString(36).slice(2, 8)}`;
  await adminQuery(admin, `CREATE DATABASE ${name} TEMPLATE amr_template`);
  const u = new URL(admin);
  u.pathname = `/${name}`;
  let dropped = false;
  return {
    databaseUrl: u.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      await adminQuery(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** A migrated database opened for a test (embedded in memory, or a template copy on the server); close() drops it. */
export async function openTestDb(opts: { poolMax?: number } = {}): Promise<OpenedDb> {
  const t = await testDatabase();
  const opened = await openDb({ databaseUrl: t.databaseUrl, dataDir: 'memory://', dbPort: 0, poolMax: opts.poolMax ?? 4 });
  await migrate(opened.db); // a no-op on a template copy; the whole schema embedded
  return {
    ...opened,
    async close() {
      await opened.close();
      await t.drop();
    },
  };
}

/** Config entries for a head-end under test on this engine: `{ DATABASE_URL }` on the server, none embedded. */
export function dbEnv(t: TestDatabase): Record<string, string> {
  return t.databaseUrl ? { DATABASE_URL: t.databaseUrl } : {};
}
