/**
 * End to end through real peers: embedded database, real Redis (bullmq, unique prefix, removed
 * afterwards), a real webhook receiver and a real SMTP server. Silent gateway and meter raise alerts
 * that are delivered once per channel; coming back clears them and notifies 'cleared'; a webhook
 * answering 500 is retried and recorded as failed after the last attempt; imbalance reports
 * ok → high_loss → ok raise then clear through the hook.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { OpenedDb, Db } from '../../src/db/index.js';
import { openTestDb } from '../engine.js';
import { JobRunner } from '../../src/jobs/index.js';
import { defineAlertJobs, imbalanceAlertHook, raiseAlert, channelsOf, CHECK_JOB, type AlertDeps } from '../../src/alerts/index.js';
import { seedBuilding, seedGateway, seedMeter, storeMonthReport } from './seed.js';
import { startSmtpReceiver, startWebhookReceiver, waitFor, type SmtpReceiver, type WebhookReceiver } from './receivers.js';
import { REDIS_URL, removeRedisKeys } from '../redis.js';

const prefix = `amrtest-alerts-${randomUUID()}`;
const ATTEMPTS = 3;

let opened: OpenedDb;
let db: Db;
let runner: JobRunner;
let webhook: WebhookReceiver;
let smtp: SmtpReceiver;
let deps: AlertDeps;
let buildingId: number;
let meterId: number;
let webhookUrl: string;
let redactedWebhookUrl: string;
const logLines: string[] = [];

/** The alert jobs' clock (deps.clock), stopped: silences are judged at this instant, never today's. */
const NOW = new Date('2026-06-15T12:00:00+03:00');
const ago = (min: number) => new Date(NOW.getTime() - min * 60_000);
const basicAuth = `Basic ${Buffer.from('hook-user:hook-secret').toString('base64')}`;
const hooksFor = (subject: string, event?: string) => webhook.hooks.filter((h) => h.alert.subject === subject && (!event || h.event === event));
const mailsFor = (subject: string, event?: string) => smtp.mails.filter((m) => m.headers['x-amr-alert-subject'] === subject && (!event || m.headers['x-amr-alert-event'] === event));
async function notificationRows(subject: string, event: string) {
  return (await db.query(
    `SELECT n.channel, n.status, n.attempts, n.last_error, n.sent_at, n.target FROM alert_notifications n JOIN alerts a ON a.id = n.alert_id
      WHERE a.subject = $1 AND n.event = $2 ORDER BY n.channel`, [subject, event])).rows;
}
const allSent = (subject: string, event: string) => async () => {
  const rows = await notificationRows(subject, event);
  return rows.length === 2 && rows.every((r) => r.status === 'sent') ? rows : null;
};

beforeAll(async () => {
  opened = await openTestDb();
  db = opened.db;
  webhook = await startWebhookReceiver((b) => (b.alert.subject === 'gateway:gw-fail' ? 500 : 204));
  smtp = await startSmtpReceiver((m) => m.headers['x-amr-alert-subject'] === 'gateway:gw-mailfail');
  // Seeded against the jobs' fixed clock, which the scheduled runs read too: they and the runs we
  // enqueue agree. (Only the stale-notification sweep runs on real time: it is timing, not data.)
  await db.tx(async (q) => {
    buildingId = await seedBuilding(q);
    meterId = await seedMeter(q, buildingId, { lastSeenAt: ago(2 * 24 * 60), createdAt: ago(10 * 24 * 60) });
    await seedMeter(q, buildingId, { lastSeenAt: ago(5), createdAt: ago(10 * 24 * 60) });
    await seedGateway(q, 'gw-1', buildingId, { lastSeenAt: ago(120), createdAt: ago(10 * 24 * 60) });
    await seedGateway(q, 'gw-ok', buildingId, { lastSeenAt: ago(1), createdAt: ago(10 * 24 * 60) });
  });
  // The webhook URL carries credentials (sent as Basic auth): no log line, error or stored target may show them.
  webhookUrl = webhook.url.replace('http://', 'http://hook-user:hook-secret@');
  redactedWebhookUrl = webhook.url.replace('http://', 'http://hook-user:***@');
  const logger = pino({ level: 'debug' }, new Writable({ write(chunk, _enc, cb) { logLines.push(String(chunk)); cb(); } }));
  runner = new JobRunner({ redisUrl: REDIS_URL, prefix, logger });
  deps = {
    db, logger, notifyAttempts: ATTEMPTS, webhookTimeoutMs: 5000, clock: () => new Date(NOW),
    config: {
      METER_SILENT_MINUTES: 24 * 60, GATEWAY_SILENT_MINUTES: 60,
      ALERT_WEBHOOK_URL: webhookUrl, SMTP_URL: smtp.url, SMTP_FROM: 'amr-headend@example.org', ALERT_EMAIL_TO: 'ops@example.org, chief@example.org',
    },
  };
  await defineAlertJobs(runner, deps);
});

afterAll(async () => {
  await runner?.close();
  await webhook?.close();
  await smtp?.close();
  await opened?.close();
  await removeRedisKeys(prefix);
});

