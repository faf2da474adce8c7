/** Database access for the head-end: the `Db` interface, pool, embedded server and migrations. */
export type { Db, Queryable, QueryResultLike } from './types.js';
export { createPgDb, waitForDb, redactUrl, sessionUrl, isConnectionLost } from './pg-db.js';
export { startEmbeddedDb, type EmbeddedDb, type EmbeddedMemory } from './embedded.js';
export { embeddedMemoryOf } from './open.js';
export { openDb, type OpenDbOptions, type OpenedDb } from './open.js';
export { migrate, loadMigrations, MIGRATIONS_DIR, type Migration, type MigrateResult } from './migrate.js';
