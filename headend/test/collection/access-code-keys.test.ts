/**
 * Access codes hashed with the head-end's key (collection/access.ts): an API with SECRETS_KEY stores
 * `hmac$…` hashes — from the single issue and from a building's letters — and they sign in once; a
 * code stored as a scrypt hash before keys still signs in; a code hashed under another key (the key
 * was replaced) is refused like a wrong code, never an error; the code itself is never stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedAccessOrganisations } from './access-seed.js';
import { startHarness, type Harness } from '../api/harness.js';
import { fixedClock } from '../../src/util/clock.js';
import { codeKeyOf, matchAccessCode, prepareAccessCode, storeAccessCode } from '../../src/collection/access.js';

const KEY = Buffer.alloc(32, 7).toString('base64');
const OTHER_KEY = Buffer.alloc(32, 9).toString('base64');
let h: Harness;
let accs: number[];
let bA: number;
let eng: string;

const signIn = (account_number: string, code: string) => h.call('POST', '/resident/sign-in', null, { account_number, code }).then((r) => r.status);
const storedHash = async (accountId: number) => (await h.opened.db.query<{ code_hash: string }>(
  'SELECT code_hash FROM resident_access_codes WHERE account_id = $1 ORDER BY id DESC LIMIT 1', [accountId])).rows[0].code_hash;

beforeAll(async () => {
  h = await startHarness({ clock: fixedClock(new Date('2026-11-14T10:00:00+03:00')), SECRETS_KEY: KEY });
  ({ accs, bA } = await seedAccessOrganisations(h, ['1', '2', '3', '4']));
  eng = await h.userToken('engineer', { username: 'eng-keys', buildingIds: [bA] });
}, 60_000);
afterAll(async () => { await h?.close(); });

describe('access codes hashed with the head-end key', () => {
  it('pure: no key means none; the same code hashes differently each time (salt) and both match; another key matches neither', async () => {
    expect(codeKeyOf(undefined)).toBeNull();
    const key = codeKeyOf(KEY)!;
    expect(key).toHaveLength(32);
    expect(key.equals(Buffer.from(KEY, 'base64'))).toBe(false); // derived for this use, not the sealing key itself
    const a = await prepareAccessCode(key);
    const b = { code: a.code, hash: (await prepareAccessCode(key)).hash };
    expect(a.hash).toMatch(/^hmac\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    expect(a.hash).not.toContain(a.code);
    const live = (hash: string) => [{ codeId: 1, accountId: 1, hash }];
    expect(await matchAccessCode(live(a.hash), a.code, key)).not.toBeNull();
    // Typed in lower case with a space and a dash, as read out over the phone.
    expect(await matchAccessCode(live(a.hash), `${a.code.slice(0, 5).toLowerCase()} -${a.code.slice(5)}`, key)).not.toBeNull();
    expect(await matchAccessCode(live(a.hash), 'AAAAAAAAAA', key)).toBeNull();
    expect(await matchAccessCode(live(a.hash), a.code, codeKeyOf(OTHER_KEY))).toBeNull();
    expect(await matchAccessCode(live(a.hash), a.code, null)).toBeNull();
    expect(b.hash).not.toBe(a.hash);
  });

  it('a code issued by an engineer is stored keyed and signs in once', async () => {
    const r = await h.call<{ code: string }>('POST', `/accounts/${accs[0]}/access-code`, eng, {});
    expect(r.status).toBe(201);
    const hash = await storedHash(accs[0]);
    expect(hash.startsWith('hmac$')).toBe(true);
    expect(hash).not.toContain(r.body.code);
    expect(await signIn('ЛС-100', r.body.code)).toBe(200);
    expect(await signIn('ЛС-100', r.body.code)).toBe(401);
  });

  it('a building\'s letters: every code keyed', async () => {
    const res = await h.app.inject({ method: 'POST', url: `/buildings/${bA}/access-codes`, headers: { authorization: `Bearer ${eng}` }, payload: { accounts: 'all' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-letters']).toBe('4');
    for (const a of accs) expect((await storedHash(a)).slice(0, 5)).toBe('hmac$');
  });

  it('a code stored as a scrypt hash before keys still signs in; one hashed under a replaced key is refused like a wrong code', async () => {
    const legacy = await prepareAccessCode(null);
    expect(legacy.hash.startsWith('hmac$')).toBe(false);
    await storeAccessCode(h.opened.db, accs[1], legacy, null, 14);
    expect(await signIn('ЛС-200', legacy.code)).toBe(200);

    const stale = await prepareAccessCode(codeKeyOf(OTHER_KEY));
    await storeAccessCode(h.opened.db, accs[2], stale, null, 14);
    const r = await h.call<{ message: string }>('POST', '/resident/sign-in', null, { account_number: 'ЛС-300', code: stale.code });
    const wrong = await h.call<{ message: string }>('POST', '/resident/sign-in', null, { account_number: 'ЛС-300', code: 'WRONGCODE2' });
    expect([r.status, r.body.message]).toEqual([401, wrong.body.message]);
  });
});
