/**
 * Alerts and their notification log in the database (migration 015).
 *
 * One open alert per (kind, subject) is enforced by the partial unique index `alerts_open_uq`;
 * raising is an upsert against it, so a second raise of an open alert refreshes its figures instead
 * of adding a row, and two concurrent raisers cannot both create one. Each raise/clear is one short
 * transaction that also writes the notification rows, so an alert never exists without the record
 * of whom it must be told; the notify jobs are enqueued by the caller after the commit.
 * Only the transaction's own handle is used inside `tx` (embedded mode has one connection).
 */
import type { Db, Queryable } from '../db/index.js';
import type { AlertKind, Severity } from './decisions.js';
import type { NoticeEvent } from './messages.js';

export type Channel = 'webhook' | 'email';
/** A configured destination: the channel and what is stored as its target (URL redacted, addresses). */
export interface ChannelTarget { channel: Channel; target: string }

export interface NewAlert {
  kind: AlertKind;
  subject: string;
  buildingId: number | null;
  meterId?: number | null;
  gatewayId?: string | null;
  resource?: string | null;
  severity: Severity;
  message: string;
  data: Record<string, unknown>;
}

export interface RaiseResult {
  alertId: number;
  /** false: the alert was already open and only its severity/message/data were refreshed. */
  raised: boolean;
  /** Notification rows created (only when raised). */
  notificationIds: number[];
}

export interface ClearResult { alertId: number; notificationIds: number[] }

async function addNotifications(q: Queryable, alertId: number, event: NoticeEvent, channels: readonly ChannelTarget[]): Promise<number[]> {
  const ids: number[] = [];
  for (const c of channels) {
    const { rows } = await q.query<{ id: string }>(
      `INSERT INTO alert_notifications (alert_id, event, channel, target, status) VALUES ($1, $2, $3, $4, 'pending') RETURNING id`,
      [alertId, event, c.channel, c.target]);
    ids.push(Number(rows[0].id));
  }
  return ids;
}

/** Opens the alert, or refreshes the open one. Notifications only for a newly opened alert. */
export async function raiseAlert(db: Db, a: NewAlert, at: Date, channels: readonly ChannelTarget[]): Promise<RaiseResult> {
  return db.tx(async (q) => {
    // xmax = 0 only on a freshly inserted row version: tells an insert from the ON CONFLICT update.
    const { rows } = await q.query<{ id: string; inserted: boolean }>(
      `INSERT INTO alerts (kind, subject, building_id, meter_id, gateway_id, resource, severity, message, data, raised_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10)
       ON CONFLICT (kind, subject) WHERE cleared_at IS NULL
       DO UPDATE SET severity = EXCLUDED.severity, message = EXCLUDED.message, data = EXCLUDED.data,
                     building_id = EXCLUDED.building_id, resource = EXCLUDED.resource
       RETURNING id, (xmax = 0) AS inserted`,
      [a.kind, a.subject, a.buildingId, a.meterId ?? null, a.gatewayId ?? null, a.resource ?? null, a.severity, a.message, JSON.stringify(a.data), at]);
    const alertId = Number(rows[0].id);
    const raised = rows[0].inserted === true;
    const notificationIds = raised ? await addNotifications(q, alertId, 'raised', channels) : [];
    return { alertId, raised, notificationIds };
  });
}

/** Closes the open alert of (kind, subject); null when none is open (clearing is idempotent). */
export async function clearAlert(db: Db, kind: AlertKind, subject: string, at: Date, reason: string, channels: readonly ChannelTarget[]): Promise<ClearResult | null> {
  return db.tx(async (q) => {
    const { rows } = await q.query<{ id: string }>(
      `UPDATE alerts SET cleared_at = $3, data = COALESCE(data, '{}'::jsonb) || jsonb_build_object('cleared_reason', $4::text)
        WHERE kind = $1 AND subject = $2 AND cleared_at IS NULL RETURNING id`,
      [kind, subject, at, reason]);
    if (!rows[0]) return null;
    const alertId = Number(rows[0].id);
    return { alertId, notificationIds: await addNotifications(q, alertId, 'cleared', channels) };
  });
}

