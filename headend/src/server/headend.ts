/**
 * Start-up wiring of one head-end: database (embedded or server) → migrations → retention policy →
 * ingestion → broker (embedded aedes or external subscriber) → jobs (bullmq) → API. Shutdown
 * (shutdown.ts) is bounded step by step: stop taking MQTT messages first, then write what ingest holds,
 * then the validator and jobs, then HTTP, then the database — so nothing is acknowledged after its
 * batch can no longer be written, and an unreachable Redis or database cannot hold the exit.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config/index.js';
import { openDb, migrate, embeddedMemoryOf, type OpenedDb, type Db } from '../db/index.js';
import { openReadDb } from '../db/read-replica.js';
import { coreMetrics, createRegistry, policyJobMetrics, registerPoolMetrics, type CoreMetrics } from '../metrics/index.js';
import { createIngest, type Ingest } from '../ingest/index.js';
import { startEmbeddedBroker, startExternalSubscriber, type EmbeddedBroker, type ExternalSubscriber } from '../broker/index.js';
import { applyRetention } from './policies.js';
import { POLICY_LEASE_MS, POLICY_ROUND_MS, POLICY_WATCH_LEASE, policyWatchRound, runPolicyJobs } from '../policy-jobs/index.js';
import { newInstanceId, releaseLease } from '../leases/index.js';
import { channelsOf, enqueueNotifications } from '../alerts/index.js';
import { dynsecGatewayAccounts, openDynsecControl, reconcileDynsec, type DynsecControl } from '../broker/dynsec.js';
import { gatewayRows, registryGateways } from '../broker/store.js';
import { createEmqxHooks } from '../broker/emqx-hooks.js';
import { registryAuthenticator } from '../broker/registry-auth.js';
import { batchedRowLookup } from '../broker/gateway-rows.js';
import type { GatewayAccounts } from '../broker/accounts.js';
import { finishImports } from '../readings/import-staging.js';
import { startFeatures, type Features } from './features.js';
import { registerValidationBacklog } from '../validation/backlog.js';
import { createApiServer } from '../api/index.js';
import { startAdminChannel } from '../admin/channel.js';
import type { JobRunner } from '../jobs/index.js';
import { wallClock, type Clock } from '../util/clock.js';
import { checkCodeKey } from '../collection/code-key-check.js';
import { codeKeyOf } from '../collection/access.js';
import { secretsKeyFor } from '../util/secret-box.js';
import { createCommandService, openCommandChannel, type CommandService } from '../commands/index.js';
import { runShutdown, type ShutdownReport } from './shutdown.js';
import { checkReadiness, databaseCheck, type ReadinessCheck, type ReadinessReport } from '../health/index.js';

export interface HeadendOptions {
  config: Config;
  logger: Logger;
  registry?: Registry;
  /** Start the HTTP API (createApiServer) — default true. */
  api?: boolean;
  /** Start bullmq jobs on Redis — default true. */
  jobs?: boolean;
  onCommitted?: Parameters<typeof createIngest>[0]['onCommitted'];
  /**
   * "Now" wherever a time becomes data (collection periods, windows, this month, reminders' day,
   * silence checks, binding valid_from, a recalculation's end): util/clock.ts. Default the wall clock;
   * tests and the demo pass a fixed or simulated one. Timing and expiry stay on the real clock.
   */
  clock?: Clock;
}

export interface Headend {
  db: Db;
  dbUrl: string;
  registry: Registry;
  metrics: CoreMetrics;
  ingest: Ingest;
  broker: EmbeddedBroker | null;
  subscriber: ExternalSubscriber | null;
  /** Port of the embedded broker, or null with an external one. */
  mqttPort: number | null;
  /** Credentials of the head-end's own MQTT client on the embedded broker (commands, demo). */
  internalMqtt: { username: string; password: string };
  httpUrl: string | null;
  /** Validator (drain() in tests), imbalance and alert jobs. */
  features: Features;
  /** Commands to gateways (src/commands/), through whichever broker is in use. */
  commands: CommandService;
  /** Database, broker and jobs (when configured), each bounded; what /health/ready answers. */
  readiness(): Promise<ReadinessReport>;
  /**
   * Bounded shutdown in order (SHUTDOWN_STEPS); resolves with what each step did within
   * `deadlineMs` (default SHUTDOWN_TIMEOUT_SECONDS). Calling it again returns the same report.
   */
  shutdown(opts?: { deadlineMs?: number; onStep?: (name: string) => void }): Promise<ShutdownReport>;
  /** shutdown() without the report. */
  close(): Promise<void>;
}

