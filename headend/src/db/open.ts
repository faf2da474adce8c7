/**
 * Opens the head-end's database: a TimescaleDB server when `DATABASE_URL` is set, otherwise the
 * embedded PGlite-TimescaleDB in DATA_DIR served on DB_PORT. Either way the result is a `pg`-backed
 * `Db`; embedded mode forces a pool of one connection (pglite-socket serves one at a time).
 */
import { join } from 'node:path';
import { createPgDb, waitForDb, redactUrl } from './pg-db.js';
import { startEmbeddedDb, type EmbeddedDb, type EmbeddedMemory } from './embedded.js';
import type { Db } from './types.js';

export interface OpenDbOptions {
  databaseUrl?: string;
  /** Embedded only: directory for the data (`<dataDir>/pg`), or `memory://`. */
  dataDir: string;
  /** Embedded only: socket port, 0 = free. */
  dbPort: number;
  /** External only: pool size (embedded is always 1). */
  poolMax: number;
  /** Embedded only: what bounds PGlite's memory (EMBEDDED_* settings); unset = PGlite's own. */
  embeddedMemory?: EmbeddedMemory;
  log?: (msg: string) => void;
  /** The database unreachable or a connection lost (an operator should look); default: log. */
  warn?: (msg: string) => void;
  /** A query or transaction holding a connection for over a minute (see PgDbOptions.onSlow); default: log. */
  logSlow?: (msg: string) => void;
  signal?: AbortSignal;
  /** Embedded memory:// only: start from an empty cluster even when AMR_EMBEDDED_SEED names a seed (db/embedded.ts). */
  seedless?: boolean;
}

/** How long the connection holding the embedded session must have been silent for its statement to count as lost. */
const SILENT_HOLDER_MS = 30_000;

export interface OpenedDb {
  db: Db;
  url: string;
  embedded: EmbeddedDb | null;
  /** Closes the pool, then the embedded server. */
  close(): Promise<void>;
}

/**
 * A report of a connection held or lost, also on stderr when AMR_DB_PROBLEMS_TO_STDERR=1: the test
 * runs set it (vitest.config.ts), since their loggers are silent and such a report is what a test
 * that timed out most needs to say where it stood.
 */
function problemReporter(logSlow: ((msg: string) => void) | undefined, log: (msg: string) => void): (msg: string) => void {
  const report = logSlow ?? log;
  if (process.env.AMR_DB_PROBLEMS_TO_STDERR !== '1') return report;
  return (msg) => {
    process.stderr.write(`[amr db ${new Date().toISOString()}] ${msg}\n`);
    report(msg);
  };
}

export async function openDb(opts: OpenDbOptions): Promise<OpenedDb> {
  const log = opts.log ?? (() => {});
  const logSlow = problemReporter(opts.logSlow, log);
  const warn = opts.warn ?? log;
  let embedded: EmbeddedDb | null = null;
  let url = opts.databaseUrl;
  if (!url) {
    const dir = opts.dataDir.startsWith('memory://') ? opts.dataDir : join(opts.dataDir, 'pg');
    embedded = await startEmbeddedDb({ dataDir: dir, port: opts.dbPort, seed: opts.seedless ? '' : undefined, memory: opts.embeddedMemory, onProblem: (m) => logSlow(`embedded database: ${m}`) });
    url = embedded.url;
    log(`embedded TimescaleDB (PGlite) in ${dir} on port ${embedded.port}`);
  }
  const db = createPgDb({
    connectionString: url,
    max: embedded ? 1 : opts.poolMax,
    onIdleError: (e) => warn(`database ${redactUrl(url)} connection lost: ${e.message}`),
    // With the embedded engine, also where its connections stand: a holder that waits on an answer the
    // engine never sent reads differently from one whose request never reached it.
    // And a statement in flight for a minute on a connection that has moved no byte either way for half
    // of it is lost, not slow (PGlite answers in the turn it is asked): that connection is closed.
    onSlow: (r, holder) => {
      logSlow(`database ${redactUrl(url)}: ${r}${embedded ? ` [${embedded.describe()}]` : ''}`);
      if (embedded && holder.statementInFlight) embedded.closeSilentHolder(SILENT_HOLDER_MS);
    },
  });
  await waitForDb(db, url, warn, { signal: opts.signal });
  if (!embedded) {
    try {
      await db.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
    } catch (e) {
      await db.close();
      throw new Error(
        `DATABASE_URL ${redactUrl(url)}: the TimescaleDB extension is not available on this server (${(e as Error).message}); ` +
          'use a TimescaleDB server, or unset DATABASE_URL for the embedded database',
      );
    }
  }
  return {
    db,
    url,
    embedded,
    async close() {
      await db.close();
      await embedded?.stop();
    },
  };
}

/** The EMBEDDED_* settings as the embedded engine takes them. */
export function embeddedMemoryOf(config: { EMBEDDED_SHARED_BUFFERS: string; EMBEDDED_WORK_MEM: string; EMBEDDED_MAINTENANCE_WORK_MEM: string; EMBEDDED_TEMP_BUFFERS: string }): EmbeddedMemory {
  return {
    sharedBuffers: config.EMBEDDED_SHARED_BUFFERS,
    workMem: config.EMBEDDED_WORK_MEM,
    maintenanceWorkMem: config.EMBEDDED_MAINTENANCE_WORK_MEM,
    tempBuffers: config.EMBEDDED_TEMP_BUFFERS,
  };
}
