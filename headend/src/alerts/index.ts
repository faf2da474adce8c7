/**
 * Alerts: silent meters and gateways, imbalance thresholds crossed; notifications by webhook and
 * e-mail through bullmq. Pure decisions in decisions.ts/messages.ts, the database in store.ts, the
 * jobs in jobs.ts; this file is the module's face (signatures used by server/features.ts).
 */
import type { JobRunner } from '../jobs/index.js';
import type { OnImbalanceReport } from '../imbalance/types.js';
import { applyImbalanceReport } from './imbalance.js';
import { enqueueNotifications } from './jobs.js';
import { channelsOf } from './notify.js';
import type { AlertDeps } from './types.js';
import { wallClock } from '../util/clock.js';

export type { AlertConfig, AlertDeps } from './types.js';
export { defineAlertJobs, enqueueNotifications, CHECK_JOB, NOTIFY_JOB } from './jobs.js';
export { runSilenceCheck, type CheckResult } from './check.js';
export { applyImbalanceReport, type ImbalanceOutcome } from './imbalance.js';
export { raiseAlert, clearAlert, openAlertSubjects, type NewAlert, type ChannelTarget, type Channel, type AlertRow } from './store.js';
export { channelsOf } from './notify.js';
export { accessCodeKeyMessage, heatDeliveryFailedMessage, heatMailFailedMessage, heatStatementOutdatedMessage, joinMessage, policyJobMessage, type AccessCodeKeyFacts, type PolicyJobFacts, type TotalChange } from './messages.js';
export * from './decisions.js';

/**
 * The hook the imbalance service calls after storing a report: raises/clears imbalance alerts.
 * Must be called after the report's transaction committed (it reads the latest month through the
 * pool). An error is logged and rethrown so the recompute job fails and bullmq retries it; raising
 * and clearing are idempotent, so the retry converges.
 * Without a runner the alert is still recorded and its notifications stay pending until a running
 * `alerts.check` finds them stale and enqueues them.
 */
export function imbalanceAlertHook(runner: JobRunner | undefined, deps: AlertDeps): OnImbalanceReport {
  const channels = channelsOf(deps.config);
  return async (report) => {
    try {
      const res = await applyImbalanceReport(deps.db, report, channels, (deps.clock ?? wallClock)());
      if (res.changed) deps.logger.info({ building: report.buildingId, resource: report.resource, status: report.status, action: res.action }, 'imbalance alert');
      await enqueueNotifications(runner, res.notificationIds, deps);
    } catch (err) {
      deps.logger.error({ building: report.buildingId, resource: report.resource, err: (err as Error).message }, 'imbalance alert not applied');
      throw err;
    }
  };
}
