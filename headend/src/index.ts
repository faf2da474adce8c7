/** Public API of @amr/headend (core). */
export * from './config/index.js';
export * from './db/index.js';
export * from './metrics/index.js';
export * from './ingest/index.js';
export * from './broker/index.js';
export * from './server/index.js';
