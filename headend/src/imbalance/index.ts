// Imbalance service: compute, store and recompute reports (stub until built).
import type { Logger } from 'pino';
import type { Db } from '../db/index.js';
import type { JobRunner } from '../jobs/index.js';
import type { AffectedPeriod, OnImbalanceReport } from './types.js';

export * from './types.js';

export interface ImbalanceDeps {
  db: Db;
  logger: Logger;
  onReport?: OnImbalanceReport;
}

/** Defines the `imbalance.recompute` job (and its schedule) on the runner. */
export async function defineImbalanceJobs(_runner: JobRunner, _deps: ImbalanceDeps): Promise<void> {}

/** Enqueues recomputation of every report the changed data falls into. */
export async function enqueueImbalanceRecompute(_runner: JobRunner, _affected: AffectedPeriod[]): Promise<void> {}
