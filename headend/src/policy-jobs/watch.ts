/**
 * One round of the server-mode policy watcher: load the jobs (store.ts), judge them (judge.ts), run
 * the stopped ones here, raise/refresh/clear their alerts through the alerts core, set the metrics.
 * Also `runPolicyJobs`, the embedded mode's round (PGlite has no scheduler: every policy, every time).
 */
import { clearAlert, joinMessage, openAlertSubjects, policyJobMessage, raiseAlert, type ChannelTarget } from '../alerts/index.js';
import type { Db } from '../db/index.js';
import { takeLease } from '../leases/index.js';
import type { PolicyJobMetrics } from '../metrics/index.js';
import { judgePolicyJobs, policyJobSeverity, type PolicyJobState, type PolicyJobVerdict } from './judge.js';
import { listPolicyJobs, loadPolicyJobs, runJob } from './store.js';

export const ALL_STATES: readonly PolicyJobState[] = ['ok', 'not_yet_run', 'failing', 'overdue', 'paused'];

export interface OwnRun { at: Date; ok: boolean; error: string | null }

export interface WatchResult {
  jobs: { jobId: number; subject: string; state: PolicyJobState; ownRun: OwnRun | null }[];
  raised: string[];
  cleared: string[];
  /** Notification rows of raised/cleared alerts: the caller enqueues their delivery. */
  notificationIds: number[];
}

export interface WatchOptions {
  channels: readonly ChannelTarget[];
  /**
   * The instant the jobs are judged at and alerts are stamped with. Default: the database's now(),
   * because next_start and last_successful_finish are the database server's times; comparing them
   * with another clock would call a job overdue by the skew between the two.
   */
  now?: Date;
  metrics?: PolicyJobMetrics;
  warn?: (msg: string) => void;
}

async function runHere(db: Db, v: PolicyJobVerdict, at: Date, o: WatchOptions): Promise<OwnRun> {
  try {
    await runJob(db, v.job.jobId);
    o.metrics?.ownRuns.inc({ policy: v.job.proc, table: v.job.table, outcome: 'ok' });
    return { at, ok: true, error: null };
  } catch (e) {
    const error = (e as Error).message;
    o.metrics?.ownRuns.inc({ policy: v.job.proc, table: v.job.table, outcome: 'failed' });
    o.warn?.(`TimescaleDB job ${v.job.jobId} (${v.job.proc} on ${v.job.table}) failed when the head-end ran it itself: ${error}`);
    return { at, ok: false, error };
  }
}

export async function watchPolicyJobs(db: Db, o: WatchOptions): Promise<WatchResult> {
  const { dbNow, jobs } = await loadPolicyJobs(db);
  const now = o.now ?? dbNow;
  const judged = judgePolicyJobs(jobs, await openAlertSubjects(db, 'policy_job'), now);
  const out: WatchResult = { jobs: [], raised: [], cleared: [], notificationIds: [] };
  for (const v of judged.jobs) {
    const ownRun = v.runHere ? await runHere(db, v, now, o) : null;
    if (v.alert === 'raise') {
      const state = v.state as 'failing' | 'overdue' | 'paused';
      const j = v.job;
      const res = await raiseAlert(db, {
        kind: 'policy_job', subject: v.subject, buildingId: null, severity: policyJobSeverity(ownRun),
        message: joinMessage(policyJobMessage({
          state, jobId: j.jobId, name: j.name, proc: j.proc, table: j.table, error: j.lastError, errorAt: j.lastErrorAt,
          lastSuccessAt: j.lastSuccessAt, nextStart: j.nextStart, ownRun,
        })),
        data: {
          state, job_id: j.jobId, job_name: j.name, policy: j.proc, table: j.table, error: j.lastError, error_code: j.lastErrorCode,
          error_at: j.lastErrorAt?.toISOString() ?? null, last_success_at: j.lastSuccessAt?.toISOString() ?? null,
          next_start: j.nextStart?.toISOString() ?? null,
          own_run: ownRun && { at: ownRun.at.toISOString(), ok: ownRun.ok, error: ownRun.error },
        },
      }, now, o.channels);
      if (res.raised) { out.raised.push(v.subject); out.notificationIds.push(...res.notificationIds); }
    } else if (v.alert === 'clear') {
      const res = await clearAlert(db, 'policy_job', v.subject, now, `the server ran job ${v.job.jobId} successfully at ${v.job.lastSuccessAt?.toISOString() ?? '?'}`, o.channels);
      if (res) { out.cleared.push(v.subject); out.notificationIds.push(...res.notificationIds); }
    }
    out.jobs.push({ jobId: v.job.jobId, subject: v.subject, state: v.state, ownRun });
    if (o.metrics) {
      for (const s of ALL_STATES) o.metrics.state.set({ policy: v.job.proc, table: v.job.table, state: s }, s === v.state ? 1 : 0);
      o.metrics.lastSuccess.set({ policy: v.job.proc, table: v.job.table }, v.job.lastSuccessAt ? v.job.lastSuccessAt.getTime() / 1000 : 0);
    }
  }
  for (const subject of judged.gone) {
    const res = await clearAlert(db, 'policy_job', subject, now, 'the policy no longer exists', o.channels);
    if (res) { out.cleared.push(subject); out.notificationIds.push(...res.notificationIds); }
  }
  return out;
}

/** The lease the watcher rounds of all replicas share: one replica judges, alerts and runs stopped jobs. */
export const POLICY_WATCH_LEASE = 'policy_watch';

/**
 * A replica's watcher round: only the replica holding the lease watches (taking it when free or
 * expired, renewing it while held), so replicas on one database never run a stopped job twice at
 * once nor race on its alert. `leaseMs` outlives a few rounds: a holder that dies is replaced after
 * it, a live one renews it every round. Null: another replica holds the lease.
 */
export async function policyWatchRound(db: Db, holder: string, leaseMs: number, o: WatchOptions): Promise<WatchResult | null> {
  if (!(await takeLease(db, POLICY_WATCH_LEASE, holder, leaseMs))) return null;
  return watchPolicyJobs(db, o);
}

/**
 * Runs every policy job once, here. The embedded PGlite has no background workers, so the head-end
 * calls this on a timer. Returns the jobs run (`proc:table`); a failure is reported and the rest still run.
 */
export async function runPolicyJobs(db: Db, warn: (msg: string) => void = () => {}): Promise<string[]> {
  const ran: string[] = [];
  for (const j of await listPolicyJobs(db)) {
    try {
      await runJob(db, j.jobId);
      ran.push(`${j.proc}:${j.table}`);
    } catch (e) {
      warn(`TimescaleDB job ${j.jobId} (${j.proc} on ${j.table}) failed: ${(e as Error).message}`);
    }
  }
  return ran;
}
