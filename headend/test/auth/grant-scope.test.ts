/**
 * A staff member of organisation A who was also granted ONE building of organisation B (a contractor
 * serving two managing organisations): through the real API on a real embedded database, they see
 * that building of B and nothing else of B's, and cannot tie A's records to B's (a binding, an
 * account's premise, a gateway's building), although they see both ends. A grant is per building;
 * records of two organisations are never linked, whoever asks. And inside one organisation: a gateway
 * not assigned to a building is for admins only, even when its meters lie in the organisation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../api/harness.js';

let h: Harness;
let eng: string;
const ids = {} as Record<'orgA' | 'orgB' | 'a1' | 'b1' | 'b2' | 'premA' | 'premB1' | 'accA' | 'mA' | 'mB1' | 'mB2', number>;
const gwA = 'gw-contractor-a';

const one = async (sql: string, params: unknown[]) => Number((await h.opened.db.query(sql, params)).rows[0].id);

beforeAll(async () => {
  h = await startHarness();
  ids.orgA = await one(`INSERT INTO organisations (name) VALUES ('УК Альфа') RETURNING id`, []);
  ids.orgB = await one(`INSERT INTO organisations (name) VALUES ('УК Бета') RETURNING id`, []);
  ids.a1 = await one(`INSERT INTO buildings (org_id, address) VALUES ($1, 'ул. Альфа, 1') RETURNING id`, [ids.orgA]);
  ids.b1 = await one(`INSERT INTO buildings (org_id, address) VALUES ($1, 'ул. Бета, 1') RETURNING id`, [ids.orgB]);
  ids.b2 = await one(`INSERT INTO buildings (org_id, address) VALUES ($1, 'ул. Бета, 2') RETURNING id`, [ids.orgB]);
  ids.premA = await one(`INSERT INTO premises (building_id, number) VALUES ($1, '1') RETURNING id`, [ids.a1]);
  ids.premB1 = await one(`INSERT INTO premises (building_id, number) VALUES ($1, '1') RETURNING id`, [ids.b1]);
  const premB2 = await one(`INSERT INTO premises (building_id, number) VALUES ($1, '1') RETURNING id`, [ids.b2]);
  ids.accA = await one(`INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, 'A-1', $2) RETURNING id`, [ids.orgA, ids.premA]);
  const meter = (b: number, p: number, serial: string) =>
    one(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number) VALUES ('apartment', $1, $2, 'cold_water', $3) RETURNING id`, [b, p, serial]);
  ids.mA = await meter(ids.a1, ids.premA, 'CW-A');
  ids.mB1 = await meter(ids.b1, ids.premB1, 'CW-B1');
  ids.mB2 = await meter(ids.b2, premB2, 'CW-B2');
  await h.opened.db.query('INSERT INTO gateways (id, building_id) VALUES ($1, $2)', [gwA, ids.a1]);
  await h.opened.db.query(`INSERT INTO bindings (gateway_id, bus, address, meter_id, valid_from) VALUES ($1, 'mbus0', '5', $2, '-infinity')`, [gwA, ids.mA]);
  eng = await h.userToken('engineer', { buildingIds: [ids.a1, ids.b1] });
}, 120_000);
afterAll(async () => { await h?.close(); });

describe('an engineer of A granted one building of B', () => {
  it('sees A\'s building and the granted building of B, not B\'s other building or its meters', async () => {
    const buildings = await h.call<{ id: number }[]>('GET', '/buildings', eng);
    expect(buildings.status).toBe(200);
    expect(buildings.body.map((b) => b.id).sort((x, y) => x - y)).toEqual([ids.a1, ids.b1].sort((x, y) => x - y));
    expect((await h.call('GET', `/meters/${ids.mB1}`, eng)).status).toBe(200);
    // B's other building: the same 404 as an id that does not exist.
    const other = await h.call<{ message: string }>('GET', `/meters/${ids.mB2}`, eng);
    const none = await h.call<{ message: string }>('GET', '/meters/99999999', eng);
    expect([other.status, none.status]).toEqual([404, 404]);
    expect(other.body.message).toBe(none.body.message);
    expect((await h.call('GET', `/buildings/${ids.b2}`, eng)).status).toBe(404);
    const meters = await h.call<{ serial_number: string }[]>('GET', '/meters', eng);
    expect(meters.body.map((m) => m.serial_number).sort()).toEqual(['CW-A', 'CW-B1']);
  });

  it('cannot bind A\'s gateway to B\'s meter, though it sees both: 400 naming meter_id, A\'s binding untouched', async () => {
    const r = await h.call<{ message: string; details: { path: string }[] }>('POST', `/gateways/${gwA}/bindings`, eng, { bus: 'mbus0', address: '5', meter_id: ids.mB1 });
    expect(r.status).toBe(400);
    expect(r.body.details[0].path).toBe('body.meter_id');
    expect(r.body.message).toContain(`belongs to organisation ${ids.orgB}, not ${ids.orgA}`);
    const open = await h.opened.db.query('SELECT meter_id FROM bindings WHERE gateway_id = $1 AND valid_to IS NULL', [gwA]);
    expect(open.rows.map((x) => Number(x.meter_id))).toEqual([ids.mA]);
  });

  it('cannot move A\'s account into a flat of B\'s granted building, nor A\'s gateway into that building', async () => {
    const acc = await h.call<{ details: { path: string }[] }>('PATCH', `/accounts/${ids.accA}`, eng, { premise_id: ids.premB1 });
    expect(acc.status).toBe(400);
    expect(acc.body.details[0].path).toBe('body.premise_id');
    expect(Number((await h.opened.db.query('SELECT premise_id FROM personal_accounts WHERE id = $1', [ids.accA])).rows[0].premise_id)).toBe(ids.premA);
    const gw = await h.call<{ details: { path: string }[] }>('PATCH', `/gateways/${gwA}`, eng, { building_id: ids.b1 });
    expect(gw.status).toBe(400);
    expect(gw.body.details[0].path).toBe('body.building_id');
    expect(Number((await h.opened.db.query('SELECT building_id FROM gateways WHERE id = $1', [gwA])).rows[0].building_id)).toBe(ids.a1);
  });

  it('can still do the ordinary work in B\'s granted building: bind a new gateway there to B\'s meter', async () => {
    const created = await h.call<{ id: string }>('POST', '/gateways', eng, { id: 'gw-contractor-b', building_id: ids.b1 });
    expect(created.status).toBe(201);
    const bound = await h.call('POST', '/gateways/gw-contractor-b/bindings', eng, { bus: 'mbus0', address: '1', meter_id: ids.mB1 });
    expect(bound.status).toBe(201);
  });
});

describe('a gateway not assigned to a building', () => {
  it('is admin-only, even when bound to meters of the engineer\'s organisation: no reading it, no new password for it', async () => {
    // A's second building a2, not granted to the engineer; an unassigned gateway reads a meter there.
    const a2 = await one(`INSERT INTO buildings (org_id, address) VALUES ($1, 'ул. Альфа, 2') RETURNING id`, [ids.orgA]);
    const m = await one(`INSERT INTO meters (placement, building_id, resource, serial_number) VALUES ('building', $1, 'heat', 'HT-A2') RETURNING id`, [a2]);
    await h.opened.db.query(`INSERT INTO gateways (id, building_id, credential_hash) VALUES ('gw-loose', NULL, 'scrypt$old')`);
    await h.opened.db.query(`INSERT INTO bindings (gateway_id, bus, address, meter_id, valid_from) VALUES ('gw-loose', 'mbus0', '1', $1, '-infinity')`, [m]);
    const read = await h.call<{ message: string }>('GET', '/gateways/gw-loose', eng);
    expect(read.status).toBe(404);
    expect(read.body.message).toBe((await h.call<{ message: string }>('GET', '/gateways/gw-nowhere', eng)).body.message);
    // A new password would let whoever asked publish readings for a2's heat meter.
    expect((await h.call('POST', '/gateways/gw-loose/credentials', eng)).status).toBe(404);
    expect((await h.opened.db.query(`SELECT credential_hash FROM gateways WHERE id = 'gw-loose'`)).rows[0].credential_hash).toBe('scrypt$old');
    expect((await h.call('GET', '/gateways/gw-loose/bindings', eng)).status).toBe(404);
    // The admin sees it, and may assign it to a2.
    expect((await h.call('GET', '/gateways/gw-loose', h.adminToken)).status).toBe(200);
    expect((await h.call('PATCH', '/gateways/gw-loose', h.adminToken, { building_id: a2 })).status).toBe(200);
  });
});
