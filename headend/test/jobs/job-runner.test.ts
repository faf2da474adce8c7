/**
 * JobRunner against the real Redis on 127.0.0.1:6379 under a unique key prefix (removed afterwards),
 * and against an unreachable Redis (must log the URL and not crash).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { z } from 'zod';
import { JobRunner } from '../../src/jobs/index.js';
import { REDIS_URL, removeRedisKeys } from '../redis.js';


function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

describe('JobRunner on Redis', () => {
  const prefix = `amrtest-jobs-${randomUUID()}`;
  const { logger } = capturingLogger();
  const runner = new JobRunner({ redisUrl: REDIS_URL, prefix, logger });

  afterAll(async () => {
    await runner.close();
    await removeRedisKeys(prefix);
  });

  it('runs an enqueued job with validated data', async () => {
    const seen: number[] = [];
    const done = new Promise<void>((resolve) => {
      runner.define({ name: 'test.add', data: z.object({ a: z.number(), b: z.number() }), handler: async ({ a, b }) => { seen.push(a + b); resolve(); } });
    });
    await runner.enqueue('test.add', { a: 2, b: 3 });
    await done;
    expect(seen).toEqual([5]);
  });

  it('refuses data that does not match the job schema, and unknown jobs', async () => {
    await expect(runner.enqueue('test.add', { a: 'x' })).rejects.toThrow(/expected number/i);
    await expect(runner.enqueue('nope', {})).rejects.toThrow(/job "nope" is not defined/);
  });

  it('runs a repeatable job until unscheduled, and reports queue depths', async () => {
    let runs = 0;
    const twice = new Promise<void>((resolve) => {
      runner.define({ name: 'test.tick', data: z.object({ n: z.number() }), handler: async () => { if (++runs === 2) resolve(); } });
    });
    await runner.schedule('test.tick', 'tick-every', { everyMs: 200 }, { n: 1 });
    await runner.schedule('test.tick', 'tick-every', { everyMs: 200 }, { n: 1 }); // idempotent upsert
    await twice;
    expect(await runner.unschedule('test.tick', 'tick-every')).toBe(true);
    const depths = await runner.depths();
    expect(Object.keys(depths).sort()).toEqual(['test.add', 'test.tick']);
    expect(depths['test.add'].completed).toBe(1);
  });
});

describe('JobRunner with Redis unreachable', () => {
  it('logs a clear message naming the URL, keeps running, and closes cleanly', async () => {
    const { logger, lines } = capturingLogger();
    const url = 'redis://:secret@127.0.0.1:1/0';
    const runner = new JobRunner({ redisUrl: url, prefix: `amrtest-${randomUUID()}`, logger });
    runner.define({ name: 'test.never', data: z.object({}), handler: async () => undefined });
    await new Promise<void>((resolve) => { const t = setInterval(() => { if (lines.some((l) => l.includes('Redis unreachable'))) { clearInterval(t); resolve(); } }, 20); });
    const line = lines.find((l) => l.includes('Redis unreachable'))!;
    expect(line).toContain('redis://:***@127.0.0.1:1/0');
    expect(line).not.toContain('secret');
    expect(runner.isConnected()).toBe(false);
    expect(await runner.depths()).toEqual({});
    await runner.close();
  });
});
