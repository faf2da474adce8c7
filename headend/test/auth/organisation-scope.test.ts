/**
 * User administration across organisations, on a real embedded PGlite-TimescaleDB. Two organisations,
 * A and B, each with a building, an engineer granted it and a billing API key. The principal model has
 * no organisation-scoped admin yet (an admin sees everything), so the one core every path goes
 * through (auth/user-admin.ts) is called with an admin principal scoped to A's building — what an
 * admin of organisation A would be — and must treat B's users, grants and keys as not there. Over
 * HTTP: a global admin sees both organisations' users, A's engineer none (no users:manage).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../api/harness.js';
import { createApiKey, type Principal } from '../../src/auth/index.js';
import { addUser, bindAccount, changeUser, grantBuilding, issueApiKey, listGrants, listUsers, revokeApiKey, revokeGrant, type Admin } from '../../src/auth/user-admin.js';
import { HttpError } from '../../src/http/errors.js';

interface Org { org: number; building: number; premise: number; account: number; engineer: number; resident: number; keyId: number }

let h: Harness;
let A: Org;
let B: Org;
let adminOfA: Admin;

const one = async (sql: string, params: unknown[]) => Number((await h.opened.db.query<{ id: string }>(sql, params)).rows[0].id);

async function seedOrg(tag: string): Promise<Org> {
  const org = await one('INSERT INTO organisations (name) VALUES ($1) RETURNING id', [`УК ${tag}`]);
  const building = await one('INSERT INTO buildings (org_id, address) VALUES ($1, $2) RETURNING id', [org, `ул. ${tag}, 1`]);
  const premise = await one(`INSERT INTO premises (building_id, number) VALUES ($1, '1') RETURNING id`, [building]);
  const account = await one('INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, $2, $3) RETURNING id', [org, `${tag}-1`, premise]);
  const engineer = await one(`INSERT INTO users (username, password_hash, role, display_name) VALUES ($1, 'x', 'engineer', $2) RETURNING id`, [`scope-eng-${tag}`, `Инженер ${tag}`]);
  await h.opened.db.query('INSERT INTO user_building_grants (user_id, building_id) VALUES ($1, $2)', [engineer, building]);
  const resident = await one(`INSERT INTO users (username, password_hash, role) VALUES ($1, 'x', 'resident') RETURNING id`, [`scope-res-${tag}`]);
  await h.opened.db.query('INSERT INTO user_accounts (user_id, personal_account_id) VALUES ($1, $2)', [resident, account]);
  const key = await h.opened.db.tx((q) => createApiKey(q, org, `billing ${tag}`, null));
  return { org, building, premise, account, engineer, resident, keyId: key.id };
}

/** The refusal an HTTP caller would get: status, message and the field named. */
async function refusal(p: Promise<unknown>): Promise<{ status: number; message: string; path?: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof HttpError) return { status: e.statusCode, message: e.message, path: e.details?.[0]?.path };
    throw e;
  }
  throw new Error('expected a refusal, the call succeeded');
}

const grantsOf = async (userId: number) => (await h.opened.db.query<{ building_id: string }>('SELECT building_id FROM user_building_grants WHERE user_id = $1 ORDER BY 1', [userId])).rows.map((r) => Number(r.building_id));
const keyRow = async (id: number) => (await h.opened.db.query<{ revoked_at: Date | null }>('SELECT revoked_at FROM api_keys WHERE id = $1', [id])).rows[0];

beforeAll(async () => {
  h = await startHarness();
  A = await seedOrg('A');
  B = await seedOrg('B');
  const id = await one(`INSERT INTO users (username, password_hash, role) VALUES ('admin-of-A', 'x', 'admin') RETURNING id`, []);
  const p: Principal = { kind: 'user', id, name: 'admin-of-A', role: 'admin', buildingIds: new Set([A.building]), premiseIds: null, organisationId: null, tokenId: null };
  adminOfA = { p, actor: { kind: 'user', id, name: 'admin-of-A' } };
}, 120_000);
afterAll(async () => { await h?.close(); });

