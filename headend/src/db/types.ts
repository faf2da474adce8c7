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
  // The row type is the caller's to state (query<ReportRow>(...)). The default stays `any` for now: about 200
  // queries in the stores still read untyped rows, and an `unknown` default would have to be taken up by each.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- until every store names its row type
  query<R = any>(sql: string, params?: unknown[]): Promise<QueryResultLike<R>>;
}

/** How a transaction is run. */
export interface TxOptions {
  /** 'telemetry' (the gateways' batches) waits ahead of the others for a connection (priority-gate.ts). */
  priority?: 'telemetry' | 'normal';
  /**
   * `fn` may run twice: when the connection is lost under it (closed by the embedded engine's
   * watchdog, reset, its server backend killed — isConnectionLost), its work was rolled back with the
   * connection, and it runs once more on another. Only for work that is the same the second time (a
   * file import's chunk, a slice of a queue insert); any other transaction fails as it did.
   */
  onceMoreIfConnectionLost?: boolean;
}

/** A handle that can open a transaction (any Db fits; tests may pass a minimal one). */
export interface Database extends Queryable {
  tx<T>(fn: (q: Queryable) => Promise<T>, o?: TxOptions): Promise<T>;
  /**
   * How many transactions can run at once (the pool's connections): 1 on the embedded engine. Long
   * work split into independent short transactions (a file import's chunks) may run up to a couple of
   * them side by side where there are several. Unset = 1.
   */
  readonly connections?: number;
}

export interface Db extends Queryable {
  /** Runs `fn` in BEGIN … COMMIT on one checked-out client; ROLLBACK and rethrow on error (see TxOptions). */
  tx<T>(fn: (q: Queryable) => Promise<T>, o?: TxOptions): Promise<T>;
  /** The pool's connections (1 embedded); see Database.connections. */
  readonly connections: number;
  /** Pool gauges for /metrics. */
  stats(): { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}
