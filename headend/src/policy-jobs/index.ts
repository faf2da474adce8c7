/**
 * TimescaleDB policy jobs (aggregate refresh, compression, retention): the embedded round and the
 * server watcher (README.md). The pure judge in judge.ts, the database in store.ts, a round in watch.ts.
 */
export { judgePolicyJobs, policyJobState, policyJobSeverity, slackMs, MIN_SLACK_MS, POLICY_PROCS, PolicyJobRow, type PolicyJobState, type PolicyJobVerdict, type PolicyJobsJudgement } from './judge.js';
export { listPolicyJobs, loadPolicyJobs, runJob, type PolicyJobRef } from './store.js';
export { watchPolicyJobs, policyWatchRound, POLICY_WATCH_LEASE, runPolicyJobs, ALL_STATES, type WatchResult, type WatchOptions, type OwnRun } from './watch.js';

/** How often both rounds run: the shortest schedule of our policies is 15 minutes (hourly aggregate). */
export const POLICY_ROUND_MS = 5 * 60_000;
/** How long a replica's watcher lease lasts unrenewed: three rounds, so one slow round never loses it. */
export const POLICY_LEASE_MS = 3 * POLICY_ROUND_MS;
