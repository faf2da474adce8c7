/**
 * Validator: drains vee_queue (filled by every readings INSERT: a trigger, or the bulk writers) in
 * short batches, a sweep over the meters (load.ts takeQueue), and stores one verdict per reading row
 * of the meter's register quantity (src/vee rules). After each committed batch it reports the
 * building × resource stretches it touched, so imbalance reports are recomputed.
 *
 * Embedded mode has ONE database connection shared with ingest and the API, so a batch is one short
 * transaction and drains never overlap. A batch that fails is retried one meter at a time; a meter
 * that still fails keeps its rows queued and is skipped with a growing back-off, so it cannot block
 * the others.
 */
import type { Logger } from 'pino';
import type { Db } from '../db/index.js';
import type { AffectedPeriod } from '../imbalance/types.js';
import { DEFAULT_VALIDATION_SETTINGS, ValidationSettings } from '../vee/index.js';
import { runBatch, type BatchResult } from './batch.js';
import { queuedMeters } from './load.js';

export interface ValidatorOptions {
  db: Db;
  logger: Logger;
  intervalMs?: number;
  batchSize?: number;
  /** Called after each committed batch with the building × resource stretches it touched. */
  onAffected?: (affected: AffectedPeriod[]) => Promise<void> | void;
  /**
   * Batches validating at once, each in its own transaction (FOR UPDATE SKIP LOCKED keeps them apart):
   * 1 on the embedded engine's one connection, more on a server's pool so verdicts keep up with a
   * pipelined ingest. Default 1.
   */
  workers?: number;
  /**
   * How long one batch may hold its connection, ms (the batch size is fitted to it): default
   * HOLD_TARGET_MS, for the embedded engine's one connection that ingest and the API share. A
   * server's pool has connections to spare: a longer hold takes bigger batches, whose fixed cost per
   * batch (five statements, the round trips) is spread over more readings.
   */
  holdTargetMs?: number;
  /** Rule thresholds; defaults from src/vee. */
  settings?: Partial<ValidationSettings>;
}

export interface Validator {
  /** Validates everything queued now; resolves with the number of readings validated. */
  drain(): Promise<number>;
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 10 * 60_000;
/** How long one validator batch may hold the database. */
export const HOLD_TARGET_MS = 100;
const MIN_BATCH = 20;
const FIRST_BATCH = 100;

/** The next batch size: scaled by how far the last full batch was from the target hold, within [MIN_BATCH, max]. */
export function fitBatch(taken: number, ms: number, max: number, targetMs = HOLD_TARGET_MS): number {
  return Math.max(MIN_BATCH, Math.min(max, Math.round(taken * targetMs / Math.max(ms, 1))));
}

export function startValidator(opts: ValidatorOptions): Validator {
  const { db, logger } = opts;
  const intervalMs = opts.intervalMs ?? 2000;
  const batchSize = opts.batchSize ?? 500;
  const holdTargetMs = opts.holdTargetMs ?? HOLD_TARGET_MS;
  const settings = opts.settings ? ValidationSettings.parse(opts.settings) : DEFAULT_VALIDATION_SETTINGS;
  /** Meters whose batch failed: skipped until `until`. */
  const backoff = new Map<number, { failures: number; until: number }>();
  let chain: Promise<unknown> = Promise.resolve();
  let busy = false;
  let stopped = false;

  const skipped = () => {
    const now = Date.now();
    return [...backoff].filter(([, b]) => b.until > now).map(([id]) => id);
  };

  async function committed(res: BatchResult): Promise<void> {
    if (!res.affected.length || !opts.onAffected) return;
    try {
      await opts.onAffected(res.affected);
    } catch (err) {
      logger.error({ err, affected: res.affected.length }, 'validator: onAffected failed (verdicts are stored)');
    }
  }

  /** After a failed batch: each meter of the queue head in its own transaction. */
  async function isolate(skip: number[]): Promise<{ taken: number; verdicts: number }> {
    const out = { taken: 0, verdicts: 0 };
    for (const meterId of await queuedMeters(db, batchSize, skip)) {
      try {
        const res = await db.tx((q) => runBatch(q, { batchSize, skipMeters: skip, settings, onlyMeters: [meterId] }));
        backoff.delete(meterId);
        out.taken += res.taken.length;
        out.verdicts += res.verdicts.length;
        await committed(res);
      } catch (err) {
        const failures = (backoff.get(meterId)?.failures ?? 0) + 1;
        const wait = Math.min(intervalMs * 2 ** failures, MAX_BACKOFF_MS);
        backoff.set(meterId, { failures, until: Date.now() + wait });
        logger.error({ err, meterId, failures, retryInMs: wait }, `validator: meter ${meterId} failed validation; its readings stay queued`);
      }
    }
    return out;
  }

  /**
   * Instants per batch now: at most batchSize, fitted after each batch so that one holds the
   * database about HOLD_TARGET_MS (the embedded engine's one connection is ingest's and the API's too;
   * between batches they get their turn).
   */
  // Start small: the first batch's hold is not known yet.
  let size = Math.min(batchSize, FIRST_BATCH);
  /** Where the sweep over the queue's meters stands: the last meter the latest batch took (takeQueue). */
  let sweep = 0;
  async function drainOne(): Promise<number> {
    let total = 0;
    for (let round = 0; !stopped || round === 0; round++) {
      const skip = skipped();
      let res: BatchResult;
      const started = Date.now();
      const taking = size;
      try {
        res = await db.tx((q) => runBatch(q, { batchSize: taking, skipMeters: skip, settings, after: sweep }));
      } catch (err) {
        logger.warn({ err }, 'validator: batch failed; retrying meter by meter');
        const r = await isolate(skip);
        total += r.verdicts;
        // Carry on only while isolation clears rows without new failures; otherwise wait for the next tick.
        if (r.taken > 0 && skipped().length === skip.length) continue;
        break;
      }
      total += res.verdicts.length;
      if (res.taken.length) {
        sweep = res.taken[res.taken.length - 1].meterId;
        logger.debug({ queued: res.taken.length, verdicts: res.verdicts.length, ms: Date.now() - started }, 'validator: batch');
        await committed(res);
      }
      if (res.taken.length === taking) size = fitBatch(taking, Date.now() - started, batchSize, holdTargetMs);
      // A short batch means the queue was empty when it was taken; newer rows wait for the next tick.
      // The size fitted on what was queued then (a gateway's few readings a tick) says nothing of what
      // comes next (a file import's 100 000 instants, each with months of neighbours): start the next
      // tick small again, so its first batch cannot hold the connection for many times the target.
      if (res.taken.length < taking) { size = Math.min(size, FIRST_BATCH); break; }
    }
    return total;
  }

  const workers = Math.max(1, opts.workers ?? 1);
  async function drainNow(): Promise<number> {
    const counts = await Promise.all(Array.from({ length: workers }, () => drainOne()));
    return counts.reduce((a, b) => a + b, 0);
  }

  function drain(): Promise<number> {
    const run = chain.then(async () => {
      busy = true;
      try {
        return await drainNow();
      } finally {
        busy = false;
      }
    });
    chain = run.catch(() => undefined);
    return run;
  }

  const timer = setInterval(() => {
    if (busy || stopped) return;
    drain().catch((err: unknown) => logger.error({ err }, 'validator: drain failed'));
  }, intervalMs);
  timer.unref();

  return {
    drain,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await chain;
    },
  };
}
