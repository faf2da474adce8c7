/**
 * Redis behind Sentinel: the URL forms (pure), and a real `redis-server --sentinel` started here in a
 * temp dir on a free port, monitoring the local Redis (127.0.0.1:6379) under a unique master name.
 * A JobRunner given only the sentinel URL must find the master through it and run a job.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { JobRunner } from '../../src/jobs/index.js';
import { parseSentinelUrl, parseSentinelList, redactUrl, redisUrlFromConfig } from '../../src/jobs/redis-connection.js';
import { REDIS_URL, removeRedisKeys } from '../redis.js';
import { freePort } from '../free-port.js';


describe('Redis sentinel URLs', () => {
  it('parses hosts, default port, password, database and master name', () => {
    expect(parseSentinelUrl('redis-sentinel://:p%40ss@s0:26379,s1,[::1]:26380/2#amr-master')).toEqual({
      sentinels: [{ host: 's0', port: 26379 }, { host: 's1', port: 26379 }, { host: '::1', port: 26380 }],
      name: 'amr-master',
      password: 'p@ss',
      db: 2,
    });
    expect(parseSentinelUrl('redis-sentinel://s0:1#m')).toEqual({ sentinels: [{ host: 's0', port: 1 }], name: 'm', password: undefined, db: undefined });
  });

  it('refuses a missing master name, an empty list, a bad port or database, naming the problem', () => {
    expect(() => parseSentinelUrl('redis-sentinel://s0:26379')).toThrow(/master name is missing/);
    expect(() => parseSentinelList(' , ')).toThrow(/list is empty/);
    expect(() => parseSentinelList('s0:99999')).toThrow(/"s0:99999": expected host:port/);
    expect(() => parseSentinelUrl('redis-sentinel://s0/x#m')).toThrow(/database "x"/);
  });

  it('hides the password in either form', () => {
    expect(redactUrl('redis-sentinel://:secret@s0:26379,s1:26379/0#m')).toBe('redis-sentinel://:***@s0:26379,s1:26379/0#m');
    expect(redactUrl('redis-sentinel://user:secret@s0#m')).toBe('redis-sentinel://user:***@s0#m');
    expect(redactUrl('redis-sentinel://s0:26379#m')).toBe('redis-sentinel://s0:26379#m');
    expect(redactUrl('redis://:secret@r:6379/0')).toBe('redis://:***@r:6379/0');
  });

  it('builds the connection string from the config keys', () => {
    expect(redisUrlFromConfig({ REDIS_URL: 'redis://r:6379' })).toBe('redis://r:6379');
    expect(redisUrlFromConfig({ REDIS_URL: 'redis://r:6379', REDIS_PASSWORD: 'a b' })).toBe('redis://:a%20b@r:6379');
    expect(redisUrlFromConfig({ REDIS_URL: 'redis://:own@r:6379', REDIS_PASSWORD: 'x' })).toBe('redis://:own@r:6379');
    const url = redisUrlFromConfig({ REDIS_URL: 'redis://127.0.0.1:6379/3', REDIS_SENTINELS: 'redis-0.redis:26379, redis-1.redis:26379', REDIS_SENTINEL_NAME: 'amr', REDIS_PASSWORD: 's#1' });
    expect(url).toBe('redis-sentinel://:s%231@redis-0.redis:26379,redis-1.redis:26379/3#amr');
    expect(parseSentinelUrl(url)).toMatchObject({ name: 'amr', password: 's#1', db: 3 });
    expect(() => redisUrlFromConfig({ REDIS_URL: 'redis://r', REDIS_SENTINELS: 's0:26379' })).toThrow(/REDIS_SENTINEL_NAME/);
  });
});

const haveRedisServer = spawnSync('redis-server', ['--version']).status === 0;


describe.skipIf(!haveRedisServer)('JobRunner through a real Redis Sentinel', () => {
  const master = new URL(REDIS_URL);
  const name = `amrtest-${randomUUID().slice(0, 8)}`;
  const prefix = `amrtest-sentinel-${randomUUID()}`;
  const dir = mkdtempSync(join(tmpdir(), 'amr-sentinel-'));
  const logLines: string[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write(c, _e, cb) { logLines.push(String(c)); cb(); } }));
  let sentinel: ChildProcess | undefined;
  let sentinelPort = 0;
  let runner: JobRunner | undefined;

  beforeAll(async () => {
    sentinelPort = await freePort();
    const conf = join(dir, 'sentinel.conf');
    // quorum 1: this one sentinel decides alone (there is no replica to fail over to anyway).
    writeFileSync(conf, [`port ${sentinelPort}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor ${name} ${master.hostname} ${master.port || 6379} 1`, ''].join('\n'));
    sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: string[] = [];
    sentinel.stdout!.on('data', (d) => out.push(String(d)));
    sentinel.stderr!.on('data', (d) => out.push(String(d)));
    // Ready when it answers for the master (it has loaded the config and knows the address).
    const probe = new Redis({ port: sentinelPort, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => 100, maxRetriesPerRequest: 0 });
    probe.on('error', () => {}); // refused until the sentinel listens; the loop below retries
    for (let i = 0; ; i++) {
      if (sentinel.exitCode !== null) throw new Error(`redis-server --sentinel exited ${sentinel.exitCode}: ${out.join('')}`);
      try {
        if (probe.status === 'wait') await probe.connect();
        const addr = (await probe.call('SENTINEL', 'get-master-addr-by-name', name)) as string[] | null;
        if (addr) break;
      } catch {
        /* not listening yet */
      }
      if (i > 200) throw new Error(`sentinel on ${sentinelPort} never answered: ${out.join('')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    probe.disconnect();
  });

  afterAll(async () => {
    await runner?.close();
    if (sentinel && sentinel.exitCode === null) {
      const exited = new Promise((r) => sentinel!.once('exit', r));
      sentinel.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
    await removeRedisKeys(prefix);
  });

  it('asks the sentinel for the master and runs a job there', async () => {
    const url = redisUrlFromConfig({ REDIS_URL, REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`, REDIS_SENTINEL_NAME: name });
    expect(url).toBe(`redis-sentinel://127.0.0.1:${sentinelPort}#${name}`);
    runner = new JobRunner({ redisUrl: url, prefix, logger });
    expect(runner.redisUrl).toBe(url);
    const seen: number[] = [];
    const done = new Promise<void>((resolve) => {
      runner!.define({ name: 'test.mul', data: z.object({ a: z.number(), b: z.number() }), handler: async ({ a, b }) => { seen.push(a * b); resolve(); } });
    });
    const id = await runner.enqueue('test.mul', { a: 6, b: 7 });
    await done;
    expect(seen).toEqual([42]);
    expect(runner.isConnected()).toBe(true);
    // The job landed in the master the sentinel named (the test's Redis), under the test's prefix.
    const direct = new Redis(REDIS_URL);
    expect(await direct.exists(`${prefix}:test.mul:${id}`)).toBe(1);
    await direct.quit();
    expect(logLines.join('')).toContain(`connected to Redis at redis-sentinel://127.0.0.1:${sentinelPort}#${name}`);
  });
});
