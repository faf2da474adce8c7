/**
 * Notifications of reading collection (issue 7): staff told when residents submit (digest.ts);
 * residents reminded on the window's reminder days and before a meter's verification expires
 * (rules.ts, daily.ts); all of it logged in notification_log and delivered by bullmq jobs (jobs.ts).
 * This file is the module's face: `defineReminderJobs` is what server/features.ts calls.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { Database } from '../db/types.js';
import type { JobRunner } from '../jobs/index.js';
import type { Clock } from '../util/clock.js';
import { defineNotificationJobs } from './jobs.js';

export interface ReminderDeps {
  db: Database;
  logger: Logger;
  config: Pick<Config, 'SMTP_URL' | 'SMTP_FROM'>;
  /** Tests: delivery attempts per message, the webhook timeout, no schedules (runs for chosen instants only). */
  sendAttempts?: number;
  webhookTimeoutMs?: number;
  schedule?: boolean;
  /** The day reminders and digests are planned for when a job names no `now`; default the wall clock. */
  clock?: Clock;
}

export async function defineReminderJobs(jobs: JobRunner, deps: ReminderDeps): Promise<void> {
  defineNotificationJobs(jobs, deps);
}

export { DIGEST_JOB, REMINDERS_JOB, SEND_JOB, RunData, enqueueSends, notificationJobsDefined } from './jobs.js';
export { planDigest, DIGEST_ROLES, type DigestResult } from './digest.js';
export { planReminders, type RemindersResult } from './daily.js';
export { dueReminders, windowReminder, verificationDue, ruDate, type Reminder, type MeterState } from './rules.js';
export { NotificationSettings, DEFAULT_NOTIFICATION_SETTINGS, NOTIFICATION_COLUMNS, settingsOfBuildings, redactWebhook } from './settings.js';
