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
import { requireOwned, requirePermission } from '../auth/index.js';
import { notFound } from '../http/errors.js';
import { toWire } from '../http/casing.js';
import { principal } from '../http/plugins/auth.js';
import { actorOf, errors, Id, IdParams, Timestamp, type RouteDeps } from '../http/context.js';
import { acknowledgeAlert, alertWithNotifications, listAlerts } from './store.js';

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
const AlertDetail = AlertOut.extend({ notifications: z.array(NotificationOut) });

// An alert's data (its figures, an imbalance report's thresholds) goes out snake_case like the rest.
const wire = <T>(v: unknown) => toWire(v) as T;

const alertRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db }) => {
  app.get('/alerts', {
    schema: {
      tags: ['alerts'], summary: 'Alerts, newest first; open=true: not cleared, open=false: cleared',
      description: 'Alerts of the caller\'s buildings: imbalance over its threshold, silent meters and gateways. An alert clears by itself when its cause is gone; acknowledging it only says someone is on it.',
      querystring: z.object({
        open: z.enum(['true', 'false']).optional().describe('true: not cleared; false: cleared; absent: both'),
        building_id: z.coerce.number().int().positive().optional().describe('Only this building'),
        kind: Kind.optional().describe('Only this kind of alert'),
        limit: z.coerce.number().int().min(1).max(1000).default(100).describe('Most alerts in the answer'),
      }),
      response: { 200: z.array(AlertOut), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'alerts:read');
    const q = req.query;
    // A building named in the query narrows the caller's scope (the store's): another organisation's gives an empty list.
    const rows = await listAlerts(db, p, { open: q.open === undefined ? undefined : q.open === 'true', buildingId: q.building_id, kind: q.kind, limit: q.limit });
    return wire<z.input<typeof AlertOut>[]>(rows);
  });

  app.get('/alerts/:id', {
    schema: {
      tags: ['alerts'], summary: 'One alert with its notifications (per channel and event: status, attempts, last error)',
      description: 'The alert `id` and every notification sent for it by webhook and e-mail, so a missing message can be traced. An alert of another organisation answers 404.',
      params: IdParams, response: { 200: AlertDetail, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'alerts:read');
    // Admins see every alert; others those of their buildings (never building-less ones). Same 404 for both.
    await requireOwned(db, p, 'alert', req.params.id);
    const alert = await alertWithNotifications(db, req.params.id);
    if (!alert) throw notFound('alert');
    return wire<z.input<typeof AlertDetail>>(alert);
  });

  app.post('/alerts/:id/ack', {
    schema: {
      tags: ['alerts'], summary: 'Acknowledge an alert (someone is on it); the comment goes to the audit journal',
      description: 'Records who acknowledged the alert `id` and when; it stays open until its cause is gone. The body may be empty.',
      params: IdParams,
      // No body at all is fine (fastify hands the schema null): the comment is optional.
      body: z.object({ comment: z.string().trim().max(2000).optional() }).nullish(),
      response: { 200: AlertOut, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'alerts:manage');
    const row = await acknowledgeAlert(db, p, actorOf(req), req.params.id, req.body?.comment || null, req.id);
    return wire<z.input<typeof AlertOut>>(row);
  });
};

export default alertRoutes;
