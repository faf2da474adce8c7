/**
 * Staff login limits: the failure limiter alone with a hand-driven clock (attempts in progress are not
 * failures and take nothing from the allowance, the wait comes from real failures, at most 5 verdicts
 * per window, a success clears the user but not the address), the same
 * rules in Redis shared by two "replicas", then POST /auth/login through the real API (the attacker's
 * 30 wrong passwords, a burst in parallel, many usernames from one address).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { memoryFailureLimiter, redisFailureLimiter, type Admission, type FailureLimiter } from '../../src/auth/failure-limit.js';
import { loginKeys, withFallback } from '../../src/auth/login-limit.js';
import { createApiServer } from '../../src/api/index.js';
import { createUser } from '../../src/auth/index.js';
import type { OpenedDb } from '../../src/db/index.js';
import { openTestDb } from '../engine.js';
import { JobRunner } from '../../src/jobs/index.js';
import { startHarness, type Harness } from '../api/harness.js';
import { REDIS_URL, removeRedisKeys } from '../redis.js';

const handClock = () => {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => { t += ms; } };
};
const admitted = (a: Admission) => { if (!a.ok) throw new Error(`refused: ${JSON.stringify(a)}`); return a.attempt; };

/** The same rules checked against either store. */
function limiterRules(name: string, make: (now: () => number) => Promise<FailureLimiter>) {
  describe(name, () => {
    it('5 failures per user in 15 minutes; the 6th attempt waits until the oldest failure leaves the window', async () => {
      const c = handClock();
      const l = await make(c.now);
      for (let i = 0; i < 5; i++) {
        await l.settle(admitted(await l.begin(loginKeys('10.0.0.1', 'Chief'))), 'wrong');
        c.advance(60_000);
      }
      // Failures at 0, 1, 2, 3, 4 min; now 5 min. The first leaves the window at 15 min: wait 10 min = 600 s.
      expect(await l.begin(loginKeys('10.0.0.9', 'chief'))).toEqual({ ok: false, by: 'user', retryAfterSeconds: 600 });
      c.advance(600_000 - 1);
      expect(await l.begin(loginKeys('10.0.0.9', 'chief'))).toMatchObject({ ok: false, retryAfterSeconds: 1 });
      c.advance(1);
      expect((await l.begin(loginKeys('10.0.0.9', 'chief'))).ok).toBe(true);
      await l.close();
    });

    it('attempts in progress take nothing from the allowance; once 5 have failed, the rest of a burst is refused at its verdict, a right one included', async () => {
      const c = handClock();
      const l = await make(c.now);
      // 8 parallel guesses are all admitted: none of them has failed yet.
      const eight = [];
      for (let i = 0; i < 8; i++) eight.push(admitted(await l.begin(loginKeys('10.0.0.2', 'eng'))));
      expect(await l.failures('user:eng')).toBe(0);
      // Their verdicts come in as their checks finish: the first 5 wrong ones are recorded …
      for (let i = 0; i < 5; i++) expect(await l.settle(eight[i], 'wrong')).toEqual({ ok: true });
      c.advance(1000);
      // … then the user holds 5 failures, all 1 s ago: a wrong and a right verdict are answered alike,
      // refused for the rest of the window (900 − 1 = 899 s), and nothing more is recorded.
      expect(await l.settle(eight[5], 'wrong')).toEqual({ ok: false, by: 'user', retryAfterSeconds: 899 });
      expect(await l.settle(eight[6], 'right')).toEqual({ ok: false, by: 'user', retryAfterSeconds: 899 });
      expect(await l.failures('user:eng')).toBe(5);
      expect(await l.failures('ip:10.0.0.2')).toBe(5);
      await l.close();
    });

    it('a success clears the user, never the address', async () => {
      const c = handClock();
      const l = await make(c.now);
      for (let i = 0; i < 3; i++) await l.settle(admitted(await l.begin(loginKeys('10.0.0.5', 'clerk'))), 'wrong');
      expect(await l.settle(admitted(await l.begin(loginKeys('10.0.0.5', 'clerk'))), 'right')).toEqual({ ok: true });
      expect(await l.failures('user:clerk')).toBe(0);
      // The address keeps its 3 failures (a success does not launder it): 20 − 3 = 17 more fit from it.
      expect(await l.failures('ip:10.0.0.5')).toBe(3);
      await l.close();
    });

    it('one address guessing across many users is stopped after 20 failures', async () => {
      const c = handClock();
      const l = await make(c.now);
      for (let i = 0; i < 20; i++) await l.settle(admitted(await l.begin(loginKeys('10.0.0.3', `user-${i}`))), 'wrong');
      // All 20 at the same instant: the wait is the whole window, 900 s.
      expect(await l.begin(loginKeys('10.0.0.3', 'user-20'))).toEqual({ ok: false, by: 'ip', retryAfterSeconds: 900 });
      // The same user from another address is not affected by that address's lock.
      expect((await l.begin(loginKeys('10.0.0.4', 'user-20'))).ok).toBe(true);
      await l.close();
    });
  });
}

