/**
 * What the administration screens read besides the existing lists (embedded DB, real fastify): an
 * organisation's API keys — name, prefix and state, never the key or its hash, for admins only — and
 * the audit journal narrowed to what one user did.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

let h: Harness;
let orgA = 0;
let orgB = 0;

beforeAll(async () => {
  h = await startHarness();
  orgA = (await h.call('POST', '/organisations', h.adminToken, { name: 'УК «Альфа»' })).body.id;
  orgB = (await h.call('POST', '/organisations', h.adminToken, { name: 'УК «Бета»' })).body.id;
}, 60_000);
afterAll(async () => { await h?.close(); });

describe('GET /organisations/:id/api-keys', () => {
  it("lists an organisation's own keys newest first with their state; the key itself is never in it", async () => {
    const first = await h.call('POST', `/organisations/${orgA}/api-keys`, h.adminToken, { name: '1С: расчёты' });
    const second = await h.call('POST', `/organisations/${orgA}/api-keys`, h.adminToken, { name: 'Биллинг-2', expires_at: '2027-01-01T00:00:00+03:00' });
    await h.call('POST', `/organisations/${orgB}/api-keys`, h.adminToken, { name: 'чужой' });
    expect((await h.call('DELETE', `/api-keys/${first.body.id}`, h.adminToken)).status).toBe(204);
    const r = await h.call('GET', `/organisations/${orgA}/api-keys`, h.adminToken);
    expect(r.status).toBe(200);
    expect(r.body.map((k: { id: number }) => k.id)).toEqual([second.body.id, first.body.id]);
    expect(r.body[0]).toMatchObject({ name: 'Биллинг-2', prefix: second.body.prefix, revoked_at: null, expires_at: '2026-12-31T21:00:00.000Z' });
    expect(r.body[1].revoked_at).not.toBeNull();
    expect(JSON.stringify(r.body)).not.toContain(first.body.key);
    expect(Object.keys(r.body[0]).sort()).toEqual(['created_at', 'created_by', 'expires_at', 'id', 'last_used_at', 'name', 'prefix', 'revoked_at']);
  });

  it('is for admins: an engineer of the organisation is refused, an unknown organisation is a 404', async () => {
    const b = (await h.call('POST', '/buildings', h.adminToken, { org_id: orgA, address: 'ул. Ключевая, 1' })).body.id;
    const eng = await h.userToken('engineer', { buildingIds: [b] });
    expect((await h.call('GET', `/organisations/${orgA}/api-keys`, eng)).status).toBe(403);
    expect((await h.call('GET', '/organisations/99999/api-keys', h.adminToken)).status).toBe(404);
  });
});

describe('GET /audit?actor_id', () => {
  it('gives only what that user did', async () => {
    const users = (await h.call<{ id: number; username: string }[]>('GET', '/users', h.adminToken)).body;
    const admin = users.find((u) => u.username === 'admin')!;
    const mine = await h.call<{ actor_id: number; actor_kind: string }[]>('GET', `/audit?actor_id=${admin.id}&actor_kind=user`, h.adminToken);
    expect(mine.status).toBe(200);
    expect(mine.body.length).toBeGreaterThan(0);
    expect(new Set(mine.body.map((e) => `${e.actor_kind}:${e.actor_id}`))).toEqual(new Set([`user:${admin.id}`]));
    const other = users.find((u) => u.username !== 'admin')!;
    expect((await h.call('GET', `/audit?actor_id=${other.id}`, h.adminToken)).body).toEqual([]);
    expect((await h.call('GET', '/audit?actor_kind=robot', h.adminToken)).status).toBe(400);
  });
});
