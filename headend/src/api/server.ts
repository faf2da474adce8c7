/**
 * Builds the head-end's HTTP API: fastify with zod schemas (validated input, typed handlers,
 * OpenAPI at /docs), one plugin per concern, then the route files.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Database, Queryable } from './queryable.js';
import { trustProxyOption, type ApiConfig } from './config.js';
import { apiLogOptions } from './log-redact.js';
import type { JobRunner } from '../jobs/index.js';
import { wallClock, type Clock } from '../util/clock.js';
import errorsPlugin from './plugins/errors.js';
import openapiPlugin from './plugins/openapi.js';
import metricsPlugin from './plugins/metrics.js';
import authPlugin from './plugins/auth.js';
import rawBodyPlugin from './plugins/raw-body.js';
import authRoutes from './routes/auth.js';
import registryRoutes from './routes/registry.js';
import meterRoutes from './routes/meters.js';
import gatewayRoutes from './routes/gateways.js';
import readingRoutes from './routes/readings.js';
import ingestRoutes from './routes/ingest.js';
import importRoutes from './routes/import.js';
import auditRoutes from './routes/audit.js';
import jobRoutes from './routes/jobs.js';
import validationRoutes from './routes/validation.js';
import imbalanceRoutes from './routes/imbalance.js';
import alertRoutes from './routes/alerts.js';
import overviewRoutes from './routes/overview.js';
import collectionRoutes from './routes/collection.js';
import billingRoutes from './routes/billing.js';
import exchangeRoutes from './routes/exchange.js';
import notificationRoutes from './routes/notifications.js';
import { dashboardPlugin, webSharedPlugin } from '../dashboard/index.js';
import { residentPagePlugin } from '../resident-page/index.js';

export interface ApiDeps {
  db: Database;
  config: ApiConfig;
  logger: Logger;
  /** The head-end's one prom-client registry (src/metrics/). */
  registry: Registry;
  jobs?: JobRunner;
  /** Read-only handle for overviews (a replica when DATABASE_READ_URL is set); default: db. */
  readDb?: Queryable;
  /** "Now" as data (a reading's collection period, an open window, this month); default the wall clock. */
  clock?: Clock;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The instant that dates data (util/clock.ts); timing and expiry stay on the real clock. */
    clock: Clock;
  }
}

export async function createApiServer(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // Secret query values (invite codes, tokens) and authorization headers never reach the log (log-redact.ts).
    loggerInstance: deps.logger.child({ module: 'api' }, apiLogOptions),
    bodyLimit: deps.config.IMPORT_MAX_BYTES ?? 20 * 1024 * 1024,
    trustProxy: trustProxyOption(deps.config.TRUST_PROXY),
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Decorated on the root, so every route plugin's encapsulated instance inherits it.
  app.decorate('clock', deps.clock ?? wallClock);

  await app.register(errorsPlugin);
  await app.register(openapiPlugin);
  await app.register(metricsPlugin, { registry: deps.registry, jobs: deps.jobs });
  await app.register(authPlugin, { db: deps.db });
  await app.register(rawBodyPlugin);

  const routeDeps = { db: deps.db, readDb: deps.readDb ?? deps.db, config: deps.config, jobs: deps.jobs };
  app.get('/health', { config: { public: true }, schema: { hide: true } }, async () => ({ ok: true }));
  await app.register(authRoutes, routeDeps);
  await app.register(registryRoutes, routeDeps);
  await app.register(meterRoutes, routeDeps);
  await app.register(gatewayRoutes, routeDeps);
  await app.register(readingRoutes, routeDeps);
  await app.register(ingestRoutes, routeDeps);
  await app.register(importRoutes, routeDeps);
  await app.register(auditRoutes, routeDeps);
  await app.register(jobRoutes, routeDeps);
  await app.register(validationRoutes, routeDeps);
  await app.register(imbalanceRoutes, routeDeps);
  await app.register(alertRoutes, routeDeps);
  await app.register(overviewRoutes, routeDeps);
  await app.register(collectionRoutes, routeDeps);
  await app.register(billingRoutes, routeDeps);
  await app.register(exchangeRoutes, routeDeps);
  await app.register(notificationRoutes, routeDeps);
  await app.register(dashboardPlugin);
  await app.register(webSharedPlugin);
  await app.register(residentPagePlugin);
  return app as unknown as FastifyInstance;
}
