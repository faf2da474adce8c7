/**
 * The audit journal, read-only: by entity, building, time. Non-admins see entries of their buildings.
 * An entry's before/after are the recorded rows as they were written, shown verbatim.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requirePermission } from '../auth/index.js';
import { fromWire } from '../http/casing.js';
import { principal } from '../http/plugins/auth.js';
import { errors, Id, Timestamp, type RouteDeps } from '../http/context.js';
import { listAudit } from './store.js';

const AuditEntry = z.object({
  id: Id, at: Timestamp, actor_kind: z.string(), actor_id: Id.nullable(), actor_name: z.string(), action: z.string(),
  entity: z.string(), entity_id: z.string().nullable(), building_id: Id.nullable(), before: z.unknown(), after: z.unknown(), reason: z.string().nullable(),
});
const AuditQuery = z.object({
  entity: z.string().optional().describe('Only changes of this kind of record (meter, reading, user, …)'),
  entity_id: z.string().optional().describe('Only changes of this record (with entity)'),
  building_id: z.coerce.number().int().optional().describe('Only changes in this building'),
  actor_id: z.coerce.number().int().positive().optional().describe('Only changes made by this user (GET /users), or by this API key with actor_kind=api-key'),
  actor_kind: z.enum(['user', 'api-key', 'system']).optional().describe('Only changes made by users, API keys or the system itself'),
  from: z.iso.datetime({ offset: true }).optional().describe('Changes at or after this instant'),
  to: z.iso.datetime({ offset: true }).optional().describe('Changes before this instant'),
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('Most entries in the answer'),
  before: z.coerce.number().int().optional().describe('Only entries with a smaller id (the last id of the previous page)'),
});

const auditRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db }) => {
  app.get('/audit', {
    schema: {
      tags: ['audit'], summary: 'Audit journal, newest first',
      description: 'Filters are snake_case (entity_id, building_id); the camelCase entityId and buildingId of earlier versions are still understood.',
      querystring: fromWire(AuditQuery),
      response: { 200: z.array(AuditEntry), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'audit:read');
    const q = req.query;
    return listAudit(db, p, {
      entity: q.entity, entityId: q.entity_id, buildingId: q.building_id, actorId: q.actor_id, actorKind: q.actor_kind, from: q.from, to: q.to, before: q.before, limit: q.limit,
    });
  });
};

export default auditRoutes;