describe('an admin of organisation A (an admin principal scoped to A\'s building)', () => {
  it('lists only A\'s users: A\'s engineer and resident, not B\'s, nor the installation admin who belongs to no organisation', async () => {
    const users = await listUsers(h.opened.db, adminOfA.p);
    expect(users.map((u) => Number(u.id)).sort((x, y) => x - y)).toEqual([A.engineer, A.resident]);
  });

  it('cannot see or change B\'s engineer: 404 like a user that does not exist; the row is unchanged', async () => {
    const theirs = await refusal(changeUser(h.opened.db, adminOfA, B.engineer, { display_name: 'Захвачен', active: false }));
    const none = await refusal(changeUser(h.opened.db, adminOfA, 999_999, { display_name: 'Захвачен' }));
    expect([theirs.status, none.status]).toEqual([404, 404]);
    expect(theirs.message).toBe(none.message);
    const row = (await h.opened.db.query<{ display_name: string; active: boolean }>('SELECT display_name, active FROM users WHERE id = $1', [B.engineer])).rows[0];
    expect(row).toEqual({ display_name: 'Инженер B', active: true });
    // Nor set the password of B's engineer (a password problem would tell the login exists: it is the 404 first).
    expect((await refusal(changeUser(h.opened.db, adminOfA, B.engineer, { password: 'x' }))).status).toBe(404);
  });

  it('cannot read, add or remove B\'s grants; nor grant B\'s building to A\'s engineer (400 naming building_id)', async () => {
    expect((await refusal(listGrants(h.opened.db, adminOfA.p, B.engineer))).status).toBe(404);
    expect((await refusal(grantBuilding(h.opened.db, adminOfA, B.engineer, A.building))).status).toBe(404);
    expect((await refusal(revokeGrant(h.opened.db, adminOfA, B.engineer, B.building))).status).toBe(404);
    const into = await refusal(grantBuilding(h.opened.db, adminOfA, A.engineer, B.building));
    expect([into.status, into.path]).toEqual([400, 'body.building_id']);
    expect(await grantsOf(B.engineer)).toEqual([B.building]);
    expect(await grantsOf(A.engineer)).toEqual([A.building]);
    // A grant of B's building held by A's engineer (a global admin made it) is not A's admin's to revoke: 404, it stays.
    await h.opened.db.query('INSERT INTO user_building_grants (user_id, building_id) VALUES ($1, $2)', [A.engineer, B.building]);
    try {
      // The engineer now spans two organisations: no longer any one organisation's user.
      expect((await refusal(revokeGrant(h.opened.db, adminOfA, A.engineer, B.building))).status).toBe(404);
      expect(await grantsOf(A.engineer)).toEqual([A.building, B.building].sort((x, y) => x - y));
    } finally {
      await h.opened.db.query('DELETE FROM user_building_grants WHERE user_id = $1 AND building_id = $2', [A.engineer, B.building]);
    }
  });

  it('cannot bind A\'s resident to B\'s account (400 naming personal_account_id), nor B\'s resident to anything (404)', async () => {
    const cross = await refusal(bindAccount(h.opened.db, adminOfA, A.resident, B.account));
    expect([cross.status, cross.path]).toEqual([400, 'body.personal_account_id']);
    expect((await refusal(bindAccount(h.opened.db, adminOfA, B.resident, A.account))).status).toBe(404);
    const bound = (await h.opened.db.query<{ user_id: string }>('SELECT user_id FROM user_accounts WHERE personal_account_id = ANY($1::bigint[]) ORDER BY 1', [[A.account, B.account]])).rows.map((r) => Number(r.user_id));
    expect(bound).toEqual([A.resident, B.resident]);
  });

  it('cannot issue a key for B nor revoke B\'s key: 404, B\'s key stays live and no key is added', async () => {
    const before = Number((await h.opened.db.query<{ n: string }>('SELECT count(*) AS n FROM api_keys')).rows[0].n);
    expect((await refusal(issueApiKey(h.opened.db, adminOfA, B.org, { name: 'probe' }))).status).toBe(404);
    expect((await refusal(revokeApiKey(h.opened.db, adminOfA, B.keyId))).status).toBe(404);
    expect((await keyRow(B.keyId)).revoked_at).toBeNull();
    expect(Number((await h.opened.db.query<{ n: string }>('SELECT count(*) AS n FROM api_keys')).rows[0].n)).toBe(before);
  });

  it('cannot make an admin (an admin sees every organisation): 403 naming role', async () => {
    const r = await refusal(addUser(h.opened.db, adminOfA, { username: 'would-be-root', password: 'long-password-9', role: 'admin' }));
    expect([r.status, r.message]).toEqual([403, 'role: only an administrator of every organisation may make an admin']);
    expect((await h.opened.db.query("SELECT 1 FROM users WHERE username = 'would-be-root'")).rows).toEqual([]);
  });

  it('manages A\'s own: renames A\'s engineer, revokes and re-issues A\'s key', async () => {
    const u = await changeUser(h.opened.db, adminOfA, A.engineer, { display_name: 'Главный инженер A' });
    expect(u.display_name).toBe('Главный инженер A');
    await revokeApiKey(h.opened.db, adminOfA, A.keyId);
    expect((await keyRow(A.keyId)).revoked_at).not.toBeNull();
    const k = await issueApiKey(h.opened.db, adminOfA, A.org, { name: 'billing A, new' });
    expect(Number((await h.opened.db.query<{ organisation_id: string }>('SELECT organisation_id FROM api_keys WHERE id = $1', [k.id])).rows[0].organisation_id)).toBe(A.org);
  });
});

describe('over HTTP', () => {
  it('the installation admin lists both organisations\' users; A\'s engineer may not manage users (403) and changes nothing', async () => {
    const all = await h.call<Array<{ id: number }>>('GET', '/users', h.adminToken);
    expect(all.status).toBe(200);
    const ids = all.body.map((u) => u.id);
    for (const id of [A.engineer, A.resident, B.engineer, B.resident]) expect(ids).toContain(id);
    const eng = await h.userToken('engineer', { buildingIds: [A.building] });
    expect((await h.call('GET', '/users', eng)).status).toBe(403);
    expect((await h.call('POST', `/users/${B.engineer}/grants`, eng, { building_id: A.building })).status).toBe(403);
    expect((await h.call('DELETE', `/api-keys/${B.keyId}`, eng)).status).toBe(403);
    expect(await grantsOf(B.engineer)).toEqual([B.building]);
    expect((await keyRow(B.keyId)).revoked_at).toBeNull();
  });

  it('a grant that does not exist is 404 and a bad building id 400 naming building_id', async () => {
    const gone = await h.call<{ message: string }>('DELETE', `/users/${B.engineer}/grants/${A.building}`, h.adminToken);
    expect([gone.status, gone.body.message]).toEqual([404, 'grant not found']);
    const bad = await h.call<{ details: Array<{ path: string }> }>('POST', `/users/${B.engineer}/grants`, h.adminToken, { building_id: 999_999 });
    expect([bad.status, bad.body.details[0].path]).toEqual([400, 'body.building_id']);
    expect(await grantsOf(B.engineer)).toEqual([B.building]);
  });
});
