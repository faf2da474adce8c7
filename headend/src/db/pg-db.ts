/**
 * `Db` over a `pg` Pool. The same code talks to the embedded PGlite (through pglite-socket, pool
 * max 1) and to a TimescaleDB server (pool max from config); see README.md for the one-connection rule.
 */
import pg from 'pg';
import type { Db, Queryable } from './types.js';
import { redactUrl } from '../util/redact-url.js';
export { redactUrl };

// timestamptz → Date is pg's default; bigint (int8, OID 20) and numeric stay strings unless we say
// otherwise. Ids are bigserial but far below 2^53, so they are parsed to numbers.
pg.types.setTypeParser(20, (v: string) => Number(v));

export interface PgDbOptions {
  connectionString: string;
  max: number;
  /** Called for errors on idle clients (e.g. the server went away); the pool drops the client. */
  onIdleError?: (err: Error) => void;
}

export function createPgDb(opts: PgDbOptions): Db {
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 0,
  });
  pool.on('error', (err) => opts.onIdleError?.(err));
  return {
    query: (sql, params) => pool.query(sql, params as unknown[]) as never,
    async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: Error | undefined;
      // A checked-out client has no 'error' listener (the pool listens only to idle ones): if the
      // connection dies between two statements of this transaction, pg emits 'error' on it and,
      // unheard, that is an uncaught exception that kills the head-end. Note it; the next query
      // fails, the transaction rejects, and the client is destroyed on release.
      const onError = (e: Error) => {
        broken = e;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const out = await fn({ query: (sql, params) => client.query(sql, params as unknown[]) as never });
        await client.query('COMMIT');
        return out;
      } catch (e) {
        if (!broken) {
          try {
            await client.query('ROLLBACK');
          } catch (re) {
            broken = re as Error; // the connection is unusable: destroy it instead of returning it
          }
        }
        throw e;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    stats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: () => pool.end(),
  };
}

/** Waits until `SELECT 1` succeeds, retrying with capped exponential back-off; logs each failure. */
export async function waitForDb(
  db: Db,
  url: string,
  log: (msg: string) => void,
  opts: { maxDelayMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  let delay = 500;
  for (let attempt = 1; ; attempt++) {
    try {
      await db.query('SELECT 1');
      return;
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      log(`database ${redactUrl(url)} unreachable (attempt ${attempt}): ${(e as Error).message}; retrying in ${delay} ms`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, opts.maxDelayMs ?? 15_000);
    }
  }
}

