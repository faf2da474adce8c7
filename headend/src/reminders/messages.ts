/**
 * Texts of the collection notifications, pure. Residents read Russian only (the alerts' RU+EN pair is
 * for staff and integrators), dates as DD.MM.YYYY; the staff digest is Russian too, with the ids an
 * engineer searches by. Webhook bodies are JSON with ISO dates for machines.
 */
import { RESOURCE_NAMES, type Resource } from '@amr/protocols';
import { ruDate, type DueMeter, type Reminder } from './rules.js';

export interface MailText { subject: string; text: string }

/** The Russian plural form for a count: (1, 21) one, (2–4, 22–24) few, (0, 5–20, 25…) many. */
export function ruPlural(n: number, one: string, few: string, many: string): string {
  const a = Math.abs(n) % 100;
  const b = a % 10;
  return a >= 11 && a <= 14 ? many : b === 1 ? one : b >= 2 && b <= 4 ? few : many;
}

/** 1 день, 2 дня, 5 дней, 11 дней, 21 день. */
export const ruDays = (n: number): string => `${n} ${ruPlural(n, 'день', 'дня', 'дней')}`;

const resourceRu = (r: string) => RESOURCE_NAMES[r as Resource]?.ru ?? r;
const meterLine = (m: DueMeter) => `— ${resourceRu(m.resource)}, счётчик № ${m.serialNumber}`;

export interface AccountFacts { accountNumber: string; address: string; premiseNumber: string; residentName: string | null }

/** The e-mail of one reminder to one resident. */
export function reminderMail(r: Reminder, a: AccountFacts): MailText {
  const hello = a.residentName ? `Здравствуйте, ${a.residentName}!` : 'Здравствуйте!';
  const where = `лицевой счёт № ${a.accountNumber}, ${a.address}, помещение ${a.premiseNumber}`;
  const footer = ['', 'Передать показания можно в личном кабинете жителя.', 'Это письмо отправлено автоматически, отвечать на него не нужно.'];
  if (r.kind === 'verification') {
    const when = r.daysLeft === 0 ? `истекает сегодня, ${ruDate(r.on)}` : `истекает ${ruDate(r.on)} (через ${ruDays(r.daysLeft)})`;
    return {
      subject: `Срок поверки счётчика № ${r.meter.serialNumber} истекает ${ruDate(r.on)}`,
      text: [
        hello, '',
        `Срок поверки прибора учёта (${where}) ${when}:`,
        meterLine(r.meter), '',
        r.acceptsExpired
          ? 'Закажите поверку или замену счётчика заранее, чтобы начисления шли по показаниям.'
          : 'После этой даты показания счётчика не принимаются, и начисления пойдут по среднему или по нормативу. Закажите поверку или замену счётчика заранее.',
        'Обращайтесь в вашу управляющую организацию.',
        'Это письмо отправлено автоматически, отвечать на него не нужно.',
      ].join('\n'),
    };
  }
  const period = `с ${ruDate(r.start)} по ${ruDate(r.end)}`;
  const list = r.pending.map(meterLine);
  const count = `Не переданы показания ${r.pending.length} из ${r.total} ${r.total === 1 ? 'счётчика' : 'счётчиков'}:`;
  if (r.kind === 'window_open') {
    return {
      subject: `Приём показаний счётчиков открыт до ${ruDate(r.end)}`,
      text: [hello, '', `Показания приборов учёта (${where}) принимаются ${period}.`, count, ...list, ...footer].join('\n'),
    };
  }
  const subject = r.daysLeft === 0
    ? `Сегодня последний день приёма показаний (${ruDate(r.end)})`
    : `До конца приёма показаний ${r.daysLeft === 1 ? 'остался' : 'осталось'} ${ruDays(r.daysLeft)} (до ${ruDate(r.end)})`;
  const when = r.daysLeft === 0 ? `сегодня, ${ruDate(r.end)}, последний день приёма показаний` : `приём показаний закрывается ${ruDate(r.end)}, через ${ruDays(r.daysLeft)}`;
  return { subject, text: [hello, '', `По вашему помещению (${where}) ${when} (период ${period}).`, count, ...list, ...footer].join('\n') };
}

export interface Submission {
  auditId: number; at: Date; buildingId: number; address: string; timezone: string;
  meterId: number; resource: string; serialNumber: string; premiseNumber: string | null; accounts: string[];
  value: number | null; readingTime: Date; version: number; submittedBy: string;
}

/** "23.11.2026 14:35" in the building's time zone. */
export function ruDateTime(at: Date, timeZone: string): string {
  const p = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const get = (t: string) => p.find((x) => x.type === t)?.value ?? '';
  return `${get('day')}.${get('month')}.${get('year')} ${get('hour')}:${get('minute')}`;
}

const submissionLine = (s: Submission) =>
  `— ${ruDateTime(s.at, s.timezone)}: пом. ${s.premiseNumber ?? '—'}${s.accounts.length ? `, ЛС ${s.accounts.join(', ')}` : ''}, ${resourceRu(s.resource)} № ${s.serialNumber}: ${s.value ?? '—'}${s.version > 1 ? ` (исправление, версия ${s.version})` : ''}`;

/** One staff user's digest: the submissions of every building in it, grouped by building. */
export function digestMail(subs: Submission[]): MailText {
  const byBuilding = new Map<number, Submission[]>();
  for (const s of subs) byBuilding.set(s.buildingId, [...(byBuilding.get(s.buildingId) ?? []), s]);
  const lines = ['Жители передали показания приборов учёта.', ''];
  for (const list of byBuilding.values()) {
    lines.push(`${list[0].address} (дом ${list[0].buildingId}) — ${list.length}:`, ...list.map(submissionLine), '');
  }
  lines.push('Показания — в журнале показаний (канал «житель»).');
  const where = byBuilding.size === 1 ? subs[0].address : `${byBuilding.size} ${ruPlural(byBuilding.size, 'дом', 'дома', 'домов')}`;
  return { subject: `[AMR] Показания от жителей: ${subs.length} — ${where}`, text: lines.join('\n') };
}

/** The staff webhook of one building: what was submitted, machine-readable. `id` is the idempotency key. */
export function digestWebhookBody(id: string, buildingId: number, subs: Submission[]): Record<string, unknown> {
  return {
    event: 'resident_submissions', id, building: { id: buildingId, address: subs[0]?.address ?? null },
    submissions: subs.map((s) => ({
      audit_id: s.auditId, submitted_at: s.at.toISOString(), submitted_by: s.submittedBy, meter_id: s.meterId, resource: s.resource,
      serial_number: s.serialNumber, premise: s.premiseNumber, accounts: s.accounts, value: s.value, reading_time: s.readingTime.toISOString(), version: s.version,
    })),
  };
}

export interface PlannedReminder { reminder: Reminder; account: AccountFacts; emails: string[] }

/** The residents' webhook of one building and day: every reminder due, for a push/SMS gateway. */
export function remindersWebhookBody(id: string, buildingId: number, date: string, items: PlannedReminder[]): Record<string, unknown> {
  return {
    event: 'resident_reminders', id, building: { id: buildingId }, date,
    reminders: items.map(({ reminder: r, account: a, emails }) => {
      const mail = reminderMail(r, a);
      return {
        kind: r.kind, key: r.key, account: a.accountNumber, premise: a.premiseNumber, emails, subject: mail.subject, text: mail.text,
        ...(r.kind === 'verification' ? { meter_id: r.meter.meterId, verification_on: r.on } : { window: { start: r.start, end: r.end }, pending_meter_ids: r.pending.map((m) => m.meterId) }),
      };
    }),
  };
}
