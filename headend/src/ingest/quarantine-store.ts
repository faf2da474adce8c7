/**
 * What ingestion could not place, as engineers see it: quarantine items (valid readings with an
 * unknown gateway/meter or a conflicting value) and dead letters (invalid payloads). Both belong to
 * their gateway's organisation and building; lists are scoped by the caller here, single items are
 * resolved through tenancy before they are touched.
 */
import { gatewayScopeSql, requireOwned, type Principal } from '../auth/index.js';
import { audit, type Actor } from '../audit/index.js';
import type { Database, Queryable } from '../db/types.js';
import { conflict, notFound } from '../http/errors.js';

export interface QuarantineItem {
  id: number; gateway_id: string; seq: number | null;
  /** The reading and its meter reference as the gateway sent them (the MQTT contract's message). */
  meter_ref: unknown; reading: unknown;
  reason: string; detail: string | null; received_at: Date;
  resolved_at: Date | null; resolved_by: string | null; resolution: string | null;
}
export interface DeadLetter { id: number; topic: string; gateway_id: string | null; payload: string; reason: string; received_at: Date }

export interface Page { limit: number; before?: number }

const QUARANTINE_COLUMNS = 'id, gateway_id, seq, meter_ref, reading, reason, detail, received_at, resolved_at, resolved_by, resolution';
const toItem = (r: QuarantineItem & { id: string | number }): QuarantineItem => ({ ...r, id: Number(r.id), seq: r.seq == null ? null : Number(r.seq) });

/** Quarantine items of the gateways the caller sees, newest first; `state` open / resolved / all. */
export async function listQuarantine(q: Queryable, p: Principal, f: Page & { gatewayId?: string; state: 'open' | 'resolved' | 'all' }): Promise<QuarantineItem[]> {
  const params: unknown[] = [f.gatewayId ?? null, f.state, f.before ?? null, f.limit];
  const { rows } = await q.query<QuarantineItem & { id: string }>(
    `SELECT ${QUARANTINE_COLUMNS} FROM quarantine WHERE ($1::text IS NULL OR gateway_id = $1)
        AND ($2 = 'all' OR ($2 = 'open') = (resolved_at IS NULL)) AND ($3::bigint IS NULL OR id < $3)
        AND ${gatewayScopeSql(p, 'gateway_id', params)}
      ORDER BY id DESC LIMIT $4`, params);
  return rows.map(toItem);
}

/**
 * Closes a quarantine item with a resolution, audited. Another organisation's item is a 404 like a
 * missing one; an item resolved before is a 409 naming who resolved it.
 */
export async function resolveQuarantine(db: Database, p: Principal, actor: Actor, id: number, resolution: string, requestId: string | null): Promise<QuarantineItem> {
  return db.tx(async (q) => {
    await requireOwned(q, p, 'quarantine', id);
    const row = (await q.query<QuarantineItem & { id: string }>(`SELECT ${QUARANTINE_COLUMNS} FROM quarantine WHERE id = $1 FOR UPDATE`, [id])).rows[0];
    if (!row) throw notFound('quarantine item');
    const before = toItem(row);
    if (before.resolved_at) throw conflict(`quarantine item ${before.id} was already resolved by ${before.resolved_by}`);
    const { rows } = await q.query<QuarantineItem & { id: string }>(
      `UPDATE quarantine SET resolved_at = now(), resolved_by = $2, resolution = $3 WHERE id = $1 RETURNING ${QUARANTINE_COLUMNS}`, [id, actor.name, resolution]);
    const after = toItem(rows[0]);
    await audit(q, actor, { action: 'resolve', entity: 'quarantine', entityId: id, before, after, reason: resolution, requestId });
    return after;
  });
}

/** Dead letters of the gateways the caller sees (those of unknown gateways: admins only), newest first. */
export async function listDeadLetters(q: Queryable, p: Principal, f: Page & { gatewayId?: string }): Promise<DeadLetter[]> {
  const params: unknown[] = [f.gatewayId ?? null, f.before ?? null, f.limit];
  const { rows } = await q.query<DeadLetter & { id: string }>(
    `SELECT id, topic, gateway_id, payload, reason, received_at FROM dead_letters
      WHERE ($1::text IS NULL OR gateway_id = $1) AND ($2::bigint IS NULL OR id < $2) AND ${gatewayScopeSql(p, 'gateway_id', params)}
      ORDER BY id DESC LIMIT $3`, params);
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}
