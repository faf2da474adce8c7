/**
 * The head-end's TimescaleDB policy jobs in the database: which there are, what the server's scheduler
 * last did with them, and running one here. The one selection of "the head-end's policies" (POLICY
 * procs on a named hypertable or aggregate), so the embedded timer and the server watcher run the same jobs.
 */
import type { Queryable } from '../db/index.js';
import { PolicyJobRow, POLICY_PROCS } from './judge.js';

/** Aggregates first: compression and retention then work on chunks whose totals are already taken. */
const POLICY_JOBS_WHERE = `j.proc_name = ANY($1::text[]) AND j.hypertable_name IS NOT NULL`;
const POLICY_JOBS_ORDER = `CASE j.proc_name WHEN 'policy_refresh_continuous_aggregate' THEN 0 ELSE 1 END, j.job_id`;

export interface PolicyJobRef { jobId: number; proc: string; table: string }

export async function listPolicyJobs(db: Queryable): Promise<PolicyJobRef[]> {
  const { rows } = await db.query<{ job_id: number; proc_name: string; hypertable_name: string }>(
    `SELECT j.job_id, j.proc_name, j.hypertable_name FROM timescaledb_information.jobs j
      WHERE ${POLICY_JOBS_WHERE} ORDER BY ${POLICY_JOBS_ORDER}`, [POLICY_PROCS]);
  return rows.map((r) => ({ jobId: Number(r.job_id), proc: r.proc_name, table: r.hypertable_name }));
}

interface StatsRow {
  job_id: number; application_name: string; proc_name: string; hypertable_name: string; schedule_seconds: string | number;
  scheduled: boolean; next_start: Date | null; last_run_status: string | null; last_run_started_at: Date | null;
  last_successful_finish: Date | null; total_runs: string | number | null; db_now: Date;
}

/** The scheduler stores "never" as ±infinity, which pg hands over as an invalid Date. */
const date = (v: Date | string | null) => {
  const d = v === null ? null : new Date(v);
  return d && Number.isFinite(d.getTime()) ? d : null;
};

/**
 * The policy jobs with the scheduler's record of them and their newest error, and the database's
 * own "now" (the instant those records are judged against by default: they are the server's times).
 */
export async function loadPolicyJobs(db: Queryable): Promise<{ dbNow: Date; jobs: PolicyJobRow[] }> {
  const { rows } = await db.query<StatsRow>(
    `SELECT j.job_id, j.application_name, j.proc_name, j.hypertable_name, extract(epoch FROM j.schedule_interval) AS schedule_seconds,
            j.scheduled, COALESCE(s.next_start, j.next_start) AS next_start, s.last_run_status, s.last_run_started_at,
            s.last_successful_finish, s.total_runs, now() AS db_now
       FROM timescaledb_information.jobs j
       LEFT JOIN timescaledb_information.job_stats s ON s.job_id = j.job_id
      WHERE ${POLICY_JOBS_WHERE} ORDER BY ${POLICY_JOBS_ORDER}`, [POLICY_PROCS]);
  const dbNow = rows[0] ? new Date(rows[0].db_now) : (await db.query<{ now: Date }>('SELECT now()')).rows[0].now;
  const errors = new Map<number, { err_message: string | null; sqlerrcode: string | null; start_time: Date | null }>();
  // job_errors came with TimescaleDB 2.9; without it the alert names no error text.
  const hasErrors = (await db.query<{ t: string | null }>(`SELECT to_regclass('timescaledb_information.job_errors')::text AS t`)).rows[0]?.t;
  if (hasErrors && rows.length) {
    const e = await db.query<{ job_id: number; err_message: string | null; sqlerrcode: string | null; start_time: Date | null }>(
      `SELECT DISTINCT ON (job_id) job_id, err_message, sqlerrcode, start_time FROM timescaledb_information.job_errors
        WHERE job_id = ANY($1::int[]) ORDER BY job_id, start_time DESC`, [rows.map((r) => r.job_id)]);
    for (const r of e.rows) errors.set(Number(r.job_id), r);
  }
  const jobs = rows.map((r) => {
    const err = errors.get(Number(r.job_id));
    return PolicyJobRow.parse({
      jobId: Number(r.job_id), name: r.application_name, proc: r.proc_name, table: r.hypertable_name,
      scheduleSeconds: Number(r.schedule_seconds), scheduled: r.scheduled, nextStart: date(r.next_start),
      lastRunStatus: r.last_run_status, lastRunStartedAt: date(r.last_run_started_at), lastSuccessAt: date(r.last_successful_finish),
      totalRuns: Number(r.total_runs ?? 0), lastError: err?.err_message ?? null, lastErrorCode: err?.sqlerrcode ?? null,
      lastErrorAt: date(err?.start_time ?? null),
    });
  });
  return { dbNow: new Date(dbNow), jobs };
}

/**
 * Runs one job now, in the foreground on a pooled connection (never inside a transaction: compression
 * and aggregate refresh commit as they go). The server's job statistics do not record it.
 */
export async function runJob(db: Queryable, jobId: number): Promise<void> {
  await db.query('CALL run_job($1)', [jobId]);
}
