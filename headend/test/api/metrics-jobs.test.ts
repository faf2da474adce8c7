/** /metrics shows bullmq queue depths from the JobRunner; admins list and run jobs (real Redis, unique prefix, cleaned up). */
import { afterAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { JobRunner } from '../../src/jobs/index.js';
import { createApiServer } from '../../src/api/index.js';
import type { Database } from '../../src/db/types.js';
import { startHarness } from './harness.js';
import { REDIS_URL, removeRedisKeys } from '../redis.js';

const prefix = `amrtest-api-${randomUUID()}`;
const logger = pino({ level: 'silent' });
const jobs = new JobRunner({ redisUrl: REDIS_URL, prefix, logger });

afterAll(async () => {
  await jobs.close();
  await removeRedisKeys(prefix);
});

// /metrics touches no table, so the server is built without a database: any query is a test failure.
const noDb: Database = {
  query: async () => { throw new Error('no database in this test'); },
  tx: async () => { throw new Error('no database in this test'); },
};

describe('/metrics with jobs', () => {
  it('reports per-queue job counts', async () => {
    const ran = new Promise<void>((resolve) => jobs.define({ name: 'test.metrics', data: z.object({}), handler: async () => { resolve(); } }));
    await jobs.enqueue('test.metrics', {});
    await ran;
    // Wait until bullmq has moved the job to "completed" (the handler resolving comes just before).
    for (let i = 0; i < 100 && ((await jobs.depths())['test.metrics']?.completed ?? 0) < 1; i++) await new Promise((r) => setTimeout(r, 20));
    const app = await createApiServer({ db: noDb, config: { TOKEN_TTL: 60 }, logger, registry: new Registry(), jobs });
    const r = await app.inject({ method: 'GET', url: '/metrics' });
    expect(r.statusCode).toBe(200);
    expect(r.body).toContain('amr_queue_jobs{queue="test.metrics",state="completed"} 1');
    expect(r.body).toContain('amr_queue_jobs{queue="test.metrics",state="waiting"} 0');
    await app.close();
  });
});

describe('/jobs', () => {
  it('lists defined jobs and runs one now with validated data; audited', async () => {
    const seen: number[] = [];
    const ran = new Promise<void>((resolve) => jobs.define({ name: 'test.runnow', data: z.object({ n: z.number() }), handler: async ({ n }) => { seen.push(n); resolve(); } }));
    const h = await startHarness({ jobs });
    try {
      const list = await h.call('GET', '/jobs', h.adminToken);
      expect(list.body.redis_connected).toBe(true);
      expect(list.body.jobs.map((j: { name: string }) => j.name)).toEqual(expect.arrayContaining(['test.metrics', 'test.runnow']));
      expect((await h.call('POST', '/jobs/test.runnow/run', h.adminToken, { n: 'x' })).status).toBe(400);
      expect((await h.call('POST', '/jobs/nope/run', h.adminToken, {})).status).toBe(404);
      const r = await h.call('POST', '/jobs/test.runnow/run', h.adminToken, { n: 7 });
      expect(r.status).toBe(202);
      await ran;
      expect(seen).toEqual([7]);
      const a = (await h.opened.db.query("SELECT after FROM audit_log WHERE entity = 'job'")).rows;
      expect(a).toEqual([{ after: { job_id: r.body.job_id, data: { n: 7 } } }]);
      const eng = await h.userToken('engineer');
      expect((await h.call('GET', '/jobs', eng)).status).toBe(403);
    } finally {
      await h.close();
    }
  });
});
