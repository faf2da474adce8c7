// Alerts: silent meters/gateways, imbalance thresholds, notifications (stub until built).
import type { Logger } from 'pino';
import type { Db } from '../db/index.js';
import type { Config } from '../config/index.js';
import type { JobRunner } from '../jobs/index.js';
import type { OnImbalanceReport } from '../imbalance/types.js';

export type AlertConfig = Pick<Config, 'METER_SILENT_MINUTES' | 'GATEWAY_SILENT_MINUTES' | 'ALERT_WEBHOOK_URL' | 'SMTP_URL' | 'SMTP_FROM' | 'ALERT_EMAIL_TO'>;

export interface AlertDeps {
  db: Db;
  logger: Logger;
  config: AlertConfig;
}

/** Defines `alerts.check` (scheduled) and `alerts.notify` on the runner. */
export async function defineAlertJobs(_runner: JobRunner, _deps: AlertDeps): Promise<void> {}

/** The hook the imbalance service calls after storing a report: raises/clears imbalance alerts. */
export function imbalanceAlertHook(_runner: JobRunner | undefined, _deps: AlertDeps): OnImbalanceReport {
  return () => {};
}
