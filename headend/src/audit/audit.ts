/**
 * Writing the audit journal. Callers pass the transaction's query handle, never the pool, so the
 * audit row commits or rolls back together with the change it describes.
 */
import type { Queryable } from '../db/types.js';

export interface Actor { kind: 'user' | 'api-key' | 'system'; id: number | null; name: string }

export const SYSTEM_ACTOR: Actor = { kind: 'system', id: null, name: 'system' };

export interface AuditEntry {
  action: string; // create | update | deactivate | delete | correct | import | resolve | revoke ...
  entity: string; // table-like name: building, meter, reading, user ...
  entityId: string | number | null;
  buildingId?: number | null;
  before?: unknown;
  after?: unknown;
  reason?: string | null;
  requestId?: string | null;
}

export async function audit(q: Queryable, actor: Actor, e: AuditEntry): Promise<void> {
  await q.query(
    `INSERT INTO audit_log (actor_kind, actor_id, actor_name, action, entity, entity_id, building_id, before, after, reason, request_id)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8::jsonb,$9::jsonb,$10,$11)`,
    [
      actor.kind, actor.id, actor.name, e.action, e.entity, e.entityId == null ? null : String(e.entityId), e.buildingId ?? null,
      e.before === undefined ? null : JSON.stringify(e.before), e.after === undefined ? null : JSON.stringify(e.after),
      e.reason ?? null, e.requestId ?? null,
    ],
  );
}

/**
 * Many audit rows in ONE insert (a batch of residents' submissions: one row per reading, each with its
 * own actor and request id), in the given order.
 */
export async function auditMany(q: Queryable, rows: ReadonlyArray<{ actor: Actor; entry: AuditEntry }>): Promise<void> {
  if (!rows.length) return;
  if (rows.length === 1) return audit(q, rows[0].actor, rows[0].entry);
  const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
  await q.query(
    `INSERT INTO audit_log (actor_kind, actor_id, actor_name, action, entity, entity_id, building_id, before, after, reason, request_id)
     SELECT ak, ai, an, ac, en, ei, bi, bf::jsonb, af::jsonb, re, ri
       FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[], $10::text[], $11::text[])
            WITH ORDINALITY AS u(ak, ai, an, ac, en, ei, bi, bf, af, re, ri, n)
      ORDER BY n`,
    [
      rows.map((r) => r.actor.kind), rows.map((r) => r.actor.id), rows.map((r) => r.actor.name), rows.map((r) => r.entry.action), rows.map((r) => r.entry.entity),
      rows.map((r) => (r.entry.entityId == null ? null : String(r.entry.entityId))), rows.map((r) => r.entry.buildingId ?? null),
      rows.map((r) => json(r.entry.before)), rows.map((r) => json(r.entry.after)), rows.map((r) => r.entry.reason ?? null), rows.map((r) => r.entry.requestId ?? null),
    ],
  );
}

export interface AuditRow {
  id: number; at: string; actor_kind: string; actor_id: number | null; actor_name: string; action: string;
  entity: string; entity_id: string | null; building_id: number | null; before: unknown; after: unknown; reason: string | null;
}
