/**
 * The slice of the database handle the API layer needs. `Queryable` is the db module's (pool or a
 * transaction's client); `Database` adds only `tx`, so any `Db` fits and tests can pass a minimal one.
 */
export type { Queryable, QueryResultLike, Database } from '../db/types.js';