export interface AlertRow {
  id: number; kind: AlertKind; subject: string; building_id: number | null; meter_id: number | null;
  gateway_id: string | null; resource: string | null; severity: Severity; message: string; data: unknown;
  raised_at: Date; cleared_at: Date | null; acknowledged_at: Date | null; acknowledged_by: string | null;
}

export interface NotificationWithAlert {
  id: number; event: NoticeEvent; channel: Channel; target: string; status: 'pending' | 'sent' | 'failed'; attempts: number;
  alert: AlertRow;
}

const num = (v: unknown) => (v == null ? null : Number(v));

/** An alerts row as the drivers return it: bigint ids may arrive as text, timestamps as text or Date. */
type AlertDbRow = Omit<AlertRow, 'id' | 'building_id' | 'meter_id' | 'gateway_id' | 'resource' | 'data' | 'raised_at' | 'cleared_at' | 'acknowledged_at' | 'acknowledged_by'> & {
  id: number | string; building_id?: number | string | null; meter_id?: number | string | null; gateway_id?: string | null; resource?: string | null; data?: unknown;
  raised_at: Date | string; cleared_at?: Date | string | null; acknowledged_at?: Date | string | null; acknowledged_by?: string | null;
};

export function toAlertRow(r: AlertDbRow): AlertRow {
  return {
    id: Number(r.id), kind: r.kind, subject: r.subject, building_id: num(r.building_id), meter_id: num(r.meter_id),
    gateway_id: r.gateway_id ?? null, resource: r.resource ?? null, severity: r.severity, message: r.message, data: r.data ?? null,
    raised_at: new Date(r.raised_at), cleared_at: r.cleared_at ? new Date(r.cleared_at) : null,
    acknowledged_at: r.acknowledged_at ? new Date(r.acknowledged_at) : null, acknowledged_by: r.acknowledged_by ?? null,
  };
}

export async function loadNotification(db: Queryable, id: number): Promise<NotificationWithAlert | null> {
  const n = (await db.query(`SELECT id, alert_id, event, channel, target, status, attempts FROM alert_notifications WHERE id = $1`, [id])).rows[0];
  if (!n) return null;
  const a = (await db.query(`SELECT * FROM alerts WHERE id = $1`, [n.alert_id])).rows[0];
  return { id: Number(n.id), event: n.event, channel: n.channel, target: n.target, status: n.status, attempts: Number(n.attempts), alert: toAlertRow(a) };
}

/**
 * Records one delivery attempt. Success → sent. Failure → last_error, and `failed` only on the final
 * attempt (earlier ones stay pending: bullmq will try again).
 */
export async function recordAttempt(db: Queryable, id: number, attempt: number, outcome: { ok: true } | { ok: false; error: string; final: boolean }): Promise<void> {
  if (outcome.ok) {
    await db.query(`UPDATE alert_notifications SET status = 'sent', attempts = GREATEST(attempts, $2), last_error = NULL, sent_at = now() WHERE id = $1`, [id, attempt]);
  } else {
    await db.query(
      `UPDATE alert_notifications SET status = CASE WHEN $4 THEN 'failed' ELSE status END, attempts = GREATEST(attempts, $2), last_error = $3 WHERE id = $1`,
      [id, attempt, outcome.error.slice(0, 2000), outcome.final]);
  }
}

/** Notifications still pending since before `createdBefore` (their job may have been lost). */
export async function stalePendingNotifications(db: Queryable, createdBefore: Date, limit = 500): Promise<number[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM alert_notifications WHERE status = 'pending' AND created_at < $1 ORDER BY id LIMIT $2`, [createdBefore, limit]);
  return rows.map((r) => Number(r.id));
}
