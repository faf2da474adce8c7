/**
 * Notifications of reading collection: settings per organisation or building, the log of
 * every message planned and sent, and "run now" for the digest and reminder jobs.
 *
 * Everything here needs collection:configure (the people who set the collection windows also decide
 * who is mailed about them). The defaults row and organisation rows are admin-only to change, as the
 * collection defaults are: everyone else sees only some buildings. Webhook URLs are shown and audited
 * with the password hidden; sending back the hidden form keeps the stored URL.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireOwned, requirePermission, type Principal } from '../auth/index.js';
import type { Queryable } from '../db/types.js';
import { HttpError } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { actorOf, ErrorBody, errors, Id, Timestamp, type RouteDeps } from '../http/context.js';
import { DIGEST_JOB, REMINDERS_JOB, NotificationSettings, notificationJobsDefined } from './index.js';
import { listNotificationLog, listSettings, saveSettings } from './settings-store.js';

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
  building_id: z.coerce.number().int().positive().optional().describe('Only about this building'),
  account_id: z.coerce.number().int().positive().optional().describe('Only to the residents of this personal account'),
  kind: Kind.optional().describe('Only this kind of notification'),
  channel: z.enum(['email', 'webhook']).optional().describe('Only sent this way'),
  status: z.enum(['pending', 'sent', 'failed']).optional().describe('Only in this state'),
  recipient: z.string().trim().min(1).max(320).optional().describe('Only to this address or URL'),
  from: z.iso.datetime({ offset: true }).optional().describe('Created at or after this instant'),
  to: z.iso.datetime({ offset: true }).optional().describe('Created before this instant'),
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('Most rows in the answer'),
});
const Job = z.enum(['digest', 'reminders']);
const RunOut = z.object({ job: Job, job_id: z.string() });

/**
 * Whose row is set: a building's (resolved through tenancy: another organisation's is a 404), or an
 * organisation's / the defaults, which only an admin sets (everyone else sees only some buildings).
 */
async function requireScope(q: Queryable, p: Principal, b: { org_id: number | null; building_id: number | null }): Promise<void> {
  if (b.building_id === null && p.buildingIds !== null) throw new HttpError(403, 'forbidden', 'only an admin sets the defaults or an organisation\'s settings');
  if (b.building_id !== null) await requireOwned(q, p, 'building', b.building_id);
  if (b.org_id !== null) await requireOwned(q, p, 'organisation', b.org_id);
}

const notificationRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, jobs }) => {
  app.get('/notification-settings', {
    schema: {
      tags: ['notifications'], summary: 'Notification settings rows: the defaults, organisations and the buildings you see (the most specific row applies)',
      description: 'When residents are reminded (window opening and closing, verification expiry ahead), how often staff get a digest of submissions, and the webhook. A building row wins over its organisation\'s, which wins over the defaults.',
      querystring: z.object({ building_id: z.coerce.number().int().positive().optional().describe('Only the rows that apply to this building') }), response: { 200: z.object({ items: z.array(SettingsRow) }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'collection:configure');
    if (req.query.building_id !== undefined) await requireOwned(db, p, 'building', req.query.building_id);
    return { items: await listSettings(db, p, req.query.building_id ?? null) };
  });

  app.put('/notification-settings', {
    schema: {
      tags: ['notifications'], summary: 'Set notification settings of a building, an organisation (org_id) or the defaults (both null)',
      description: 'Writes the row for that scope (replacing the previous one); audited. The defaults are for admins only.',
      body: SettingsBody, response: { 200: SettingsRow, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'collection:configure');
    const b = req.body;
    if (b.org_id !== null && b.building_id !== null) throw new HttpError(400, 'bad_request', 'give org_id or building_id, not both (a building\'s row already belongs to its organisation)');
    await requireScope(db, p, b);
    return saveSettings(db, actorOf(req), b, req.id);
  });

  app.get('/notifications', {
    schema: {
      tags: ['notifications'], summary: 'Log of collection notifications (staff digests, residents\' reminders, webhooks), newest first',
      description: 'Every message the collection module sent or tried to send, with its state and attempts, so "I got no reminder" can be checked.',
      querystring: LogQuery, response: { 200: z.object({ items: z.array(LogRow) }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'collection:configure');
    const f = req.query;
    if (f.building_id !== undefined) await requireOwned(db, p, 'building', f.building_id);
    if (f.account_id !== undefined) await requireOwned(db, p, 'account', f.account_id);
    return {
      items: await listNotificationLog(db, p, {
        buildingId: f.building_id, accountId: f.account_id, kind: f.kind, channel: f.channel, status: f.status,
        recipient: f.recipient, from: f.from, to: f.to, limit: f.limit,
      }),
    };
  });

  app.post('/notifications/run/:job', {
    schema: {
      tags: ['notifications'],
      summary: 'Run now: the staff digest or the residents\' reminders, queued as a job (202); 503 without a job runner (nothing could be sent)',
      description: 'Normally both run on their schedules (the digest every few minutes, reminders hourly on the days they are due); this runs one now, e.g. after changing the settings. Audited.',
      params: z.object({ job: Job.describe('digest: the staff digest of submissions; reminders: the residents\' reminders due now') }), response: { 202: RunOut, ...errors, 503: ErrorBody },
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
