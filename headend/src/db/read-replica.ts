/**
 * The database handle for read-only work that can lag a little (dashboards, charts, exports): a
 * second pool on DATABASE_READ_URL — a streaming replica of the TimescaleDB primary — so heavy reads
 * do not compete with ingestion for the primary's connections and I/O. Unset = the primary itself.
 *
 * The replica pool opens its sessions with `default_transaction_read_only=on`, so a write sent here
 * by mistake fails with "cannot execute … in a read-only transaction" even when the URL points at a
 * primary (single-server installs, tests). Reads on a replica see commits after the replay delay
 * (normally well under a second): never use it for read-your-own-write flows (API writes, ingestion,
 * VEE, billing).
 *
 * Start-up does not wait for the replica: one `SELECT 1` is tried and a failure is logged; the pool
 * connects on demand, so dashboards work as soon as the replica is back.
 */
import { createPgDb, redactUrl } from './pg-db.js';
import type { Db } from './types.js';

/** The config keys read here; DATABASE_READ_URL is optional until the schema has it. */
export interface ReadDbConfigLike {
  DATABASE_READ_URL?: string;
  DB_POOL_MAX: number;
}

export interface ReadDb {
  /** The replica pool, or the primary `Db` when no DATABASE_READ_URL is set. */
  db: Db;
  /** True when `db` is a separate read-only pool. */
  replica: boolean;
  /** Redacted URL of the replica, or null. */
  url: string | null;
  /** Closes the replica pool only; the primary is never closed here. */
  close(): Promise<void>;
}

/** Adds `options=-c default_transaction_read_only=on` to a postgres URL (kept if already set). */
export function readOnlyUrl(url: string): string {
  const u = new URL(url);
  const prev = u.searchParams.get('options');
  if (!prev?.includes('default_transaction_read_only')) {
    u.searchParams.set('options', `${prev ? `${prev} ` : ''}-c default_transaction_read_only=on`);
  }
  return u.toString();
}

export async function openReadDb(primary: Db, config: ReadDbConfigLike, log: (msg: string) => void = () => {}, warn: (msg: string) => void = log): Promise<ReadDb> {
  const url = config.DATABASE_READ_URL?.trim();
  if (!url) return { db: primary, replica: false, url: null, close: async () => {} };
  const shown = redactUrl(url);
  const db = createPgDb({
    connectionString: readOnlyUrl(url),
    max: config.DB_POOL_MAX,
    onIdleError: (e) => warn(`read replica ${shown} connection lost: ${e.message}`),
  });
  try {
    await db.query('SELECT 1');
    log(`read-only queries on ${shown}`);
  } catch (e) {
    warn(`read replica ${shown} unreachable (${(e as Error).message}); read-only queries will retry it on demand`);
  }
  return { db, replica: true, url: shown, close: () => db.close() };
}