describe('silent gateway and meter', () => {
  it('raise alerts delivered once by webhook and once by e-mail each', async () => {
    await runner.enqueue(CHECK_JOB, {});
    const meter = `meter:${meterId}`;
    await waitFor('gateway notifications sent', allSent('gateway:gw-1', 'raised'));
    await waitFor('meter notifications sent', allSent(meter, 'raised'));
    // Another check must not notify again while the alerts stay open.
    const checksDone = async () => (await runner.depths())[CHECK_JOB]?.completed ?? 0;
    const before = await checksDone();
    await runner.enqueue(CHECK_JOB, {});
    await waitFor('another check done', async () => (await checksDone()) > before);

    for (const subject of ['gateway:gw-1', meter]) {
      expect(hooksFor(subject)).toHaveLength(1);
      expect(hooksFor(subject, 'raised')).toHaveLength(1);
      expect(mailsFor(subject)).toHaveLength(1);
      const rows = await notificationRows(subject, 'raised');
      expect(rows.map((r) => [r.channel, r.status, r.attempts, r.last_error])).toEqual([['email', 'sent', 1, null], ['webhook', 'sent', 1, null]]);
      expect(rows.find((r) => r.channel === 'webhook')!.target).toBe(redactedWebhookUrl);
    }
    const gwHook = hooksFor('gateway:gw-1')[0];
    expect(gwHook.authorization).toBe(basicAuth);
    expect(gwHook.alert).toMatchObject({ kind: 'gateway_silent', gateway_id: 'gw-1', building_id: buildingId, severity: 'critical', cleared_at: null });
    // The building by its address, as the person reading the alert knows it (never "building 7").
    expect(gwHook.alert.message).toMatch(/^Шлюз gw-1 .*\(ул\. Тестовая, 1\) не на связи .*\nGateway gw-1 \(Шлюз gw-1\) \(ул\. Тестовая, 1\) silent since/);
    const mail = mailsFor('gateway:gw-1')[0];
    expect(mail.from).toBe('amr-headend@example.org');
    expect(mail.to).toEqual(['ops@example.org', 'chief@example.org']);
    expect(mail.subject).toBe('[AMR] Тревога / Alert: gateway_silent gateway:gw-1');
    expect(mail.headers['x-amr-alert-kind']).toBe('gateway_silent');
    expect(hooksFor('gateway:gw-ok')).toEqual([]);
  });

  it('coming back clears them and notifies cleared', async () => {
    await db.query(`UPDATE meters SET last_seen_at = $2 WHERE id = $1`, [meterId, NOW]);
    await db.query(`UPDATE gateways SET last_seen_at = $1 WHERE id = 'gw-1'`, [NOW]);
    await runner.enqueue(CHECK_JOB, {});
    const meter = `meter:${meterId}`;
    await waitFor('gateway cleared notifications sent', allSent('gateway:gw-1', 'cleared'));
    await waitFor('meter cleared notifications sent', allSent(meter, 'cleared'));
    for (const subject of ['gateway:gw-1', meter]) {
      expect(hooksFor(subject, 'cleared')).toHaveLength(1);
      expect(hooksFor(subject, 'cleared')[0].alert.cleared_at).not.toBeNull();
      expect(mailsFor(subject, 'cleared')).toHaveLength(1);
      expect(mailsFor(subject, 'cleared')[0].subject).toContain('Снято / Cleared');
    }
    const open = (await db.query(`SELECT count(*)::int AS n FROM alerts WHERE cleared_at IS NULL AND subject IN ('gateway:gw-1', $1)`, [meter])).rows[0].n;
    expect(open).toBe(0);
  });
});

describe('a failing webhook', () => {
  it('is retried and recorded as failed after the last attempt; the e-mail still goes', async () => {
    await seedGateway(db, 'gw-fail', buildingId, { lastSeenAt: ago(180), createdAt: ago(10 * 24 * 60) });
    await runner.enqueue(CHECK_JOB, {});
    const failed = await waitFor('webhook notification failed for good', async () =>
      (await notificationRows('gateway:gw-fail', 'raised')).find((r) => r.channel === 'webhook' && r.status === 'failed'));
    expect(failed.attempts).toBe(ATTEMPTS);
    expect(failed.last_error).toBe(`webhook ${redactedWebhookUrl}: HTTP 500 receiver says no`);
    expect(failed.sent_at).toBeNull();
    expect(hooksFor('gateway:gw-fail').map((h) => h.answered)).toEqual([500, 500, 500]);
    const email = await waitFor('e-mail sent', async () => (await notificationRows('gateway:gw-fail', 'raised')).find((r) => r.channel === 'email' && r.status === 'sent'));
    expect(email.attempts).toBe(1);
    expect(mailsFor('gateway:gw-fail')).toHaveLength(1);
  });

  it('a refused e-mail likewise, with the SMTP answer as the error; the webhook still goes', async () => {
    await seedGateway(db, 'gw-mailfail', buildingId, { lastSeenAt: ago(180), createdAt: ago(10 * 24 * 60) });
    await runner.enqueue(CHECK_JOB, {});
    const failed = await waitFor('e-mail notification failed for good', async () =>
      (await notificationRows('gateway:gw-mailfail', 'raised')).find((r) => r.channel === 'email' && r.status === 'failed'));
    expect(failed.attempts).toBe(ATTEMPTS);
    expect(failed.last_error).toMatch(new RegExp(`^e-mail via ${smtp.url.replace(/\./g, '\\.')}/?: .*550.*mailbox unavailable \\(test\\)`));
    expect(mailsFor('gateway:gw-mailfail')).toHaveLength(ATTEMPTS);
    const hook = await waitFor('webhook sent', async () => (await notificationRows('gateway:gw-mailfail', 'raised')).find((r) => r.channel === 'webhook' && r.status === 'sent'));
    expect(hook.attempts).toBe(1);
  });
});

