/**
 * Delivering one notification: a webhook POST or an e-mail. Each sender throws an Error naming what
 * went wrong (status code, timeout, SMTP reply) so the notify job can store it as last_error.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import { redactUrl } from '../util/redact-url.js';
import type { AlertConfig } from './types.js';
import type { ChannelTarget } from './store.js';
import type { AlertRow } from './store.js';
import { emailSubject, emailText, type NoticeEvent } from './messages.js';

/** Channels configured: webhook when ALERT_WEBHOOK_URL is set; e-mail when SMTP_URL and ALERT_EMAIL_TO both are. */
export function channelsOf(config: AlertConfig): ChannelTarget[] {
  const out: ChannelTarget[] = [];
  if (config.ALERT_WEBHOOK_URL) out.push({ channel: 'webhook', target: redactUrl(config.ALERT_WEBHOOK_URL) });
  const to = emailRecipients(config);
  if (config.SMTP_URL && to.length) out.push({ channel: 'email', target: to.join(', ') });
  return out;
}

export function emailRecipients(config: AlertConfig): string[] {
  return (config.ALERT_EMAIL_TO ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** The webhook body: `{ event, alert }`, the alert as the API shows it (ISO timestamps). */
export function webhookBody(event: NoticeEvent, a: AlertRow): { event: NoticeEvent; alert: Record<string, unknown> } {
  const ts = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    event,
    alert: { ...a, raised_at: ts(a.raised_at), cleared_at: ts(a.cleared_at), acknowledged_at: ts(a.acknowledged_at) },
  };
}

/**
 * POSTs the JSON body; a 2xx answer within `timeoutMs` is success. Credentials in the URL
 * (https://user:pass@host/…) are sent as HTTP Basic authorisation: fetch refuses URLs that carry them.
 */
export async function sendWebhook(url: string, body: unknown, timeoutMs: number): Promise<void> {
  const target = new URL(url);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'amr-headend-alerts' };
  if (target.username || target.password) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`).toString('base64')}`;
    target.username = '';
    target.password = '';
  }
  let res: Response;
  try {
    res = await fetch(target, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const e = err as Error;
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `${e.message}${(e.cause as Error | undefined)?.message ? ` (${(e.cause as Error).message})` : ''}`;
    throw new Error(`webhook ${redactUrl(url)}: ${why}`);
  }
  // Drain the body so the connection is released; its text helps when the receiver explains a refusal.
  const text = await res.text().catch(() => '');
  if (res.status < 200 || res.status > 299) throw new Error(`webhook ${redactUrl(url)}: HTTP ${res.status}${text ? ` ${text.slice(0, 200)}` : ''}`);
}

export interface Mailer {
  send(event: NoticeEvent, a: AlertRow): Promise<void>;
}

/** One nodemailer transport per head-end (reused across jobs); connections are opened per message. */
export function createMailer(config: AlertConfig): Mailer | null {
  const to = emailRecipients(config);
  if (!config.SMTP_URL || !to.length) return null;
  const smtpUrl = config.SMTP_URL;
  let transport: Transporter | null = null;
  return {
    async send(event, a) {
      transport ??= nodemailer.createTransport(smtpUrl);
      const notice = { id: a.id, kind: a.kind, subject: a.subject, severity: a.severity, message: a.message, raisedAt: a.raised_at, clearedAt: a.cleared_at };
      try {
        await transport.sendMail({
          from: config.SMTP_FROM, to, subject: emailSubject(event, notice), text: emailText(event, notice),
          // Plain ASCII headers so mail rules (and tests) can route on the alert without decoding the subject.
          headers: { 'X-AMR-Alert-Id': String(a.id), 'X-AMR-Alert-Event': event, 'X-AMR-Alert-Kind': a.kind, 'X-AMR-Alert-Subject': a.subject },
        });
      } catch (err) {
        throw new Error(`e-mail via ${redactUrl(smtpUrl)}: ${(err as Error).message}`);
      }
    },
  };
}
