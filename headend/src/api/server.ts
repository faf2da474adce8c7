/**
 * Builds the head-end's HTTP API: fastify with zod schemas (validated input, typed handlers,
 * OpenAPI at /docs), one plugin per concern, then the route files.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Database, Queryable } from '../db/types.js';
import { trustProxyOption, type ApiConfig } from '../http/config.js';
import { apiLogOptions } from '../http/log-redact.js';
import type { JobRunner } from '../jobs/index.js';
import { wallClock, type Clock } from '../util/clock.js';
import errorsPlugin from '../http/plugins/errors.js';
import openapiPlugin from '../http/plugins/openapi.js';
import metricsPlugin from '../http/plugins/metrics.js';
import authPlugin from '../http/plugins/auth.js';
import rawBodyPlugin from '../http/plugins/raw-body.js';
import authRoutes from '../auth/routes.js';
import registryRoutes from '../registry/routes.js';
import meterRoutes from '../registry/meter-routes.js';
import gatewayRoutes from '../registry/gateway-routes.js';
import readingRoutes from '../readings/routes.js';
import ingestRoutes from '../ingest/routes.js';
import importRoutes from '../import/routes.js';
import auditRoutes from '../audit/routes.js';
import jobRoutes from '../jobs/routes.js';
import validationRoutes from '../validation/routes.js';
import imbalanceRoutes from '../imbalance/routes.js';
import alertRoutes from '../alerts/routes.js';
import overviewRoutes from '../overview/routes.js';
import collectionRoutes from '../collection/routes.js';
import accessRoutes from '../collection/access-routes.js';
import { codeKeyOf } from '../collection/access.js';
import billingRoutes from '../billing/routes.js';
import heatRoutes from '../heat/routes.js';
import exchangeRoutes from '../exchange/routes.js';
import notificationRoutes from '../reminders/routes.js';
import commandRoutes from '../commands/routes.js';
import type { CommandSender } from '../commands/service.js';
import { dashboardPlugin, webSharedPlugin } from '../dashboard/index.js';
import { residentPagePlugin } from '../resident-page/index.js';
import { checkReadiness, databaseCheck, startLiveness, type ReadinessReport } from '../health/index.js';
import healthRoutes from '../health/routes.js';
import type { GatewayAccounts } from '../broker/accounts.js';
import type { EmqxHooks } from '../broker/emqx-hooks.js';
import emqxRoutes from '../broker/emqx-routes.js';

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
  /** After a gateway's secret rotation commits: the embedded broker closes its sessions (broker/embedded.ts). */
  onGatewaySecretRotated?(gatewayId: string): void;
  /** Mosquitto's dynamic security (broker/dynsec.ts), told of gateways created, rotated, disabled. */
  gatewayAccounts?: GatewayAccounts;
  /** EMQX's HTTP authentication and authorization (MQTT_BROKER_AUTH=emqx-http); unset = no such endpoints. */
  emqxHooks?: EmqxHooks;
  /** Commands to gateways over the broker (src/commands/); unset = the command routes answer 503. */
  commands?: CommandSender;
  /** Readiness of the whole head-end (database, broker, jobs: server/headend.ts); default: the database only. */
  readiness?: () => Promise<ReadinessReport>;
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

  const routeDeps = { db: deps.db, readDb: deps.readDb ?? deps.db, config: deps.config, codeKey: codeKeyOf(deps.config.SECRETS_KEY), jobs: deps.jobs, onGatewaySecretRotated: deps.onGatewaySecretRotated, gatewayAccounts: deps.gatewayAccounts, commands: deps.commands };
  const liveness = startLiveness();
  app.addHook('onClose', async () => liveness.stop());
  const dbReady = databaseCheck(deps.db);
  await app.register(healthRoutes, { liveness, readiness: deps.readiness ?? (() => checkReadiness([dbReady], 2000)) });
  await app.register(authRoutes, routeDeps);
  if (deps.emqxHooks) await app.register(emqxRoutes, { hooks: deps.emqxHooks });
  await app.register(registryRoutes, routeDeps);
  await app.register(meterRoutes, routeDeps);
  await app.register(gatewayRoutes, routeDeps);
  await app.register(commandRoutes, routeDeps);
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
  await app.register(accessRoutes, routeDeps);
  await app.register(billingRoutes, routeDeps);
  await app.register(heatRoutes, routeDeps);
  await app.register(exchangeRoutes, routeDeps);
  await app.register(notificationRoutes, routeDeps);
  await app.register(dashboardPlugin);
  await app.register(webSharedPlugin);
  await app.register(residentPagePlugin);
  return app as unknown as FastifyInstance;
}
