/**
 * Failed resident sign-ins are limited: the limit alone with a hand-driven clock (window, Retry-After,
 * reset on success, per-address limit, bounded memory, only real failures counted), then through the
 * real API on this run's database (the 6th wrong attempt is 429 with Retry-After; a right code is
 * refused while locked and not spent; 40 residents behind one address signing in at once all get in
 * while wrong codes from that address are still limited; one code used twice at once opens one
 * session), then two API servers sharing the counts through Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { memoryFailureLimiter, type Admission, type FailureLimiter } from '../../src/auth/failure-limit.js';
import { SIGN_IN_LIMITS, signInKeys, signInLimitsOf } from '../../src/collection/sign-in-limit.js';
import { loadConfig } from '../../src/config/index.js';
import { createApiServer } from '../../src/api/index.js';
import { prepareAccessCode, storeAccessCode } from '../../src/collection/access.js';
import type { Db } from '../../src/db/index.js';
import { JobRunner } from '../../src/jobs/index.js';
import { REDIS_URL, removeRedisKeys } from '../redis.js';
import { startHarness, type Harness } from '../api/harness.js';
import { issueCode, seedFlats, type SeededFlats } from './seed.js';

const handClock = () => {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => { t += ms; } };
};
const admitted = (a: Admission) => { if (!a.ok) throw new Error(`refused: ${JSON.stringify(a)}`); return a.attempt; };
const fail = async (l: FailureLimiter, ip: string, account: string) => l.settle(admitted(await l.begin(signInKeys(ip, account))), 'wrong');
/** The per-address limit of the default configuration (SIGN_IN_MAX_PER_ADDRESS unset), which signInKeys applies by default. */
const PER_ADDRESS = loadConfig({}).SIGN_IN_MAX_PER_ADDRESS;

describe('the residents\' sign-in limit (one failure limiter, sign-in keys)', () => {
  it('the per-address limit is configuration: SIGN_IN_MAX_PER_ADDRESS, default 200 (carrier NAT), the default keys use it', () => {
    expect(PER_ADDRESS).toBe(200);
    expect(SIGN_IN_LIMITS).toEqual({ maxPerAccount: 5, maxPerIp: 200 });
    expect(loadConfig({ SIGN_IN_MAX_PER_ADDRESS: '50' }).SIGN_IN_MAX_PER_ADDRESS).toBe(50);
    expect(() => loadConfig({ SIGN_IN_MAX_PER_ADDRESS: '0' })).toThrow(/SIGN_IN_MAX_PER_ADDRESS/);
    expect(signInLimitsOf({ SIGN_IN_MAX_PER_ADDRESS: 50 })).toEqual({ maxPerAccount: 5, maxPerIp: 50 });
    expect(signInLimitsOf({})).toEqual({ maxPerAccount: 5, maxPerIp: 200 });
    expect(signInKeys('10.0.0.9', 'LS-9').map((k) => [k.by, k.max])).toEqual([['account', 5], ['ip', PER_ADDRESS]]);
  });

  it('admits 5 failures per account in 15 minutes, then refuses until the oldest leaves the window', async () => {
    const c = handClock();
    const l = memoryFailureLimiter({ now: c.now });
    for (let i = 0; i < 5; i++) {
      expect(await fail(l, '10.0.0.1', 'LS-1')).toEqual({ ok: true });
      c.advance(60_000);
    }
    // Failures at 0, 1, 2, 3, 4 min; now 5 min: the first leaves the window at 15 min, 600 s from now.
    expect(await l.begin(signInKeys('10.0.0.1', ' ls-1 '))).toEqual({ ok: false, by: 'account', retryAfterSeconds: 10 * 60 });
    expect(await l.failures('account:ls-1')).toBe(5);
    // Another account from the same address is not affected by this account's lock.
    expect((await l.begin(signInKeys('10.0.0.1', 'LS-2'))).ok).toBe(true);
    c.advance(10 * 60_000 - 1);
    expect(await l.begin(signInKeys('10.0.0.1', 'LS-1'))).toMatchObject({ ok: false, retryAfterSeconds: 1 });
    c.advance(1);
    expect((await l.begin(signInKeys('10.0.0.1', 'LS-1'))).ok).toBe(true);
    expect(await l.failures('account:ls-1')).toBe(4);
  });

  it('a success clears the account and leaves the address its failures', async () => {
    const c = handClock();
    const l = memoryFailureLimiter({ now: c.now });
    const keys = (ip: string, account: string) => signInKeys(ip, account, { maxPerAccount: 5, maxPerIp: 6 });
    for (let i = 0; i < 4; i++) await l.settle(admitted(await l.begin(keys('10.0.0.2', 'LS-3'))), 'wrong');
    expect(await l.settle(admitted(await l.begin(keys('10.0.0.2', 'LS-3'))), 'right')).toEqual({ ok: true });
    expect(await l.failures('account:ls-3')).toBe(0);
    // The address holds the 4 failures, not the success: 2 more fail, the 7th attempt is refused.
    expect(await l.settle(admitted(await l.begin(keys('10.0.0.2', 'LS-4'))), 'wrong')).toEqual({ ok: true });
    expect(await l.settle(admitted(await l.begin(keys('10.0.0.2', 'LS-5'))), 'wrong')).toEqual({ ok: true });
    expect(await l.begin(keys('10.0.0.2', 'LS-6'))).toMatchObject({ ok: false, by: 'ip' });
  });

  it('sign-ins in progress are no failures: 40 admitted from one address one failure short of its limit, all 40 right ones settle', async () => {
    const c = handClock();
    const l = memoryFailureLimiter({ now: c.now });
    for (let i = 0; i < PER_ADDRESS - 1; i++) await fail(l, '10.0.0.3', `GUESS-${i}`);
    const forty = [];
    for (let i = 0; i < 40; i++) forty.push(admitted(await l.begin(signInKeys('10.0.0.3', `FLAT-${i}`))));
    for (const a of forty) expect(await l.settle(a, 'right')).toEqual({ ok: true });
    expect(await l.failures('ip:10.0.0.3')).toBe(PER_ADDRESS - 1);
    // The last failure the limit admits is still a verdict; after it the address is refused, right codes
    // included: all failures at one instant, so the wait is the whole window, 900 s.
    expect(await fail(l, '10.0.0.3', 'GUESS-LAST')).toEqual({ ok: true });
    expect(await l.begin(signInKeys('10.0.0.3', 'FLAT-40'))).toEqual({ ok: false, by: 'ip', retryAfterSeconds: 900 });
  });

  it('forgets the least recently used keys past maxKeys', async () => {
    const c = handClock();
    const l = memoryFailureLimiter({ now: c.now, maxKeys: 4 });
    for (const n of [1, 2, 3]) await fail(l, '10.0.0.4', `A-${n}`);
    // 3 account keys + 1 ip key fill the map; one more account from elsewhere evicts the two oldest.
    await fail(l, '10.0.0.5', 'B-1');
    expect(await l.failures('account:a-1')).toBe(0);
    expect(await l.failures('account:a-3')).toBe(1);
  });
});

