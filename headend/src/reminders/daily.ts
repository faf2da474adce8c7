/**
 * Residents' reminders of a day: for every building with resident reminders on whose local time has
 * reached its reminder_hour, the reminders due today (rules.ts) are planned as one e-mail per resident
 * address of the account (residents.email of active accounts), plus one webhook call per building and
 * day listing them all (for a push/SMS gateway). Keys make a rerun the same day plan nothing new.
 *
 * Run hourly rather than once a day: each building is taken in its own time zone at its own hour, and
 * a run missed while Redis or the head-end was down is made up by the next one the same day.
 */
import type { Database, Queryable } from '../db/types.js';
import { fmt, localDate } from '../collection/rules.js';
import { effectiveSettings, periodFor } from '../collection/storage.js';
import { redactUrl } from '../util/redact-url.js';
import { remindersWebhookBody, reminderMail, type AccountFacts, type PlannedReminder } from './messages.js';
import { dueReminders, localHour, type MeterState } from './rules.js';
import { settingsOfBuildings } from './settings.js';
import { planNotification } from './store.js';

export interface RemindersResult { notificationIds: number[]; buildings: number; reminders: number }

interface MeterRow { id: number; resource: string; serial_number: string; next_verification_on: string | null; account_id: number }

export async function planReminders(db: Database, opts: { now: Date; mail: boolean; buildingIds?: number[] }): Promise<RemindersResult> {
  const { now } = opts;
  const { rows: buildings } = await db.query<{ id: number; address: string; timezone: string }>(
    `SELECT b.id::int AS id, b.address, b.timezone FROM buildings b
      WHERE ($1::bigint[] IS NULL OR b.id = ANY($1::bigint[]))
        AND EXISTS (SELECT 1 FROM meters m WHERE m.building_id = b.id AND m.premise_id IS NOT NULL AND m.status = 'active')
      ORDER BY b.id`, [opts.buildingIds ?? null]);
  const settings = await settingsOfBuildings(db, buildings.map((b) => b.id));
  const out: RemindersResult = { notificationIds: [], buildings: 0, reminders: 0 };
  for (const b of buildings) {
    const s = settings.get(b.id)!;
    if (!s.enabled || !s.resident_reminders || localHour(now, b.timezone) < s.reminder_hour) continue;
    if (!opts.mail && !s.webhook_url) continue;
    out.buildings++;
    // One transaction per building: a failure in one building does not hold back the others.
    await db.tx(async (q) => {
      const planned = await buildingReminders(q, b, now, s.verification_days_before);
      out.reminders += planned.length;
      const today = fmt(localDate(now, b.timezone));
      if (opts.mail) {
        for (const p of planned) {
          for (const [email, name] of p.residents) {
            const mail = reminderMail(p.reminder, { ...p.account, residentName: name });
            const id = await planNotification(q, {
              kind: p.reminder.kind, channel: 'email', buildingIds: [b.id], accountId: p.reminder.accountId,
              meterId: p.reminder.kind === 'verification' ? p.reminder.meter.meterId : null,
              recipient: email, subject: mail.subject, body: mail.text, dedupKey: `${p.reminder.key}:${email.toLowerCase()}`,
            }, now);
            if (id) out.notificationIds.push(id);
          }
        }
      }
      if (s.webhook_url && planned.length) {
        const key = `reminders:${b.id}:${today}`;
        const body = remindersWebhookBody(key, b.id, today, planned.map((p) => ({ reminder: p.reminder, account: p.account, emails: p.emails })));
        const id = await planNotification(q, {
          kind: 'reminders', channel: 'webhook', buildingIds: [b.id], recipient: redactUrl(s.webhook_url),
          subject: `resident_reminders: ${planned.length}`, body: JSON.stringify(body), dedupKey: key,
        }, now);
        if (id) out.notificationIds.push(id);
      }
    });
  }
  return out;
}

type Planned = PlannedReminder & { residents: [string, string][] };