/**
 * Shutdown steps in the order they run, with each one's share of the deadline (the shares add up to
 * a little under 1, so a step that uses its whole share leaves the later ones theirs).
 */
export const SHUTDOWN_STEPS = [
  { name: 'broker', share: 0.15 }, // refuse new MQTT connections and messages, disconnect clients
  { name: 'commands', share: 0.03 }, // the command channel's MQTT client and reply timers
  { name: 'ingest', share: 0.22 }, // commit the batches already taken (never acknowledged yet)
  { name: 'validator', share: 0.05 },
  { name: 'jobs', share: 0.15 }, // bullmq workers and queues; Redis connection dropped, not quit
  { name: 'http', share: 0.1 },
  { name: 'admin socket', share: 0.03 },
  { name: 'policy timer', share: 0.01 },
  { name: 'read database', share: 0.05 },
  { name: 'database', share: 0.2 },
] as const;
type StepName = (typeof SHUTDOWN_STEPS)[number]['name'];

/** Stable per host unless MQTT_CLIENT_ID says otherwise: persistent sessions on an external broker survive restarts. */
const mqttClientIdPrefix = (config: Config) => config.MQTT_CLIENT_ID ?? `amr-${hostname()}`.slice(0, 40).replace(/[^A-Za-z0-9_.-]/g, '_');

