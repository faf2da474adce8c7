/**
 * The notification jobs on bullmq:
 *   notifications.digest    {now?}  every minute: staff digest of residents' submissions (each building
 *                                   at most every digest_minutes); re-enqueues sends left pending.
 *   notifications.reminders {now?}  hourly: residents' reminders of each building's day (daily.ts).
 *   notifications.send      {id}    delivers one log row; retried with back-off, the last failure recorded.
 * `now` lets a test (or an operator replaying a day) run a job for a chosen instant.
 * Send jobs carry the job id `notification-<id>`, so the sweep and the planner enqueue a row once.
 */
import { z } from 'zod';
import type { Logger } from 'pino';
import type { Database } from '../db/types.js';
import type { JobRunner } from '../jobs/index.js';
import { wallClock, type Clock } from '../util/clock.js';
import { planDigest } from './digest.js';
import { planReminders } from './daily.js';
import { createMailer, deliver, type MailConfig } from './send.js';
import { loadNotification, recordAttempt, stalePending } from './store.js';

export const DIGEST_JOB = 'notifications.digest';
export const REMINDERS_JOB = 'notifications.reminders';
export const SEND_JOB = 'notifications.send';
const DIGEST_EVERY_MS = 60_000;
const REMINDERS_CRON = '0 * * * *';
const DEFAULT_ATTEMPTS = 6;
const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
/** Longer than a send's whole retry schedule, so a live job is never doubled. */
const STALE_PENDING_MS = 15 * 60_000;

export const RunData = z.object({ now: z.iso.datetime({ offset: true }).optional() });
export const SendData = z.object({ id: z.number().int().positive() });

export interface ReminderJobDeps {
  db: Database;
  logger: Logger;
  config: MailConfig;
  /** Delivery attempts per message (default 6). */
  sendAttempts?: number;
  webhookTimeoutMs?: number;
  /** false: define the jobs without their schedules (tests run them for chosen instants only). */
  schedule?: boolean;
  /** "Now" of a run that names none (the reminders' day); the stale-send sweep stays on real time. */
  clock?: Clock;
}

/** Enqueues delivery of log rows; never throws (rows stay pending for the sweep). */
export async function enqueueSends(runner: JobRunner, ids: readonly number[], logger: Logger): Promise<void> {
  for (const id of ids) {
    try {
      await runner.enqueue(SEND_JOB, { id }, { jobId: `notification-${id}` });
    } catch (err) {
      logger.warn({ notificationId: id, err: (err as Error).message }, 'notification not enqueued; the digest job retries it later');
    }
  }
}

export function defineNotificationJobs(runner: JobRunner, deps: ReminderJobDeps): void {
  const { db, logger } = deps;
  const mailer = createMailer(deps.config);
  const attempts = deps.sendAttempts ?? DEFAULT_ATTEMPTS;
  const timeoutMs = deps.webhookTimeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  const clock = deps.clock ?? wallClock;
  if (!mailer) logger.info('SMTP_URL is not set: collection notifications go by webhook only');

  runner.define({
    name: DIGEST_JOB, data: RunData, attempts: 1, // the next minute's run is the retry
    handler: async (data, ctx) => {
      const now = data.now ? new Date(data.now) : clock();
      const res = await planDigest(db, { now, mail: !!mailer });
      const stale = await stalePending(db, new Date(Date.now() - STALE_PENDING_MS));
      await enqueueSends(runner, [...res.notificationIds, ...stale], ctx.log);
      if (res.notified || res.skipped) ctx.log.info({ ...res, notificationIds: res.notificationIds.length }, 'submissions digest');
      return { ...res, notificationIds: res.notificationIds.length, requeued: stale.length };
    },
  });

  runner.define({
    name: REMINDERS_JOB, data: RunData, attempts: 3,
    handler: async (data, ctx) => {
      const now = data.now ? new Date(data.now) : clock();
      const res = await planReminders(db, { now, mail: !!mailer });
      await enqueueSends(runner, res.notificationIds, ctx.log);
      if (res.notificationIds.length) ctx.log.info({ ...res, notificationIds: res.notificationIds.length }, 'residents reminders');
      return { ...res, notificationIds: res.notificationIds.length };
    },
  });

  runner.define({
    name: SEND_JOB, data: SendData, attempts, concurrency: 4,
    handler: async ({ id }, ctx) => {
      const n = await loadNotification(db, id);
      if (!n) throw new Error(`notification ${id} does not exist`);
      if (n.status !== 'pending') return { skipped: n.status };
      try {
        await deliver(db, n, mailer, timeoutMs);
      } catch (err) {
        const error = (err as Error).message;
        const final = ctx.attempt >= attempts;
        await recordAttempt(db, id, ctx.attempt, { ok: false, error, final });
        ctx.log.warn({ notificationId: id, kind: n.kind, channel: n.channel, attempt: ctx.attempt, of: attempts, err: error }, final ? 'notification failed for good' : 'notification failed; will retry');
        throw err;
      }
      await recordAttempt(db, id, ctx.attempt, { ok: true });
      return { sent: n.channel };
    },
  });

  if (deps.schedule === false) return;
  // Scheduling waits for Redis; start-up must not (Redis may be down now and come back later).
  void (async () => {
    await runner.schedule(DIGEST_JOB, 'notifications-digest-every-minute', { everyMs: DIGEST_EVERY_MS }, {});
    await runner.schedule(REMINDERS_JOB, 'notifications-reminders-hourly', { cron: REMINDERS_CRON, tz: 'UTC' }, {});
  })().catch((e: Error) => logger.warn({ err: e.message }, 'notifications: schedules not written'));
}

export function notificationJobsDefined(jobs: JobRunner | undefined): jobs is JobRunner {
  return !!jobs && jobs.names().includes(DIGEST_JOB);
}
