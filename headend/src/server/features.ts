/**
 * The head-end's background features and how they feed each other:
 *   readings (telemetry from ingest, every other source through src/readings/) → vee_queue → validator → verdicts
 *     → affected building × resource × period → `imbalance.recompute` job → stored reports
 *     → alerts (threshold crossed) → `alerts.notify` job (webhook, e-mail).
 * Silent meters and gateways are checked by the scheduled `alerts.check` job; XML exchange runs on
 * each configuration's cron (`exchange.run`, a folder or an FTP/FTPS/SFTP server); reading collection
 * notifies staff of residents' submissions and reminds residents (`notifications.*`, src/reminders); a
 * late or corrected reading of a closed billing month books adjustments by itself (`billing.recalc`);
 * a signed monthly heat statement is mailed to the heat supplier (`heat.statements.send`, src/heat).
 * A register reading stored late (older than its meter's newest) marks the imbalance periods it
 * changes (ingest → imbalance_dirty); `imbalance.recompute-dirty` recomputes them every 30 s.
 * Without Redis (jobs disabled) the validator still runs and the marked periods are recomputed by a
 * timer here (every VALIDATOR_INTERVAL_MS); the validator's own recompute requests wait for a job runner.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { Db } from '../db/index.js';
import type { JobRunner } from '../jobs/index.js';
import { wallClock, type Clock } from '../util/clock.js';
import { startValidator, type Validator } from '../validation/index.js';
import { defineImbalanceJobs, enqueueImbalanceRecompute, recomputeDirty, type DirtyDrain } from '../imbalance/index.js';
import { channelsOf, defineAlertJobs, enqueueNotifications, imbalanceAlertHook } from '../alerts/index.js';
import { defineExchangeJobs, createExchangeMailer } from '../exchange/index.js';
import { defineReminderJobs } from '../reminders/index.js';
import { defineBillingJobs, enqueueBillingRecalc } from '../billing/store/jobs.js';
import { defineHeatJobs } from '../heat/jobs.js';

export interface Features {
  validator: Validator;
  /** Recomputes the imbalance periods late readings marked, now (what the job or the timer does). */
  recomputeLate(): Promise<DirtyDrain>;
  close(): Promise<void>;
}

export async function startFeatures(opts: { db: Db; logger: Logger; config: Config; jobs?: JobRunner; clock?: Clock }): Promise<Features> {
  const { db, logger, config, jobs } = opts;
  // "Now" as data for every job (util/clock.ts); their timing (coalescing, back-off) stays real.
  const clock = opts.clock ?? wallClock;
  const alertDeps = { db, logger: logger.child({ module: 'alerts' }), config, clock };
  if (jobs) {
    await defineImbalanceJobs(jobs, { db, logger: logger.child({ module: 'imbalance' }), onReport: imbalanceAlertHook(jobs, alertDeps), clock });
    await defineAlertJobs(jobs, alertDeps);
    await defineExchangeJobs(jobs, {
      db, mailer: createExchangeMailer(config), logger: logger.child({ module: 'exchange' }), secretsKey: config.SECRETS_KEY, now: clock, exchangeRoot: config.EXCHANGE_ROOT, alertChannels: channelsOf(config),
      onAlertNotifications: (ids) => enqueueNotifications(jobs, ids, alertDeps),
      ftpsCa: config.EXCHANGE_FTPS_CA_FILE ? await readFile(config.EXCHANGE_FTPS_CA_FILE, 'utf8') : undefined,
    });
    await defineReminderJobs(jobs, { db, logger: logger.child({ module: 'reminders' }), config, clock });
    await defineBillingJobs(jobs, { db, logger: logger.child({ module: 'billing' }) });
    defineHeatJobs(jobs, { db, logger: logger.child({ module: 'heat' }), config, clock });
  }
  const validator = startValidator({
    db,
    logger: logger.child({ module: 'validation' }),
    intervalMs: config.VALIDATOR_INTERVAL_MS,
    // A server's pool: two batches at once, each up to 2 000 instants fitted to half a second, keep
    // verdicts up with pipelined ingest batches (bench: npm run bench). The embedded engine serves
    // one connection: one batch at a time, fitted to its 100 ms turn.
    workers: config.DATABASE_URL ? 2 : 1,
    ...(config.DATABASE_URL ? { batchSize: 2000, holdTargetMs: 500 } : {}),
    onAffected: jobs ? async (affected) => {
      const enqueued = (async () => {
        await enqueueImbalanceRecompute(jobs, affected);
        await enqueueBillingRecalc(jobs, affected);
      })();
      if (jobs.isConnected()) return enqueued;
      // Redis away: the jobs wait in the connection's offline queue until it is back, but the
      // validator must not wait with them (it stopped validating, and held shutdown, for the outage).
      enqueued.catch((err: Error) => logger.error({ err: err.message, affected: affected.length }, 'validator: recompute jobs not queued (Redis)'));
    } : undefined,
  });
  const imbalanceLog = logger.child({ module: 'imbalance' });
  // One drain at a time (the timer's and a caller's share it): the embedded engine has one connection.
  let draining: Promise<DirtyDrain> | null = null;
  const recomputeLate = (): Promise<DirtyDrain> => {
    draining ??= recomputeDirty(db, {
      onReport: jobs ? imbalanceAlertHook(jobs, alertDeps) : undefined,
      onError: (m, e) => imbalanceLog.warn({ ...m, err: e.message }, 'imbalance: marked period not recomputed; kept for the next run'),
    }).finally(() => {
      draining = null;
    });
    return draining;
  };
  let timer: NodeJS.Timeout | undefined;
  if (!jobs) {
    timer = setInterval(() => {
      if (!draining) recomputeLate().catch((err: Error) => imbalanceLog.error({ err: err.message }, 'imbalance: recompute of marked periods failed'));
    }, config.VALIDATOR_INTERVAL_MS);
    timer.unref();
  }
  return {
    validator,
    recomputeLate,
    async close() {
      clearInterval(timer);
      await draining?.catch(() => undefined);
      await validator.stop();
    },
  };
}
