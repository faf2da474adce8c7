/**
 * The policy-job judge, pure: which state a job is in at a given instant, what that does to its alert,
 * and whether the head-end runs it itself. Rows are built by hand with fixed times.
 */
import { describe, expect, it } from 'vitest';
import { judgePolicyJobs, policyJobSeverity, policyJobState, type PolicyJobRow } from '../../src/policy-jobs/index.js';
import { policyJobMessage } from '../../src/alerts/index.js';

const NOW = new Date('2026-03-02T12:00:00Z');
const at = (iso: string) => new Date(iso);

/** The hourly refresh (15-minute schedule) whose last run at 11:45 succeeded and next is due 12:00. */
const healthy: PolicyJobRow = {
  jobId: 1001, name: 'Refresh Continuous Aggregate Policy [1001]', proc: 'policy_refresh_continuous_aggregate', table: 'readings_hourly',
  scheduleSeconds: 900, scheduled: true, nextStart: at('2026-03-02T12:00:00Z'), lastRunStatus: 'Success',
  lastRunStartedAt: at('2026-03-02T11:45:00Z'), lastSuccessAt: at('2026-03-02T11:45:02Z'), totalRuns: 40,
  lastError: null, lastErrorCode: null, lastErrorAt: null,
};
const job = (o: Partial<PolicyJobRow>): PolicyJobRow => ({ ...healthy, ...o });
const HOURLY = 'policy:policy_refresh_continuous_aggregate:readings_hourly';

describe('policyJobState', () => {
  it('ok while the next run is at most one schedule interval (at least 15 minutes) late', () => {
    expect(policyJobState(healthy, NOW)).toBe('ok');
    // due 12:00, slack max(15 min, 15 min) = 15 min: 12:15 is still ok, 12:15:01 is overdue.
    expect(policyJobState(healthy, at('2026-03-02T12:15:00Z'))).toBe('ok');
    expect(policyJobState(healthy, at('2026-03-02T12:15:01Z'))).toBe('overdue');
  });

  it('a 12-hour job gets 12 hours of slack, not 15 minutes', () => {
    const compression = job({ proc: 'policy_compression', table: 'reading_rows', scheduleSeconds: 12 * 3600, nextStart: at('2026-03-02T06:00:00Z') });
    expect(policyJobState(compression, at('2026-03-02T18:00:00Z'))).toBe('ok');
    expect(policyJobState(compression, at('2026-03-02T18:00:01Z'))).toBe('overdue');
  });

  it('without next_start the due time is one interval after the last success', () => {
    // last success 11:45:02 + 15 min = due 12:00:02; overdue after 12:15:02.
    const j = job({ nextStart: null });
    expect(policyJobState(j, at('2026-03-02T12:15:02Z'))).toBe('ok');
    expect(policyJobState(j, at('2026-03-02T12:15:03Z'))).toBe('overdue');
  });

  it('a failed last run is failing whatever the times; paused wins over both', () => {
    expect(policyJobState(job({ lastRunStatus: 'Failed' }), NOW)).toBe('failing');
    expect(policyJobState(job({ lastRunStatus: 'Failed', scheduled: false }), NOW)).toBe('paused');
  });

  it('never run and not yet due is no verdict; never run and long past due is overdue', () => {
    const fresh = job({ lastRunStatus: null, lastRunStartedAt: null, lastSuccessAt: null, totalRuns: 0, nextStart: at('2026-03-02T12:10:00Z') });
    expect(policyJobState(fresh, NOW)).toBe('not_yet_run');
    expect(policyJobState(job({ ...fresh, nextStart: at('2026-03-02T11:00:00Z') }), NOW)).toBe('overdue');
    expect(policyJobState(job({ ...fresh, nextStart: null }), NOW)).toBe('not_yet_run');
  });
});

