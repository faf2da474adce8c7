/**
 * The heat statements' job: `heat.statements.send` every 5 minutes mails the signed statements that
 * name the heat supplier's addresses and were not sent yet (mail.ts). A run is its own retry: a failed
 * send is recorded on its sign-off and tried again by the next run; the last allowed attempt failing
 * raises `heat_mail_failed`, whose notifications are handed to the notify jobs at once. `heat.statements.outdated` every
 * 15 minutes compares the signed months whose records changed since with their statements now and
 * raises or clears their "signed statement outdated" alerts (outdated.ts).
 */
import { z } from 'zod';
import type { Logger } from 'pino';
import type { Database } from '../db/types.js';
import type { JobRunner } from '../jobs/index.js';
import type { Clock } from '../util/clock.js';
import { channelsOf, enqueueNotifications, type AlertConfig } from '../alerts/index.js';
import { wallClock } from '../util/clock.js';
import { createStatementMailer, sendSignedStatements } from './mail.js';
import { checkSignedStatements } from './outdated.js';

export const HEAT_SEND_JOB = 'heat.statements.send';
export const HEAT_OUTDATED_JOB = 'heat.statements.outdated';
const SEND_EVERY_MS = 5 * 60_000;
const OUTDATED_EVERY_MS = 15 * 60_000;

export interface HeatJobDeps {
  db: Database;
  logger: Logger;
  config: AlertConfig;
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
      const res = await sendSignedStatements(deps.db, mailer, { clock: deps.clock, alertChannels: channelsOf(deps.config) });
      await enqueueNotifications(runner, res.notificationIds, deps);
      const { notificationIds: _ids, ...summary } = res;
      if (res.sent || res.failed) ctx.log.info(summary, 'signed heat statements mailed');
      return summary;
    },
  });
  runner.define({
    name: HEAT_OUTDATED_JOB, data: z.object({}), attempts: 1,
    handler: async (_data, ctx) => {
      const res = await checkSignedStatements(deps.db, { at: (deps.clock ?? wallClock)(), channels: channelsOf(deps.config) });
      await enqueueNotifications(runner, res.notificationIds, deps);
      const { notificationIds: _ids, ...summary } = res;
      if (res.outdated || res.cleared || res.skipped.length) ctx.log.info(summary, 'signed heat statements compared');
      return summary;
    },
  });
  if (deps.schedule === false) return;
  void runner.schedule(HEAT_SEND_JOB, 'heat-statements-send', { everyMs: SEND_EVERY_MS }, {})
    .catch((e: Error) => deps.logger.warn({ err: e.message }, 'heat statements: schedule not written'));
  void runner.schedule(HEAT_OUTDATED_JOB, 'heat-statements-outdated', { everyMs: OUTDATED_EVERY_MS }, {})
    .catch((e: Error) => deps.logger.warn({ err: e.message }, 'heat statements outdated check: schedule not written'));
}
