/**
 * The alert jobs on bullmq:
 *   alerts.check  {now?}           scheduled every minute: silent meters/gateways; re-enqueues stale
 *                                  pending notifications (a job lost while Redis was down).
 *   alerts.notify {notificationId} delivers one notification row; failures are retried by bullmq with
 *                                  exponential back-off and the final failure is recorded.
 * Notify jobs carry the job id `notify-<id>`, so enqueueing the same row twice (sweep + original)
 * adds one job; the handler also does nothing for a row no longer pending.
 */
import { z } from 'zod';
import type { JobRunner } from '../jobs/index.js';
import { redactUrl } from '../util/redact-url.js';
import { wallClock } from '../util/clock.js';
import { runSilenceCheck } from './check.js';
import { channelsOf, createMailer, sendWebhook, webhookBody } from './notify.js';
import { loadNotification, recordAttempt, stalePendingNotifications } from './store.js';
import type { AlertDeps } from './types.js';

export const CHECK_JOB = 'alerts.check';
export const NOTIFY_JOB = 'alerts.notify';
const CHECK_EVERY_MS = 60_000;
const DEFAULT_ATTEMPTS = 8;
const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
/** Longer than the whole retry schedule of 8 attempts (≈ 2 min), so a live job is never doubled. */
const STALE_PENDING_MS = 10 * 60_000;

export const CheckData = z.object({ now: z.iso.datetime({ offset: true }).optional() });
export const NotifyData = z.object({ notificationId: z.number().int().positive() });

/** Enqueues delivery of notification rows; never throws (rows stay pending for the sweep). */
export async function enqueueNotifications(runner: JobRunner | undefined, ids: readonly number[], deps: Pick<AlertDeps, 'logger'>): Promise<void> {
  if (!runner) return;
  for (const id of ids) {
    try {
      await runner.enqueue(NOTIFY_JOB, { notificationId: id }, { jobId: `notify-${id}` });
    } catch (err) {
      deps.logger.warn({ notificationId: id, err: (err as Error).message }, 'alert notification not enqueued; the check job retries it later');
    }
  }
}

export async function defineAlertJobs(runner: JobRunner, deps: AlertDeps): Promise<void> {
  const { db, logger, config } = deps;
  const channels = channelsOf(config);
  const attempts = deps.notifyAttempts ?? DEFAULT_ATTEMPTS;
  const timeoutMs = deps.webhookTimeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  const clock = deps.clock ?? wallClock;
  const mailer = createMailer(config);
  if (config.SMTP_URL && !mailer) logger.warn('SMTP_URL is set but ALERT_EMAIL_TO is empty: no alert e-mails');
  if (!config.SMTP_URL && config.ALERT_EMAIL_TO) logger.warn('ALERT_EMAIL_TO is set but SMTP_URL is not: no alert e-mails');
  logger.info({
    webhook: config.ALERT_WEBHOOK_URL ? redactUrl(config.ALERT_WEBHOOK_URL) : null,
    smtp: mailer && config.SMTP_URL ? redactUrl(config.SMTP_URL) : null,
    meterSilentMinutes: config.METER_SILENT_MINUTES, gatewaySilentMinutes: config.GATEWAY_SILENT_MINUTES,
  }, 'alert channels');

  runner.define({
    name: CHECK_JOB,
    data: CheckData,
    attempts: 1, // the next minute's run is the retry
    handler: async (data, ctx) => {
      const now = data.now ? new Date(data.now) : clock();
      const res = await runSilenceCheck(db, config, channels, now);
      if (res.raised.length || res.cleared.length) ctx.log.info({ raised: res.raised, cleared: res.cleared }, 'silence alerts');
      const stale = await stalePendingNotifications(db, new Date(Date.now() - STALE_PENDING_MS));
      await enqueueNotifications(runner, [...res.notificationIds, ...stale], deps);
      return { raised: res.raised.length, cleared: res.cleared.length, requeued: stale.length };
    },
  });

  runner.define({
    name: NOTIFY_JOB,
    data: NotifyData,
    attempts,
    concurrency: 4,
    handler: async ({ notificationId }, ctx) => {
      const n = await loadNotification(db, notificationId);
      if (!n) throw new Error(`alert notification ${notificationId} does not exist`);
      if (n.status !== 'pending') return { skipped: n.status };
      try {
        if (n.channel === 'webhook') {
          if (!config.ALERT_WEBHOOK_URL) throw new Error('ALERT_WEBHOOK_URL is no longer set');
          await sendWebhook(config.ALERT_WEBHOOK_URL, webhookBody(n.event, n.alert), timeoutMs);
        } else {
          if (!mailer) throw new Error('SMTP_URL / ALERT_EMAIL_TO are no longer set');
          await mailer.send(n.event, n.alert);
        }
      } catch (err) {
        const error = (err as Error).message;
        const final = ctx.attempt >= attempts;
        await recordAttempt(db, n.id, ctx.attempt, { ok: false, error, final });
        ctx.log.warn({ notificationId, channel: n.channel, target: n.target, attempt: ctx.attempt, of: attempts, err: error }, final ? 'alert notification failed for good' : 'alert notification failed; will retry');
        throw err;
      }
      await recordAttempt(db, n.id, ctx.attempt, { ok: true });
      ctx.log.info({ notificationId, alertId: n.alert.id, event: n.event, channel: n.channel, target: n.target }, 'alert notification sent');
      return { sent: n.channel };
    },
  });

  // Scheduling waits for Redis; start-up must not (Redis may be down now and come back later).
  runner.schedule(CHECK_JOB, 'alerts-check-every-minute', { everyMs: CHECK_EVERY_MS }, {})
    .catch((e: Error) => deps.logger.warn({ err: e.message }, 'alerts: the silence check is not scheduled'));
}
