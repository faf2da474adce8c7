/**
 * The slice of the database handle the API layer needs: a query on either the pool or a transaction's
 * client. Kept structural so any `Db` (pg pool, PGlite in tests) fits.
 */
export interface QueryResultLike<R> { rows: R[]; rowCount?: number | null }
export interface Queryable { query<R = any>(sql: string, params?: unknown[]): Promise<QueryResultLike<R>> }
export interface Database extends Queryable { tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> }
