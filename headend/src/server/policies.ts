/**
 * TimescaleDB policies that depend on configuration, applied at each start.
 *
 * Policies and refresh_continuous_aggregate belong to TimescaleDB's TSL part, which is missing on an
 * Apache-2-only server build (and was missing in PGlite after a reopen until src/db/embedded.ts loaded
 * the library first). They are best-effort here: a warning naming the reason, not a failed start.
 */
import type { Db } from '../db/index.js';

const TSL_UNAVAILABLE = /not supported under the current "?\w+"? license/;

async function bestEffort(run: () => Promise<unknown>, warn: (msg: string) => void, what: string): Promise<boolean> {
  try {
    await run();
    return true;
  } catch (e) {
    if (!TSL_UNAVAILABLE.test((e as Error).message)) throw e;
    warn(`${what} skipped: TimescaleDB TSL functions are unavailable in this database (${(e as Error).message})`);
    return false;
  }
}

/** Raw readings retention: 0 removes the policy (keep forever). Idempotent. */
export async function applyRetention(db: Db, days: number, warn: (msg: string) => void = () => {}): Promise<boolean> {
  return bestEffort(
    async () => {
      await db.query(`SELECT remove_retention_policy('reading_rows', if_exists => true)`);
      if (days > 0) await db.query(`SELECT add_retention_policy('reading_rows', $1::interval)`, [`${days} days`]);
    },
    warn,
    `raw retention (RAW_RETENTION_DAYS=${days})`,
  );
}

/** Refreshes the continuous aggregates over a recent window (used where no job scheduler runs). */
export async function refreshAggregates(db: Db, warn: (msg: string) => void = () => {}): Promise<boolean> {
  return bestEffort(
    async () => {
      await db.query(`CALL refresh_continuous_aggregate('readings_hourly', now() - interval '7 days', now())`);
      await db.query(`CALL refresh_continuous_aggregate('readings_daily', now() - interval '35 days', now())`);
    },
    warn,
    'continuous aggregate refresh',
  );
}

/** The embedded round lives with the server watcher (policy-jobs/), so both run the same jobs. */
export { runPolicyJobs } from '../policy-jobs/index.js';
