/**
 * The audit journal, read-only: by entity, building, time. Non-admins see entries of their buildings.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { buildingScopeSql, requirePermission } from '../auth/index.js';
import { principal } from '../http/plugins/auth.js';
import { errors, Id, Timestamp, type RouteDeps } from '../http/context.js';

const AuditEntry = z.object({
  id: Id, at: Timestamp, actor_kind: z.string(), actor_id: Id.nullable(), actor_name: z.string(), action: z.string(),
  entity: z.string(), entity_id: z.string().nullable(), building_id: Id.nullable(), before: z.unknown(), after: z.unknown(), reason: z.string().nullable(),
});

const auditRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db }) => {
  app.get('/audit', {
    schema: {
      tags: ['audit'], summary: 'Audit journal, newest first',
      querystring: z.object({
        entity: z.string().optional(), entityId: z.string().optional(), buildingId: z.coerce.number().int().optional(),
        from: z.iso.datetime({ offset: true }).optional(), to: z.iso.datetime({ offset: true }).optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100), before: z.coerce.number().int().optional(),
      }),
      response: { 200: z.array(AuditEntry), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'audit:read');
    const q = req.query;
    const params: unknown[] = [];
    const where = [buildingScopeSql(p, 'building_id', params)];
    const add = (sql: string, v: unknown) => { params.push(v); where.push(sql.replace('?', `$${params.length}`)); };
    if (q.entity) add('entity = ?', q.entity);
    if (q.entityId) add('entity_id = ?', q.entityId);
    if (q.buildingId) add('building_id = ?', q.buildingId);
    if (q.from) add('at >= ?', q.from);
    if (q.to) add('at < ?', q.to);
    if (q.before) add('id < ?', q.before);
    params.push(q.limit);
    const { rows } = await db.query(`SELECT * FROM audit_log WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`, params);
    return rows;
  });
};

export default auditRoutes;
