/**
 * The heat statements' job: `heat.statements.send` every 5 minutes mails the signed statements that
 * name the heat supplier's addresses and were not sent yet (mail.ts). A run is its own retry: a failed
 * send is recorded on its sign-off and tried again by the next run.
 */
import { z } from 'zod';
import type { Logger } from 'pino';
import type { Database } from '../db/types.js';
import type { JobRunner } from '../jobs/index.js';
import type { Clock } from '../util/clock.js';
import { createStatementMailer, sendSignedStatements } from './mail.js';

export const HEAT_SEND_JOB = 'heat.statements.send';
const SEND_EVERY_MS = 5 * 60_000;

export interface HeatJobDeps {
  db: Database;
  logger: Logger;
  config: { SMTP_URL?: string; SMTP_FROM?: string };
  /** When a mail went out (util/clock.ts); default the wall clock. */
  clock?: Clock;
  /** false: define the job without its schedule (tests run it themselves). */
  schedule?: boolean;
}

export function defineHeatJobs(runner: JobRunner, deps: HeatJobDeps): void {
  const mailer = createStatementMailer(deps.config);
  if (!mailer) deps.logger.info('SMTP_URL is not set: signed heat statements are not mailed');
  runner.define({
    name: HEAT_SEND_JOB, data: z.object({}), attempts: 1,
    handler: async (_data, ctx) => {
      const res = await sendSignedStatements(deps.db, mailer, { clock: deps.clock });
      if (res.sent || res.failed) ctx.log.info(res, 'signed heat statements mailed');
      return res;
    },
  });
  if (deps.schedule === false) return;
  void runner.schedule(HEAT_SEND_JOB, 'heat-statements-send', { everyMs: SEND_EVERY_MS }, {})
    .catch((e: Error) => deps.logger.warn({ err: e.message }, 'heat statements: schedule not written'));
}
