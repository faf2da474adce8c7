/**
 * Mailing a signed heat statement to the heat supplier: the addresses given at sign-off, the statement
 * as it stands now (PDF and Excel attached; it says who signed it and whether its records changed
 * since), over the head-end's SMTP_URL (the nodemailer-from-SMTP_URL pattern of reminders/send.ts and
 * exchange/report-mail.ts). Each sign-off is mailed once: sent_at is set after the SMTP server took the
 * message; a failure is recorded and retried by the next run, up to `maxAttempts`. Each attempt is
 * claimed first (store.ts claimSend), so overlapping runs never mail one sign-off twice.
 *
 * "Send again" (sendMailAgain): once the cause is fixed (the SMTP server, its password, the supplier's
 * mailbox), an engineer starts a fresh series of `maxAttempts` attempts for the current signed version,
 * audited with who, when and why; the next run of heat.statements.send mails it. The mail's failure
 * raises no alert (unlike an exchange delivery's): the statement's signed_off says it (send_error,
 * attempts of the maximum), so there is no alert to clear either.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { Database, Queryable } from '../db/types.js';
import { audit, type Actor } from '../audit/index.js';
import { redactUrl } from '../util/redact-url.js';
import { wallClock, type Clock } from '../util/clock.js';
import { replacesText, statementPdf, statementXlsx, TITLE } from './documents.js';
import { refuseSendAgain } from './delivery.js';
import { HeatError, heatStatement } from './service.js';
import { claimSend, loadSignOff, pendingSends, recordSend, restartSend } from './store.js';

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

/**
 * Starts a fresh series of mail attempts for the current signed version of a building's month whose
 * attempts are used up, audited (`resend` of the heat_statement_mail, who, when, why, with the attempts
 * and the last error the series before ended with). The rules are the exchange delivery's
 * (delivery.ts refuseSendAgain): not signed, or signed without addresses (404: there is no mail);
 * mailed already, attempts left, or a run mailing it now (409). The caller has checked the building is
 * the user's.
 */
export async function sendMailAgain(
  q: Queryable, buildingId: number, period: string, by: Actor, at: Date, reason: string,
  opts: { maxAttempts?: number; requestId?: string } = {},
): Promise<{ version: number; series: number; meterId: number }> {
  const maxAttempts = opts.maxAttempts ?? DEFAULT_SEND_ATTEMPTS;
  const s = await loadSignOff(q, buildingId, period);
  if (!s) throw new HeatError('not_found', `the heat statement of ${period} is not signed off: there is no mail to send again`);
  const version = s.version;
  if (!s.emailTo) throw new HeatError('not_found', `the heat statement of ${period} (version ${version}) was signed without e-mail addresses: there is no mail to send again`);
  refuseSendAgain({ done: s.sentAt, claimed: s.sending, attempts: s.sendAttempts, maxAttempts }, {
    done: (when) => `version ${version} of ${period} was mailed to ${s.emailTo} at ${when}: nothing to send again`,
    claimed: `a run of heat.statements.send is mailing version ${version} of ${period} now; wait for its outcome`,
    left: `the mail of version ${version} of ${period} has attempts left (${s.sendAttempts} of ${maxAttempts}): the next run of heat.statements.send tries it again`,
  });
  const series = await restartSend(q, { buildingId, period, version, maxAttempts, by: by.name, at, reason });
  if (series === null) throw new HeatError('conflict', `the mail of version ${version} of ${period} changed meanwhile (mailed, tried or signed again); reload it`);
  await audit(q, by, {
    action: 'resend', entity: 'heat_statement_mail', entityId: `${buildingId}:${period}:v${version}`, buildingId,
    before: { series: s.sendSeries, attempts: s.sendAttempts, error: s.sendError, emailTo: s.emailTo }, after: { series, attempts: 0 }, reason, requestId: opts.requestId,
  });
  return { version, series, meterId: s.meterId };
}