/** The reminders due today in one building, with each account's facts and resident addresses. */
async function buildingReminders(q: Queryable, b: { id: number; address: string; timezone: string }, now: Date, verificationDaysBefore: number): Promise<Planned[]> {
  const { rows: meters } = await q.query<MeterRow>(
    `SELECT m.id::int AS id, m.resource, m.serial_number, to_char(m.next_verification_on, 'YYYY-MM-DD') AS next_verification_on, pa.id::int AS account_id
       FROM meters m JOIN personal_accounts pa ON pa.premise_id = m.premise_id AND pa.active
      WHERE m.building_id = $1 AND m.status = 'active' AND m.premise_id IS NOT NULL ORDER BY pa.id, m.id`, [b.id]);
  if (meters.length === 0) return [];
  const today = localDate(now, b.timezone);
  const byResource = new Map<string, Awaited<ReturnType<typeof effectiveSettings>>>();
  for (const r of new Set(meters.map((m) => m.resource))) byResource.set(r, await effectiveSettings(q, b.id, r));
  const periods = new Map([...byResource].map(([r, s]) => [r, periodFor(now, b.timezone, s).time]));
  const earliest = new Date(Math.min(...[...periods.values()].map((d) => d.getTime())));
  // The latest reading of each meter dated in or after the earliest period: "submitted this period".
  const latest = new Map((await q.query<{ meter_id: number; last: Date }>(
    `SELECT r.meter_id::int AS meter_id, max(r.time) AS last FROM readings r JOIN meters m ON m.id = r.meter_id
      WHERE r.meter_id = ANY($1::bigint[]) AND r.time >= $2 AND r.value IS NOT NULL
        AND r.quantity = CASE WHEN m.resource IN ('heat', 'electricity') THEN 'energy_kwh' ELSE 'volume_m3' END
      GROUP BY r.meter_id`, [[...new Set(meters.map((m) => m.id))], earliest])).rows.map((r) => [r.meter_id, new Date(r.last)]));
  const states: MeterState[] = meters.map((m) => ({
    meterId: m.id, accountId: m.account_id, resource: m.resource, serialNumber: m.serial_number, nextVerificationOn: m.next_verification_on,
    submitted: (latest.get(m.id)?.getTime() ?? -Infinity) >= periods.get(m.resource)!.getTime(),
    settings: byResource.get(m.resource)!,
  }));
  const reminders = dueReminders(today, states, verificationDaysBefore);
  if (reminders.length === 0) return [];
  const accountIds = [...new Set(reminders.map((r) => r.accountId))];
  const facts = new Map((await q.query<{ id: number; number: string; premise: string }>(
    `SELECT a.id::int AS id, a.number, p.number AS premise FROM personal_accounts a JOIN premises p ON p.id = a.premise_id WHERE a.id = ANY($1::bigint[])`,
    [accountIds])).rows.map((r) => [r.id, { accountNumber: r.number, premiseNumber: r.premise, address: b.address, residentName: null } satisfies AccountFacts]));
  const residents = new Map<number, [string, string][]>();
  for (const r of (await q.query<{ account_id: number; email: string; full_name: string }>(
    `SELECT account_id::int AS account_id, trim(email) AS email, full_name FROM residents
      WHERE account_id = ANY($1::bigint[]) AND nullif(trim(email), '') IS NOT NULL ORDER BY id`, [accountIds])).rows) {
    const list = residents.get(r.account_id) ?? [];
    // One message per address even when two residents of an account share it.
    if (!list.some(([e]) => e.toLowerCase() === r.email.toLowerCase())) list.push([r.email, r.full_name]);
    residents.set(r.account_id, list);
  }
  return reminders.map((reminder) => {
    const rs = residents.get(reminder.accountId) ?? [];
    return { reminder, account: facts.get(reminder.accountId)!, emails: rs.map(([e]) => e), residents: rs };
  });
}
