/**
 * Alerts: list, one with its notification log, acknowledge.
 *
 * Scope: an alert is visible to whoever sees its building (alerts.building_id: the meter's building,
 * the gateway's building at the time it was raised, the report's building). An alert without a
 * building — a gateway not assigned to one — is visible to admins only, as the gateway itself is
 * (GET /gateways): a grant is per building, and nothing ties such a gateway to a grant.
 * Acknowledging says "someone is on it"; it does not clear the alert (only the condition ending does).
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { buildingScopeSql, requireOwned, requirePermission } from '../auth/index.js';
import { audit } from '../audit/index.js';
import { conflict, notFound } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { actorOf, errors, Id, IdParams, Timestamp, type RouteDeps } from '../http/context.js';

const Kind = z.enum(['imbalance', 'meter_silent', 'gateway_silent']);
const AlertOut = z.object({
  id: Id, kind: Kind, subject: z.string(), building_id: Id.nullable(), meter_id: Id.nullable(), gateway_id: z.string().nullable(),
  resource: z.string().nullable(), severity: z.enum(['info', 'warning', 'critical']), message: z.string(), data: z.unknown(),
  raised_at: Timestamp, cleared_at: Timestamp.nullable(), acknowledged_at: Timestamp.nullable(), acknowledged_by: z.string().nullable(),
});
const NotificationOut = z.object({
  id: Id, event: z.enum(['raised', 'cleared']), channel: z.enum(['webhook', 'email']), target: z.string(),
  status: z.enum(['pending', 'sent', 'failed']), attempts: z.coerce.number().int(), last_error: z.string().nullable(),
  created_at: Timestamp, sent_at: Timestamp.nullable(),
});
const ALERT_COLUMNS = 'id, kind, subject, building_id, meter_id, gateway_id, resource, severity, message, data, raised_at, cleared_at, acknowledged_at, acknowledged_by';

const alertRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db }) => {
  app.get('/alerts', {
    schema: {
      tags: ['alerts'], summary: 'Alerts, newest first; open=true: not cleared, open=false: cleared',
      querystring: z.object({
        open: z.enum(['true', 'false']).optional(),
        building_id: z.coerce.number().int().positive().optional(),
        kind: Kind.optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
      response: { 200: z.array(AlertOut), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'alerts:read');
    const q = req.query;
    const params: unknown[] = [];
    const where = [buildingScopeSql(p, 'building_id', params)];
    if (q.open === 'true') where.push('cleared_at IS NULL');
    if (q.open === 'false') where.push('cleared_at IS NOT NULL');
    if (q.building_id) { params.push(q.building_id); where.push(`building_id = $${params.length}`); }
    if (q.kind) { params.push(q.kind); where.push(`kind = $${params.length}`); }
    params.push(q.limit);
    return (await db.query(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE ${where.join(' AND ')} ORDER BY raised_at DESC, id DESC LIMIT $${params.length}`, params)).rows;
  });

  app.get('/alerts/:id', {
    schema: {
      tags: ['alerts'], summary: 'One alert with its notifications (per channel and event: status, attempts, last error)',
      params: IdParams, response: { 200: AlertOut.extend({ notifications: z.array(NotificationOut) }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'alerts:read');
    // Admins see every alert; others those of their buildings (never building-less ones). Same 404 for both.
    await requireOwned(db, p, 'alert', req.params.id);
    const alert = (await db.query(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = $1`, [req.params.id])).rows[0];
    if (!alert) throw notFound('alert');
    const notifications = (await db.query(
      `SELECT id, event, channel, target, status, attempts, last_error, created_at, sent_at FROM alert_notifications WHERE alert_id = $1 ORDER BY id`,
      [req.params.id])).rows;
    return { ...alert, notifications };
  });

  app.post('/alerts/:id/ack', {
    schema: {
      tags: ['alerts'], summary: 'Acknowledge an alert (someone is on it); the comment goes to the audit journal',
      params: IdParams,
      // No body at all is fine (fastify hands the schema null): the comment is optional.
      body: z.object({ comment: z.string().trim().max(2000).optional() }).nullish(),
      response: { 200: AlertOut, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'alerts:manage');
    return db.tx(async (q) => {
      await requireOwned(q, p, 'alert', req.params.id);
      const before = (await q.query(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = $1 FOR UPDATE`, [req.params.id])).rows[0];
      if (!before) throw notFound('alert');
      if (before.acknowledged_at) throw conflict(`alert ${req.params.id} was already acknowledged by ${before.acknowledged_by} at ${new Date(before.acknowledged_at).toISOString()}`);
      const { rows } = await q.query(
        `UPDATE alerts SET acknowledged_at = now(), acknowledged_by = $2 WHERE id = $1 RETURNING ${ALERT_COLUMNS}`, [req.params.id, p.name]);
      await audit(q, actorOf(req), {
        action: 'acknowledge', entity: 'alert', entityId: req.params.id, buildingId: before.building_id == null ? null : Number(before.building_id),
        before: { acknowledged_at: null }, after: { acknowledged_at: rows[0].acknowledged_at, acknowledged_by: p.name },
        reason: req.body?.comment || null, requestId: req.id,
      });
      return rows[0];
    });
  });
};

export default alertRoutes;
