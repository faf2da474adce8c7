/**
 * Mailing a signed heat statement to the heat supplier: the addresses given at sign-off, the statement
 * as it stands now (PDF and Excel attached; it says who signed it and whether its records changed
 * since), over the head-end's SMTP_URL (the nodemailer-from-SMTP_URL pattern of reminders/send.ts and
 * exchange/report-mail.ts). Each sign-off is mailed once: sent_at is set after the SMTP server took the
 * message; a failure is recorded and retried by the next run, up to `maxAttempts`. Each attempt is
 * claimed first (store.ts claimSend), so overlapping runs never mail one sign-off twice.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { Database } from '../db/types.js';
import { redactUrl } from '../util/redact-url.js';
import { wallClock, type Clock } from '../util/clock.js';
import { replacesText, statementPdf, statementXlsx, TITLE } from './documents.js';
import { heatStatement } from './service.js';
import { claimSend, pendingSends, recordSend } from './store.js';

export interface Attachment { filename: string; content: Buffer; contentType: string }
export interface StatementMailer { send(to: string[], subject: string, text: string, attachments: Attachment[], headers: Record<string, string>): Promise<void> }

/** null when SMTP_URL is not set: signed statements then wait unsent (and say so in their sign-off). */
export function createStatementMailer(config: { SMTP_URL?: string; SMTP_FROM?: string }): StatementMailer | null {
  if (!config.SMTP_URL) return null;
  const smtpUrl = config.SMTP_URL;
  let transport: Transporter | null = null;
  return {
    async send(to, subject, text, attachments, headers) {
      transport ??= nodemailer.createTransport(smtpUrl);
      try {
        await transport.sendMail({ from: config.SMTP_FROM, to, subject, text, attachments, headers });
      } catch (err) {
        throw new Error(`e-mail via ${redactUrl(smtpUrl)}: ${(err as Error).message}`);
      }
    },
  };
}

export const DEFAULT_SEND_ATTEMPTS = 5;

/** Mails every signed statement waiting for it; returns what was sent and what failed (recorded on the sign-off). */
export async function sendSignedStatements(db: Database, mailer: StatementMailer | null, opts: { maxAttempts?: number; clock?: Clock } = {}): Promise<{ sent: number; failed: number }> {
  const out = { sent: 0, failed: 0 };
  if (!mailer) return out;
  for (const p of await pendingSends(db, opts.maxAttempts ?? DEFAULT_SEND_ATTEMPTS)) {
    // Another run took this attempt: it mails it, not this one.
    if (!(await claimSend(db, p))) continue;
    try {
      const s = await heatStatement(db, p.buildingId, p.period, p.meterId);
      // Signed again since the listing: the newer version is the next run's to mail.
      if (s.signOff?.version !== p.version) throw new Error(`version ${p.version} was replaced by version ${s.signOff?.version ?? '?'} meanwhile; the next run mails that one`);
      const name = `heat-statement-${p.buildingId}-${p.period}`;
      const text = [
        `${TITLE} за ${p.period}`,
        `Адрес объекта: ${s.building.address}`,
        `Прибор учёта: ${[s.meter.make, s.meter.model].filter(Boolean).join(' ')}, зав. № ${s.meter.serial}`,
        `Подписана: ${s.signOff?.by ?? ''}, ${s.signOff?.at ?? ''}`,
        ...(replacesText(s) ? [`Это ${replacesText(s)}.`] : []),
        '',
        'Ведомость во вложении (PDF и Excel).',
      ].join('\n');
      await mailer.send(p.emailTo.split(/,\s*/), `${TITLE}: ${s.building.address}, ${p.period}${s.signOff && s.signOff.version > 1 ? ` (исправленная, версия ${s.signOff.version})` : ''}`, text, [
        { filename: `${name}.pdf`, content: await statementPdf(s), contentType: 'application/pdf' },
        { filename: `${name}.xlsx`, content: await statementXlsx(s), contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' },
      ], { 'X-AMR-Heat-Statement': `${p.buildingId}:${p.period}` });
      await recordSend(db, p, { sentAt: (opts.clock ?? wallClock)() });
      out.sent++;
    } catch (err) {
      await recordSend(db, p, { error: (err as Error).message });
      out.failed++;
    }
  }
  return out;
}