/** `n` more flats with an open account each in the seeded building, each with a fresh code (hashed before it is stored, as staff issue them). */
async function flatsWithCodes(db: Db, s: SeededFlats, tag: string, n: number): Promise<{ id: number; number: string; code: string }[]> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const premise = (await db.query<{ id: string }>('INSERT INTO premises (building_id, number) VALUES ($1, $2) RETURNING id', [s.buildingId, `${tag}${i}`])).rows[0].id;
    const number = `${tag}-${i}`;
    const id = Number((await db.query<{ id: string }>('INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, $2, $3) RETURNING id', [s.orgId, number, premise])).rows[0].id);
    const prepared = await prepareAccessCode(null); // the harness's API has no SECRETS_KEY: scrypt codes
    await storeAccessCode(db, id, prepared, null, 14);
    out.push({ id, number, code: prepared.code });
  }
  return out;
}

describe('POST /resident/sign-in with the limit (real API)', () => {
  // Configured below the default so the address's failures (scrypt codes here) stay quick to reach.
  const API_PER_ADDRESS = 20;
  let h: Harness;
  let s: SeededFlats;
  beforeAll(async () => {
    h = await startHarness({ SIGN_IN_MAX_PER_ADDRESS: API_PER_ADDRESS });
    s = await seedFlats(h, 'L');
  }, 120_000);
  afterAll(async () => { await h?.close(); });

  const signIn = async (account: string, code: string, ip = '192.0.2.10') => {
    const res = await h.app.inject({ method: 'POST', url: '/resident/sign-in', remoteAddress: ip, payload: { account_number: account, code } });
    return { status: res.statusCode, body: res.json(), retryAfter: res.headers['retry-after'] };
  };

  it('the 6th wrong attempt is 429 with Retry-After; the right code is refused while locked and is not spent', async () => {
    const code = await issueCode(h, s.accountA.id);
    const wrong = [];
    for (let i = 0; i < 5; i++) wrong.push((await signIn(s.accountA.number, 'WRONGCODE2')).status);
    expect(wrong).toEqual([401, 401, 401, 401, 401]);
    const sixth = await signIn(s.accountA.number, 'WRONGCODE2');
    expect(sixth.status).toBe(429);
    expect(sixth.body).toMatchObject({ error: 'too_many_requests', message: `too many failed sign-in attempts for account ${s.accountA.number}; try again in 15 minutes` });
    expect(Number(sixth.retryAfter)).toBeGreaterThan(14 * 60);
    expect(Number(sixth.retryAfter)).toBeLessThanOrEqual(15 * 60);
    // Locked from another address too (the count is per account), right code included.
    const right = await signIn(s.accountA.number, code, '198.51.100.7');
    expect(right.status).toBe(429);
    const unspent = (await h.opened.db.query('SELECT count(*)::int AS n FROM resident_access_codes WHERE account_id = $1 AND used_at IS NULL AND expires_at > now()', [s.accountA.id])).rows[0].n;
    expect(unspent).toBe(1);
    // Another account from the first address still signs in.
    const codeB = await issueCode(h, s.accountB.id);
    expect((await signIn(s.accountB.number, codeB)).status).toBe(200);
  });

  it('a success resets the account: 4 wrong, right, then 5 more wrong are all 401', async () => {
    const codeB = await issueCode(h, s.accountB.id);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await signIn(s.accountB.number, 'WRONGCODE3', '203.0.113.5')).status);
    statuses.push((await signIn(s.accountB.number, codeB, '203.0.113.5')).status);
    for (let i = 0; i < 5; i++) statuses.push((await signIn(s.accountB.number, 'WRONGCODE3', '203.0.113.6')).status);
    expect(statuses).toEqual([401, 401, 401, 401, 200, 401, 401, 401, 401, 401]);
    expect((await signIn(s.accountB.number, 'WRONGCODE3', '203.0.113.6')).status).toBe(429);
  });

  it('one address guessing many account numbers is stopped after SIGN_IN_MAX_PER_ADDRESS failures', async () => {
    const statuses = [];
    for (let i = 0; i <= API_PER_ADDRESS; i++) statuses.push((await signIn(`NOPE-${i}`, 'WRONGCODE4', '192.0.2.99')).status);
    expect(statuses.slice(0, API_PER_ADDRESS).every((x) => x === 401)).toBe(true);
    const last = await signIn('NOPE-LAST', 'WRONGCODE4', '192.0.2.99');
    expect(statuses[API_PER_ADDRESS]).toBe(429);
    expect(last.body.message).toMatch(/^too many failed sign-in attempts from your network address; try again in \d+ minutes?$/);
  });

  it('40 residents behind one address sign in at once: all 40 get in, while wrong codes from that address are still limited', async () => {
    const flats = await flatsWithCodes(h.opened.db, s, 'NAT', 40);
    const ip = '100.64.0.1';
    const start = Date.now();
    // Typos from the carrier's address first (one per account number, no account is locked): one short of its limit.
    for (let i = 0; i < API_PER_ADDRESS - 1; i++) expect((await signIn(`TYPO-${i}`, 'WRONGCODE5', ip)).status).toBe(401);
    const all = await Promise.all(flats.map((f) => signIn(f.number, f.code, ip)));
    expect(all.map((r) => r.status)).toEqual(flats.map(() => 200));
    expect(new Set(all.map((r) => r.body.account_id))).toEqual(new Set(flats.map((f) => f.id)));
    // The last wrong code the limit admits is still answered 401; then the address is full and the next is 429.
    expect((await signIn('TYPO-LAST', 'WRONGCODE5', ip)).status).toBe(401);
    const refused = await signIn('TYPO-OVER', 'WRONGCODE5', ip);
    const end = Date.now();
    expect(refused.status).toBe(429);
    expect(refused.body.params).toMatchObject({ by: 'ip' });
    // Retry-After: until the 20th-newest failure (the first typo, recorded after `start`) leaves the 900 s
    // window, counted from the refusal (before `end`): ceil((first + 900 s − refusal) / 1 s) lies between these.
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(900);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(Math.ceil((start + 900_000 - end) / 1000));
  }, 120_000);

  it('one code sent twice at once: exactly one session (200), the other is a wrong code (401) and counts as no failure', async () => {
    const [flat] = await flatsWithCodes(h.opened.db, s, 'TWICE', 1);
    const both = await Promise.all([signIn(flat.number, flat.code, '192.0.2.201'), signIn(flat.number, flat.code, '192.0.2.202')]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 401]);
    const sessions = (await h.opened.db.query(
      `SELECT count(*)::int AS n FROM auth_tokens t JOIN users u ON u.id = t.user_id WHERE u.username = $1`, [`account-${flat.id}`])).rows[0].n;
    expect(sessions).toBe(1);
    // The resident user was made without a password: it cannot log in with one.
    const user = (await h.opened.db.query('SELECT password_hash FROM users WHERE username = $1', [`account-${flat.id}`])).rows[0];
    expect(user.password_hash).toBeNull();
    // The loser knew the right code: 5 wrong ones still fit before the account is locked.
    const next = [];
    for (let i = 0; i < 6; i++) next.push((await signIn(flat.number, 'WRONGCODE6', '192.0.2.203')).status);
    expect(next).toEqual([401, 401, 401, 401, 401, 429]);
  });
});