describe('imbalance hook', () => {
  it('ok → high_loss → ok raises, then clears, notifying each once', async () => {
    const hook = imbalanceAlertHook(runner, deps);
    const jan = [new Date('2026-01-31T21:00:00Z'), new Date('2026-02-28T21:00:00Z')] as const;
    const subject = `building:${buildingId}:cold_water`;
    const store = (status: 'ok' | 'high_loss', pct: number) => db.tx((q) => storeMonthReport(q, buildingId, jan[0], jan[1], status, pct, 'cold_water'));

    await hook(await store('ok', 4), null);
    expect((await db.query(`SELECT count(*)::int AS n FROM alerts WHERE subject = $1`, [subject])).rows[0].n).toBe(0);

    const okReport = await store('ok', 4);
    await hook(await store('high_loss', 17.5), okReport);
    await waitFor('imbalance raised notifications sent', allSent(subject, 'raised'));
    expect(hooksFor(subject, 'raised')).toHaveLength(1);
    expect(hooksFor(subject, 'raised')[0].alert).toMatchObject({ kind: 'imbalance', resource: 'cold_water', severity: 'warning' });
    expect(hooksFor(subject, 'raised')[0].alert.message).toContain('Imbalance: Cold water, ул. Тестовая, 1, 2026-02: loss 17.5% above the 10% threshold.');
    expect(mailsFor(subject, 'raised')).toHaveLength(1);

    await hook(await store('ok', 3), null);
    await waitFor('imbalance cleared notifications sent', allSent(subject, 'cleared'));
    expect(hooksFor(subject, 'cleared')).toHaveLength(1);
    expect(mailsFor(subject, 'cleared')).toHaveLength(1);
    expect(hooksFor(subject)).toHaveLength(2);
  });
});

describe('lost notifications', () => {
  it('rows left pending (no job runner at the time) are picked up by the check after 10 minutes', async () => {
    const hookLess = imbalanceAlertHook(undefined, deps); // as if Redis had been down: alert recorded, nothing enqueued
    const subject = `building:${buildingId}:heat`;
    await hookLess(await db.tx((q) => storeMonthReport(q, buildingId, new Date('2026-02-28T21:00:00Z'), new Date('2026-03-31T21:00:00Z'), 'high_loss', 30)), null);
    const pending = await notificationRows(subject, 'raised');
    expect(pending.map((r) => r.status)).toEqual(['pending', 'pending']);
    // Still fresh: the check leaves them alone (their job may just be queued).
    const checksDone = async () => (await runner.depths())[CHECK_JOB]?.completed ?? 0;
    let before = await checksDone();
    await runner.enqueue(CHECK_JOB, {});
    await waitFor('a check done', async () => (await checksDone()) > before);
    expect((await notificationRows(subject, 'raised')).map((r) => r.status)).toEqual(['pending', 'pending']);
    expect(hooksFor(subject)).toEqual([]);
    // Eleven minutes old: sent once.
    await db.query(`UPDATE alert_notifications n SET created_at = now() - interval '11 minutes' FROM alerts a WHERE a.id = n.alert_id AND a.subject = $1`, [subject]);
    before = await checksDone();
    await runner.enqueue(CHECK_JOB, {});
    await waitFor('stale notifications sent', allSent(subject, 'raised'));
    await waitFor('a check done', async () => (await checksDone()) > before);
    expect(hooksFor(subject)).toHaveLength(1);
    expect(mailsFor(subject)).toHaveLength(1);
    // A raise of an alert already open adds no rows.
    const again = await raiseAlert(db, { kind: 'imbalance', subject, buildingId, severity: 'warning', message: 'm', data: {} }, NOW, channelsOf(deps.config));
    expect(again.raised).toBe(false);
  });
});

describe('logs', () => {
  it('name the webhook target redacted and never show its password', () => {
    expect(logLines.some((l) => l.includes('alert notification sent') && l.includes(redactedWebhookUrl))).toBe(true);
    expect(logLines.some((l) => l.includes('alert notification failed for good') && l.includes(redactedWebhookUrl))).toBe(true);
    expect(logLines.filter((l) => l.includes('hook-secret'))).toEqual([]);
  });
});
