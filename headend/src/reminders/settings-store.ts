/**
 * Notification settings rows and the notification log as the API shows them: scoped to the caller
 * here, webhook URLs always redacted on the way out (the stored URL may carry a password).
 */
import type { Principal } from '../auth/index.js';
import { audit, type Actor } from '../audit/index.js';
import type { Database, Queryable } from '../db/types.js';
import { HttpError } from '../http/errors.js';
import { NOTIFICATION_COLUMNS, NotificationSettings, redactWebhook } from './settings.js';
import type { NotificationChannel, NotificationKind } from './store.js';

export interface SettingsRow extends NotificationSettings {
  id: number; org_id: number | null; building_id: number | null; updated_at: Date;
}
type DbSettingsRow = Omit<SettingsRow, 'id' | 'org_id' | 'building_id'> & { id: string | number; org_id: string | number | null; building_id: string | number | null };

const num = (v: string | number | null) => (v === null ? null : Number(v));
const fromDb = (r: DbSettingsRow): SettingsRow => ({ ...r, id: Number(r.id), org_id: num(r.org_id), building_id: num(r.building_id) });
/** What is shown and audited: the webhook's password hidden. */
const shown = (r: SettingsRow): SettingsRow => ({ ...r, webhook_url: redactWebhook(r.webhook_url) });

const ROW_COLUMNS = `id, org_id, building_id, ${NOTIFICATION_COLUMNS}, updated_at`;

/**
 * The defaults row, the organisations' rows of the caller's buildings and the rows of those buildings
 * (only `buildingId`'s when given), least specific first.
 */
export async function listSettings(q: Queryable, p: Principal, buildingId: number | null): Promise<SettingsRow[]> {
  const params: unknown[] = [buildingId];
  const scope = p.buildingIds === null ? 'TRUE' : (params.push([...p.buildingIds]), 'building_id = ANY($2::bigint[])');
  // An organisation's row is shown to those who see one of its buildings.
  const orgScope = p.buildingIds === null ? 'TRUE' : 'org_id IN (SELECT org_id FROM buildings WHERE id = ANY($2::bigint[]))';
  const { rows } = await q.query<DbSettingsRow>(
    `SELECT ${ROW_COLUMNS} FROM notification_settings
      WHERE (building_id IS NULL AND (org_id IS NULL OR ${orgScope})) OR (($1::bigint IS NULL OR building_id = $1) AND ${scope})
      ORDER BY building_id NULLS FIRST, org_id NULLS FIRST`, params);
  return rows.map((r) => shown(fromDb(r)));
}

export interface SettingsInput extends NotificationSettings { org_id: number | null; building_id: number | null }

/**
 * Creates or updates the row of a building, an organisation or the defaults (both null), audited.
 * The hidden form of the stored webhook URL, sent back unchanged, keeps the stored URL.
 */
export async function saveSettings(db: Database, actor: Actor, s: SettingsInput, requestId: string | null): Promise<SettingsRow> {
  return db.tx(async (q) => {
    const old = (await q.query<DbSettingsRow>(
      `SELECT ${ROW_COLUMNS} FROM notification_settings
        WHERE coalesce(org_id, 0) = coalesce($1::bigint, 0) AND coalesce(building_id, 0) = coalesce($2::bigint, 0) FOR UPDATE`, [s.org_id, s.building_id])).rows[0];
    const before = old ? fromDb(old) : null;
    let url = s.webhook_url === '' ? null : s.webhook_url;
    if (url !== null && before?.webhook_url && url === redactWebhook(before.webhook_url)) url = before.webhook_url;
    if (url !== null && !NotificationSettings.shape.webhook_url.safeParse(url).success) {
      throw new HttpError(400, 'bad_request', `webhook_url: not an http(s) URL: ${redactWebhook(url)}`, [{ path: 'body.webhook_url', message: 'an http:// or https:// URL' }]);
    }
    const vals = [s.enabled, s.staff_digest, s.resident_reminders, s.verification_days_before, s.reminder_hour, s.digest_minutes, url];
    const { rows } = before
      ? await q.query<DbSettingsRow>(`UPDATE notification_settings SET (${NOTIFICATION_COLUMNS}, updated_at) = ($2,$3,$4,$5,$6,$7,$8, now()) WHERE id = $1
                        RETURNING ${ROW_COLUMNS}`, [before.id, ...vals])
      : await q.query<DbSettingsRow>(`INSERT INTO notification_settings (org_id, building_id, ${NOTIFICATION_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
                        RETURNING ${ROW_COLUMNS}`, [s.org_id, s.building_id, ...vals]);
    const after = shown(fromDb(rows[0]));
    await audit(q, actor, {
      action: before ? 'update' : 'create', entity: 'notification_settings', entityId: after.id, buildingId: s.building_id,
      before: before ? shown(before) : undefined, after, requestId,
    });
    return after;
  });
}

export interface LogFilter {
  buildingId?: number; accountId?: number; kind?: NotificationKind; channel?: NotificationChannel; status?: 'pending' | 'sent' | 'failed';
  recipient?: string; from?: string; to?: string; limit: number;
}
export interface LogRow {
  id: number; kind: NotificationKind; channel: NotificationChannel; building_ids: number[]; account_id: number | null; user_id: number | null;
  meter_id: number | null; recipient: string; subject: string; body: string; dedup_key: string; status: 'pending' | 'sent' | 'failed';
  attempts: number; last_error: string | null; created_at: Date; sent_at: Date | null;
}

/** The notification log, newest first. A row is visible when every building it speaks of is (a digest may cover several). */
export async function listNotificationLog(q: Queryable, p: Principal, f: LogFilter): Promise<LogRow[]> {
  const params: unknown[] = [];
  const where: string[] = [];
  const add = (sql: (i: number) => string, v: unknown) => { params.push(v); where.push(sql(params.length)); };
  if (p.buildingIds !== null) add((i) => `building_ids <@ $${i}::bigint[] AND cardinality(building_ids) > 0`, [...p.buildingIds]);
  if (f.buildingId !== undefined) add((i) => `$${i}::bigint = ANY(building_ids)`, f.buildingId);
  if (f.accountId !== undefined) add((i) => `account_id = $${i}`, f.accountId);
  if (f.kind) add((i) => `kind = $${i}`, f.kind);
  if (f.channel) add((i) => `channel = $${i}`, f.channel);
  if (f.status) add((i) => `status = $${i}`, f.status);
  if (f.recipient) add((i) => `lower(recipient) = lower($${i})`, f.recipient);
  if (f.from) add((i) => `created_at >= $${i}`, f.from);
  if (f.to) add((i) => `created_at < $${i}`, f.to);
  params.push(f.limit);
  const { rows } = await q.query<LogRow & { id: string; account_id: string | null; user_id: string | null; meter_id: string | null }>(
    `SELECT id, kind, channel, building_ids::int[] AS building_ids, account_id, user_id, meter_id, recipient, subject, body, dedup_key, status, attempts,
            last_error, created_at, sent_at
       FROM notification_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT $${params.length}`, params);
  return rows.map((r) => ({
    ...r, id: Number(r.id), account_id: r.account_id == null ? null : Number(r.account_id), user_id: r.user_id == null ? null : Number(r.user_id),
    meter_id: r.meter_id == null ? null : Number(r.meter_id), attempts: Number(r.attempts),
  }));
}
