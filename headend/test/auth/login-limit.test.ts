/**
 * Staff login limits: the failure limiter alone with a hand-driven clock (pending attempts are not
 * failures, the wait comes from real failures, a success clears the user but not the address), the same
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
        await l.failed(admitted(await l.begin(loginKeys('10.0.0.1', 'Chief'))));
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

    it('an attempt in progress is not a failure, but a burst beyond the allowance waits a second', async () => {
      const c = handClock();
      const l = await make(c.now);
      // 5 parallel guesses are admitted (all pending); the 6th is told to retry in 1 s, not 15 minutes.
      const five = [];
      for (let i = 0; i < 5; i++) five.push(admitted(await l.begin(loginKeys('10.0.0.2', 'eng'))));
      expect(await l.begin(loginKeys('10.0.0.2', 'eng'))).toEqual({ ok: false, by: 'user', retryAfterSeconds: 1 });
      expect(await l.failures('user:eng')).toBe(0);
      // Two turn out wrong, one right (clears the user), two broke on the database (not counted).
      await l.failed(five[0]);
      await l.failed(five[1]);
      expect(await l.failures('user:eng')).toBe(2);
      await l.succeeded(five[2]);
      expect(await l.failures('user:eng')).toBe(0);
      await l.abandoned(five[3]);
      await l.abandoned(five[4]);
      // The address keeps its 2 failures (a success does not launder it): 20 − 2 = 18 more fit from it.
      expect(await l.failures('ip:10.0.0.2')).toBe(2);
      await l.close();
    });

    it('one address guessing across many users is stopped after 20 failures', async () => {
      const c = handClock();
      const l = await make(c.now);
      for (let i = 0; i < 20; i++) await l.failed(admitted(await l.begin(loginKeys('10.0.0.3', `user-${i}`))));
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
    for (let i = 0; i < 3; i++) await a.failed(admitted(await a.begin(loginKeys('10.1.0.1', 'operator'))));
    for (let i = 0; i < 2; i++) await b.failed(admitted(await b.begin(loginKeys('10.1.0.2', 'operator'))));
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
    for (let i = 0; i < 5; i++) await l.failed(admitted(await l.begin(loginKeys('10.2.0.1', 'basement'))));
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

  it('a burst of 8 parallel guesses: at most 5 reach the password check', async () => {
    await createUser(h.opened.db, { username: 'burst', password: 'Purple-Monkey-9', role: 'operator' });
    const r = await Promise.all(Array.from({ length: 8 }, (_, i) => login('burst', `guess-${i}-yyyy`, '203.0.113.50')));
    const checked = r.filter((x) => x.status === 401).length;
    const refused = r.filter((x) => x.status === 429).length;
    expect(checked + refused).toBe(8);
    expect(checked).toBeLessThanOrEqual(5);
    expect(refused).toBeGreaterThanOrEqual(3);
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

  it('a burst of 12 parallel guesses, 6 on each server: at most 5 reach the password check in all', async () => {
    await createUser(opened.db, { username: 'burst2', password: 'Purple-Monkey-9', role: 'operator' });
    const r = await Promise.all(Array.from({ length: 12 }, (_, i) => apps[i % 2].inject({
      method: 'POST', url: '/auth/login', remoteAddress: `192.0.2.${100 + i}`, payload: { username: 'burst2', password: `guess-${i}-zzzz` },
    })));
    // The allowance is 5 per user, counted in Redis for both servers (pending attempts fill it too):
    // 12 attempts = at most 5 checked (401) + at least 7 refused (429), whichever server they hit.
    const checked = r.filter((x) => x.statusCode === 401).length;
    const refused = r.filter((x) => x.statusCode === 429).length;
    expect(checked + refused).toBe(12);
    expect(checked).toBeLessThanOrEqual(5);
    expect(refused).toBeGreaterThanOrEqual(7);
  });
});
