/**
 * Named background and scheduled jobs on bullmq. Later modules (imbalance recompute, reminders,
 * exchange) register a definition — name, zod schema of its data, handler — and either enqueue it or
 * schedule it with a cron pattern. One bullmq queue per job name so depths and failures are visible
 * per job in /metrics.
 */
import { Queue, Worker, type Job, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { createRedisConnection, redactUrl } from './redis-connection.js';

export interface JobContext { jobId: string; attempt: number; log: Logger }

export interface JobDefinition<S extends z.ZodType = z.ZodType> {
  /** bullmq queue name: letters, digits, '.', '-', '_' (no ':', which bullmq uses as separator). */
  name: string;
  data: S;
  handler: (data: z.infer<S>, ctx: JobContext) => Promise<unknown>;
  concurrency?: number;
  /** Retries with exponential back-off; default 3. */
  attempts?: number;
}

export interface JobRunnerOptions {
  redisUrl: string;
  /** Key prefix in Redis (REDIS_PREFIX) so several installations or tests share one server. */
  prefix: string;
  logger: Logger;
}

export type Schedule = { cron: string; tz?: string } | { everyMs: number };

/** The latest finished runs of a job: when the last one completed, when the last one failed and why. */
export interface LastRuns { completedAt: Date | null; failedAt: Date | null; error: string | null }

export type QueueDepths = Record<string, { waiting: number; active: number; delayed: number; failed: number; completed: number }>;

const NAME = /^[A-Za-z0-9._-]{1,100}$/;

export class JobRunner {
  private readonly defs = new Map<string, JobDefinition>();
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];
  private readonly connection: Redis;
  private readonly log: Logger;
  private closed = false;

  constructor(private readonly opts: JobRunnerOptions) {
    this.log = opts.logger.child({ module: 'jobs' });
    this.connection = createRedisConnection(opts.redisUrl, this.log);
  }

  get redisUrl(): string {
    return redactUrl(this.opts.redisUrl);
  }

  /** Register a job; its worker starts at once (processing waits for Redis if it is down). */
  define<S extends z.ZodType>(def: JobDefinition<S>): void {
    if (!NAME.test(def.name)) throw new Error(`job name "${def.name}": use letters, digits, '.', '-', '_'`);
    if (this.defs.has(def.name)) throw new Error(`job "${def.name}" is already defined`);
    this.defs.set(def.name, def);
    const worker = new Worker(def.name, (job: Job) => this.run(def, job), {
      connection: this.connection,
      prefix: this.opts.prefix,
      concurrency: def.concurrency ?? 1,
    });
    worker.on('error', (err) => this.log.debug({ job: def.name, err: err.message }, 'worker error'));
    worker.on('failed', (job, err) => this.log.warn({ job: def.name, jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, `job ${def.name} failed`));
    this.workers.push(worker);
  }

  /** Names of the defined jobs (for the API and the CLI). */
  names(): string[] {
    return [...this.defs.keys()];
  }

  async enqueue(name: string, data: unknown, opts: Pick<JobsOptions, 'delay' | 'jobId' | 'priority'> = {}): Promise<string> {
    const def = this.definition(name);
    const parsed = def.data.parse(data);
    const job = await this.queue(name).add(name, parsed, this.jobOptions(def, opts));
    return job.id ?? '';
  }

  /**
   * Repeatable job. `id` identifies the schedule so calling again (every start-up) updates it rather
   * than adding a second one.
   */
  async schedule(name: string, id: string, schedule: Schedule, data: unknown): Promise<void> {
    const def = this.definition(name);
    const parsed = def.data.parse(data);
    const repeat = 'cron' in schedule ? { pattern: schedule.cron, tz: schedule.tz } : { every: schedule.everyMs };
    await this.queue(name).upsertJobScheduler(id, repeat, { name, data: parsed, opts: this.jobOptions(def, {}) });
  }

  async unschedule(name: string, id: string): Promise<boolean> {
    return this.queue(name).removeJobScheduler(id);
  }

  /** Depths per queue; empty while Redis is down so /metrics never hangs on an outage. */
  async depths(): Promise<QueueDepths> {
    if (this.connection.status !== 'ready') return {};
    const out: QueueDepths = {};
    for (const name of this.defs.keys()) {
      const c = await this.queue(name).getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
      out[name] = { waiting: c.waiting ?? 0, active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0, completed: c.completed ?? 0 };
    }
    return out;
  }

  /**
   * Per job, its newest completed and newest failed run (bullmq keeps the last 1000 and 5000 of them);
   * empty while Redis is down, like depths().
   */
  async lastRuns(): Promise<Record<string, LastRuns>> {
    if (this.connection.status !== 'ready') return {};
    const out: Record<string, LastRuns> = {};
    const at = (ms: number | undefined) => (ms ? new Date(ms) : null);
    for (const name of this.defs.keys()) {
      const q = this.queue(name);
      const [done] = await q.getJobs(['completed'], 0, 0, false);
      const [failed] = await q.getJobs(['failed'], 0, 0, false);
      out[name] = { completedAt: at(done?.finishedOn), failedAt: at(failed?.finishedOn), error: failed?.failedReason ?? null };
    }
    return out;
  }

  isConnected(): boolean {
    return this.connection.status === 'ready';
  }

  /**
   * Bounded: with Redis up, workers get `graceMs` to finish the job in hand (a job cut off here is
   * taken again by bullmq's stalled check after its lock expires); with Redis down, or after the
   * grace, workers are closed by force. Connections end with disconnect(), never quit(): quit()
   * queues a command that waits for Redis forever when it is unreachable (maxRetriesPerRequest: null).
   */
  async close(graceMs = 1500): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const all = (p: Promise<unknown>[]) => Promise.allSettled(p).then(() => true);
    const bounded = (p: Promise<unknown>, ms: number) =>
      Promise.race([p, new Promise<false>((r) => setTimeout(() => r(false), ms).unref())]);
    let graceful = false;
    if (this.connection.status === 'ready') graceful = await bounded(all(this.workers.map((w) => w.close())), graceMs) === true;
    if (!graceful) {
      // A worker whose graceful close is under way returns that same promise from close(true): its
      // blocking connection is then left to the process exit; the shared one ends below.
      const forced = await bounded(all(this.workers.map((w) => w.close(true))), 500);
      if (forced !== true) this.log.warn('jobs: workers did not close in time; their Redis connections are dropped with the process');
    }
    await bounded(all([...this.queues.values()].map((q) => q.close())), 500);
    this.connection.disconnect();
  }

  private definition(name: string): JobDefinition {
    const def = this.defs.get(name);
    if (!def) throw new Error(`job "${name}" is not defined (known: ${this.names().join(', ') || 'none'})`);
    return def;
  }

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection, prefix: this.opts.prefix });
      q.on('error', (err) => this.log.debug({ queue: name, err: err.message }, 'queue error'));
      this.queues.set(name, q);
    }
    return q;
  }

  private jobOptions(def: JobDefinition, opts: JobsOptions): JobsOptions {
    return {
      attempts: def.attempts ?? 3,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 5000 },
      ...opts,
    };
  }

  private async run(def: JobDefinition, job: Job): Promise<unknown> {
    const data = def.data.parse(job.data);
    const log = this.log.child({ job: def.name, jobId: job.id });
    return def.handler(data, { jobId: job.id ?? '', attempt: job.attemptsMade + 1, log });
  }
}
