/**
 * The slice of the database handle the API layer needs. `Queryable` is the db module's (pool or a
 * transaction's client); `Database` adds only `tx`, so any `Db` fits and tests can pass a minimal one.
 */
import type { Queryable } from '../db/types.js';

export type { Queryable, QueryResultLike } from '../db/types.js';
export interface Database extends Queryable { tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> }
