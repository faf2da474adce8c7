/**
 * Failed resident sign-ins are limited: the limiter alone with a hand-driven clock (window, Retry-After,
 * reset on success, per-address limit, bounded memory), then through the real API on the embedded DB
 * (the 6th wrong attempt is 429 with Retry-After; a right code is refused while locked and not spent).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignInLimiter } from '../../src/collection/sign-in-limit.js';
import { startHarness, type Harness } from '../api/harness.js';
import { issueCode, seedFlats, type SeededFlats } from './seed.js';

describe('SignInLimiter', () => {
  const clock = () => {
    let t = 1_000_000;
    return { now: () => t, advance: (ms: number) => { t += ms; } };
  };

  it('admits 5 failures per account in 15 minutes, then refuses until the oldest leaves the window', () => {
    const c = clock();
    const l = new SignInLimiter({ now: c.now });
    for (let i = 0; i < 5; i++) {
      expect(l.begin('10.0.0.1', 'LS-1').ok).toBe(true);
      c.advance(60_000);
    }
    const refused = l.begin('10.0.0.1', ' ls-1 ');
    expect(refused).toEqual({ ok: false, by: 'account', retryAfterSeconds: 10 * 60 });
    expect(l.failuresFor('LS-1')).toBe(5);
    // Another account from the same address is not affected by this account's lock.
    expect(l.begin('10.0.0.1', 'LS-2').ok).toBe(true);
    c.advance(10 * 60_000 - 1);
    expect(l.begin('10.0.0.1', 'LS-1')).toMatchObject({ ok: false, retryAfterSeconds: 1 });
    c.advance(1);
    expect(l.begin('10.0.0.1', 'LS-1').ok).toBe(true);
    expect(l.failuresFor('LS-1')).toBe(5);
  });

  it('a success clears the account and gives the address its attempt back', () => {
    const c = clock();
    const l = new SignInLimiter({ now: c.now, maxPerIp: 6 });
    for (let i = 0; i < 4; i++) l.begin('10.0.0.2', 'LS-3');
    const a = l.begin('10.0.0.2', 'LS-3');
    if (!a.ok) throw new Error('expected admission');
    l.succeeded(a.attempt);
    expect(l.failuresFor('LS-3')).toBe(0);
    // The address holds the 4 failures, not the success: 2 more are admitted, the 7th attempt is refused.
    expect(l.begin('10.0.0.2', 'LS-4').ok).toBe(true);
    expect(l.begin('10.0.0.2', 'LS-5').ok).toBe(true);
    expect(l.begin('10.0.0.2', 'LS-6')).toMatchObject({ ok: false, by: 'ip' });
  });

  it('limits an address guessing across many accounts; forgets the oldest keys past maxKeys', () => {
    const c = clock();
    const l = new SignInLimiter({ now: c.now, maxPerIp: 3, maxKeys: 4 });
    expect([1, 2, 3, 4].map((n) => l.begin('10.0.0.3', `A-${n}`).ok)).toEqual([true, true, true, false]);
    // 3 account keys + 1 ip key fill the map; two more accounts from elsewhere evict the oldest keys.
    l.begin('10.0.0.4', 'B-1');
    expect(l.failuresFor('A-1')).toBe(0);
    expect(l.failuresFor('A-3')).toBe(1);
  });
});

describe('POST /resident/sign-in with the limit (real API)', () => {
  let h: Harness;
  let s: SeededFlats;
  beforeAll(async () => {
    h = await startHarness();
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

  it('one address guessing many account numbers is stopped after 20 failures', async () => {
    const statuses = [];
    for (let i = 0; i < 21; i++) statuses.push((await signIn(`NOPE-${i}`, 'WRONGCODE4', '192.0.2.99')).status);
    expect(statuses.slice(0, 20).every((x) => x === 401)).toBe(true);
    const last = await signIn('NOPE-21', 'WRONGCODE4', '192.0.2.99');
    expect(statuses[20]).toBe(429);
    expect(last.body.message).toMatch(/^too many failed sign-in attempts from your network address; try again in \d+ minutes?$/);
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