describe('TRUST_PROXY: whose address the per-address limit counts', () => {
  it('unset: the socket peer; "1": the address the proxy in front forwarded; a list: only those proxies are believed', async () => {
    const { trustProxyOption } = await import('../../src/http/config.js');
    const Fastify = (await import('fastify')).default;
    const seen = async (opt: ReturnType<typeof trustProxyOption>) => {
      const app = Fastify({ trustProxy: opt });
      app.get('/ip', async (req) => req.ip);
      const r = await app.inject({ method: 'GET', url: '/ip', remoteAddress: '10.0.0.5', headers: { 'x-forwarded-for': '203.0.113.7, 198.51.100.9' } });
      await app.close();
      return r.body;
    };
    expect(await seen(trustProxyOption(undefined))).toBe('10.0.0.5');
    expect(await seen(trustProxyOption('1'))).toBe('198.51.100.9');
    expect(await seen(trustProxyOption('2'))).toBe('203.0.113.7');
    expect(await seen(trustProxyOption('10.0.0.0/8'))).toBe('198.51.100.9');
    expect(await seen(trustProxyOption('192.168.0.0/16'))).toBe('10.0.0.5');
    expect(trustProxyOption('true')).toBe(true);
    const { loadConfig } = await import('../../src/config/index.js');
    expect(() => loadConfig({ TRUST_PROXY: 'yes please' })).toThrow(/TRUST_PROXY/);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 172.16.0.0/12' }).TRUST_PROXY).toBe('10.0.0.0/8, 172.16.0.0/12');
  });
});