export async function startHeadend(opts: HeadendOptions): Promise<Headend> {
  const { logger } = opts;
  // Stored secrets are sealed by default: without SECRETS_KEY, with a key kept in DATA_DIR (util/secret-box.ts).
  const config = { ...opts.config, SECRETS_KEY: secretsKeyFor(opts.config.SECRETS_KEY, opts.config.DATA_DIR, (m) => logger.warn(m)) };
  const registry = opts.registry ?? createRegistry({ defaultMetrics: true });
  const metrics = coreMetrics(registry);
  /** What each shutdown step closes, filled in as start-up opens it. */
  const closers = new Map<StepName, () => Promise<void>>();
  const defaultDeadlineMs = (config.SHUTDOWN_TIMEOUT_SECONDS ?? 10) * 1000;
  let shuttingDown: Promise<ShutdownReport> | null = null;
  const shutdown = (o: { deadlineMs?: number; onStep?: (name: string) => void } = {}): Promise<ShutdownReport> => {
    shuttingDown ??= (async () => {
      const deadlineMs = o.deadlineMs ?? defaultDeadlineMs;
      const steps = SHUTDOWN_STEPS.flatMap((s) => {
        const run = closers.get(s.name);
        return run ? [{ name: s.name, boundMs: Math.max(100, Math.floor(s.share * deadlineMs)), run }] : [];
      });
      const report = await runShutdown(steps, { deadlineMs, onStep: o.onStep });
      for (const s of report.steps) {
        if (s.outcome === 'failed') logger.warn({ step: s.name, err: s.error, ms: s.ms }, `shutdown: ${s.name} failed (${s.error ?? ''}); going on`);
        else if (s.outcome === 'timed_out') logger.error({ step: s.name, ms: s.ms }, `shutdown: ${s.name} did not finish within ${s.ms} ms; left to the process exit`);
      }
      return report;
    })();
    return shuttingDown;
  };
  const close = async () => { await shutdown(); };
  const cleanups = { push: (name: StepName, fn: () => Promise<void>) => closers.set(name, fn) };
  try {
    const opened: OpenedDb = await openDb({
      databaseUrl: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      dbPort: config.DB_PORT,
      poolMax: config.DB_POOL_MAX,
      embeddedMemory: embeddedMemoryOf(config),
      log: (m) => logger.info(m),
      warn: (m) => logger.warn(m),
      logSlow: (m) => logger.error(m),
    });
    cleanups.push('database', () => opened.close());
    const db = opened.db;
    registerPoolMetrics(registry, db);
    registerValidationBacklog(registry, db, opts.clock);
    const mig = await migrate(db, { log: (m) => logger.info(m) });
    logger.info({ applied: mig.applied.length, skipped: mig.skipped.length }, 'migrations done');
    await applyRetention(db, config.RAW_RETENTION_DAYS, (m) => logger.warn(m));
    // A replaced SECRETS_KEY silently breaks every live resident access code: counted, logged and alerted
    // here (collection/code-key-check.ts); the alert's notifications are queued once the jobs run.
    const codeKeyCheck = await checkCodeKey(db, codeKeyOf(config.SECRETS_KEY), { channels: channelsOf(config), at: (opts.clock ?? wallClock)(), logger });
    // A readings import cut off by a crash: its hidden rows are deleted, a switched one gets its
    // validation queue (readings/import-staging.ts); in short steps, behind start-up.
    finishImports(db).then((r) => { if (r.discarded || r.settled) logger.info(r, 'readings imports left by the last run finished'); })
      .catch((e: Error) => logger.warn({ err: e.message }, 'finishing readings imports left by the last run failed; they stay hidden'));
    // `amr-headend user create|passwd` reach this head-end through a socket in DATA_DIR (admin/channel.ts).
    if (!config.DATA_DIR.startsWith('memory://') && process.platform !== 'win32') {
      const channel = await startAdminChannel({ db, dataDir: config.DATA_DIR, log: (m) => logger.info(m) });
      cleanups.push('admin socket', () => channel.close());
    }
    if (opened.embedded) {
      // PGlite runs no TimescaleDB background workers: run the policy jobs (aggregate refresh,
      // compression, retention) ourselves, on the one shared connection, every 5 minutes.
      const t = setInterval(() => {
        runPolicyJobs(db, (m) => logger.warn(m)).catch((e: Error) => logger.warn({ err: e.message }, 'TimescaleDB policy jobs failed'));
      }, POLICY_ROUND_MS);
      t.unref();
      cleanups.push('policy timer', async () => clearInterval(t));
    }

    const ingest = createIngest({
      db,
      metrics,
      logger: logger.child({ module: 'ingest' }),
      batchSize: config.INGEST_BATCH_SIZE,
      lingerMs: config.INGEST_LINGER_MS,
      maxPending: config.INGEST_MAX_PENDING,
      // A server's pool: batches pipelined on up to INGEST_PARALLEL_BATCHES connections, leaving the
      // rest of the pool to the validator, the API and jobs. Embedded: the one connection.
      concurrency: opened.embedded ? 1 : Math.max(1, Math.min(config.INGEST_PARALLEL_BATCHES, config.DB_POOL_MAX - 2)),
      clock: opts.clock,
      maxFutureSkewMs: config.INGEST_CLOCK_SKEW_SECONDS * 1000,
      onCommitted: opts.onCommitted,
    });
    cleanups.push('ingest', () => ingest.drain());

    const internalMqtt = { username: `headend-${randomBytes(4).toString('hex')}`, password: randomBytes(24).toString('base64url') };
    let broker: EmbeddedBroker | null = null;
    let subscriber: ExternalSubscriber | null = null;
    let gatewayAccounts: GatewayAccounts | undefined;
    let dynsec: DynsecControl | null = null;
    if (config.MQTT_URL && config.MQTT_BROKER_AUTH === 'mosquitto-dynsec') {
      // Before subscribing: the head-end's own user may need the role that lets it subscribe.
      dynsec = await openDynsecControl({
        url: config.MQTT_URL, username: config.MQTT_ADMIN_USERNAME!, password: config.MQTT_ADMIN_PASSWORD!,
        clientId: `${mqttClientIdPrefix(config)}-dynsec`, logger: logger.child({ module: 'dynsec' }),
      });
      const control = dynsec;
      cleanups.push('broker', () => control.close());
      const headendUser = { username: config.MQTT_USERNAME!, password: config.MQTT_PASSWORD!, shareGroup: config.MQTT_SHARE_GROUP };
      const plan = await reconcileDynsec(dynsec, await registryGateways(db), headendUser);
      logger.info({ changes: plan.commands.length, removed: plan.removed }, 'Mosquitto dynamic security reconciled with the registry');
      if (plan.withoutPassword.length) {
        logger.warn({ gateways: plan.withoutPassword }, 'gateways created on Mosquitto without a password (the registry keeps only a hash): rotate their credentials (POST /gateways/{id}/credentials) so they can connect');
      }
      gatewayAccounts = dynsecGatewayAccounts(dynsec);
    }
    if (config.MQTT_URL) {
      subscriber = startExternalSubscriber({
        url: config.MQTT_URL,
        group: config.MQTT_SHARE_GROUP,
        ingest,
        logger: logger.child({ module: 'mqtt' }),
        username: config.MQTT_USERNAME,
        password: config.MQTT_PASSWORD,
        clientIdPrefix: mqttClientIdPrefix(config),
      });
      const control = dynsec;
      cleanups.push('broker', async () => {
        await subscriber!.close();
        await control?.close();
      });
    } else {
      broker = await startEmbeddedBroker({
        db,
        ingest,
        logger: logger.child({ module: 'broker' }),
        metrics,
        host: config.MQTT_HOST,
        port: config.MQTT_PORT,
        tls: config.MQTT_TLS_CERT && config.MQTT_TLS_KEY ? { cert: config.MQTT_TLS_CERT, key: config.MQTT_TLS_KEY, port: config.MQTT_TLS_PORT } : undefined,
        internalUsers: new Map([[internalMqtt.username, internalMqtt.password]]),
      });
      // The first step of shutdown: nothing new is taken while ingest writes what it holds.
      cleanups.push('broker', () => broker!.close());
    }

    // Commands to gateways: the head-end's own MQTT client on the same broker (commands/channel.ts).
    const clientIdPrefix = mqttClientIdPrefix(config);
    const channel = openCommandChannel({
      ...(broker
        ? { url: `mqtt://${/^(0\.0\.0\.0|::)$/.test(config.MQTT_HOST) ? '127.0.0.1' : config.MQTT_HOST}:${broker.port}`, ...internalMqtt, clientId: `${internalMqtt.username}-cmd` }
        : { url: config.MQTT_URL!, username: config.MQTT_USERNAME, password: config.MQTT_PASSWORD, clientId: `${clientIdPrefix}-cmd`, shareGroup: config.MQTT_SHARE_GROUP }),
      logger: logger.child({ module: 'commands' }),
      onReply: (topic, payload) => commandService.handleReply(topic, payload),
    });
    const commandService: CommandService = createCommandService({ db, channel, timeoutMs: config.COMMAND_TIMEOUT_SECONDS * 1000, logger: logger.child({ module: 'commands' }) });
    cleanups.push('commands', async () => {
      commandService.close();
      await channel.close();
    });
    // The embedded broker is ours and up: a command sent right after start must find the reply subscription in place.
    if (broker) await Promise.race([channel.ready, new Promise((r) => setTimeout(r, 10_000).unref())]);

    let jobs: unknown;
    if (opts.jobs !== false) {
      const { JobRunner } = await import('../jobs/index.js');
      const { redisUrlFromConfig } = await import('../jobs/redis-connection.js');
      // REDIS_SENTINELS (+ name, password) wins over REDIS_URL: the master is found through Sentinel.
      const redisUrl = redisUrlFromConfig(config);
      const runner = new JobRunner({ redisUrl, prefix: config.REDIS_PREFIX, logger });
      jobs = runner;
      logger.info(`jobs on Redis ${runner.redisUrl} (prefix ${config.REDIS_PREFIX})`);
      cleanups.push('jobs', () => runner.close());
    }

    const features = await startFeatures({ db, logger, config, jobs: jobs as JobRunner | undefined, clock: opts.clock });
    // Stopped before the jobs and the database close (SHUTDOWN_STEPS).
    cleanups.push('validator', () => features.close());

    const jobRunner = jobs as JobRunner | undefined;
    if (codeKeyCheck?.notificationIds.length) await enqueueNotifications(jobRunner, codeKeyCheck.notificationIds, { logger });
    if (!opened.embedded) {
      // The server's scheduler runs the policies, but may fail every run or none at all without a word
      // (Debian's PostgreSQL 15.20): watch them, alert, and run a stopped one here until it works again.
      const channels = channelsOf(config);
      const policyMetrics = policyJobMetrics(registry);
      // Replicas on one database: the one holding the lease watches; the others stand by for it.
      const instance = newInstanceId();
      const t = setInterval(() => {
        policyWatchRound(db, instance, POLICY_LEASE_MS, { channels, metrics: policyMetrics, warn: (m) => logger.warn(m) })
          .then(async (r) => {
            if (!r) return;
            if (r.raised.length || r.cleared.length) logger.warn({ raised: r.raised, cleared: r.cleared }, 'TimescaleDB policy job alerts');
            await enqueueNotifications(jobRunner, r.notificationIds, { logger });
          })
          .catch((e: Error) => logger.warn({ err: e.message }, 'TimescaleDB policy watch failed; tried again in 5 minutes'));
      }, POLICY_ROUND_MS);
      t.unref();
      cleanups.push('policy timer', async () => {
        clearInterval(t);
        // Handed over at once rather than when it expires: another replica's next round takes it.
        await releaseLease(db, POLICY_WATCH_LEASE, instance).catch((e: Error) => logger.warn({ err: e.message }, 'could not release the policy watcher lease'));
      });
    }
    const dbReady = databaseCheck(db);
    const checks: ReadinessCheck[] = [
      { name: 'shutdown', check: () => { if (shuttingDown) throw new Error('shutting down'); } },
      dbReady,
      {
        name: 'broker',
        check: () => {
          if (broker && !broker.accepting()) throw new Error('embedded MQTT broker closed');
          if (subscriber) {
            const down = subscriber.clients.filter((c) => !c.connected).length;
            if (down) throw new Error(`${down} of ${subscriber.clients.length} connection(s) to the external MQTT broker down`);
          }
        },
      },
      ...(jobRunner ? [{ name: 'jobs', check: () => { if (!jobRunner.isConnected()) throw new Error(`Redis at ${jobRunner.redisUrl} unreachable`); } }] : []),
    ];
    const readiness = async (): Promise<ReadinessReport> => {
      const r = await checkReadiness(checks, 2000);
      // "shutdown" is a part only while it fails: a ready head-end lists database, broker, jobs.
      if (r.parts.shutdown?.ok) delete r.parts.shutdown;
      return r;
    };

    let httpUrl: string | null = null;
    if (opts.api !== false) {
      // Dashboards and overviews may read from a replica (DATABASE_READ_URL); unset = the primary.
      const readDb = await openReadDb(db, config, (m) => logger.info(m), (m) => logger.warn(m));
      cleanups.push('read database', () => readDb.close());
      // A rotated secret ends the gateway's sessions on the embedded broker at once; an external
      // broker checks credentials itself and has nothing to close here.
      const embedded = broker;
      const onGatewaySecretRotated = embedded ? (gatewayId: string) => void embedded.secretRotated(gatewayId) : undefined;
      // EMQX asks the head-end who may connect, publish and subscribe: the embedded broker's own checks.
      const emqxHooks = config.MQTT_BROKER_AUTH === 'emqx-http'
        ? createEmqxHooks({
          token: config.MQTT_HOOK_TOKEN!,
          auth: registryAuthenticator({
            db, logger: logger.child({ module: 'emqx' }), metrics,
            internalUsers: config.MQTT_USERNAME && config.MQTT_PASSWORD ? new Map([[config.MQTT_USERNAME, config.MQTT_PASSWORD]]) : undefined,
          }),
          lookup: batchedRowLookup((ids) => gatewayRows(db, ids)),
          headend: config.MQTT_USERNAME ? { username: config.MQTT_USERNAME, shareGroup: config.MQTT_SHARE_GROUP } : undefined,
          metrics, logger: logger.child({ module: 'emqx' }),
        })
        : undefined;
      // Readings entries' batches: one at a time on the embedded engine's one connection (as ingest).
      const apiConfig = { ...config, SUBMIT_PARALLEL_BATCHES: opened.embedded ? 1 : Math.max(1, Math.min(config.SUBMIT_PARALLEL_BATCHES, config.DB_POOL_MAX - 2)) };
      const app = await createApiServer({ db, readDb: readDb.db, config: apiConfig, logger, registry, jobs: jobs as JobRunner | undefined, clock: opts.clock, onGatewaySecretRotated, gatewayAccounts, emqxHooks, readiness, commands: commandService });
      httpUrl = await app.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
      cleanups.push('http', () => app.close());
      logger.info(`API on ${httpUrl} (OpenAPI at /docs)`);
    }
    return {
      db,
      dbUrl: opened.url,
      registry,
      metrics,
      ingest,
      broker,
      subscriber,
      mqttPort: broker?.port ?? null,
      internalMqtt,
      httpUrl,
      features,
      commands: commandService,
      readiness,
      shutdown,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
