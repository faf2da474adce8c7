/**
 * Prometheus metrics of the head-end core. One prom-client `Registry` per head-end instance is
 * created by the server and handed to every module (the API adds its own metrics to the same one and
 * serves it at /metrics). `registry` below is the process default for code that has no server.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Db } from '../db/index.js';

export const registry = new Registry();

export function createRegistry(opts: { defaultMetrics?: boolean } = {}): Registry {
  const r = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: r, prefix: 'amr_' });
  return r;
}

/** Returns the metric already registered under `name` or registers the new one (idempotent per registry). */
function once<T>(r: Registry, name: string, make: () => T): T {
  return (r.getSingleMetric(name) as T | undefined) ?? make();
}

export type CoreMetrics = ReturnType<typeof coreMetrics>;

export function coreMetrics(r: Registry) {
  const reg = [r];
  return {
    readingsStored: once(r, 'amr_ingest_readings_stored_total', () =>
      new Counter({ name: 'amr_ingest_readings_stored_total', help: 'Reading values committed to the readings table', registers: reg })),
    messages: once(r, 'amr_ingest_messages_total', () =>
      new Counter({ name: 'amr_ingest_messages_total', help: 'MQTT messages handled by ingestion, by kind and outcome', labelNames: ['kind', 'outcome'] as const, registers: reg })),
    deadLetters: once(r, 'amr_ingest_dead_letters_total', () =>
      new Counter({ name: 'amr_ingest_dead_letters_total', help: 'Payloads stored as dead letters', labelNames: ['kind'] as const, registers: reg })),
    quarantined: once(r, 'amr_ingest_quarantined_total', () =>
      new Counter({ name: 'amr_ingest_quarantined_total', help: 'Readings put in quarantine, by reason', labelNames: ['reason'] as const, registers: reg })),
    duplicates: once(r, 'amr_ingest_duplicate_readings_total', () =>
      new Counter({ name: 'amr_ingest_duplicate_readings_total', help: 'Redelivered readings (gateway, seq) that added no row', registers: reg })),
    batchSize: once(r, 'amr_ingest_batch_size', () =>
      new Histogram({ name: 'amr_ingest_batch_size', help: 'Messages per committed batch', buckets: [1, 5, 10, 50, 100, 250, 500, 1000, 2500], registers: reg })),
    batchSeconds: once(r, 'amr_ingest_batch_seconds', () =>
      new Histogram({ name: 'amr_ingest_batch_seconds', help: 'Time to write and commit one batch', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: reg })),
    lagSeconds: once(r, 'amr_ingest_lag_seconds', () =>
      new Histogram({ name: 'amr_ingest_lag_seconds', help: 'Publish (gateway sentAt) to commit lag', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300], registers: reg })),
    batchFailures: once(r, 'amr_ingest_batch_failures_total', () =>
      new Counter({ name: 'amr_ingest_batch_failures_total', help: 'Batches whose commit failed (messages not acknowledged)', registers: reg })),
    pending: once(r, 'amr_ingest_pending', () =>
      new Gauge({ name: 'amr_ingest_pending', help: 'Reading messages waiting for commit', registers: reg })),
    authRejected: once(r, 'amr_broker_rejected_total', () =>
      new Counter({ name: 'amr_broker_rejected_total', help: 'Refused broker attempts, by action (connect/publish/subscribe)', labelNames: ['action'] as const, registers: reg })),
    brokerAuth: once(r, 'amr_broker_auth_attempts_total', () =>
      new Counter({ name: 'amr_broker_auth_attempts_total', help: 'MQTT CONNECT authentications, by outcome (cached = accepted without a password hash; backed_off/busy = refused without one)', labelNames: ['outcome'] as const, registers: reg })),
    brokerHashes: once(r, 'amr_broker_password_hashes_total', () =>
      new Counter({ name: 'amr_broker_password_hashes_total', help: 'Slow password hashes (scrypt) computed for MQTT CONNECTs', registers: reg })),
    brokerHashQueue: once(r, 'amr_broker_hash_queue_depth', () =>
      new Gauge({ name: 'amr_broker_hash_queue_depth', help: 'MQTT CONNECTs waiting for a password hash, by lane (known = verified before, served first)', labelNames: ['lane'] as const, registers: reg })),
    gatewaysOnline: once(r, 'amr_gateways_online', () =>
      new Gauge({ name: 'amr_gateways_online', help: 'Gateways whose last status is online', registers: reg })),
  };
}

export type PolicyJobMetrics = ReturnType<typeof policyJobMetrics>;

/**
 * TimescaleDB policy jobs as the server watcher judged them (policy-jobs/): one series per job and
 * state, 1 for the state it is in, so "failing" or "overdue" is one alert rule away.
 */
export function policyJobMetrics(r: Registry) {
  const reg = [r];
  return {
    state: once(r, 'amr_policy_job_state', () =>
      new Gauge({ name: 'amr_policy_job_state', help: 'TimescaleDB policy job state on the server (1 = the state it is in): ok, not_yet_run, failing, overdue, paused', labelNames: ['policy', 'table', 'state'] as const, registers: reg })),
    lastSuccess: once(r, 'amr_policy_job_last_success_timestamp_seconds', () =>
      new Gauge({ name: 'amr_policy_job_last_success_timestamp_seconds', help: 'When the server\'s scheduler last ran the policy job successfully (0 = never)', labelNames: ['policy', 'table'] as const, registers: reg })),
    ownRuns: once(r, 'amr_policy_job_own_runs_total', () =>
      new Counter({ name: 'amr_policy_job_own_runs_total', help: 'Policy jobs the head-end ran itself because the server\'s did not, by outcome', labelNames: ['policy', 'table', 'outcome'] as const, registers: reg })),
  };
}

/** DB pool gauges, read at scrape time. */
export function registerPoolMetrics(r: Registry, db: Db): void {
  if (r.getSingleMetric('amr_db_pool_connections')) return;
  new Gauge({
    name: 'amr_db_pool_connections',
    help: 'Database pool connections by state (total, idle, waiting = callers queued for a connection)',
    labelNames: ['state'] as const,
    registers: [r],
    collect() {
      const s = db.stats();
      this.set({ state: 'total' }, s.total);
      this.set({ state: 'idle' }, s.idle);
      this.set({ state: 'waiting' }, s.waiting);
    },
  });
}

/** Lets other modules (bullmq jobs, the API) publish queue depths without owning a gauge. */
export function registerQueueDepthHook(r: Registry, read: () => Promise<Record<string, number>> | Record<string, number>): void {
  if (r.getSingleMetric('amr_queue_depth')) return;
  new Gauge({
    name: 'amr_queue_depth',
    help: 'Depth of background queues, by queue',
    labelNames: ['queue'] as const,
    registers: [r],
    async collect() {
      for (const [q, n] of Object.entries(await read())) this.set({ queue: q }, n);
    },
  });
}