describe('judgePolicyJobs', () => {
  it('failing: raise and run here; ok with an open alert: clear and stop; ok without: nothing', () => {
    expect(judgePolicyJobs([job({ lastRunStatus: 'Failed' })], new Set(), NOW).jobs.map((v) => [v.subject, v.state, v.alert, v.runHere]))
      .toEqual([[HOURLY, 'failing', 'raise', true]]);
    expect(judgePolicyJobs([healthy], new Set([HOURLY]), NOW).jobs.map((v) => [v.state, v.alert, v.runHere])).toEqual([['ok', 'clear', false]]);
    expect(judgePolicyJobs([healthy], new Set(), NOW).jobs.map((v) => [v.state, v.alert, v.runHere])).toEqual([['ok', 'none', false]]);
  });

  it('overdue raises and runs here; paused raises but is not run behind whoever paused it', () => {
    const overdue = job({ nextStart: at('2026-03-02T10:00:00Z') });
    expect(judgePolicyJobs([overdue], new Set(), NOW).jobs.map((v) => [v.state, v.alert, v.runHere])).toEqual([['overdue', 'raise', true]]);
    expect(judgePolicyJobs([job({ scheduled: false })], new Set(), NOW).jobs.map((v) => [v.state, v.alert, v.runHere])).toEqual([['paused', 'raise', false]]);
  });

  it('a job not yet run keeps an open alert open and is still run here; without an alert it is left to the server', () => {
    const fresh = job({ lastRunStatus: null, lastSuccessAt: null, totalRuns: 0, nextStart: at('2026-03-02T12:10:00Z') });
    expect(judgePolicyJobs([fresh], new Set([HOURLY]), NOW).jobs.map((v) => [v.alert, v.runHere])).toEqual([['none', true]]);
    expect(judgePolicyJobs([fresh], new Set(), NOW).jobs.map((v) => [v.alert, v.runHere])).toEqual([['none', false]]);
  });

  it('an open alert whose policy no longer exists is listed as gone', () => {
    const retention = 'policy:policy_retention:reading_rows';
    expect(judgePolicyJobs([healthy], new Set([retention, HOURLY]), NOW).gone).toEqual([retention]);
  });

  it('severity: warning while the head-end covers for the server, critical when its own run fails too', () => {
    expect([policyJobSeverity(null), policyJobSeverity({ ok: true }), policyJobSeverity({ ok: false })]).toEqual(['warning', 'warning', 'critical']);
  });
});

describe('policyJobMessage', () => {
  const base = { jobId: 1000, name: 'Columnstore Policy [1000]', proc: 'policy_compression', table: 'reading_rows', lastSuccessAt: null, nextStart: null };

  it('names the job, the table, the error, what stops and how to fix it, in Russian and English', () => {
    const m = policyJobMessage({
      ...base, state: 'failing', error: 'cannot drop portal "" while it is being set up', errorAt: at('2026-03-02T11:00:00Z'),
      ownRun: { at: NOW, ok: true, error: null },
    });
    expect(m.en).toBe('TimescaleDB job Columnstore Policy [1000] (job 1000, policy_compression on reading_rows) failed at 2026-03-02 11:00 UTC: '
      + 'cannot drop portal "" while it is being set up — old readings are not compressed, the database grows several times faster. '
      + 'Until the server\'s job succeeds, the head-end runs it itself (last run OK at 2026-03-02 12:00 UTC). '
      + 'This is a known fault of TimescaleDB background jobs on Debian\'s PostgreSQL 15.20: move to a PostgreSQL/TimescaleDB build whose background jobs run (CALL run_job from a client works).');
    expect(m.ru).toContain('Задание TimescaleDB Columnstore Policy [1000] (job 1000, policy_compression on reading_rows) завершилось ошибкой');
  });

  it('another error points at job_errors; paused says how to resume; a failed own run is told', () => {
    const other = policyJobMessage({ ...base, state: 'failing', error: 'disk full', errorAt: null, ownRun: { at: NOW, ok: false, error: 'disk full' } });
    expect(other.en).toContain('The head-end runs it itself, but that failed too at 2026-03-02 12:00 UTC: disk full');
    expect(other.en).toContain('SELECT * FROM timescaledb_information.job_errors WHERE job_id = 1000;');
    const paused = policyJobMessage({ ...base, state: 'paused', error: null, errorAt: null, ownRun: null });
    expect(paused.en).toContain('is paused (scheduled = false)');
    expect(paused.en).toContain('Resume it: SELECT alter_job(1000, scheduled => true);');
  });
});
