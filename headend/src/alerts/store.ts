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
import { buildingScopeSql, requireOwned, type Principal } from '../auth/index.js';
import { audit, type Actor } from '../audit/index.js';
import type { Db, Queryable } from '../db/index.js';
import type { Database } from '../db/types.js';
import { conflict, notFound } from '../http/errors.js';
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

const ALERT_COLUMNS = 'id, kind, subject, building_id, meter_id, gateway_id, resource, severity, message, data, raised_at, cleared_at, acknowledged_at, acknowledged_by';

const num = (v: unknown) => (v == null ? null : Number(v));

/** An alerts row as pg returns it (bigint ids as strings). */
type DbAlertRow = Omit<AlertRow, 'id' | 'building_id' | 'meter_id'> & { id: string | number; building_id: string | number | null; meter_id: string | number | null };

export function toAlertRow(r: DbAlertRow): AlertRow {
  return {
    id: Number(r.id), kind: r.kind, subject: r.subject, building_id: num(r.building_id), meter_id: num(r.meter_id),
    gateway_id: r.gateway_id ?? null, resource: r.resource ?? null, severity: r.severity, message: r.message, data: r.data ?? null,
    raised_at: new Date(r.raised_at), cleared_at: r.cleared_at ? new Date(r.cleared_at) : null,
    acknowledged_at: r.acknowledged_at ? new Date(r.acknowledged_at) : null, acknowledged_by: r.acknowledged_by ?? null,
  };
}

export async function loadNotification(db: Queryable, id: number): Promise<NotificationWithAlert | null> {
  const n = (await db.query<{ id: string; alert_id: string; event: NoticeEvent; channel: Channel; target: string; status: NotificationWithAlert['status']; attempts: number }>(
    `SELECT id, alert_id, event, channel, target, status, attempts FROM alert_notifications WHERE id = $1`, [id])).rows[0];
  if (!n) return null;
  const a = (await db.query<DbAlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = $1`, [n.alert_id])).rows[0];
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


export interface AlertFilter {
  /** true: not cleared; false: cleared; undefined: both. */
  open?: boolean;
  buildingId?: number;
  kind?: AlertKind;
  limit: number;
}

/**
 * Alerts the caller sees, newest first: those of their buildings. An alert without a building (a
 * gateway not assigned to one) only for admins, as the gateway itself.
 */
export async function listAlerts(q: Queryable, p: Principal, f: AlertFilter): Promise<AlertRow[]> {
  const params: unknown[] = [];
  const where = [buildingScopeSql(p, 'building_id', params)];
  const add = (sql: (i: number) => string, v: unknown) => { params.push(v); where.push(sql(params.length)); };
  if (f.open === true) where.push('cleared_at IS NULL');
  if (f.open === false) where.push('cleared_at IS NOT NULL');
  if (f.buildingId !== undefined) add((i) => `building_id = $${i}`, f.buildingId);
  if (f.kind) add((i) => `kind = $${i}`, f.kind);
  params.push(f.limit);
  const { rows } = await q.query<DbAlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE ${where.join(' AND ')} ORDER BY raised_at DESC, id DESC LIMIT $${params.length}`, params);
  return rows.map(toAlertRow);
}

export interface AlertNotificationRow {
  id: number; event: NoticeEvent; channel: Channel; target: string; status: 'pending' | 'sent' | 'failed'; attempts: number;
  last_error: string | null; created_at: Date; sent_at: Date | null;
}

/** One alert with its notifications (per channel and event), or null when there is no such alert. No scope check: resolve the id first. */
export async function alertWithNotifications(q: Queryable, id: number): Promise<(AlertRow & { notifications: AlertNotificationRow[] }) | null> {
  const a = (await q.query<DbAlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = $1`, [id])).rows[0];
  if (!a) return null;
  const { rows } = await q.query<AlertNotificationRow & { id: string }>(
    `SELECT id, event, channel, target, status, attempts, last_error, created_at, sent_at FROM alert_notifications WHERE alert_id = $1 ORDER BY id`, [id]);
  return { ...toAlertRow(a), notifications: rows.map((n) => ({ ...n, id: Number(n.id), attempts: Number(n.attempts) })) };
}

/**
 * Acknowledges an alert ("someone is on it"; it stays open until its condition ends), audited with
 * the comment. The id is resolved for the caller inside the transaction: another organisation's alert
 * is a 404 like a missing one; a second acknowledgement is a 409 naming who was first.
 */
export async function acknowledgeAlert(db: Database, p: Principal, actor: Actor, id: number, comment: string | null, requestId: string | null): Promise<AlertRow> {
  return db.tx(async (q) => {
    await requireOwned(q, p, 'alert', id);
    const row = (await q.query<DbAlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = $1 FOR UPDATE`, [id])).rows[0];
    if (!row) throw notFound('alert');
    const before = toAlertRow(row);
    if (before.acknowledged_at) throw conflict(`alert ${id} was already acknowledged by ${before.acknowledged_by} at ${before.acknowledged_at.toISOString()}`);
    const { rows } = await q.query<DbAlertRow>(
      `UPDATE alerts SET acknowledged_at = now(), acknowledged_by = $2 WHERE id = $1 RETURNING ${ALERT_COLUMNS}`, [id, actor.name]);
    const after = toAlertRow(rows[0]);
    await audit(q, actor, {
      action: 'acknowledge', entity: 'alert', entityId: id, buildingId: before.building_id,
      before: { acknowledged_at: null }, after: { acknowledged_at: after.acknowledged_at, acknowledged_by: after.acknowledged_by },
      reason: comment, requestId,
    });
    return after;
  });
}
