/**
 * The staff digest of residents' submissions. Reads the audit rows of resident submissions (action
 * 'submit', entity 'reading') after the cursor, and per building either notifies (one e-mail per staff
 * user covering all their buildings in this run, one webhook call per building), holds them (the
 * building had a digest less than digest_minutes ago) or skips them (notifications off, nobody to tell).
 * All of it — items, log rows, cursor — commits in one transaction under an advisory lock, so two runs
 * (schedule and "run now", two head-ends) cannot both take the same submission.
 *
 * Who is told: active staff users with an e-mail, granted the building, whose role has
 * 'notifications:receive' (admin, engineer, operator — the people who check and correct readings). Admins are
 * told only of buildings explicitly granted to them: seeing every building is not asking to be mailed
 * about every building. Residents never are (their role lacks the permission).
 */
import type { Queryable, Database } from '../db/types.js';
import { can, Role } from '../auth/roles.js';
import { redactUrl } from '../util/redact-url.js';
import { digestMail, digestWebhookBody, type Submission } from './messages.js';
import { settingsOfBuildings } from './settings.js';
import { planNotification } from './store.js';

const LOCK_KEY = 7_316_021;
/** How far the cursor stays behind: longer than any transaction that writes a submission. */
export const CURSOR_LAG_MS = 60 * 60_000;
const BATCH = 5000;

/** Roles told of submissions. A dedicated permission would be cleaner (see the module README). */
export const DIGEST_ROLES = Role.options.filter((r) => r !== 'resident' && can(r, 'notifications:receive'));

export interface DigestResult { notificationIds: number[]; notified: number; skipped: number; held: number; cursor: number }

interface Row {
  audit_id: number; at: Date; actor_name: string; after: { value?: number | null; version?: number; time?: string } | null; done: boolean;
  building_id: number; meter_id: number; resource: string; serial_number: string; premise_number: string | null;
  address: string; timezone: string; accounts: string[];
}

