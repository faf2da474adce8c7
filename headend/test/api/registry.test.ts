/**
 * Registry through the HTTP API on a real embedded PGlite-TimescaleDB: CRUD round trips, duplicate
 * serial → 409, 401 without a token, building scope for engineers and residents, audit rows with
 * before/after for every write, token expiry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

let h: Harness;
let orgId: number, bA: number, bB: number, flat1: number, flat2: number, acc1: number, meter1: number, meter2: number, odpu: number;

beforeAll(async () => {
  h = await startHarness();
  const t = h.adminToken;
  orgId = (await h.call('POST', '/organisations', t, { name: 'УК Тест' })).body.id;
  bA = (await h.call('POST', '/buildings', t, { org_id: orgId, external_id: 'A', address: 'ул. Ленина, 1' })).body.id;
  bB = (await h.call('POST', '/buildings', t, { org_id: orgId, external_id: 'B', address: 'ул. Ленина, 3' })).body.id;
  flat1 = (await h.call('POST', '/premises', t, { building_id: bA, number: '1', area_m2: 45.5, residents: 2 })).body.id;
  flat2 = (await h.call('POST', '/premises', t, { building_id: bA, number: '2', area_m2: 60 })).body.id;
  acc1 = (await h.call('POST', '/accounts', t, { org_id: orgId, number: '100001', premise_id: flat1, holder_name: 'Иванов И.И.' })).body.id;
  meter1 = (await h.call('POST', '/meters', t, { placement: 'apartment', premise_id: flat1, resource: 'cold_water', make: 'Пульсар', serial_number: 'CW-1', register_digits: 5 })).body.id;
  meter2 = (await h.call('POST', '/meters', t, { placement: 'apartment', premise_id: flat2, resource: 'cold_water', make: 'Пульсар', serial_number: 'CW-2' })).body.id;
  odpu = (await h.call('POST', '/meters', t, { placement: 'building', building_id: bB, resource: 'heat', make: 'Логика', model: 'СПТ-944', serial_number: 'H-1', place: 'ИТП', sealed_on: '2024-09-01', antimagnetic_seal: true, has_temperature_sensors: true, remote_reading: true })).body.id;
});
afterAll(async () => { await h?.close(); });

describe('registry CRUD', () => {
  it('created rows read back with the entered fields', async () => {
    expect([orgId, bA, bB, flat1, acc1, meter1, odpu].every((x) => typeof x === 'number')).toBe(true);
    const m = await h.call('GET', `/meters/${odpu}`, h.adminToken);
    expect(m.status).toBe(200);
    expect(m.body).toMatchObject({ placement: 'building', building_id: bB, premise_id: null, resource: 'heat', make: 'Логика', model: 'СПТ-944', serial_number: 'H-1', sealed_on: '2024-09-01', antimagnetic_seal: true, remote_reading: true });
    const apt = await h.call('GET', `/meters/${meter1}`, h.adminToken);
    expect(apt.body).toMatchObject({ building_id: bA, premise_id: flat1, register_digits: 5 });
    const p = await h.call('GET', `/premises?building_id=${bA}`, h.adminToken);
    expect(p.body.map((x: { number: string; area_m2: number }) => [x.number, x.area_m2])).toEqual([['1', 45.5], ['2', 60]]);
  });

  it('updates and deactivates an account (never deletes)', async () => {
    const r = await h.call('PATCH', `/accounts/${acc1}`, h.adminToken, { active: false, closed_on: '2025-01-31' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ active: false, closed_on: '2025-01-31' });
    expect((await h.call('DELETE', `/accounts/${acc1}`, h.adminToken)).status).toBe(404);
    await h.call('PATCH', `/accounts/${acc1}`, h.adminToken, { active: true, closed_on: null });
  });

  it('a duplicate serial number of the same make is a 409 naming the existing meter', async () => {
    const r = await h.call('POST', '/meters', h.adminToken, { placement: 'apartment', premise_id: flat2, resource: 'cold_water', make: 'Пульсар', serial_number: 'CW-1' });
    expect(r.status).toBe(409);
    expect(r.body.message).toContain('"CW-1"');
    expect(r.body.message).toContain(`meter ${meter1}`);
    // Same serial, other make: fine.
    const ok = await h.call('POST', '/meters', h.adminToken, { placement: 'apartment', premise_id: flat2, resource: 'hot_water', make: 'Бетар', serial_number: 'CW-1' });
    expect(ok.status).toBe(201);
  });

  it('a failed meter keeps the day it failed (billing counts no reading from then); the date is audited with the status', async () => {
    const m = await h.call('POST', '/meters', h.adminToken, { placement: 'apartment', premise_id: flat2, resource: 'cold_water', make: 'Пульсар', serial_number: 'CW-FAIL' });
    expect(m.status).toBe(201);
    expect(m.body.failed_on).toBeNull();
    const r = await h.call('PATCH', `/meters/${m.body.id}`, h.adminToken, { status: 'failed', failed_on: '2025-03-12' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'failed', failed_on: '2025-03-12' });
    const bad = await h.call('PATCH', `/meters/${m.body.id}`, h.adminToken, { failed_on: '12.03.2025' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('failed_on');
    // An undated failure would make billing count nothing: refused, on create and on update, and nothing changes.
    const undated = await h.call('PATCH', `/meters/${m.body.id}`, h.adminToken, { failed_on: null });
    expect(undated.status).toBe(400);
    expect(undated.body.message).toBe('failed_on: the day the meter failed is required with status "failed"');
    expect((await h.call('GET', `/meters/${m.body.id}`, h.adminToken)).body.failed_on).toBe('2025-03-12');
    const created = await h.call('POST', '/meters', h.adminToken, { placement: 'apartment', premise_id: flat2, resource: 'cold_water', make: 'Пульсар', serial_number: 'CW-FAIL-2', status: 'failed' });
    expect(created.status).toBe(400);
    // Back in service: the date may stay as history or be cleared.
    expect((await h.call('PATCH', `/meters/${m.body.id}`, h.adminToken, { status: 'active', failed_on: null })).body).toMatchObject({ status: 'active', failed_on: null });
  });

  it('derives the next verification date from the last one and the interval', async () => {
    const r = await h.call('POST', '/meters', h.adminToken, { placement: 'apartment', premise_id: flat2, resource: 'electricity', make: 'Меркурий', serial_number: 'E-1', zones: 2, last_verified_on: '2020-06-15', verification_interval_years: 16 });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ next_verification_on: '2036-06-15', zones: 2 });
  });

  it('an apartment meter cannot be put in a non-residential premise', async () => {
    const shop = (await h.call('POST', '/premises', h.adminToken, { building_id: bA, number: 'Н-1', kind: 'non_residential', area_m2: 80 })).body.id;
    const r = await h.call('POST', '/meters', h.adminToken, { placement: 'apartment', premise_id: shop, resource: 'cold_water', serial_number: 'S-1' });
    expect(r.status).toBe(400);
    expect(r.body.details[0].path).toBe('body.placement');
    expect((await h.call('POST', '/meters', h.adminToken, { placement: 'non_residential', premise_id: shop, resource: 'cold_water', serial_number: 'S-1' })).status).toBe(201);
  });

  it('bad input names the field', async () => {
    const r = await h.call('POST', '/meters', h.adminToken, { placement: 'apartment', premise_id: flat1, resource: 'steam', serial_number: '' });
    expect(r.status).toBe(400);
    const paths = r.body.details.map((d: { path: string }) => d.path);
    expect(paths).toContain('body.resource');
    expect(paths).toContain('body.serial_number');
    const missing = await h.call('POST', '/meters', h.adminToken, { placement: 'apartment', resource: 'gas', serial_number: 'G-1' });
    expect(missing.status).toBe(400);
    expect(missing.body.details[0].path).toBe('body.premise_id');
  });
});

describe('access control', () => {
  it('refuses a request without a token (401) and with a bad token (401)', async () => {
    expect((await h.call('GET', '/buildings')).status).toBe(401);
    expect((await h.call('GET', `/meters/${meter1}/readings?from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z`)).status).toBe(401);
    expect((await h.call('GET', '/buildings', 'amrt_not-a-token')).status).toBe(401);
  });

  it('an engineer without a grant on building B cannot see B or its meters', async () => {
    const eng = await h.userToken('engineer', { buildingIds: [bA] });
    const list = await h.call('GET', '/buildings', eng);
    expect(list.body.map((b: { id: number }) => b.id)).toEqual([bA]);
    expect((await h.call('GET', `/buildings/${bB}`, eng)).status).toBe(404);
    expect((await h.call('GET', `/meters/${odpu}`, eng)).status).toBe(404);
    expect((await h.call('GET', `/meters?building_id=${bB}`, eng)).body).toEqual([]);
    // A building in the body that is not theirs: 400 naming the field (auth/tenancy.ts requireBodyRef), no premise added.
    const premise = await h.call('POST', '/premises', eng, { building_id: bB, number: '9' });
    expect([premise.status, premise.body.details[0].path]).toEqual([400, 'body.building_id']);
    expect((await h.call('GET', `/premises?building_id=${bB}&number=9`, h.adminToken)).body).toEqual([]);
    expect((await h.call('GET', `/meters/${meter1}`, eng)).status).toBe(200);
  });

  it('a resident sees only the meters of their premises', async () => {
    const res = await h.userToken('resident', { accountIds: [acc1] });
    const mine = await h.call('GET', '/meters', res);
    expect(mine.body.map((m: { id: number }) => m.id)).toEqual([meter1]);
    expect((await h.call('GET', `/meters/${meter2}`, res)).status).toBe(404);
    expect((await h.call('GET', `/meters/${meter2}/readings?from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z`, res)).status).toBe(404);
    expect((await h.call('GET', `/meters/${meter1}/readings?from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z`, res)).status).toBe(200);
    expect((await h.call('GET', '/buildings', res)).status).toBe(403);
    expect((await h.call('POST', `/meters/${meter1}/readings`, res, { time: '2025-01-10T00:00:00Z', value: 1 })).status).toBe(403);
  });

  it('logout revokes the token', async () => {
    const t = await h.userToken('operator', { buildingIds: [bA] });
    expect((await h.call('GET', '/auth/me', t)).status).toBe(200);
    expect((await h.call('POST', '/auth/logout', t)).status).toBe(204);
    expect((await h.call('GET', '/auth/me', t)).status).toBe(401);
  });
});

describe('audit', () => {
  it('every write has an audit row with before and after', async () => {
    const before = (await h.opened.db.query('SELECT count(*)::int AS n FROM audit_log')).rows[0].n;
    const r = await h.call('PATCH', `/premises/${flat2}`, h.adminToken, { residents: 3 });
    expect(r.status).toBe(200);
    const { rows } = await h.opened.db.query("SELECT * FROM audit_log WHERE entity = 'premise' AND entity_id = $1 ORDER BY id", [String(flat2)]);
    expect(rows.map((x) => x.action)).toEqual(['create', 'update']);
    expect(rows[1].before.residents).toBe(0);
    expect(rows[1].after.residents).toBe(3);
    expect(rows[1].actor_name).toBe('admin');
    expect(rows[1].building_id).toBe(bA);
    expect((await h.opened.db.query('SELECT count(*)::int AS n FROM audit_log')).rows[0].n).toBe(before + 1);
    // Every entity created in beforeAll was audited.
    const created = (await h.opened.db.query("SELECT entity, count(*)::int AS n FROM audit_log WHERE action = 'create' GROUP BY entity")).rows;
    const by = Object.fromEntries(created.map((c) => [c.entity, c.n]));
    expect(by).toMatchObject({ organisation: 1, building: 2, premise: 3, personal_account: 1 });
    expect(by.meter).toBeGreaterThanOrEqual(3);
  });

  it('a failed write leaves no audit row', async () => {
    const n0 = (await h.opened.db.query('SELECT count(*)::int AS n FROM audit_log')).rows[0].n;
    expect((await h.call('POST', '/premises', h.adminToken, { building_id: bA, number: '1' })).status).toBe(409);
    expect((await h.opened.db.query('SELECT count(*)::int AS n FROM audit_log')).rows[0].n).toBe(n0);
  });

  it('GET /audit shows entries of the caller\'s buildings only', async () => {
    const eng = await h.userToken('engineer', { buildingIds: [bB] });
    const mine = await h.call('GET', '/audit?entity=meter', eng);
    expect(mine.status).toBe(200);
    expect(mine.body.length).toBeGreaterThan(0);
    expect(mine.body.every((e: { building_id: number }) => e.building_id === bB)).toBe(true);
    const all = await h.call('GET', '/audit?entity=meter', h.adminToken);
    expect(all.body.some((e: { building_id: number }) => e.building_id === bA)).toBe(true);
    const op = await h.userToken('operator', { buildingIds: [bA] });
    expect((await h.call('GET', '/audit', op)).status).toBe(403);
  });

  it('the audit journal is append-only', async () => {
    await expect(h.opened.db.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
  });
});
