/**
 * Delivering one planned notification row. The webhook POST is the alerts' own sender (imported); the
 * alerts' mailer is bound to alert rows and ALERT_EMAIL_TO, so e-mail goes through this thin adapter
 * over the same nodemailer-from-SMTP_URL pattern (see README: the shared sender it should become).
 * The webhook URL is read from the building's settings at send time, so a URL changed or removed
 * after planning is honoured and the log never stores its password.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { Queryable } from '../db/types.js';
import { sendWebhook } from '../alerts/notify.js';
import { redactUrl } from '../util/redact-url.js';
import { settingsOfBuildings } from './settings.js';
import type { NotificationRow } from './store.js';

export interface MailConfig { SMTP_URL?: string; SMTP_FROM?: string }

export interface Mailer { send(to: string, subject: string, text: string, headers: Record<string, string>): Promise<void> }

/** null when SMTP_URL is not set: no e-mails are planned then. The transport is created on first use. */
export function createMailer(config: MailConfig): Mailer | null {
  if (!config.SMTP_URL) return null;
  const smtpUrl = config.SMTP_URL;
  let transport: Transporter | null = null;
  return {
    async send(to, subject, text, headers) {
      transport ??= nodemailer.createTransport(smtpUrl);
      try {
        await transport.sendMail({ from: config.SMTP_FROM, to, subject, text, headers });
      } catch (err) {
        throw new Error(`e-mail via ${redactUrl(smtpUrl)}: ${(err as Error).message}`);
      }
    },
  };
}

/** Sends the row's message; throws an Error naming what went wrong. */
export async function deliver(q: Queryable, n: NotificationRow, mailer: Mailer | null, webhookTimeoutMs: number): Promise<void> {
  if (n.channel === 'email') {
    if (!mailer) throw new Error('SMTP_URL is no longer set');
    // Plain ASCII headers so mail rules (and tests) can route without decoding the subject.
    await mailer.send(n.recipient, n.subject, n.body, { 'X-AMR-Notification-Kind': n.kind, 'X-AMR-Notification-Key': n.dedup_key });
    return;
  }
  const building = n.building_ids[0];
  const url = building === undefined ? null : (await settingsOfBuildings(q, [building])).get(building)?.webhook_url ?? null;
  if (!url) throw new Error(`no webhook URL is set for building ${building} any more`);
  await sendWebhook(url, JSON.parse(n.body), webhookTimeoutMs);
}
