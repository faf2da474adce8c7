/** Ingestion of gateway messages into the database (broker-independent). */
export { createIngest, DEAD_LETTER_KEEP_BYTES, type Ingest, type IngestOptions } from './ingest.js';
export { writeReadings, type WriteResult } from './writer.js';
export { Batcher, type BatcherOptions } from './batcher.js';
