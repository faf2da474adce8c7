/**
 * Billing jobs (issue 7): a late or corrected reading of a closed period books adjustment lines in the
 * next open period by itself. (Stub: filled in next.)
 */
import type { Logger } from 'pino';
import type { Database } from '../api/queryable.js';
import type { JobRunner } from '../jobs/index.js';
import type { AffectedPeriod } from '../imbalance/types.js';

export interface BillingJobDeps { db: Database; logger: Logger }

export async function defineBillingJobs(_jobs: JobRunner, _deps: BillingJobDeps): Promise<void> {}

export async function enqueueBillingRecalc(_jobs: JobRunner, _affected: AffectedPeriod[]): Promise<void> {}
