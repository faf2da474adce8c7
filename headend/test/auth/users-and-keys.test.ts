/**
 * Users, API keys and sessions on a real embedded PGlite-TimescaleDB: createUser for the first admin,
 * case-insensitive unique usernames, deactivation ends sessions, billing API keys scoped to an organisation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../api/harness.js';
import { authenticate, createUser } from '../../src/auth/index.js';

let h: Harness;
let org1: number, org2: number, b1: number, b2: number;

beforeAll(async () => {
  h = await startHarness();
  const t = h.adminToken;
  org1 = (await h.call('POST', '/organisations', t, { name: 'УК-1' })).body.id;
  org2 = (await h.call('POST', '/organisations', t, { name: 'УК-2' })).body.id;
  b1 = (await h.call('POST', '/buildings', t, { org_id: org1, address: 'Дом 1' })).body.id;
  b2 = (await h.call('POST', '/buildings', t, { org_id: org2, address: 'Дом 2' })).body.id;
}, 120_000);
afterAll(async () => { await h?.close(); });

describe('users', () => {
  it('createUser makes a user that can log in; the creation is audited as system', async () => {
    await createUser(h.opened.db, { username: 'Chief', password: 'long-password', role: 'engineer', display_name: 'Главный инженер' });
    const u = await authenticate(h.opened.db, 'chief', 'long-password');
    expect(u).toMatchObject({ username: 'Chief', role: 'engineer', display_name: 'Главный инженер' });
    expect(JSON.stringify(u)).not.toContain('scrypt');
    expect(await authenticate(h.opened.db, 'chief', 'wrong-password')).toBeNull();
    const a = (await h.opened.db.query("SELECT actor_kind FROM audit_log WHERE entity = 'user' AND after->>'username' = 'Chief'")).rows;
    expect(a).toEqual([{ actor_kind: 'system' }]);
  });

  it('usernames are unique regardless of case (409)', async () => {
    const r = await h.call('POST', '/users', h.adminToken, { username: 'CHIEF', password: 'long-password', role: 'operator' });
    expect(r.status).toBe(409);
  });

  it('wrong password → 401; only admins manage users (403)', async () => {
    expect((await h.call('POST', '/auth/login', null, { username: 'admin', password: 'nope-nope' })).status).toBe(401);
    const eng = await h.userToken('engineer', { buildingIds: [b1] });
    expect((await h.call('GET', '/users', eng)).status).toBe(403);
    expect((await h.call('POST', '/users', eng, { username: 'x-user', password: 'long-password', role: 'admin' })).status).toBe(403);
  });

  it('deactivating a user ends their sessions and blocks login', async () => {
    const t = await h.userToken('operator', { username: 'inspector1', buildingIds: [b1] });
    const me = await h.call('GET', '/auth/me', t);
    expect(me.body).toMatchObject({ role: 'operator', building_ids: [b1] });
    const id = me.body.id;
    expect((await h.call('PATCH', `/users/${id}`, h.adminToken, { active: false })).status).toBe(200);
    expect((await h.call('GET', '/auth/me', t)).status).toBe(401);
    expect((await h.call('POST', '/auth/login', null, { username: 'inspector1', password: 'password-123' })).status).toBe(401);
  });

  it('changing a password ends the sessions; the new password works', async () => {
    const t = await h.userToken('billing', { username: 'billing-clerk' });
    const id = (await h.call('GET', '/auth/me', t)).body.id;
    expect((await h.call('PATCH', `/users/${id}`, h.adminToken, { password: 'new-password-1' })).status).toBe(200);
    expect((await h.call('GET', '/auth/me', t)).status).toBe(401);
    expect((await h.call('POST', '/auth/login', null, { username: 'billing-clerk', password: 'new-password-1' })).status).toBe(200);
  });

  it('an engineer creates buildings only in an organisation where they have one', async () => {
    const eng = await h.userToken('engineer', { buildingIds: [b1] });
    const foreign = await h.call('POST', '/buildings', eng, { org_id: org2, address: 'Чужой дом' });
    expect([foreign.status, foreign.body.details[0].path]).toEqual([400, 'body.org_id']);
    const ok = await h.call('POST', '/buildings', eng, { org_id: org1, address: 'Новый дом' });
    expect(ok.status).toBe(201);
    expect((await h.call('GET', `/buildings/${ok.body.id}`, eng)).status).toBe(200);
  });

  it('a resident can only be bound to accounts when the user is a resident', async () => {
    const eng = (await h.call<{ id: number; role: string }[]>('GET', '/users', h.adminToken)).body.find((u) => u.role === 'engineer')!;
    const r = await h.call('POST', `/users/${eng.id}/accounts`, h.adminToken, { personal_account_id: 1 });
    expect(r.status).toBe(400);
  });
});

describe('billing API keys', () => {
  it('a key is shown once, reads only its organisation, and stops working when revoked', async () => {
    const k = await h.call('POST', `/organisations/${org1}/api-keys`, h.adminToken, { name: 'billing-export' });
    expect(k.status).toBe(201);
    expect(k.body.key).toMatch(/^amrk_/);
    const stored = (await h.opened.db.query('SELECT key_hash FROM api_keys WHERE id = $1', [k.body.id])).rows[0].key_hash;
    expect(stored).not.toContain(k.body.key);
    const get = (url: string) => h.app.inject({ method: 'GET', url, headers: { 'x-api-key': k.body.key } });
    const list = await get('/buildings');
    expect(list.statusCode).toBe(200);
    const seen = JSON.parse(list.body) as { id: number; org_id: number }[];
    expect(seen.map((b) => b.id)).toContain(b1);
    expect(seen.map((b) => b.id)).not.toContain(b2);
    expect(seen.every((b) => b.org_id === org1)).toBe(true);
    expect((await get(`/buildings/${b2}`)).statusCode).toBe(404);
    expect((await h.app.inject({ method: 'POST', url: '/buildings', headers: { 'x-api-key': k.body.key }, payload: { org_id: org1, address: 'x' } })).statusCode).toBe(403);
    expect((await h.call('DELETE', `/api-keys/${k.body.id}`, h.adminToken)).status).toBe(204);
    expect((await get('/buildings')).statusCode).toBe(401);
  });

  it('a key is not a session and a session is not a key: each in the other\'s header is 401', async () => {
    const k = await h.call('POST', `/organisations/${org1}/api-keys`, h.adminToken, { name: 'dashboard-probe' });
    const asBearer = await h.app.inject({ method: 'GET', url: '/buildings', headers: { authorization: `Bearer ${k.body.key}` } });
    expect(asBearer.statusCode).toBe(401);
    expect(JSON.parse(asBearer.body).message).toBe('token invalid, expired or revoked');
    const asKey = await h.app.inject({ method: 'GET', url: '/buildings', headers: { 'x-api-key': h.adminToken } });
    expect(asKey.statusCode).toBe(401);
    expect(JSON.parse(asKey.body).message).toBe('API key invalid, expired or revoked');
  });
});
