/** Configuration and dependencies of the alerts module (re-exported by index.ts). */
import type { Logger } from 'pino';
import type { Db } from '../db/index.js';
import type { Config } from '../config/index.js';
import type { Clock } from '../util/clock.js';

export type AlertConfig = Pick<Config, 'METER_SILENT_MINUTES' | 'GATEWAY_SILENT_MINUTES' | 'ALERT_WEBHOOK_URL' | 'SMTP_URL' | 'SMTP_FROM' | 'ALERT_EMAIL_TO'>;

export interface AlertDeps {
  db: Db;
  logger: Logger;
  config: AlertConfig;
  /** Delivery attempts per notification (bullmq, exponential back-off from 1 s); default 8 (≈ 2 min in all). */
  notifyAttempts?: number;
  /** Webhook answer timeout, ms; default 10 000. */
  webhookTimeoutMs?: number;
  /** The instant silence is judged at (and alerts raised/cleared at) when a check names none; default the wall clock. */
  clock?: Clock;
}