export async function planDigest(db: Database, opts: { now: Date; mail: boolean }): Promise<DigestResult> {
  const { now } = opts;
  return db.tx(async (q) => {
    await q.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    const cursor = Number((await q.query<{ position: string }>(`SELECT position FROM notification_cursors WHERE name = 'submissions'`)).rows[0]?.position ?? 0);
    const { rows } = await q.query<Row>(
      `SELECT a.id::int AS audit_id, a.at, a.actor_name, a.after, (i.audit_id IS NOT NULL) AS done,
              m.building_id::int AS building_id, m.id::int AS meter_id, m.resource, m.serial_number, pr.number AS premise_number, b.address, b.timezone,
              ARRAY(SELECT pa.number FROM personal_accounts pa WHERE pa.premise_id = m.premise_id AND pa.active ORDER BY pa.number) AS accounts
         FROM audit_log a
         JOIN meters m ON m.id = split_part(a.entity_id, '/', 1)::bigint
         JOIN buildings b ON b.id = m.building_id
         LEFT JOIN premises pr ON pr.id = m.premise_id
         LEFT JOIN notification_digest_items i ON i.audit_id = a.id
        WHERE a.id > $1 AND a.action = 'submit' AND a.entity = 'reading' AND a.entity_id ~ '^[0-9]+/'
        ORDER BY a.id LIMIT ${BATCH}`, [cursor]);
    const fresh = rows.filter((r) => !r.done);
    const byBuilding = new Map<number, Row[]>();
    for (const r of fresh) byBuilding.set(r.building_id, [...(byBuilding.get(r.building_id) ?? []), r]);
    const buildings = [...byBuilding.keys()];
    const settings = await settingsOfBuildings(q, buildings);
    const last = new Map((await q.query<{ building_id: number; last: Date }>(
      `SELECT building_id::int AS building_id, max(created_at) AS last FROM notification_digest_items
        WHERE status = 'notified' AND building_id = ANY($1::bigint[]) GROUP BY building_id`, [buildings])).rows.map((r) => [r.building_id, new Date(r.last)]));
    const staff = opts.mail ? await staffOf(q, buildings) : new Map<number, { id: number; email: string }[]>();

    const skipped: { r: Row; note: string }[] = [];
    const ready: number[] = [];
    const held = new Set<number>();
    for (const b of buildings) {
      const s = settings.get(b)!;
      const list = byBuilding.get(b)!;
      const since = last.get(b);
      if (!s.enabled || !s.staff_digest) skipped.push(...list.map((r) => ({ r, note: 'staff notifications are off' })));
      else if (since && now.getTime() - since.getTime() < s.digest_minutes * 60_000) list.forEach((r) => held.add(r.audit_id));
      else if (!s.webhook_url && !(staff.get(b)?.length)) skipped.push(...list.map((r) => ({ r, note: opts.mail ? 'no staff with an e-mail and no webhook' : 'no SMTP_URL and no webhook' })));
      else ready.push(b);
    }

    const ids: number[] = [];
    let notified = 0;
    if (ready.length) {
      notified = ready.reduce((n, b) => n + byBuilding.get(b)!.length, 0);
      const digestId = Number((await q.query<{ id: string }>('INSERT INTO notification_digests (created_at, submissions) VALUES ($1, $2) RETURNING id', [now, notified])).rows[0].id);
      for (const b of ready) {
        for (const r of byBuilding.get(b)!) {
          await q.query(`INSERT INTO notification_digest_items (audit_id, building_id, digest_id, status, created_at) VALUES ($1,$2,$3,'notified',$4)`, [r.audit_id, b, digestId, now]);
        }
      }
      // One e-mail per user, over all the ready buildings granted to them.
      const perUser = new Map<number, { email: string; buildings: number[] }>();
      for (const b of ready) {
        for (const u of staff.get(b) ?? []) {
          const e = perUser.get(u.id) ?? { email: u.email, buildings: [] };
          e.buildings.push(b);
          perUser.set(u.id, e);
        }
      }
      for (const [userId, u] of perUser) {
        const subs = u.buildings.flatMap((b) => byBuilding.get(b)!.map(toSubmission));
        const mail = digestMail(subs);
        const id = await planNotification(q, {
          kind: 'submissions', channel: 'email', buildingIds: u.buildings, userId, recipient: u.email,
          subject: mail.subject, body: mail.text, dedupKey: `submissions:${digestId}:user:${userId}`,
        }, now);
        if (id) ids.push(id);
      }
      for (const b of ready) {
        const url = settings.get(b)!.webhook_url;
        if (!url) continue;
        const key = `submissions:${digestId}:building:${b}`;
        const subs = byBuilding.get(b)!.map(toSubmission);
        const id = await planNotification(q, {
          kind: 'submissions', channel: 'webhook', buildingIds: [b], recipient: redactUrl(url),
          subject: `resident_submissions: ${subs.length}`, body: JSON.stringify(digestWebhookBody(key, b, subs)), dedupKey: key,
        }, now);
        if (id) ids.push(id);
      }
    }
    for (const { r, note } of skipped) {
      await q.query(`INSERT INTO notification_digest_items (audit_id, building_id, status, note, created_at) VALUES ($1,$2,'skipped',$3,$4)`, [r.audit_id, r.building_id, note, now]);
    }

    // The cursor passes every settled row (handled now or before) up to the first held one, and never
    // past rows younger than the lag (a lower id may still commit).
    let position = cursor;
    const settledBefore = now.getTime() - CURSOR_LAG_MS;
    for (const r of rows) {
      if (held.has(r.audit_id) || new Date(r.at).getTime() >= settledBefore) break;
      position = r.audit_id;
    }
    if (position !== cursor) await q.query(`UPDATE notification_cursors SET position = $1, updated_at = $2 WHERE name = 'submissions'`, [position, now]);
    return { notificationIds: ids, notified, skipped: skipped.length, held: held.size, cursor: position };
  });
}

function toSubmission(r: Row): Submission {
  const a = r.after ?? {};
  return {
    auditId: r.audit_id, at: new Date(r.at), buildingId: r.building_id, address: r.address, timezone: r.timezone, meterId: r.meter_id,
    resource: r.resource, serialNumber: r.serial_number, premiseNumber: r.premise_number, accounts: r.accounts ?? [],
    value: a.value == null ? null : Number(a.value), readingTime: new Date(a.time ?? r.at), version: Number(a.version ?? 1), submittedBy: r.actor_name,
  };
}

/** Staff to tell, per building: see the head comment. */
async function staffOf(q: Queryable, buildings: number[]): Promise<Map<number, { id: number; email: string }[]>> {
  const { rows } = await q.query<{ id: number; email: string; building_id: number }>(
    `SELECT u.id::int AS id, trim(u.email) AS email, g.building_id::int AS building_id
       FROM users u JOIN user_building_grants g ON g.user_id = u.id
      WHERE u.active AND nullif(trim(u.email), '') IS NOT NULL AND u.role = ANY($1::text[]) AND g.building_id = ANY($2::bigint[])
      ORDER BY u.id`, [DIGEST_ROLES, buildings]);
  const out = new Map<number, { id: number; email: string }[]>();
  for (const r of rows) out.set(r.building_id, [...(out.get(r.building_id) ?? []), { id: r.id, email: r.email }]);
  return out;
}
