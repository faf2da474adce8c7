/**
 * A sign-in whose answer was lost (collection/sign-in.ts): the same code with the same attempt key
 * within the grace gets a new session for the same resident, not counted as a failure; the spent code
 * with another key or none is refused and counted; after the grace it is refused too (the clock
 * injected into the one sign-in path). Through the API (account and address limits as configured)
 * and, for the grace, through residentSignIn itself on this run's database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../api/harness.js';
import { seedAccessOrganisations } from './access-seed.js';
import { codeKeyOf } from '../../src/collection/access.js';
import { RETRY_GRACE_MS, residentSignIn } from '../../src/collection/sign-in.js';
import { accountKey } from '../../src/collection/sign-in-limit.js';
import { memoryFailureLimiter } from '../../src/auth/failure-limit.js';

const KEY = Buffer.alloc(32, 3).toString('base64');
// Small, so a few failures from one address show whether a retry was counted as one.
const PER_ADDRESS = 3;
const ATTEMPT = 'attempt-key-aaaaaaaaaaaaaaaaaaaa';
const OTHER_ATTEMPT = 'attempt-key-bbbbbbbbbbbbbbbbbbbb';

let h: Harness;
let accs: number[];
let eng: string;

interface SignedIn { token: string; user_id: number; account_id: number; retried: boolean }

const signIn = async (account_number: string, code: string, ip: string, attempt_key?: string) => {
  const res = await h.app.inject({ method: 'POST', url: '/resident/sign-in', remoteAddress: ip, payload: { account_number, code, ...(attempt_key ? { attempt_key } : {}) } });
  return { status: res.statusCode, body: res.json<SignedIn & { message: string }>() };
};
const issue = async (accountId: number) => {
  const r = await h.call<{ code: string }>('POST', `/accounts/${accountId}/access-code`, eng, {});
  if (r.status !== 201) throw new Error(`issue: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.code;
};
const count = async (sql: string, params: unknown[]) => (await h.opened.db.query<{ n: number }>(sql, params)).rows[0].n;

beforeAll(async () => {
  h = await startHarness({ SECRETS_KEY: KEY, SIGN_IN_MAX_PER_ADDRESS: PER_ADDRESS });
  ({ accs } = await seedAccessOrganisations(h, ['1', '2', '3', '4', '5']));
  eng = h.adminToken;
}, 120_000);
afterAll(async () => { await h?.close(); });

describe('POST /resident/sign-in: the lost answer', () => {
  it('retry with the same code and attempt key: 200, same account and user, one resident user, one code use, not counted', async () => {
    const code = await issue(accs[0]);
    const ip = '192.0.2.31';
    // Two typos from this address first: one short of its limit of 3.
    for (const n of ['ЛС-X1', 'ЛС-X2']) expect((await signIn(n, 'WRONGCODE2', ip)).status).toBe(401);
    const first = await signIn('ЛС-100', code, ip, ATTEMPT); // the answer the phone never got
    expect(first.status).toBe(200);
    expect(first.body.retried).toBe(false);
    const again = await signIn('ЛС-100', code, ip, ATTEMPT);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ account_id: accs[0], user_id: first.body.user_id, retried: true });
    expect(again.body.token).not.toBe(first.body.token);
    // The new session works for the resident's own pages.
    expect((await h.call('GET', '/resident/meters', again.body.token)).status).toBe(200);
    expect(await count("SELECT count(*)::int AS n FROM users WHERE username = $1 AND role = 'resident'", [`account-${accs[0]}`])).toBe(1);
    expect(await count('SELECT count(*)::int AS n FROM resident_access_codes WHERE account_id = $1 AND used_at IS NOT NULL', [accs[0]])).toBe(1);
    expect(await count('SELECT count(*)::int AS n FROM auth_tokens WHERE user_id = $1', [first.body.user_id])).toBe(2);
    const audits = (await h.opened.db.query<{ action: string; reason: string | null }>(
      "SELECT action, reason FROM audit_log WHERE entity = 'resident_access_code' AND entity_id = $1 AND action LIKE 'sign_in%' ORDER BY id", [String(accs[0])])).rows;
    expect(audits.map((a) => a.action)).toEqual(['sign_in', 'sign_in_retry']);
    expect(audits[1].reason).toMatch(/answer to an earlier sign-in with this code was lost/);
    // Neither success counted against the address: its third failure is still answered 401, the fourth is 429.
    expect((await signIn('ЛС-X3', 'WRONGCODE2', ip)).status).toBe(401);
    expect((await signIn('ЛС-X4', 'WRONGCODE2', ip)).status).toBe(429);
  });

  it('the spent code with another attempt key, or none, is a wrong code and counts', async () => {
    const code = await issue(accs[1]);
    expect((await signIn('ЛС-200', code, '192.0.2.41', ATTEMPT)).status).toBe(200);
    const other = await signIn('ЛС-200', code, '192.0.2.42', OTHER_ATTEMPT);
    const none = await signIn('ЛС-200', code, '192.0.2.43');
    const wrong = await signIn('ЛС-200', 'WRONGCODE2', '192.0.2.44');
    expect([other.status, none.status]).toEqual([401, 401]);
    expect(other.body.message).toBe(wrong.body.message);
    // Three failures on the account so far (another key, none, a wrong code): two more fit, then it is locked.
    expect((await signIn('ЛС-200', 'WRONGCODE2', '192.0.2.45')).status).toBe(401);
    expect((await signIn('ЛС-200', 'WRONGCODE2', '192.0.2.46')).status).toBe(401);
    expect((await signIn('ЛС-200', code, '192.0.2.47', ATTEMPT)).status).toBe(429);
    expect(await count("SELECT count(*)::int AS n FROM audit_log WHERE entity_id = $1 AND action = 'sign_in_retry'", [String(accs[1])])).toBe(0);
  });

  it('two tries of one attempt at once: both get in, as the same resident, the code spent once', async () => {
    const code = await issue(accs[2]);
    const both = await Promise.all([signIn('ЛС-300', code, '192.0.2.51', ATTEMPT), signIn('ЛС-300', code, '192.0.2.52', ATTEMPT)]);
    expect(both.map((r) => r.status)).toEqual([200, 200]);
    expect(both.map((r) => r.body.retried).sort()).toEqual([false, true]);
    expect(both[0].body.user_id).toBe(both[1].body.user_id);
    expect(await count('SELECT count(*)::int AS n FROM resident_access_codes WHERE account_id = $1 AND used_at IS NOT NULL', [accs[2]])).toBe(1);
  });

  it('an attempt key that is not 16–128 base64url characters is a 400 naming the field', async () => {
    const r = await signIn('ЛС-400', 'ANYCODE234', '192.0.2.61', 'short');
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/attempt_key/);
  });
});

describe('residentSignIn: the grace, on an injected clock', () => {
  it('the same attempt gets in until 10 minutes after the spend; after that it is a wrong code and counts', async () => {
    expect(RETRY_GRACE_MS).toBe(10 * 60_000);
    const code = await issue(accs[3]);
    let t = Date.now();
    const now = () => t;
    const limiter = memoryFailureLimiter({ now });
    const codeKey = codeKeyOf(KEY);
    const req = (attemptKey: string | undefined) => ({ ip: '192.0.2.71', accountNumber: 'ЛС-400', code, attemptKey, ttlSeconds: 3600, userAgent: undefined, requestId: 'test' });
    const first = await residentSignIn(h.opened.db, limiter, codeKey, req(ATTEMPT), { now });
    if (!first.ok) throw new Error('first sign-in refused');
    t += RETRY_GRACE_MS - 1000; // 9:59 after the spend
    const inside = await residentSignIn(h.opened.db, limiter, codeKey, req(ATTEMPT), { now });
    expect(inside).toMatchObject({ ok: true, value: { userId: first.value.userId, accountId: accs[3], retried: true } });
    t += 2000; // 10:01 after the spend
    const after = await residentSignIn(h.opened.db, limiter, codeKey, req(ATTEMPT), { now });
    expect(after).toEqual({ ok: false, refused: null });
    expect(await limiter.failures(accountKey('ЛС-400'))).toBe(1);
    await limiter.close();
  });
});
