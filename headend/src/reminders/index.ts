/**
 * Notifications of reading collection (issue 7): staff told when residents submit; residents reminded
 * at the window's start and end and before a meter's verification expires. (Stub: filled in next.)
 */
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { Database } from '../api/queryable.js';
import type { JobRunner } from '../jobs/index.js';

export interface ReminderDeps { db: Database; logger: Logger; config: Config }

export async function defineReminderJobs(_jobs: JobRunner, _deps: ReminderDeps): Promise<void> {}
