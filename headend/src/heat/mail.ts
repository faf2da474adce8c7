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
 * audited with who, when and why — with corrected addresses when the supplier's were mistyped (they
 * replace the sign-off's for this and later attempts); the next run of heat.statements.send mails it.
 *
 * The attempt that uses up the last of `maxAttempts` raises a `heat_mail_failed` alert for the building
 * (one per building and month, as an exchange delivery's `heat_delivery_failed`): nothing retries the
 * mail after that, so without it the failure would sit unseen on the sign-off. Every run first clears
 * the alerts whose cause is gone (store.ts settledMailAlerts: the month signed again, or its mail sent),
 * and a mail that goes out clears its month's at once.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { Database, Queryable } from '../db/types.js';
import { audit, type Actor } from '../audit/index.js';
import { clearAlert, heatMailFailedMessage, heatMailSubject, joinMessage, raiseAlert, severityOf, type ChannelTarget } from '../alerts/index.js';
import { redactUrl } from '../util/redact-url.js';
import { wallClock, type Clock } from '../util/clock.js';
import { replacesText, statementPdf, statementXlsx, TITLE } from './documents.js';
import { refuseSendAgain } from './delivery.js';
import { HeatError, heatStatement, parseRecipients } from './service.js';
import { claimSend, loadSignOff, pendingSends, recordSend, restartSend, settledMailAlerts, type PendingSend } from './store.js';

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

export interface SendRun {
  sent: number; failed: number;
  /** Alert notification rows written by this run (raised or cleared), for the caller to enqueue after it. */
  notificationIds: number[];
}

/**
 * Mails every signed statement waiting for it; returns what was sent and what failed (recorded on the
 * sign-off), and the notification rows of the `heat_mail_failed` alerts it raised or cleared.
 */
export async function sendSignedStatements(
  db: Database, mailer: StatementMailer | null, opts: { maxAttempts?: number; clock?: Clock; alertChannels?: readonly ChannelTarget[] } = {},
): Promise<SendRun> {
  const maxAttempts = opts.maxAttempts ?? DEFAULT_SEND_ATTEMPTS;
  const now = () => (opts.clock ?? wallClock)();
  const channels = opts.alertChannels ?? [];
  const out: SendRun = { sent: 0, failed: 0, notificationIds: [] };
  // Before any mail: a month signed again since its alert has a new version due, whatever its mail does next.
  for (const a of await settledMailAlerts(db)) {
    const cleared = await clearAlert(db, 'heat_mail_failed', a.subject, now(), a.reason, channels);
    out.notificationIds.push(...(cleared?.notificationIds ?? []));
  }
  if (!mailer) return out;
  for (const p of await pendingSends(db, maxAttempts)) {
    // Another run took this attempt: it mails it, not this one.
    const attempt = await claimSend(db, p);
    if (attempt === null) continue;
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
      const sentAt = now();
      await recordSend(db, p, { sentAt });
      const cleared = await clearAlert(db, 'heat_mail_failed', heatMailSubject(p.buildingId, p.period), sentAt, `version ${p.version} mailed to ${p.emailTo}`, channels);
      out.notificationIds.push(...(cleared?.notificationIds ?? []));
      out.sent++;
    } catch (err) {
      const error = (err as Error).message;
      await recordSend(db, p, { error });
      out.failed++;
      if (attempt >= maxAttempts) out.notificationIds.push(...await raiseMailAlert(db, p, { attempts: attempt, error, at: now(), channels }));
    }
  }
  return out;
}

/** The alert of a mail whose last allowed attempt failed: building, month, version, addresses and error. Its notification rows. */
async function raiseMailAlert(db: Database, p: PendingSend, f: { attempts: number; error: string; at: Date; channels: readonly ChannelTarget[] }): Promise<number[]> {
  const address = (await db.query<{ address: string }>('SELECT address FROM buildings WHERE id = $1', [p.buildingId])).rows[0]?.address ?? null;
  const error = f.error.slice(0, 500);
  const message = heatMailFailedMessage({ buildingId: p.buildingId, address, period: p.period, version: p.version, emailTo: p.emailTo, attempts: f.attempts, error });
  const raised = await raiseAlert(db, {
    kind: 'heat_mail_failed', subject: heatMailSubject(p.buildingId, p.period), buildingId: p.buildingId, meterId: p.meterId, resource: 'heat',
    severity: severityOf('heat_mail_failed'), message: joinMessage(message),
    data: { month: p.period, version: p.version, email_to: p.emailTo, attempts: f.attempts, error },
  }, f.at, f.channels);
  return raised.notificationIds;
}

/**
 * Starts a fresh series of mail attempts for the current signed version of a building's month whose
 * attempts are used up, audited (`resend` of the heat_statement_mail, who, when, why, with the attempts,
 * the last error and the addresses the series before ended with, and the addresses of the new one).
 * `emailTo`, when given, replaces the sign-off's addresses for this and later attempts (a mistyped
 * supplier's address), checked as at sign-off (service.ts parseRecipients: 400 naming email_to, before
 * anything is read or written). The rules are the exchange delivery's (delivery.ts refuseSendAgain): not
 * signed, or signed without addresses (404: there is no mail); mailed already, attempts left, or a run
 * mailing it now (409). The alert stays open until the mail goes out. The caller has checked the
 * building is the user's.
 */
export async function sendMailAgain(
  q: Queryable, buildingId: number, period: string, by: Actor, at: Date, reason: string,
  opts: { maxAttempts?: number; requestId?: string; emailTo?: string } = {},
): Promise<{ version: number; series: number; meterId: number }> {
  const maxAttempts = opts.maxAttempts ?? DEFAULT_SEND_ATTEMPTS;
  const corrected = opts.emailTo === undefined ? null : parseRecipients(opts.emailTo).join(', ');
  const s = await loadSignOff(q, buildingId, period);
  if (!s) throw new HeatError('not_found', `the heat statement of ${period} is not signed off: there is no mail to send again`);
  const version = s.version;
  if (!s.emailTo) throw new HeatError('not_found', `the heat statement of ${period} (version ${version}) was signed without e-mail addresses: there is no mail to send again`);
  refuseSendAgain({ done: s.sentAt, claimed: s.sending, attempts: s.sendAttempts, maxAttempts }, {
    done: (when) => `version ${version} of ${period} was mailed to ${s.emailTo} at ${when}: nothing to send again`,
    claimed: `a run of heat.statements.send is mailing version ${version} of ${period} now; wait for its outcome`,
    left: `the mail of version ${version} of ${period} has attempts left (${s.sendAttempts} of ${maxAttempts}): the next run of heat.statements.send tries it again`,
  });
  const series = await restartSend(q, { buildingId, period, version, maxAttempts, by: by.name, at, reason, emailTo: corrected });
  if (series === null) throw new HeatError('conflict', `the mail of version ${version} of ${period} changed meanwhile (mailed, tried or signed again); reload it`);
  await audit(q, by, {
    action: 'resend', entity: 'heat_statement_mail', entityId: `${buildingId}:${period}:v${version}`, buildingId,
    before: { series: s.sendSeries, attempts: s.sendAttempts, error: s.sendError, emailTo: s.emailTo },
    after: { series, attempts: 0, emailTo: corrected ?? s.emailTo }, reason, requestId: opts.requestId,
  });
  return { version, series, meterId: s.meterId };
}
