/**
 * Background jobs as seen by admins: which are defined, queue depths, and "run now" (e.g. an exchange
 * or a recompute started by hand). Absent when the head-end runs without Redis.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requirePermission } from '../auth/index.js';
import { audit } from '../audit/index.js';
import { HttpError, notFound } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { actorOf, errors, Timestamp, type RouteDeps } from '../http/context.js';

const Counts = z.object({ waiting: z.number(), active: z.number(), delayed: z.number(), failed: z.number(), completed: z.number() });

const jobRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, jobs }) => {
  app.get('/jobs', {
    schema: { tags: ['jobs'], summary: 'Defined jobs and their queue depths (empty counts while Redis is unreachable)', description: 'Background jobs of this head-end (imbalance recompute, alert checks and notifications, exchange runs, reminders, billing recalculation) with waiting, active, delayed, failed and completed counts per queue, and when the last run completed or failed and why; `redis_connected` false while Redis is unreachable.', response: { 200: z.object({ redis_connected: z.boolean(), jobs: z.array(z.object({
      name: z.string(), counts: Counts.nullable(),
      last_completed_at: Timestamp.nullable().describe('When the newest completed run finished (null: none kept, or Redis unreachable)'),
      last_failed_at: Timestamp.nullable().describe('When the newest failed run gave up'),
      last_error: z.string().nullable().describe('Why the newest failed run failed, as the job said'),
    })) }), ...errors } },
  }, async (req) => {
    requirePermission(principal(req), 'users:manage');
    if (!jobs) return { redis_connected: false, jobs: [] };
    const [depths, last] = await Promise.all([jobs.depths(), jobs.lastRuns()]);
    return {
      redis_connected: jobs.isConnected(),
      jobs: jobs.names().map((name) => ({
        name, counts: depths[name] ?? null,
        last_completed_at: last[name]?.completedAt ?? null, last_failed_at: last[name]?.failedAt ?? null, last_error: last[name]?.error ?? null,
      })),
    };
  });

  app.post('/jobs/:name/run', {
    schema: { tags: ['jobs'], summary: 'Run a job now with the given data', description: 'Queues the job `name` once with the body as its data (checked against the job\'s schema: 400 naming the field). 503 while Redis is unreachable: nothing was queued, try again. Audited.', params: z.object({ name: z.string().max(100).describe('A job name from GET /jobs') }), body: z.record(z.string(), z.unknown()).default({}), response: { 202: z.object({ job_id: z.string() }), ...errors } },
  }, async (req, reply) => {
    requirePermission(principal(req), 'users:manage');
    if (!jobs) throw new HttpError(409, 'conflict', 'background jobs are not available (no Redis configured)');
    if (!jobs.names().includes(req.params.name)) throw notFound(`job "${req.params.name}"`);
    if (!jobs.isConnected()) throw new HttpError(503, 'unavailable', `Redis at ${jobs.redisUrl} is unreachable; the job was not queued, try again later`);
    let id: string;
    try {
      id = await jobs.enqueue(req.params.name, req.body);
    } catch (e) {
      if ((e as Error).name === 'ZodError') throw new HttpError(400, 'validation', `data for job "${req.params.name}": ${(e as Error).message}`);
      throw e;
    }
    await db.tx((q) => audit(q, actorOf(req), { action: 'run', entity: 'job', entityId: req.params.name, after: { job_id: id, data: req.body }, requestId: req.id }));
    return reply.code(202).send({ job_id: id });
  });
};

export default jobRoutes;
