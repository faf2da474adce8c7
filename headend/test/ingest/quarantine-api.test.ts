/**
 * Quarantine and dead letters through the API (embedded DB, real fastify): each belongs to its
 * gateway's organisation and building. An engineer lists and resolves only those of their buildings;
 * another organisation's item answers like a missing one and stays as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../api/harness.js';

let h: Harness;
let engineerA: string;
const q = { a: 0, b: 0 };
const dl = { a1: 0, a2: 0, b: 0 };

beforeAll(async () => {
  h = await startHarness();
  const db = h.opened.db;
  const building = async (org: string, gw: string) => {
    const o = (await db.query('INSERT INTO organisations (name) VALUES ($1) RETURNING id', [org])).rows[0].id;
    const b = Number((await db.query(`INSERT INTO buildings (org_id, address) VALUES ($1, 'ул. Карантинная, 1') RETURNING id`, [o])).rows[0].id);
    await db.query('INSERT INTO gateways (id, name, building_id) VALUES ($1, $1, $2)', [gw, b]);
    return b;
  };
  const bA = await building('УК Альфа', 'gw-qa');
  await building('УК Бета', 'gw-qb');
  // The reading as the gateway sent it (the MQTT contract's casing), kept verbatim.
  const item = async (gw: string) => Number((await db.query(
    `INSERT INTO quarantine (gateway_id, seq, meter_ref, reading, reason) VALUES ($1, 7, '{"meterKey": "mbus:1"}', '{"meterTime": "2026-01-01T00:00:00Z"}', 'unknown_meter') RETURNING id`,
    [gw])).rows[0].id);
  q.a = await item('gw-qa');
  q.b = await item('gw-qb');
  const letter = async (gw: string) => Number((await db.query(
    `INSERT INTO dead_letters (topic, gateway_id, payload, reason) VALUES ($1, $2, 'not json', 'invalid_json') RETURNING id`, [`amr/${gw}/readings`, gw])).rows[0].id);
  dl.a1 = await letter('gw-qa');
  dl.b = await letter('gw-qb');
  dl.a2 = await letter('gw-qa');
  engineerA = await h.userToken('engineer', { buildingIds: [bA], username: 'eng-qa' });
}, 120_000);
afterAll(async () => { await h?.close(); });

describe('quarantine', () => {
  it("lists only the items of the caller's gateways; naming another organisation's gateway gives nothing", async () => {
    const mine = await h.call<{ id: number; gateway_id: string; reading: unknown }[]>('GET', '/quarantine', engineerA);
    expect(mine.status).toBe(200);
    expect(mine.body.map((x) => x.id)).toEqual([q.a]);
    expect(mine.body[0].reading).toEqual({ meterTime: '2026-01-01T00:00:00Z' });
    expect((await h.call('GET', '/quarantine?gateway_id=gw-qb', engineerA)).body).toEqual([]);
    const all = await h.call<{ id: number }[]>('GET', '/quarantine', h.adminToken);
    expect(all.body.map((x) => x.id)).toEqual([q.b, q.a]);
  });

  it("resolving another organisation's item is a 404 like a missing one; the item stays open and nothing is journalled", async () => {
    const foreign = await h.call('POST', `/quarantine/${q.b}/resolve`, engineerA, { resolution: 'rejected: not ours' });
    const missing = await h.call('POST', '/quarantine/99999999/resolve', engineerA, { resolution: 'rejected: not ours' });
    expect([foreign.status, missing.status]).toEqual([404, 404]);
    expect(foreign.body.message).toBe(missing.body.message);
    const row = (await h.opened.db.query('SELECT resolved_at, resolved_by, resolution FROM quarantine WHERE id = $1', [q.b])).rows[0];
    expect(row).toEqual({ resolved_at: null, resolved_by: null, resolution: null });
    expect((await h.opened.db.query(`SELECT count(*)::int AS n FROM audit_log WHERE entity = 'quarantine' AND entity_id = $1`, [String(q.b)])).rows[0].n).toBe(0);
  });

  it('a resolution too short to say anything is a 400 naming the field; nothing changes', async () => {
    const r = await h.call('POST', `/quarantine/${q.a}/resolve`, engineerA, { resolution: 'ok' });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toContain('resolution');
    expect((await h.opened.db.query('SELECT resolved_at FROM quarantine WHERE id = $1', [q.a])).rows[0].resolved_at).toBeNull();
  });

  it('resolves its own item once, journalled with the resolution; a second time is a 409 naming who resolved it', async () => {
    const r = await h.call('POST', `/quarantine/${q.a}/resolve`, engineerA, { resolution: 'bound meter 12 and replayed' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: q.a, resolved_by: 'eng-qa', resolution: 'bound meter 12 and replayed' });
    const journal = (await h.opened.db.query(`SELECT actor_name, action, reason FROM audit_log WHERE entity = 'quarantine' AND entity_id = $1`, [String(q.a)])).rows;
    expect(journal).toEqual([{ actor_name: 'eng-qa', action: 'resolve', reason: 'bound meter 12 and replayed' }]);
    const again = await h.call('POST', `/quarantine/${q.a}/resolve`, engineerA, { resolution: 'bound meter 12 and replayed' });
    expect(again.status).toBe(409);
    expect(again.body.message).toBe(`quarantine item ${q.a} was already resolved by eng-qa`);
    // Resolved items leave the default (open) list and stay in state=resolved.
    expect((await h.call('GET', '/quarantine', engineerA)).body).toEqual([]);
    expect((await h.call<{ id: number }[]>('GET', '/quarantine?state=resolved', engineerA)).body.map((x) => x.id)).toEqual([q.a]);
  });
});

describe('dead letters', () => {
  it("lists only the caller's gateways' letters, newest first, paging back with before; another organisation's gateway gives nothing", async () => {
    const mine = await h.call<{ id: number }[]>('GET', '/dead-letters', engineerA);
    expect(mine.body.map((x) => x.id)).toEqual([dl.a2, dl.a1]);
    // Paging back from A's newest skips B's letter in between: scope applies on every page.
    expect((await h.call<{ id: number }[]>('GET', `/dead-letters?before=${dl.a2}`, engineerA)).body.map((x) => x.id)).toEqual([dl.a1]);
    expect((await h.call('GET', '/dead-letters?gateway_id=gw-qb', engineerA)).body).toEqual([]);
    expect((await h.call<{ id: number }[]>('GET', '/dead-letters?limit=1', h.adminToken)).body.map((x) => x.id)).toEqual([dl.a2]);
  });
});