describe('the API on Redis (REDIS_URL with jobs): two servers share the sign-in counts', () => {
  const prefix = `test-sign-in-limit-${process.pid}-${Date.now()}`;
  let h: Harness;
  let s: SeededFlats;
  let jobs: JobRunner;
  const apps: Awaited<ReturnType<typeof createApiServer>>[] = [];
  beforeAll(async () => {
    h = await startHarness();
    s = await seedFlats(h, 'SH');
    const logger = pino({ level: 'silent' });
    jobs = new JobRunner({ redisUrl: REDIS_URL, prefix, logger });
    for (let i = 0; i < 2; i++) {
      const config = { TOKEN_TTL: 3600, REDIS_URL, REDIS_PREFIX: prefix };
      const app = await createApiServer({ db: h.opened.db, config, logger, registry: new Registry(), jobs });
      await app.ready();
      apps.push(app);
    }
  }, 120_000);
  afterAll(async () => {
    for (const a of apps) await a.close();
    await jobs?.close();
    await h?.close();
    await removeRedisKeys(prefix);
  });

  it('3 wrong codes on server A and 2 on server B lock the account on both; the right code waits and is not spent', async () => {
    const [flat] = await flatsWithCodes(h.opened.db, s, 'SHR', 1);
    const signIn = (i: number, code: string) => apps[i].inject({ method: 'POST', url: '/resident/sign-in', remoteAddress: `192.0.2.${60 + i}`, payload: { account_number: flat.number, code } });
    const st = [];
    for (let i = 0; i < 3; i++) st.push((await signIn(0, 'WRONGCODE7')).statusCode);
    for (let i = 0; i < 2; i++) st.push((await signIn(1, 'WRONGCODE7')).statusCode);
    expect(st).toEqual([401, 401, 401, 401, 401]);
    expect((await signIn(0, flat.code)).statusCode).toBe(429);
    expect((await signIn(1, flat.code)).statusCode).toBe(429);
    const redis = new (await import('ioredis')).Redis(REDIS_URL);
    expect(await redis.zcard(`${prefix}:sign-in-limit:fail:account:${flat.number.toLowerCase()}`)).toBe(5);
    await redis.quit();
    const unspent = (await h.opened.db.query('SELECT count(*)::int AS n FROM resident_access_codes WHERE account_id = $1 AND used_at IS NULL', [flat.id])).rows[0].n;
    expect(unspent).toBe(1);
  });
});
