/**
 * bullmq wiring: one job `exchange.run` {configId}, scheduled per enabled config by its cron under the
 * scheduler id `exchange-<id>` (re-scheduling on start-up or edit updates it in place).
 */
import { z } from 'zod';
import type { JobRunner } from '../jobs/index.js';
import { runExchange, type ExchangeConfig, type ExchangeDeps } from './run.js';

export const EXCHANGE_JOB = 'exchange.run';
export const ExchangeJobData = z.object({ configId: z.number().int().positive() });

export const schedulerId = (configId: number) => `exchange-${configId}`;

export async function scheduleExchangeConfig(jobs: JobRunner, c: Pick<ExchangeConfig, 'id' | 'cron' | 'enabled'>): Promise<void> {
  if (c.enabled) await jobs.schedule(EXCHANGE_JOB, schedulerId(c.id), { cron: c.cron }, { configId: c.id });
  else await jobs.unschedule(EXCHANGE_JOB, schedulerId(c.id));
}

/** Defines the job and schedules every enabled config. Call once at start-up (features wiring). */
export async function defineExchangeJobs(jobs: JobRunner, deps: ExchangeDeps): Promise<void> {
  jobs.define({
    name: EXCHANGE_JOB, data: ExchangeJobData, attempts: 1,
    handler: async ({ configId }) => {
      const run = await runExchange(deps, configId);
      return { runId: run.id, status: run.status };
    },
  });
  const { rows } = await deps.db.query('SELECT id, cron, enabled FROM exchange_configs');
  // Scheduling waits for Redis; start-up must not (Redis may be down now and come back later).
  void (async () => {
    for (const r of rows) await scheduleExchangeConfig(jobs, { id: Number(r.id), cron: r.cron, enabled: r.enabled });
  })().catch((e: Error) => deps.logger?.warn({ err: e.message }, 'exchange: schedules not written'));
}

export function exchangeJobsDefined(jobs: JobRunner | undefined): jobs is JobRunner {
  return !!jobs && jobs.names().includes(EXCHANGE_JOB);
}