limiterRules('failure limiter in memory', async (now) => memoryFailureLimiter({ now }));

const prefix = `test-login-limit-${process.pid}-${Date.now()}`;
let redis: Redis;
let runs = 0;
beforeAll(() => { redis = new Redis(REDIS_URL); });
afterAll(async () => {
  await redis?.quit();
  await removeRedisKeys(prefix);
});
limiterRules('failure limiter in Redis', async (now) => redisFailureLimiter(redis, `${prefix}:unit-${++runs}:`, { now }));

describe('two replicas share the counts through Redis', () => {
  it('3 failures on replica A and 2 on replica B lock the user on both', async () => {
    const c = handClock();
    const a = redisFailureLimiter(redis, `${prefix}:shared:`, { now: c.now });
    const b = redisFailureLimiter(redis, `${prefix}:shared:`, { now: c.now });
    for (let i = 0; i < 3; i++) await a.settle(admitted(await a.begin(loginKeys('10.1.0.1', 'operator'))), 'wrong');
    for (let i = 0; i < 2; i++) await b.settle(admitted(await b.begin(loginKeys('10.1.0.2', 'operator'))), 'wrong');
    // 3 + 2 = 5 failures, all at one instant: both replicas refuse for the whole window (900 s).
    expect(await a.begin(loginKeys('10.1.0.3', 'operator'))).toEqual({ ok: false, by: 'user', retryAfterSeconds: 900 });
    expect(await b.begin(loginKeys('10.1.0.3', 'OPERATOR'))).toEqual({ ok: false, by: 'user', retryAfterSeconds: 900 });
  });
});

describe('Redis down', () => {
  it('the replica counts in memory meanwhile: logins still answer and the 6th failure is still refused', async () => {
    // Nothing listens on port 1: the connection queues commands and never answers.
    const dead = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: null, retryStrategy: () => 1000 });
    dead.on('error', () => {});
    const warned: string[] = [];
    const c = handClock();
    const l = withFallback(redisFailureLimiter(dead, `${prefix}:dead:`, { now: c.now }), memoryFailureLimiter({ now: c.now }), { warn: ((_o: unknown, m: string) => { warned.push(m); }) as never }, 200);
    for (let i = 0; i < 5; i++) await l.settle(admitted(await l.begin(loginKeys('10.2.0.1', 'basement'))), 'wrong');
    expect(await l.begin(loginKeys('10.2.0.1', 'basement'))).toEqual({ ok: false, by: 'user', retryAfterSeconds: 900 });
    expect(warned[0]).toBe('login limit: Redis unavailable, counting in memory on this replica');
    dead.disconnect();
  });
});

