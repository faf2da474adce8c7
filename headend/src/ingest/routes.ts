/**
 * What ingestion could not place: quarantine (valid readings with an unknown gateway/meter or a
 * conflicting value) and dead letters (invalid payloads). Engineers list them and resolve quarantine items.
 *
 * Quarantine items and dead letters belong to their gateway's organisation and building: engineers with
 * 'ingest:manage' see and resolve those of gateways in their buildings; items of unknown or unassigned
 * gateways are for admins only (the tenancy resolver decides both). A gateway named in the query only
 * narrows the caller's scope: another organisation's gives an empty list, and an admin can still ask for
 * the items of a gateway that is not registered (the very thing quarantine holds).
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requirePermission } from '../auth/index.js';
import { principal } from '../http/plugins/auth.js';
import { actorOf, errors, Id, IdParams, Timestamp, type RouteDeps } from '../http/context.js';
import { listDeadLetters, listQuarantine, resolveQuarantine } from './quarantine-store.js';

/** meter_ref and reading are the gateway's message as received (the MQTT contract's own casing), kept verbatim as evidence. */
const QuarantineRow = z.object({
  id: Id, gateway_id: z.string(), seq: z.number().nullable(), meter_ref: z.unknown(), reading: z.unknown(), reason: z.string(), detail: z.string().nullable(),
  received_at: Timestamp, resolved_at: Timestamp.nullable(), resolved_by: z.string().nullable(), resolution: z.string().nullable(),
});
const DeadLetterRow = z.object({ id: Id, topic: z.string(), gateway_id: z.string().nullable(), payload: z.string(), reason: z.string(), received_at: Timestamp });
const Page = {
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('Most rows in the answer'),
  before: z.coerce.number().int().optional().describe('Only rows with a smaller id (the last id of the previous page)'),
};

const ingestRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db }) => {
  app.get('/quarantine', {
    schema: {
      tags: ['ingest'], response: { 200: z.array(QuarantineRow), ...errors },
      summary: 'Readings held in quarantine, newest first',
      description: 'Telemetry the head-end received but could not store as readings: an unknown or unbound meter, a time far in the future or before 2000, … Each row keeps the reading and the reason, until someone resolves it.',
      querystring: z.object({
        gateway_id: z.string().optional().describe('Only from this gateway'),
        state: z.enum(['open', 'resolved', 'all']).default('open').describe('open: not resolved yet'),
        ...Page,
      }),
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'ingest:manage');
    const { gateway_id, state, limit, before } = req.query;
    return listQuarantine(db, p, { gatewayId: gateway_id, state, limit, before });
  });

  app.post('/quarantine/:id/resolve', {
    schema: {
      tags: ['ingest'], summary: 'Close a quarantine item with a resolution (e.g. "bound meter 12 and replayed", "rejected: test gateway")',
      description: 'Marks the quarantine item `id` as handled, with who and why; audited. The reading itself is not stored by this: bind the meter and let the gateway send again, or leave it rejected.',
      params: IdParams, body: z.object({ resolution: z.string().trim().min(3).max(500) }), response: { 200: QuarantineRow, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'ingest:manage');
    return resolveQuarantine(db, p, actorOf(req), req.params.id, req.body.resolution, req.id);
  });

  app.get('/dead-letters', {
    schema: {
      tags: ['ingest'], querystring: z.object({ gateway_id: z.string().optional().describe('Only from this gateway'), ...Page }), response: { 200: z.array(DeadLetterRow), ...errors },
      summary: 'MQTT messages that could not be read, newest first',
      description: 'Messages refused as a whole: a topic outside the contract, a payload that is not valid JSON or does not match the schema, a gateway id that differs from the topic\'s. The payload is kept (its first 64 KiB) with the reason.',
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'ingest:manage');
    const { gateway_id, limit, before } = req.query;
    return listDeadLetters(db, p, { gatewayId: gateway_id, limit, before });
  });
};

export default ingestRoutes;
