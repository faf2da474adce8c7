/**
 * Probes: `/health/live` (liveness: 200 unless the event loop is wedged), `/health/ready` (readiness:
 * database, broker, jobs; 503 naming each failing part) and `/health` (same as ready, kept for probes
 * and scripts written against it). Public: kubelets and load balancers have no token.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ReadinessReport } from './readiness.js';
import type { Liveness } from './live.js';

export interface HealthDeps {
  readiness: () => Promise<ReadinessReport>;
  liveness: Liveness;
}

const Live = z.object({
  ok: z.boolean(),
  heartbeat_age_ms: z.number().describe('Time since the event loop last ran its heartbeat timer (1 s period)'),
  event_loop_delay_p99_ms: z.number().describe('99th percentile of the event-loop delay since start'),
});

const readyExample = { ok: false, failing: ['database'], parts: { database: { ok: false, error: 'database unreachable: connect ECONNREFUSED 10.0.0.5:5432' }, broker: { ok: true }, jobs: { ok: true } } };

const healthRoutes: FastifyPluginAsyncZod<HealthDeps> = async (app, { readiness, liveness }) => {
  app.get('/health/live', {
    config: { public: true },
    schema: {
      tags: ['health'],
      summary: 'Liveness probe',
      description: 'Answers 200 while the process is responsive. 503 when its event loop has not run a 1-second heartbeat for 10 s (wedged): restart the process. Outages of the database or Redis do not make it fail.',
      response: { 200: Live, 503: Live },
    },
  }, async (_req, reply) => {
    const s = liveness.state();
    return reply.code(s.ok ? 200 : 503).send({ ok: s.ok, heartbeat_age_ms: s.heartbeatAgeMs, event_loop_delay_p99_ms: s.eventLoopDelayP99Ms });
  });

  const ready = {
    config: { public: true },
    schema: {
      tags: ['health'],
      summary: 'Readiness probe',
      description: 'Checks each part the head-end needs, each within 2 s: `database` (a short query), `broker` (the MQTT broker or the external subscription accepts messages) and `jobs` (Redis connected, when background jobs are configured). 200 when all are ready; 503 with the failing parts named in `failing` and the reason of each in `parts`. Also 503 while shutting down.',
      response: {
        200: ReadinessReport.meta({ example: { ok: true, failing: [], parts: { database: { ok: true }, broker: { ok: true }, jobs: { ok: true } } } }),
        503: ReadinessReport.meta({ example: readyExample }),
      },
    },
  } as const;
  app.get('/health/ready', ready, async (_req, reply) => {
    const r = await readiness();
    return reply.code(r.ok ? 200 : 503).send(r);
  });
  app.get('/health', { ...ready, schema: { ...ready.schema, summary: 'Readiness probe (older path)', description: `Same as /health/ready. ${ready.schema.description}` } }, async (_req, reply) => {
    const r = await readiness();
    return reply.code(r.ok ? 200 : 503).send(r);
  });
};

export default healthRoutes;
