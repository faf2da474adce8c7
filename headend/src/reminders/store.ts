/**
 * The notification log (migration 021): a message is planned as a row before it is sent; its dedup_key
 * is unique, so planning the same message again (a rerun, a restart mid-run, two head-ends) adds
 * nothing. Delivery attempts update the row.
 */
import type { Queryable } from '../db/types.js';

export type NotificationKind = 'submissions' | 'window_open' | 'window_due' | 'verification' | 'reminders';
export type NotificationChannel = 'email' | 'webhook';

export interface PlannedNotification {
  kind: NotificationKind;
  channel: NotificationChannel;
  buildingIds: number[];
  accountId?: number | null;
  userId?: number | null;
  meterId?: number | null;
  recipient: string;
  subject: string;
  body: string;
  dedupKey: string;
}

/** Inserts the row unless its key exists; the new row's id, or null when it was planned before. */
export async function planNotification(q: Queryable, n: PlannedNotification, now: Date): Promise<number | null> {
  const { rows } = await q.query<{ id: string }>(
    `INSERT INTO notification_log (kind, channel, building_ids, account_id, user_id, meter_id, recipient, subject, body, dedup_key, created_at)
     VALUES ($1,$2,$3::bigint[],$4,$5,$6,$7,$8,$9,$10,$11) ON CONFLICT (dedup_key) DO NOTHING RETURNING id`,
    [n.kind, n.channel, n.buildingIds, n.accountId ?? null, n.userId ?? null, n.meterId ?? null, n.recipient, n.subject, n.body, n.dedupKey, now]);
  return rows[0] ? Number(rows[0].id) : null;
}

export interface NotificationRow {
  id: number; kind: NotificationKind; channel: NotificationChannel; building_ids: number[]; recipient: string;
  subject: string; body: string; dedup_key: string; status: 'pending' | 'sent' | 'failed'; attempts: number;
}

export async function loadNotification(q: Queryable, id: number): Promise<NotificationRow | null> {
  const { rows } = await q.query<NotificationRow>(
    `SELECT id::int AS id, kind, channel, building_ids::int[] AS building_ids, recipient, subject, body, dedup_key, status, attempts
       FROM notification_log WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

/** One delivery attempt: sent, or the error (final: no retry follows, the row is failed). */
export async function recordAttempt(q: Queryable, id: number, attempt: number, r: { ok: true } | { ok: false; error: string; final: boolean }): Promise<void> {
  if (r.ok) {
    await q.query(`UPDATE notification_log SET status = 'sent', attempts = greatest(attempts, $2), last_error = NULL, sent_at = now() WHERE id = $1`, [id, attempt]);
  } else {
    await q.query(`UPDATE notification_log SET status = CASE WHEN $4 THEN 'failed' ELSE status END, attempts = greatest(attempts, $2), last_error = $3 WHERE id = $1`,
      [id, attempt, r.error.slice(0, 2000), r.final]);
  }
}

/** Pending rows planned before `before`: their send job was lost (Redis down, a crash) and is enqueued again. */
export async function stalePending(q: Queryable, before: Date, limit = 1000): Promise<number[]> {
  const { rows } = await q.query<{ id: string }>(
    `SELECT id FROM notification_log WHERE status = 'pending' AND created_at < $1 ORDER BY id LIMIT $2`, [before, limit]);
  return rows.map((r) => Number(r.id));
}
