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
import { buildingScopeSql, requireBodyRef, requireOwned, type Principal } from '../auth/index.js';
import { audit, type Actor } from '../audit/index.js';
import type { Queryable } from '../db/index.js';
import type { Database } from '../db/types.js';
import { badRequest, conflict, notFound } from '../http/errors.js';
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
export async function raiseAlert(db: Database, a: NewAlert, at: Date, channels: readonly ChannelTarget[]): Promise<RaiseResult> {
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
export async function clearAlert(db: Database, kind: AlertKind, subject: string, at: Date, reason: string, channels: readonly ChannelTarget[]): Promise<ClearResult | null> {
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

/** Subjects of the open alerts of one kind (what a raiser judges against: raise, refresh or clear). */
export async function openAlertSubjects(db: Queryable, kind: AlertKind): Promise<Set<string>> {
  const { rows } = await db.query<{ subject: string }>(`SELECT subject FROM alerts WHERE kind = $1 AND cleared_at IS NULL`, [kind]);
  return new Set(rows.map((r) => r.subject));
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
  /** true: acknowledged; false: not yet; undefined: both. */
  acknowledged?: boolean;
  buildingId?: number;
  kind?: AlertKind;
  severity?: Severity;
  /** Raised at or after `from` and before `to`. */
  from?: Date;
  to?: Date;
}

/** An alert as lists show it: with its building's address and time zone (null for a building-less gateway's). */
export type ListedAlert = AlertRow & { building_address: string | null; building_timezone: string | null };

/** The WHERE of a filtered, scoped alert query over `alerts a`; pushes its parameters. */
function filterSql(p: Principal, f: AlertFilter, params: unknown[]): string {
  const where = [buildingScopeSql(p, 'a.building_id', params)];
  const add = (sql: (i: number) => string, v: unknown) => { params.push(v); where.push(sql(params.length)); };
  if (f.open === true) where.push('a.cleared_at IS NULL');
  if (f.open === false) where.push('a.cleared_at IS NOT NULL');
  if (f.acknowledged === true) where.push('a.acknowledged_at IS NOT NULL');
  if (f.acknowledged === false) where.push('a.acknowledged_at IS NULL');
  if (f.buildingId !== undefined) add((i) => `a.building_id = $${i}`, f.buildingId);
  if (f.kind) add((i) => `a.kind = $${i}`, f.kind);
  if (f.severity) add((i) => `a.severity = $${i}`, f.severity);
  if (f.from) add((i) => `a.raised_at >= $${i}`, f.from);
  if (f.to) add((i) => `a.raised_at < $${i}`, f.to);
  return where.join(' AND ');
}

const LISTED_COLUMNS = `${ALERT_COLUMNS.split(', ').map((c) => `a.${c}`).join(', ')}, b.address AS building_address, b.timezone AS building_timezone`;

/**
 * Alerts the caller sees, newest first: those of their buildings. An alert without a building (a
 * gateway not assigned to one) only for admins, as the gateway itself.
 */
export async function listAlerts(q: Queryable, p: Principal, f: AlertFilter & { limit: number }): Promise<ListedAlert[]> {
  const params: unknown[] = [];
  const where = filterSql(p, f, params);
  params.push(f.limit);
  const { rows } = await q.query<DbAlertRow & { building_address: string | null; building_timezone: string | null }>(
    `SELECT ${LISTED_COLUMNS} FROM alerts a LEFT JOIN buildings b ON b.id = a.building_id
      WHERE ${where} ORDER BY a.raised_at DESC, a.id DESC LIMIT $${params.length}`, params);
  return rows.map((r) => ({ ...toAlertRow(r), building_address: r.building_address ?? null, building_timezone: r.building_timezone ?? null }));
}

export interface AlertGroup {
  building_id: number | null; building_address: string | null; building_timezone: string | null; kind: AlertKind;
  /** The worst severity in the group. */
  severity: Severity;
  count: number; open: number; unacknowledged: number; first_raised_at: Date; last_raised_at: Date;
}

/**
 * The filtered alerts counted per building and kind, so a storm of sixty reads as a handful of lines.
 * Groups with unacknowledged alerts first, then the larger ones.
 */
export async function alertGroups(q: Queryable, p: Principal, f: AlertFilter): Promise<AlertGroup[]> {
  const params: unknown[] = [];
  const where = filterSql(p, f, params);
  const { rows } = await q.query<{ building_id: string | null; building_address: string | null; building_timezone: string | null; kind: AlertKind; sev: number; count: string; open: string; unacknowledged: string; first_raised_at: Date; last_raised_at: Date }>(
    `SELECT a.building_id, b.address AS building_address, b.timezone AS building_timezone, a.kind,
            max(CASE a.severity WHEN 'critical' THEN 3 WHEN 'warning' THEN 2 ELSE 1 END) AS sev,
            count(*) AS count, count(*) FILTER (WHERE a.cleared_at IS NULL) AS open,
            count(*) FILTER (WHERE a.acknowledged_at IS NULL) AS unacknowledged,
            min(a.raised_at) AS first_raised_at, max(a.raised_at) AS last_raised_at
       FROM alerts a LEFT JOIN buildings b ON b.id = a.building_id
      WHERE ${where}
      GROUP BY a.building_id, b.address, b.timezone, a.kind
      ORDER BY (count(*) FILTER (WHERE a.acknowledged_at IS NULL) > 0) DESC, count(*) DESC, b.address NULLS LAST, a.kind`, params);
  const severities: Severity[] = ['info', 'warning', 'critical'];
  return rows.map((r) => ({
    building_id: num(r.building_id), building_address: r.building_address, building_timezone: r.building_timezone, kind: r.kind,
    severity: severities[Number(r.sev) - 1], count: Number(r.count), open: Number(r.open), unacknowledged: Number(r.unacknowledged),
    first_raised_at: new Date(r.first_raised_at), last_raised_at: new Date(r.last_raised_at),
  }));
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
 * The one place an alert is acknowledged: locks the row, records who and when, audits it with the
 * reason. The caller has already checked the caller may see the alert. `ifAlready`: a single
 * acknowledgement refuses a second one (409 naming who was first); a bulk one passes it over and says so.
 */
async function acknowledgeOne(q: Queryable, actor: Actor, id: number, comment: string | null, requestId: string | null, ifAlready: 'refuse' | 'skip'): Promise<AlertRow | null> {
  const row = (await q.query<DbAlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = $1 FOR UPDATE`, [id])).rows[0];
  if (!row) throw notFound('alert');
  const before = toAlertRow(row);
  if (before.acknowledged_at) {
    if (ifAlready === 'skip') return null;
    throw conflict(`alert ${id} was already acknowledged by ${before.acknowledged_by} at ${before.acknowledged_at.toISOString()}`);
  }
  const { rows } = await q.query<DbAlertRow>(
    `UPDATE alerts SET acknowledged_at = now(), acknowledged_by = $2 WHERE id = $1 RETURNING ${ALERT_COLUMNS}`, [id, actor.name]);
  const after = toAlertRow(rows[0]);
  await audit(q, actor, {
    action: 'acknowledge', entity: 'alert', entityId: id, buildingId: before.building_id,
    before: { acknowledged_at: null }, after: { acknowledged_at: after.acknowledged_at, acknowledged_by: after.acknowledged_by },
    reason: comment, requestId,
  });
  return after;
}

/**
 * Acknowledges an alert ("someone is on it"; it stays open until its condition ends), audited with
 * the comment. The id is resolved for the caller inside the transaction: another organisation's alert
 * is a 404 like a missing one; a second acknowledgement is a 409 naming who was first.
 */
export async function acknowledgeAlert(db: Database, p: Principal, actor: Actor, id: number, comment: string | null, requestId: string | null): Promise<AlertRow> {
  return db.tx(async (q) => {
    await requireOwned(q, p, 'alert', id);
    return (await acknowledgeOne(q, actor, id, comment, requestId, 'refuse'))!;
  });
}

export interface BulkAckResult {
  /** Acknowledged now, by this caller with this reason. */
  acknowledged: number[];
  /** Already acknowledged before (by someone else or earlier): left as they were. */
  already: number[];
}

/** Most alerts one bulk acknowledgement touches (a storm's group is tens; thousands is a mistake). */
export const BULK_ACK_MAX = 1000;

/**
 * Acknowledges many alerts with one reason, all or nothing, through the same step as one alert.
 * `ids`: every id is checked for the caller like a single acknowledgement (another organisation's, or a
 * missing one, refuses the whole request with a 400 naming it: nothing is acknowledged). `filter`: the
 * caller's unacknowledged alerts that match it (the scope is in the query, each id is checked again).
 */
export async function acknowledgeAlerts(db: Database, p: Principal, actor: Actor, what: { ids: number[] } | { filter: AlertFilter }, comment: string, requestId: string | null): Promise<BulkAckResult> {
  return db.tx(async (q) => {
    let ids: number[];
    if ('ids' in what) {
      ids = [...new Set(what.ids)];
    } else {
      const params: unknown[] = [];
      const where = filterSql(p, { ...what.filter, acknowledged: false }, params);
      params.push(BULK_ACK_MAX + 1);
      ids = (await q.query<{ id: string }>(`SELECT a.id FROM alerts a WHERE ${where} ORDER BY a.id LIMIT $${params.length}`, params)).rows.map((r) => Number(r.id));
      if (ids.length > BULK_ACK_MAX) throw badRequest(`filter: more than ${BULK_ACK_MAX} alerts match; narrow it (building, kind, period) and acknowledge in parts`, [{ path: 'body.filter', message: 'too many alerts' }]);
    }
    // Given ids: every one checked first, then any write, so a refusal names it and leaves every alert as it
    // was. A filter's ids came from the caller's own scope (filterSql: tenancy's building scope), not re-checked.
    if ('ids' in what) for (const [i, id] of ids.entries()) await requireBodyRef(q, p, 'alert', id, `ids[${i}]`);
    const out: BulkAckResult = { acknowledged: [], already: [] };
    for (const id of ids) {
      const row = await acknowledgeOne(q, actor, id, comment, requestId, 'skip');
      (row ? out.acknowledged : out.already).push(id);
    }
    return out;
  });
}