describe('POST /auth/login through the real API', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await createUser(h.opened.db, { username: 'chief', password: 'Correct-Horse-7', role: 'engineer' });
  }, 120_000);
  afterAll(async () => { await h?.close(); });

  const login = async (username: string, password: string, ip = '192.0.2.10') => {
    const r = await h.app.inject({ method: 'POST', url: '/auth/login', remoteAddress: ip, payload: { username, password } });
    return { status: r.statusCode, body: r.json(), retryAfter: r.headers['retry-after'] };
  };

  it('the attacker: 30 wrong passwords then the right one — the 6th on is 429 and the right one is refused too', async () => {
    const statuses = [];
    for (let i = 0; i < 30; i++) statuses.push((await login('chief', `guess-${i}-xxxx`)).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5).every((s) => s === 429)).toBe(true);
    const right = await login('chief', 'Correct-Horse-7', '198.51.100.7');
    expect(right.status).toBe(429);
    expect(right.body).toMatchObject({ error: 'too_many_requests' });
    expect(right.body.message).toMatch(/^too many failed logins for user chief; try again in \d+ s$/);
    // The 5 failures were just now: the wait is nearly the 15-minute window.
    expect(Number(right.retryAfter)).toBeGreaterThan(14 * 60);
    expect(Number(right.retryAfter)).toBeLessThanOrEqual(15 * 60);
  });

  it('a careless office: 4 typos, the right password, then 4 typos again are all let through', async () => {
    await createUser(h.opened.db, { username: 'clerk', password: 'Battery-Staple-42', role: 'operator' });
    const s = [];
    for (let i = 0; i < 4; i++) s.push((await login('clerk', 'Battery-Stapel-42', '203.0.113.5')).status);
    s.push((await login('clerk', 'Battery-Staple-42', '203.0.113.5')).status);
    for (let i = 0; i < 4; i++) s.push((await login('clerk', 'battery-staple-42', '203.0.113.5')).status);
    expect(s).toEqual([401, 401, 401, 401, 200, 401, 401, 401, 401]);
    // 4 after the success + 1 = the 5th failure; the next attempt is refused.
    expect((await login('clerk', 'nope-nope-nope', '203.0.113.5')).status).toBe(401);
    expect((await login('clerk', 'Battery-Staple-42', '203.0.113.5')).status).toBe(429);
  });

  it('a burst of 8 parallel guesses: exactly 5 are told "wrong", the other 3 are refused', async () => {
    await createUser(h.opened.db, { username: 'burst', password: 'Purple-Monkey-9', role: 'operator' });
    const r = await Promise.all(Array.from({ length: 8 }, (_, i) => login('burst', `guess-${i}-yyyy`, '203.0.113.50')));
    expect(r.filter((x) => x.status === 401)).toHaveLength(5);
    expect(r.filter((x) => x.status === 429)).toHaveLength(3);
  });

  it('one address walking through 21 usernames: the 21st attempt is 429 naming the address', async () => {
    const s = [];
    for (let i = 0; i < 20; i++) s.push((await login(`nobody-${i}`, 'whatever-pass', '192.0.2.99')).status);
    expect(s.every((x) => x === 401)).toBe(true);
    const last = await login('nobody-20', 'whatever-pass', '192.0.2.99');
    expect(last.status).toBe(429);
    expect(last.body.message).toMatch(/^too many failed logins from your network address; try again in \d+ s$/);
  });
});

describe('the API on Redis (REDIS_URL with jobs): two servers share the login counts', () => {
  let opened: OpenedDb;
  let jobs: JobRunner;
  const apps: Awaited<ReturnType<typeof createApiServer>>[] = [];
  beforeAll(async () => {
    opened = await openTestDb();
    await createUser(opened.db, { username: 'shared', password: 'Correct-Horse-7', role: 'engineer' });
    const logger = pino({ level: 'silent' });
    jobs = new JobRunner({ redisUrl: REDIS_URL, prefix: `${prefix}-api`, logger });
    for (let i = 0; i < 2; i++) {
      const config = { TOKEN_TTL: 3600, REDIS_URL, REDIS_PREFIX: `${prefix}-api` };
      const app = await createApiServer({ db: opened.db, config, logger, registry: new Registry(), jobs });
      await app.ready();
      apps.push(app);
    }
  }, 120_000);
  afterAll(async () => {
    for (const a of apps) await a.close();
    await jobs?.close();
    await opened?.close();
    await removeRedisKeys(`${prefix}-api`);
  });

  it('3 wrong on server A, 2 wrong on server B: the right password is refused on both', async () => {
    const login = (i: number, password: string) => apps[i].inject({ method: 'POST', url: '/auth/login', remoteAddress: '192.0.2.77', payload: { username: 'shared', password } });
    const s = [];
    for (let i = 0; i < 3; i++) s.push((await login(0, 'wrong-password-a')).statusCode);
    for (let i = 0; i < 2; i++) s.push((await login(1, 'wrong-password-b')).statusCode);
    expect(s).toEqual([401, 401, 401, 401, 401]);
    expect((await login(0, 'Correct-Horse-7')).statusCode).toBe(429);
    expect((await login(1, 'Correct-Horse-7')).statusCode).toBe(429);
    expect(await redis.exists(`${prefix}-api:login-limit:fail:user:shared`)).toBe(1);
  });

  it('a burst of 12 parallel guesses, 6 on each server: exactly 5 are told "wrong" in all', async () => {
    await createUser(opened.db, { username: 'burst2', password: 'Purple-Monkey-9', role: 'operator' });
    const r = await Promise.all(Array.from({ length: 12 }, (_, i) => apps[i % 2].inject({
      method: 'POST', url: '/auth/login', remoteAddress: `192.0.2.${100 + i}`, payload: { username: 'burst2', password: `guess-${i}-zzzz` },
    })));
    // The allowance is 5 failures per user, counted in Redis for both servers, each verdict settled
    // atomically there: 12 attempts = 5 wrong (401) + 7 refused (429), whichever server they hit.
    expect(r.filter((x) => x.statusCode === 401)).toHaveLength(5);
    expect(r.filter((x) => x.statusCode === 429)).toHaveLength(7);
  });
});
