/**
 * What ingestion could not place: quarantine (valid readings with an unknown gateway/meter or a
 * conflicting value) and dead letters (invalid payloads). Engineers list them and resolve quarantine items.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { gatewayScopeSql, requireOwned, requirePermission } from '../auth/index.js';
import { audit } from '../audit/index.js';
import { conflict, notFound } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { actorOf, errors, Id, IdParams, Timestamp, type RouteDeps } from '../http/context.js';

const QuarantineRow = z.object({
  id: Id, gateway_id: z.string(), seq: z.number().nullable(), meter_ref: z.unknown(), reading: z.unknown(), reason: z.string(), detail: z.string().nullable(),
  received_at: Timestamp, resolved_at: Timestamp.nullable(), resolved_by: z.string().nullable(), resolution: z.string().nullable(),
});
const DeadLetterRow = z.object({ id: Id, topic: z.string(), gateway_id: z.string().nullable(), payload: z.string(), reason: z.string(), received_at: Timestamp });
const Page = { limit: z.coerce.number().int().min(1).max(1000).default(100), before: z.coerce.number().int().optional() };

/**
 * Quarantine items and dead letters belong to their gateway's organisation and building: engineers with
 * 'ingest:manage' see and resolve those of gateways in their buildings; items of unknown or unassigned
 * gateways are for admins only (the tenancy resolver decides both).
 */
const ingestRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db }) => {
  app.get('/quarantine', {
    schema: { tags: ['ingest'], querystring: z.object({ gateway_id: z.string().optional(), state: z.enum(['open', 'resolved', 'all']).default('open'), ...Page }), response: { 200: z.array(QuarantineRow), ...errors } },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'ingest:manage');
    const { gateway_id, state, limit, before } = req.query;
    const params: unknown[] = [gateway_id ?? null, state, before ?? null, limit];
    return (await db.query(
      `SELECT * FROM quarantine WHERE ($1::text IS NULL OR gateway_id = $1)
          AND ($2 = 'all' OR ($2 = 'open') = (resolved_at IS NULL)) AND ($3::bigint IS NULL OR id < $3)
          AND ${gatewayScopeSql(p, 'gateway_id', params)}
        ORDER BY id DESC LIMIT $4`, params)).rows;
  });

  app.post('/quarantine/:id/resolve', {
    schema: {
      tags: ['ingest'], summary: 'Close a quarantine item with a resolution (e.g. "bound meter 12 and replayed", "rejected: test gateway")',
      params: IdParams, body: z.object({ resolution: z.string().trim().min(3).max(500) }), response: { 200: QuarantineRow, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'ingest:manage');
    return db.tx(async (q) => {
      await requireOwned(q, p, 'quarantine', req.params.id);
      const before = (await q.query('SELECT * FROM quarantine WHERE id = $1 FOR UPDATE', [req.params.id])).rows[0];
      if (!before) throw notFound('quarantine item');
      if (before.resolved_at) throw conflict(`quarantine item ${before.id} was already resolved by ${before.resolved_by}`);
      const { rows } = await q.query('UPDATE quarantine SET resolved_at = now(), resolved_by = $2, resolution = $3 WHERE id = $1 RETURNING *', [req.params.id, actorOf(req).name, req.body.resolution]);
      await audit(q, actorOf(req), { action: 'resolve', entity: 'quarantine', entityId: req.params.id, before, after: rows[0], reason: req.body.resolution, requestId: req.id });
      return rows[0];
    });
  });

  app.get('/dead-letters', {
    schema: { tags: ['ingest'], querystring: z.object({ gateway_id: z.string().optional(), ...Page }), response: { 200: z.array(DeadLetterRow), ...errors } },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'ingest:manage');
    const { gateway_id, limit, before } = req.query;
    const params: unknown[] = [gateway_id ?? null, before ?? null, limit];
    return (await db.query(`SELECT id, topic, gateway_id, payload, reason, received_at FROM dead_letters
                             WHERE ($1::text IS NULL OR gateway_id = $1) AND ($2::bigint IS NULL OR id < $2) AND ${gatewayScopeSql(p, 'gateway_id', params)}
                             ORDER BY id DESC LIMIT $3`, params)).rows;
  });
};

export default ingestRoutes;
