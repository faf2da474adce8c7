/**
 * Notifications of reading collection (issue 7): settings per organisation or building, the log of
 * every message planned and sent, and "run now" for the digest and reminder jobs.
 *
 * Everything here needs collection:configure (the people who set the collection windows also decide
 * who is mailed about them). The defaults row and organisation rows are admin-only to change, as the
 * collection defaults are: everyone else sees only some buildings. Webhook URLs are shown and audited
 * with the password hidden; sending back the hidden form keeps the stored URL.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireBuilding, requirePermission, type Principal } from '../auth/index.js';
import { audit } from '../audit/index.js';
import { HttpError, notFound } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { actorOf, ErrorBody, errors, Id, Timestamp, type RouteDeps } from '../http/context.js';
import {
  DIGEST_JOB, REMINDERS_JOB, NOTIFICATION_COLUMNS, NotificationSettings, notificationJobsDefined, redactWebhook,
} from './index.js';

const SettingsRow = z.object({
  id: Id, org_id: Id.nullable(), building_id: Id.nullable(), enabled: z.boolean(), staff_digest: z.boolean(), resident_reminders: z.boolean(),
  verification_days_before: z.number(), reminder_hour: z.number(), digest_minutes: z.number(), webhook_url: z.string().nullable(), updated_at: Timestamp,
});
const SettingsBody = NotificationSettings.extend({
  org_id: z.number().int().positive().nullable().default(null),
  building_id: z.number().int().positive().nullable().default(null),
  webhook_url: z.string().trim().max(2000).nullable().default(null),
});
const Kind = z.enum(['submissions', 'window_open', 'window_due', 'verification', 'reminders']);
const LogRow = z.object({
  id: Id, kind: Kind, channel: z.enum(['email', 'webhook']), building_ids: z.array(Id), account_id: Id.nullable(), user_id: Id.nullable(), meter_id: Id.nullable(),
  recipient: z.string(), subject: z.string(), body: z.string(), dedup_key: z.string(), status: z.enum(['pending', 'sent', 'failed']),
  attempts: z.coerce.number().int(), last_error: z.string().nullable(), created_at: Timestamp, sent_at: Timestamp.nullable(),
});
const LogQuery = z.object({
  building_id: z.coerce.number().int().positive().optional(),
  account_id: z.coerce.number().int().positive().optional(),
  kind: Kind.optional(),
  channel: z.enum(['email', 'webhook']).optional(),
  status: z.enum(['pending', 'sent', 'failed']).optional(),
  recipient: z.string().trim().min(1).max(320).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const Job = z.enum(['digest', 'reminders']);
const RunOut = z.object({ job: Job, job_id: z.string() });

// A database row (checked by the response schema on the way out).
const out = (r: any): any => ({ ...r, webhook_url: redactWebhook(r.webhook_url as string | null) });

function requireScope(p: Principal, b: { org_id: number | null; building_id: number | null }): void {
  if (b.building_id === null && p.buildingIds !== null) throw new HttpError(403, 'forbidden', 'only an admin sets the defaults or an organisation\'s settings');
  if (b.building_id !== null) requireBuilding(p, b.building_id);
}

const notificationRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, jobs }) => {
  app.get('/notification-settings', {
    schema: {
      tags: ['notifications'], summary: 'Notification settings rows: the defaults, organisations and the buildings you see (the most specific row applies)',
      querystring: z.object({ building_id: z.coerce.number().int().positive().optional() }), response: { 200: z.object({ items: z.array(SettingsRow) }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'collection:configure');
    if (req.query.building_id !== undefined) requireBuilding(p, req.query.building_id);
    const params: unknown[] = [req.query.building_id ?? null];
    const scope = p.buildingIds === null ? 'TRUE' : (params.push([...p.buildingIds]), 'building_id = ANY($2::bigint[])');
    // An organisation's row is shown to those who see one of its buildings.
    const orgScope = p.buildingIds === null ? 'TRUE' : 'org_id IN (SELECT org_id FROM buildings WHERE id = ANY($2::bigint[]))';
    const { rows } = await db.query(
      `SELECT id, org_id, building_id, ${NOTIFICATION_COLUMNS}, updated_at FROM notification_settings
        WHERE (building_id IS NULL AND (org_id IS NULL OR ${orgScope})) OR (($1::bigint IS NULL OR building_id = $1) AND ${scope})
        ORDER BY building_id NULLS FIRST, org_id NULLS FIRST`, params);
    return { items: rows.map(out) };
  });

  app.put('/notification-settings', {
    schema: {
      tags: ['notifications'], summary: 'Set notification settings of a building, an organisation (org_id) or the defaults (both null)',
      body: SettingsBody, response: { 200: SettingsRow, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'collection:configure');
    const b = req.body;
    if (b.org_id !== null && b.building_id !== null) throw new HttpError(400, 'bad_request', 'give org_id or building_id, not both (a building\'s row already belongs to its organisation)');
    requireScope(p, b);
    return db.tx(async (q) => {
      if (b.building_id !== null && !(await q.query('SELECT 1 FROM buildings WHERE id = $1', [b.building_id])).rows[0]) throw notFound('building');
      if (b.org_id !== null && !(await q.query('SELECT 1 FROM organisations WHERE id = $1', [b.org_id])).rows[0]) throw notFound('organisation');
      const before = (await q.query(
        `SELECT id, org_id, building_id, ${NOTIFICATION_COLUMNS}, updated_at FROM notification_settings
          WHERE coalesce(org_id, 0) = coalesce($1::bigint, 0) AND coalesce(building_id, 0) = coalesce($2::bigint, 0) FOR UPDATE`, [b.org_id, b.building_id])).rows[0];
      let url = b.webhook_url === '' ? null : b.webhook_url;
      // The hidden form of the stored URL, sent back unchanged, keeps the stored one.
      if (url !== null && before?.webhook_url && url === redactWebhook(before.webhook_url)) url = before.webhook_url;
      if (url !== null && !NotificationSettings.shape.webhook_url.safeParse(url).success) {
        throw new HttpError(400, 'bad_request', `webhook_url: not an http(s) URL: ${redactWebhook(url)}`, [{ path: 'body.webhook_url', message: 'an http:// or https:// URL' }]);
      }
      const vals = [b.enabled, b.staff_digest, b.resident_reminders, b.verification_days_before, b.reminder_hour, b.digest_minutes, url];
      const { rows } = before
        ? await q.query(`UPDATE notification_settings SET (${NOTIFICATION_COLUMNS}, updated_at) = ($2,$3,$4,$5,$6,$7,$8, now()) WHERE id = $1
                          RETURNING id, org_id, building_id, ${NOTIFICATION_COLUMNS}, updated_at`, [before.id, ...vals])
        : await q.query(`INSERT INTO notification_settings (org_id, building_id, ${NOTIFICATION_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
                          RETURNING id, org_id, building_id, ${NOTIFICATION_COLUMNS}, updated_at`, [b.org_id, b.building_id, ...vals]);
      await audit(q, actorOf(req), {
        action: before ? 'update' : 'create', entity: 'notification_settings', entityId: rows[0].id, buildingId: b.building_id,
        before: before ? out(before) : undefined, after: out(rows[0]), requestId: req.id,
      });
      return out(rows[0]);
    });
  });

  app.get('/notifications', {
    schema: {
      tags: ['notifications'], summary: 'Log of collection notifications (staff digests, residents\' reminders, webhooks), newest first',
      querystring: LogQuery, response: { 200: z.object({ items: z.array(LogRow) }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'collection:configure');
    const f = req.query;
    if (f.building_id !== undefined) requireBuilding(p, f.building_id);
    const params: unknown[] = [];
    const where: string[] = [];
    const add = (sql: (i: number) => string, v: unknown) => { params.push(v); where.push(sql(params.length)); };
    // A row is visible when every building it speaks of is (a digest may cover several).
    if (p.buildingIds !== null) add((i) => `building_ids <@ $${i}::bigint[] AND cardinality(building_ids) > 0`, [...p.buildingIds]);
    if (f.building_id !== undefined) add((i) => `$${i}::bigint = ANY(building_ids)`, f.building_id);
    if (f.account_id !== undefined) add((i) => `account_id = $${i}`, f.account_id);
    if (f.kind) add((i) => `kind = $${i}`, f.kind);
    if (f.channel) add((i) => `channel = $${i}`, f.channel);
    if (f.status) add((i) => `status = $${i}`, f.status);
    if (f.recipient) add((i) => `lower(recipient) = lower($${i})`, f.recipient);
    if (f.from) add((i) => `created_at >= $${i}`, f.from);
    if (f.to) add((i) => `created_at < $${i}`, f.to);
    params.push(f.limit);
    const { rows } = await db.query(
      `SELECT id, kind, channel, building_ids::int[] AS building_ids, account_id, user_id, meter_id, recipient, subject, body, dedup_key, status, attempts,
              last_error, created_at, sent_at
         FROM notification_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT $${params.length}`, params);
    return { items: rows };
  });

  app.post('/notifications/run/:job', {
    schema: {
      tags: ['notifications'],
      summary: 'Run now: the staff digest or the residents\' reminders, queued as a job (202); 503 without a job runner (nothing could be sent)',
      params: z.object({ job: Job }), response: { 202: RunOut, ...errors, 503: ErrorBody },
    },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'collection:configure');
    // Both jobs cover every building and are idempotent: starting one early only sends what is due anyway.
    const job = req.params.job;
    if (!notificationJobsDefined(jobs)) throw new HttpError(503, 'unavailable', 'background jobs are not running (no Redis): notifications cannot be sent');
    if (!jobs.isConnected()) throw new HttpError(503, 'unavailable', `Redis at ${jobs.redisUrl} is unreachable; the job was not queued, try again later`);
    const id = await jobs.enqueue(job === 'digest' ? DIGEST_JOB : REMINDERS_JOB, {});
    return reply.code(202).send({ job, job_id: id });
  });
};
export default notificationRoutes;
