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

export interface AuditRow {
  id: number; at: string; actor_kind: string; actor_id: number | null; actor_name: string; action: string;
  entity: string; entity_id: string | null; building_id: number | null; before: unknown; after: unknown; reason: string | null;
}
