/**
 * The database handle every head-end module uses. Structural on purpose: it fits the API layer's
 * `Queryable`/`Database` (this file) and both backends (embedded PGlite behind
 * pglite-socket, or a real TimescaleDB server) because both are reached through `pg`.
 *
 * RULE: inside `tx(fn)` use ONLY the `q` handed to `fn`. Calling `db.query` (the pool) while a
 * transaction holds the client deadlocks in embedded mode, where the pool has exactly one
 * connection: the inner query waits for the connection the outer one never gives back.
 */
export interface QueryResultLike<R> {
  rows: R[];
  rowCount?: number | null;
}

export interface Queryable {
  query<R = any>(sql: string, params?: unknown[]): Promise<QueryResultLike<R>>;
}

/** A handle that can open a transaction (any Db fits; tests may pass a minimal one). */
export interface Database extends Queryable { tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> }

export interface Db extends Queryable {
  /** Runs `fn` in BEGIN … COMMIT on one checked-out client; ROLLBACK and rethrow on error. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Pool gauges for /metrics. */
  stats(): { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}
