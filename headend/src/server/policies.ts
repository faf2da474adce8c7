/** TimescaleDB policies that depend on configuration, applied at each start. */
import type { Db } from '../db/index.js';

/** Raw readings retention: 0 removes the policy (keep forever). Idempotent. */
export async function applyRetention(db: Db, days: number): Promise<void> {
  await db.query(`SELECT remove_retention_policy('readings', if_exists => true)`);
  if (days > 0) await db.query(`SELECT add_retention_policy('readings', $1::interval)`, [`${days} days`]);
}

/** Refreshes the continuous aggregates over a recent window (used where no job scheduler runs). */
export async function refreshAggregates(db: Db): Promise<void> {
  await db.query(`CALL refresh_continuous_aggregate('readings_hourly', now() - interval '7 days', now())`);
  await db.query(`CALL refresh_continuous_aggregate('readings_daily', now() - interval '35 days', now())`);
}
