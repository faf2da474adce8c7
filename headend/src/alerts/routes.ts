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
import { acknowledgeAlert, acknowledgeAlerts, alertGroups, alertWithNotifications, BULK_ACK_MAX, listAlerts, type AlertFilter } from './store.js';
import { alertParams } from './messages.js';

const Kind = z.enum(['imbalance', 'meter_silent', 'gateway_silent', 'policy_job', 'access_code_key', 'heat_delivery_failed', 'heat_mail_failed', 'heat_statement_outdated']);
const Severity = z.enum(['info', 'warning', 'critical']);
const AlertOut = z.object({
  id: Id, kind: Kind, subject: z.string(), building_id: Id.nullable(), meter_id: Id.nullable(), gateway_id: z.string().nullable(),
  resource: z.string().nullable(), severity: Severity, message: z.string().describe('Russian and English lines, UTC times: for e-mail and older clients; pages word the alert from kind + params'), data: z.unknown(),
  raised_at: Timestamp, cleared_at: Timestamp.nullable(), acknowledged_at: Timestamp.nullable(), acknowledged_by: z.string().nullable(),
});
const Params = z.object({
  resource: z.string().nullable().describe('heat, cold_water, … (meter_silent, imbalance)'),
  serial_number: z.string().nullable().describe('the silent meter\'s serial number'),
  make: z.string().nullable().describe('the silent meter\'s make'),
  gateway_id: z.string().nullable().describe('the silent gateway'),
  gateway_name: z.string().nullable().describe('the silent gateway\'s name'),
  last_seen_at: z.string().nullable().describe('silence: the last message (ISO); null = never sent one'),
  silent_since: z.string().nullable().describe('silence: since when (last message, else registration), ISO'),
  threshold_minutes: z.number().nullable().describe('silence: minutes without a message that raise the alert'),
  month: z.string().nullable().describe('imbalance, heat_delivery_failed, heat_mail_failed, heat_statement_outdated: the month, YYYY-MM'),
  status: z.string().nullable().describe('imbalance: high_loss or negative_imbalance'),
  imbalance_pct: z.number().nullable().describe('imbalance: the loss, % of the building meter'),
  high_loss_pct: z.number().nullable().describe('imbalance: the loss threshold, %'),
  negative_pct: z.number().nullable().describe('imbalance: the negative tolerance, %'),
  codes: z.number().nullable().describe('access_code_key: live residents\' access codes hashed under another SECRETS_KEY (they no longer work)'),
  accounts: z.number().nullable().describe('access_code_key: the personal accounts of those codes'),
  job_id: z.number().nullable().describe('policy_job: the TimescaleDB job id'),
  policy: z.string().nullable().describe('policy_job: policy_refresh_continuous_aggregate, policy_compression or policy_retention'),
  table: z.string().nullable().describe('policy_job: the hypertable or continuous aggregate it works on'),
  job_state: z.string().nullable().describe('policy_job: failing, overdue or paused'),
  error: z.string().nullable().describe('policy_job: the server\'s last error text for the job; heat_delivery_failed, heat_mail_failed: the last attempt\'s error'),
  version: z.number().nullable().describe('heat_delivery_failed, heat_mail_failed: the statement version not delivered (mailed); heat_statement_outdated: the signed version'),
  config_id: z.number().nullable().describe('heat_delivery_failed: the exchange configuration'),
  attempts: z.number().nullable().describe('heat_delivery_failed, heat_mail_failed: the attempts used'),
  email_to: z.string().nullable().describe('heat_mail_failed: the heat supplier\'s addresses the mail was not delivered to (comma-separated)'),
  location: z.string().nullable().describe('heat_delivery_failed: where the configuration delivers (transport://host/folder, or the folder)'),
  changes: z.array(z.object({ total: z.string(), signed: z.number().nullable(), now: z.number().nullable() })).nullable()
    .describe('heat_statement_outdated: each total that differs, as signed and as computed now'),
}).describe('The alert\'s facts as data, for wording it in the reader\'s language (times are UTC ISO; show them in building_timezone)');
const ListedAlertOut = AlertOut.extend({
  building_address: z.string().nullable().describe('the building\'s address (null: a gateway without a building)'),
  building_timezone: z.string().nullable().describe('the building\'s IANA time zone, e.g. Europe/Moscow'),
  params: Params,
});
const GroupOut = z.object({
  building_id: Id.nullable(), building_address: z.string().nullable(), building_timezone: z.string().nullable(), kind: Kind,
  severity: Severity.describe('the worst in the group'), count: z.number().int(), open: z.number().int().describe('not cleared'),
  unacknowledged: z.number().int(), first_raised_at: Timestamp, last_raised_at: Timestamp,
});
const FilterQuery = z.object({
  open: z.enum(['true', 'false']).optional().describe('true: not cleared; false: cleared; absent: both'),
  acknowledged: z.enum(['true', 'false']).optional().describe('true: acknowledged; false: not yet; absent: both'),
  building_id: z.coerce.number().int().positive().optional().describe('Only this building'),
  kind: Kind.optional().describe('Only this kind of alert'),
  severity: Severity.optional().describe('Only this severity'),
  from: z.iso.datetime({ offset: true }).optional().describe('Raised at or after this instant (ISO with offset)'),
  to: z.iso.datetime({ offset: true }).optional().describe('Raised before this instant (ISO with offset)'),
});
type FilterIn = z.infer<typeof FilterQuery>;
const bool = (v: 'true' | 'false' | undefined) => (v === undefined ? undefined : v === 'true');
const toFilter = (q: FilterIn): AlertFilter => ({
  open: bool(q.open), acknowledged: bool(q.acknowledged), buildingId: q.building_id, kind: q.kind, severity: q.severity,
  from: q.from ? new Date(q.from) : undefined, to: q.to ? new Date(q.to) : undefined,
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
      querystring: FilterQuery.extend({
        limit: z.coerce.number().int().min(1).max(1000).default(100).describe('Most alerts in the answer'),
      }),
      response: { 200: z.array(ListedAlertOut), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'alerts:read');
    // A building named in the query narrows the caller's scope (the store's): another organisation's gives an empty list.
    const rows = await listAlerts(db, p, { ...toFilter(req.query), limit: req.query.limit });
    return rows.map((r) => ({ ...wire<z.input<typeof AlertOut>>(r), building_address: r.building_address, building_timezone: r.building_timezone, params: alertParams(r) }));
  });

  app.get('/alerts/groups', {
    schema: {
      tags: ['alerts'], summary: 'Alerts counted per building and kind (triage: a storm as a few lines)',
      description: 'The caller\'s alerts matching the filter, one line per building × kind with counts (all, open, unacknowledged) and the worst severity; groups with unacknowledged alerts first. List a group\'s alerts with GET /alerts?building_id&kind and the same filter.',
      querystring: FilterQuery,
      response: { 200: z.array(GroupOut), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'alerts:read');
    return wire<z.input<typeof GroupOut>[]>(await alertGroups(db, p, toFilter(req.query)));
  });

  app.post('/alerts/ack', {
    schema: {
      tags: ['alerts'], summary: 'Acknowledge many alerts with one reason (a selection by ids, or every unacknowledged alert matching a filter)',
      description: [
        'All or nothing: every id is checked like POST /alerts/{id}/ack; an id that does not exist or is another organisation\'s refuses the whole request (400 naming it) and no alert changes.',
        'Alerts already acknowledged are left as they were and listed under `already`. The reason goes to the audit journal of each alert.',
        `At most ${BULK_ACK_MAX} alerts per request.`,
      ].join(' '),
      body: z.object({
        ids: z.array(z.number().int().positive()).min(1).max(BULK_ACK_MAX).optional().describe('The alerts to acknowledge'),
        filter: FilterQuery.optional().describe('Instead of ids: every unacknowledged alert of yours matching this (as GET /alerts)'),
        comment: z.string().trim().min(1, 'comment: say why (who is on it), e.g. "power cut at the substation, crew sent"').max(2000).describe('The reason, one for all'),
      }).refine((b) => (b.ids === undefined) !== (b.filter === undefined), { message: 'give either ids or filter (exactly one of them)', path: ['ids'] }),
      response: { 200: z.object({ acknowledged: z.array(Id).describe('acknowledged now'), already: z.array(Id).describe('acknowledged before, left as they were') }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'alerts:manage');
    const b = req.body;
    const what = b.ids ? { ids: b.ids } : { filter: toFilter(b.filter!) };
    return acknowledgeAlerts(db, p, actorOf(req), what, b.comment, req.id);
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
