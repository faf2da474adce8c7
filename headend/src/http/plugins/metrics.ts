/**
 * /metrics for Prometheus on the head-end's one prom-client registry: HTTP request counts and
 * latency by route pattern (not raw URL, which would explode label cardinality), and bullmq queue depths.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { JobRunner } from '../../jobs/index.js';

export interface MetricsPluginOptions { registry: Registry; jobs?: JobRunner }

function getOrCreate<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export default fp<MetricsPluginOptions>(async function metricsPlugin(app: FastifyInstance, { registry, jobs }) {
  const requests = getOrCreate(registry, 'amr_http_requests_total', () => new Counter({
    name: 'amr_http_requests_total', help: 'HTTP requests by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const, registers: [registry],
  }));
  const latency = getOrCreate(registry, 'amr_http_request_duration_seconds', () => new Histogram({
    name: 'amr_http_request_duration_seconds', help: 'HTTP request latency by method and route pattern',
    labelNames: ['method', 'route'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry],
  }));
  const depth = getOrCreate(registry, 'amr_queue_jobs', () => new Gauge({
    name: 'amr_queue_jobs', help: 'bullmq jobs per queue and state (waiting, active, delayed, failed, completed)',
    labelNames: ['queue', 'state'] as const, registers: [registry],
    async collect() {
      if (!jobs) return;
      this.reset();
      for (const [queue, counts] of Object.entries(await jobs.depths())) {
        for (const [state, n] of Object.entries(counts)) this.set({ queue, state }, n);
      }
    },
  }));
  void depth;

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    latency.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
}, { name: 'amr-metrics' });
