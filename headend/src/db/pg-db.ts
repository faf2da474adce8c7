/**
 * `Db` over a `pg` Pool. The same code talks to the embedded PGlite (through pglite-socket, pool
 * max 1) and to a TimescaleDB server (pool max from config); see README.md for the one-connection rule.
 */
import pg from 'pg';
import type { Db, Queryable, TxOptions } from './types.js';
import { withArrayLiterals } from './array-params.js';
import { PriorityGate } from './priority-gate.js';
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
  /**
   * Called once for a query or transaction still holding a connection after `slowMs` (default 60 s),
   * with what it is running and where the transaction was started. With the embedded database's one
   * connection, such a holder stops ingest, API and jobs alike: this says who it is.
   */
  onSlow?: (report: string, holder: SlowHolder) => void;
  slowMs?: number;
}

/** What the report of a slow holder knows beyond its text. */
export interface SlowHolder {
  /** A transaction whose statement was sent and has not been answered (not one between statements, nor one waiting for a connection). */
  statementInFlight: boolean;
}

const WAITING = 'waiting for the connection';
interface InFlight { kind: 'query' | 'tx'; since: number; sql: string; origin?: string; reported?: boolean; client?: pg.PoolClient }

/** What the client's side of a transaction's connection has read: set beside the server's "written" (embedded), it tells a lost answer from one never sent. */
const clientSide = (c: pg.PoolClient | undefined) => {
  const stream = (c as unknown as { connection?: { stream?: { bytesRead?: number; destroyed?: boolean } } } | undefined)?.connection?.stream;
  return stream ? `; client: ${stream.bytesRead ?? '?'} B read${stream.destroyed ? ', closed' : ''}` : '';
};

/** First statement text and the caller's frames outside this file, short enough for one log line. */
const shortSql = (sql: string) => sql.replace(/\s+/g, ' ').trim().slice(0, 200);
const callerFrames = (stack: string | undefined) => (stack ?? '').split('\n').slice(2).filter((l) => !l.includes('pg-db.')).slice(0, 6).map((l) => l.trim()).join(' < ');

/**
 * The URL the pool connects with: `-c jit=off` added to the session options unless the URL sets
 * `jit` itself. The head-end's queries are short, but some (the readings judge's batch lookup in
 * readings/write-store.ts: lateral probes per meter) have estimated costs past PostgreSQL's JIT
 * thresholds: a server with LLVM (the TimescaleDB images) spent 22 s compiling that lookup for a
 * query that then ran in about 1 s, on every batch. PGlite has no JIT and ignores the option.
 * A URL pg cannot read as a URL (a socket path) is left as it is.
 */
export function sessionUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  const prev = u.searchParams.get('options');
  if (prev && /(^|\s)(-c\s*|--)jit=/.test(prev)) return url;
  u.searchParams.set('options', `${prev ? `${prev} ` : ''}-c jit=off`);
  return u.toString();
}

const CONNECTION_LOST = Symbol.for('amr.db.connectionLost');

/**
 * Whether `e` ended a transaction because its connection was lost (closed by the engine's watchdog,
 * reset, or its server backend killed) rather than refused by the database: the transaction was
 * rolled back with the connection, so running it again is safe where it is idempotent. Decided where
 * the connection's end is seen (runTx), not from the message's words.
 */
export function isConnectionLost(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[CONNECTION_LOST] === true;
}

export function createPgDb(opts: PgDbOptions): Db {
  const pool = new pg.Pool({
    connectionString: sessionUrl(opts.connectionString),
    max: opts.max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 0,
  });
  pool.on('error', (err) => opts.onIdleError?.(err));
  // Every caller takes a slot before the pool (priority-gate.ts): telemetry's transactions go first.
  const gate = new PriorityGate(opts.max);
  const inFlight = new Set<InFlight>();
  const slowMs = opts.slowMs ?? 60_000;
  const watchdog = opts.onSlow ? setInterval(() => {
    const now = Date.now();
    for (const f of inFlight) {
      if (f.reported || now - f.since < slowMs) continue;
      f.reported = true;
      opts.onSlow!(`${f.kind} ${f.sql === WAITING ? 'waiting for' : f.kind === 'query' ? 'in flight on (or waiting for)' : 'holding'} a database connection for ${Math.round((now - f.since) / 1000)} s (pool: ${pool.totalCount} total, ${pool.idleCount} idle, ${pool.waitingCount} waiting); `
        + `now at: ${f.sql || '(between statements)'}${f.origin ? `; started at ${f.origin}` : ''}${clientSide(f.client)}`, { statementInFlight: f.kind === 'tx' && f.sql !== '' && f.sql !== WAITING });
    }
  }, Math.min(15_000, slowMs)) : null;
  watchdog?.unref();
  const track = <T>(f: InFlight, p: Promise<T>): Promise<T> => {
    if (!watchdog) return p;
    inFlight.add(f);
    return p.finally(() => inFlight.delete(f));
  };
  async function runTx<T>(fn: (q: Queryable) => Promise<T>, held: InFlight): Promise<T> {
    const client = await pool.connect();
    held.client = client;
    held.since = Date.now();
    held.sql = '';
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
      const out = await fn({
        query: async (sql, params) => {
          held.sql = shortSql(sql);
          try {
            return await client.query(sql, withArrayLiterals(params)) as never;
          } finally {
            held.sql = '';
          }
        },
      });
      held.sql = 'COMMIT';
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
      if (broken && typeof e === 'object' && e !== null) Object.defineProperty(e, CONNECTION_LOST, { value: true });
      throw e;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  return {
    query: (sql, params) => track({ kind: 'query', since: Date.now(), sql: shortSql(sql) }, gate.run('normal', () => pool.query(sql, withArrayLiterals(params)))) as never,
    async tx<T>(fn: (q: Queryable) => Promise<T>, o?: TxOptions): Promise<T> {
      const held: InFlight = { kind: 'tx', since: Date.now(), sql: WAITING, origin: watchdog ? callerFrames(new Error().stack) : undefined };
      if (watchdog) inFlight.add(held);
      const run = () => gate.run(o?.priority ?? 'normal', () => runTx(fn, held));
      try {
        try {
          return await run();
        } catch (e) {
          if (!o?.onceMoreIfConnectionLost || !isConnectionLost(e)) throw e;
          return await run();
        }
      } finally {
        inFlight.delete(held);
      }
    },
    connections: opts.max,
    stats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount + gate.waiting }),
    close: () => {
      if (watchdog) clearInterval(watchdog);
      return pool.end();
    },
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

