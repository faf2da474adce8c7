/**
 * Reading the audit journal: newest first, by entity, building and time, scoped to the caller's
 * buildings (entries without a building — users, organisation-wide settings — for admins only).
 */
import { buildingScopeSql, type Principal } from '../auth/principal.js';
import type { Queryable } from '../db/types.js';
import type { AuditRow } from './audit.js';

export interface AuditFilter {
  entity?: string;
  entityId?: string;
  buildingId?: number;
  /** Only what this user (or API key, with actorKind) did. */
  actorId?: number;
  actorKind?: string;
  /** ISO instants: at >= from, at < to. */
  from?: string;
  to?: string;
  /** Paging back: entries with an id below this one. */
  before?: number;
  limit: number;
}

export async function listAudit(q: Queryable, p: Principal, f: AuditFilter): Promise<AuditRow[]> {
  const params: unknown[] = [];
  const where = [buildingScopeSql(p, 'building_id', params)];
  const add = (sql: string, v: unknown) => { params.push(v); where.push(sql.replace('?', `$${params.length}`)); };
  if (f.entity) add('entity = ?', f.entity);
  if (f.entityId) add('entity_id = ?', f.entityId);
  if (f.buildingId) add('building_id = ?', f.buildingId);
  if (f.actorId) add('actor_id = ?', f.actorId);
  if (f.actorKind) add('actor_kind = ?', f.actorKind);
  if (f.from) add('at >= ?', f.from);
  if (f.to) add('at < ?', f.to);
  if (f.before) add('id < ?', f.before);
  params.push(f.limit);
  const { rows } = await q.query<AuditRow & { id: string; actor_id: string | null; building_id: string | null }>(
    `SELECT id, at, actor_kind, actor_id, actor_name, action, entity, entity_id, building_id, before, after, reason
       FROM audit_log WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`, params);
  return rows.map((r) => ({
    ...r, id: Number(r.id), actor_id: r.actor_id == null ? null : Number(r.actor_id), building_id: r.building_id == null ? null : Number(r.building_id),
  }));
}
