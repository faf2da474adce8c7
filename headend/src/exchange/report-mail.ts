/**
 * The optional e-mail report of an exchange run to the config's `email_to` (comma-separated), over
 * the head-end's SMTP_URL — the same nodemailer transport pattern as the alert e-mails.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import { redactUrl } from '../util/redact-url.js';
import type { ExchangeConfig, ExchangeRun } from './run.js';
import { describeLocation } from './transports/index.js';

export interface ExchangeMailer { send(c: ExchangeConfig, run: ExchangeRun): Promise<void> }

export function recipients(emailTo: string | null): string[] {
  return (emailTo ?? '').split(/[,;\s]+/).map((s) => s.trim()).filter(Boolean);
}

export function reportSubject(c: ExchangeConfig, run: ExchangeRun): string {
  return `[AMR] exchange ${c.direction} #${c.id}: ${run.status}`;
}

export function reportText(c: ExchangeConfig, run: ExchangeRun): string {
  return [
    `Exchange config #${c.id} (${c.direction}, organisation ${c.org_id}${c.building_id ? `, building ${c.building_id}` : ''}), folder ${describeLocation(c)}`,
    `Run #${run.id}: ${run.status}`,
    `Started:  ${new Date(run.started_at).toISOString()}`,
    `Finished: ${run.finished_at ? new Date(run.finished_at).toISOString() : '-'}`,
    `Counts:   ${Object.entries(run.counts).map(([k, v]) => `${k}=${v}`).join(', ') || '-'}`,
    '',
    run.message ?? '',
  ].join('\n');
}

/** null when SMTP_URL is not set: reports are then skipped. */
export function createExchangeMailer(config: { SMTP_URL?: string; SMTP_FROM?: string }): ExchangeMailer | null {
  if (!config.SMTP_URL) return null;
  const smtpUrl = config.SMTP_URL;
  let transport: Transporter | null = null;
  return {
    async send(c, run) {
      const to = recipients(c.email_to);
      if (!to.length) return;
      transport ??= nodemailer.createTransport(smtpUrl);
      try {
        await transport.sendMail({
          from: config.SMTP_FROM, to, subject: reportSubject(c, run), text: reportText(c, run),
          headers: { 'X-AMR-Exchange-Config': String(c.id), 'X-AMR-Exchange-Run': String(run.id), 'X-AMR-Exchange-Status': run.status },
        });
      } catch (err) {
        throw new Error(`e-mail via ${redactUrl(smtpUrl)}: ${(err as Error).message}`);
      }
    },
  };
}
