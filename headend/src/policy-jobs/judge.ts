/**
 * Pure judgement of the head-end's TimescaleDB policy jobs on a server: is each one working, and if
 * not, does the head-end run it itself and what does its alert say. No I/O: store.ts loads the rows
 * (timescaledb_information.jobs, job_stats, job_errors), watch.ts acts on what comes back.
 *
 * Why it exists: on some servers (Debian's PostgreSQL 15.20 with TimescaleDB 2.17–2.28) every
 * background job fails with `cannot drop portal "" while it is being set up`, while `CALL run_job(id)`
 * from a client works. Nothing is then compressed, no aggregate materialised, nothing dropped by
 * retention — and nobody is told. A policy that stops is now an alert, and the head-end covers for it.
 */
import { z } from 'zod';
import { policyJobSubject, type AlertAction, type Severity } from '../alerts/decisions.js';

export const POLICY_PROCS = ['policy_refresh_continuous_aggregate', 'policy_compression', 'policy_retention'] as const;

/** One policy job as the server reports it. Times are the database server's. */
export const PolicyJobRow = z.object({
  jobId: z.number().int(),
  /** TimescaleDB's name for it, e.g. "Columnstore Policy [1000]". */
  name: z.string(),
  proc: z.enum(POLICY_PROCS),
  /** The hypertable (compression, retention) or continuous aggregate (refresh) it works on. */
  table: z.string(),
  scheduleSeconds: z.number().nonnegative(),
  /** false: paused (alter_job(…, scheduled => false)). */
  scheduled: z.boolean(),
  nextStart: z.date().nullable(),
  /** The scheduler's last run; `CALL run_job` from a client does not record one. */
  lastRunStatus: z.enum(['Success', 'Failed']).nullable(),
  lastRunStartedAt: z.date().nullable(),
  lastSuccessAt: z.date().nullable(),
  totalRuns: z.number().int().nonnegative(),
  /** The newest error of the job (job_errors), if the server keeps them. */
  lastError: z.string().nullable(),
  lastErrorCode: z.string().nullable(),
  lastErrorAt: z.date().nullable(),
});
export type PolicyJobRow = z.infer<typeof PolicyJobRow>;

/**
 * - ok: the scheduler's last run succeeded and the next one is not overdue.
 * - not_yet_run: no run recorded and none overdue (a policy just added): no verdict either way.
 * - failing: the scheduler's last run failed.
 * - overdue: the next run is more than the slack past due (the scheduler is not running it).
 * - paused: someone turned the schedule off.
 */
export type PolicyJobState = 'ok' | 'not_yet_run' | 'failing' | 'overdue' | 'paused';

/**
 * How late a run may be before it is "overdue": one whole schedule interval, at least 15 minutes.
 * The scheduler starts a job when a worker is free, and retries a failed one with back-off; a run a
 * few minutes late is normal, a whole missed interval is not.
 */
export const MIN_SLACK_MS = 15 * 60_000;
export const slackMs = (scheduleSeconds: number) => Math.max(MIN_SLACK_MS, scheduleSeconds * 1000);

/** When the next run was due: the scheduler's next_start, else one interval after the last success. */
function dueAt(j: PolicyJobRow): Date | null {
  if (j.nextStart) return j.nextStart;
  if (j.lastSuccessAt) return new Date(j.lastSuccessAt.getTime() + j.scheduleSeconds * 1000);
  return null;
}

export function policyJobState(j: PolicyJobRow, now: Date): PolicyJobState {
  if (!j.scheduled) return 'paused';
  if (j.lastRunStatus === 'Failed') return 'failing';
  const due = dueAt(j);
  if (due && now.getTime() - due.getTime() > slackMs(j.scheduleSeconds)) return 'overdue';
  return j.lastRunStatus === 'Success' ? 'ok' : 'not_yet_run';
}

export interface PolicyJobVerdict {
  job: PolicyJobRow;
  subject: string;
  state: PolicyJobState;
  alert: AlertAction;
  /** The head-end runs the policy itself this round (CALL run_job on its own connection). */
  runHere: boolean;
}

export interface PolicyJobsJudgement {
  jobs: PolicyJobVerdict[];
  /** Open alerts whose policy no longer exists (removed, e.g. RAW_RETENTION_DAYS=0): cleared. */
  gone: string[];
}

/**
 * Failing or overdue: raise (an open alert is refreshed) and run it here. Paused: raise, but do not
 * run it — someone paused it on purpose, and running it behind their back would undo that. OK again:
 * clear. Not yet run: leave the alert as it is and, while one is open, keep running it here — a
 * policy re-added at start has no run of its own yet, which is no evidence the server works again.
 * Decided from the state alone, not from the last round's, so a missed or repeated round converges.
 */
export function judgePolicyJobs(jobs: readonly PolicyJobRow[], openSubjects: ReadonlySet<string>, now: Date): PolicyJobsJudgement {
  const seen = new Set<string>();
  const verdicts = jobs.map((job): PolicyJobVerdict => {
    const subject = policyJobSubject(job.proc, job.table);
    seen.add(subject);
    const state = policyJobState(job, now);
    const open = openSubjects.has(subject);
    const stopped = state === 'failing' || state === 'overdue';
    return {
      job, subject, state,
      alert: stopped || state === 'paused' ? 'raise' : state === 'ok' && open ? 'clear' : 'none',
      runHere: stopped || (state === 'not_yet_run' && open),
    };
  });
  return { jobs: verdicts, gone: [...openSubjects].filter((s) => !seen.has(s)).sort() };
}

/** Warning while the head-end's own run covers for the server; critical when that fails too. */
export function policyJobSeverity(ownRun: { ok: boolean } | null): Severity {
  return ownRun && !ownRun.ok ? 'critical' : 'warning';
}
