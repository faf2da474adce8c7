/**
 * The registry's ids through the one tenancy resolver, over real HTTP on a real embedded
 * PGlite-TimescaleDB: two organisations A and B written straight into the database, then A's
 * engineer, A's billing API key and the installation admin try to reach or link B's records. Each
 * refusal is checked to change nothing. Then gateway secret rotation and its after-commit hook, on
 * the gateway routes mounted with that hook (the API assembly does not pass one yet).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { startHarness, type Harness } from '../api/harness.js';
import { createApiKey } from '../../src/auth/index.js';
import { verifySecret } from '../../src/broker/credentials.js';
import errorsPlugin from '../../src/http/plugins/errors.js';
import authPlugin from '../../src/http/plugins/auth.js';
import gatewayRoutes from '../../src/registry/gateway-routes.js';
import { fixedClock } from '../../src/util/clock.js';

interface Org { org: number; building: number; premise: number; account: number; meter: number; meter2: number; gateway: string; binding: number; apiKey: string }

let h: Harness;
let A: Org;
let B: Org;
let engineerA: string;

const one = async (sql: string, params: unknown[]) => Number((await h.opened.db.query<{ id: string }>(sql, params)).rows[0].id);

async function seedOrg(tag: string): Promise<Org> {
  const org = await one('INSERT INTO organisations (name) VALUES ($1) RETURNING id', [`УК ${tag}`]);
  const building = await one('INSERT INTO buildings (org_id, address) VALUES ($1, $2) RETURNING id', [org, `ул. ${tag}, 1`]);
  const premise = await one(`INSERT INTO premises (building_id, number) VALUES ($1, '1') RETURNING id`, [building]);
  const account = await one('INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, $2, $3) RETURNING id', [org, `${tag}-1`, premise]);
  const meter = await one(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number) VALUES ('apartment', $1, $2, 'cold_water', $3) RETURNING id`, [building, premise, `X-CW-${tag}`]);
  const meter2 = await one(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number) VALUES ('apartment', $1, $2, 'cold_water', $3) RETURNING id`, [building, premise, `X-CW2-${tag}`]);
  const gateway = `x-gw-${tag}`;
  await h.opened.db.query('INSERT INTO gateways (id, building_id) VALUES ($1, $2)', [gateway, building]);
  const binding = await one(`INSERT INTO bindings (gateway_id, bus, address, meter_id, valid_from) VALUES ($1, 'mbus0', '5', $2, '-infinity') RETURNING id`, [gateway, meter]);
  const key = await h.opened.db.tx((q) => createApiKey(q, org, `billing ${tag}`, null));
  return { org, building, premise, account, meter, meter2, gateway, binding, apiKey: key.key };
}

const withKey = async (key: string, method: 'GET' | 'POST', url: string) => {
  const r = await h.app.inject({ method, url, headers: { 'x-api-key': key } });
  return { status: r.statusCode, body: JSON.parse(r.body) as { message: string } };
};
const openBindings = async (gateway: string) => (await h.opened.db.query<{ meter_id: string; address: string }>(
  'SELECT meter_id, address FROM bindings WHERE gateway_id = $1 AND valid_to IS NULL ORDER BY address', [gateway])).rows.map((r) => [r.address, Number(r.meter_id)]);
const accountRow = async (id: number) => {
  const r = (await h.opened.db.query<{ premise_id: string; holder_name: string | null }>('SELECT premise_id, holder_name FROM personal_accounts WHERE id = $1', [id])).rows[0];
  return { premise_id: Number(r.premise_id), holder_name: r.holder_name };
};
const count = async (table: string) => Number((await h.opened.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);

beforeAll(async () => {
  h = await startHarness({ clock: fixedClock('2026-04-15T09:00:00Z') });
  A = await seedOrg('A');
  B = await seedOrg('B');
  engineerA = await h.userToken('engineer', { buildingIds: [A.building] });
}, 120_000);
afterAll(async () => { await h?.close(); });

describe('gateways and bindings', () => {
  it('A\'s engineer re-binding B\'s gateway: 404 as for no such gateway, B\'s binding unchanged', async () => {
    const theirs = await h.call<{ message: string }>('POST', `/gateways/${B.gateway}/bindings`, engineerA, { bus: 'mbus0', address: '5', meter_id: A.meter });
    const none = await h.call<{ message: string }>('POST', '/gateways/x-gw-nowhere/bindings', engineerA, { bus: 'mbus0', address: '5', meter_id: A.meter });
    expect([theirs.status, none.status]).toEqual([404, 404]);
    expect(theirs.body.message).toBe(none.body.message);
    expect(await openBindings(B.gateway)).toEqual([['5', B.meter]]);
    // Ending B's binding by its id: the same 404, still open.
    expect((await h.call('DELETE', `/bindings/${B.binding}`, engineerA)).status).toBe(404);
    expect(await openBindings(B.gateway)).toEqual([['5', B.meter]]);
  });

  it('A\'s own gateway to B\'s meter: 400 naming meter_id, for the admin too; A\'s gateway keeps its one binding', async () => {
    for (const token of [engineerA, h.adminToken]) {
      const r = await h.call<{ details: Array<{ path: string }> }>('POST', `/gateways/${A.gateway}/bindings`, token, { bus: 'mbus0', address: '6', meter_id: B.meter });
      expect([r.status, r.body.details[0].path]).toEqual([400, 'body.meter_id']);
    }
    expect(await openBindings(A.gateway)).toEqual([['5', A.meter]]);
  });
});

describe('accounts, premises and meters', () => {
  it('PATCH an account\'s premise_id to B\'s premise: refused naming premise_id, the account unchanged (engineer and admin)', async () => {
    const eng = await h.call<{ details: Array<{ path: string }> }>('PATCH', `/accounts/${A.account}`, engineerA, { premise_id: B.premise, holder_name: 'Петров' });
    expect([eng.status, eng.body.details[0].path]).toEqual([400, 'body.premise_id']);
    const admin = await h.call<{ message: string; details: Array<{ path: string }> }>('PATCH', `/accounts/${A.account}`, h.adminToken, { premise_id: B.premise });
    expect([admin.status, admin.body.details[0].path]).toEqual([400, 'body.premise_id']);
    expect(admin.body.message).toBe(`premise_id: premise ${B.premise} belongs to organisation ${B.org}, not ${A.org}; records of different organisations cannot be linked`);
    expect(await accountRow(A.account)).toEqual({ premise_id: A.premise, holder_name: null });
  });

  it('a new account of A in B\'s premise, a premise in B\'s building, a meter in B\'s premise: 400 naming the field, nothing added', async () => {
    const before = await Promise.all(['personal_accounts', 'premises', 'meters'].map(count));
    const acc = await h.call<{ details: Array<{ path: string }> }>('POST', '/accounts', h.adminToken, { org_id: A.org, number: 'A-2', premise_id: B.premise });
    expect([acc.status, acc.body.details[0].path]).toEqual([400, 'body.premise_id']);
    const prem = await h.call<{ details: Array<{ path: string }> }>('POST', '/premises', engineerA, { building_id: B.building, number: '99' });
    expect([prem.status, prem.body.details[0].path]).toEqual([400, 'body.building_id']);
    const meter = await h.call<{ details: Array<{ path: string }> }>('POST', '/meters', engineerA, { placement: 'apartment', premise_id: B.premise, resource: 'hot_water', serial_number: 'X-HW-probe' });
    expect([meter.status, meter.body.details[0].path]).toEqual([400, 'body.premise_id']);
    const bldg = await h.call<{ details: Array<{ path: string }> }>('POST', '/buildings', engineerA, { org_id: B.org, address: 'ул. Чужая, 5' });
    expect([bldg.status, bldg.body.details[0].path]).toEqual([400, 'body.org_id']);
    expect(await Promise.all(['personal_accounts', 'premises', 'meters'].map(count))).toEqual(before);
  });

  it('a replacement of A\'s meter by B\'s: 400 naming new_meter_id; A\'s meter stays active, no replacement recorded', async () => {
    const r = await h.call<{ details: Array<{ path: string }> }>('POST', `/meters/${A.meter}/replacement`, engineerA,
      { replaced_at: '2026-04-10T09:00:00Z', new_meter_id: B.meter2, removal_reading: 0, installation_reading: 0 });
    expect([r.status, r.body.details[0].path]).toEqual([400, 'body.new_meter_id']);
    expect((await h.call('POST', `/meters/${B.meter}/replacement`, engineerA, { replaced_at: '2026-04-10T09:00:00Z', new_meter_id: B.meter2, removal_reading: 0, installation_reading: 0 })).status).toBe(404);
    expect((await h.opened.db.query<{ status: string }>('SELECT status FROM meters WHERE id = $1', [A.meter])).rows[0].status).toBe('active');
    expect(await count('meter_replacements')).toBe(0);
  });

  it('an API key of A with B\'s meter id: 404 like a meter that does not exist (the meter, its readings, its replacements)', async () => {
    const range = 'from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z';
    for (const url of [`/meters/${B.meter}`, `/meters/${B.meter}/readings?${range}`, `/meters/${B.meter}/replacements`]) {
      const theirs = await withKey(A.apiKey, 'GET', url);
      const none = await withKey(A.apiKey, 'GET', url.replace(String(B.meter), '999999'));
      expect([url, theirs.status, none.status]).toEqual([url, 404, 404]);
      expect(theirs.body.message).toBe(none.body.message);
    }
    // Its own meter answers.
    expect((await withKey(A.apiKey, 'GET', `/meters/${A.meter}`)).status).toBe(200);
    // A list filtered by B's building shows nothing of B's.
    const list = await h.app.inject({ method: 'GET', url: `/meters?building_id=${B.building}`, headers: { 'x-api-key': A.apiKey } });
    expect([list.statusCode, JSON.parse(list.body)]).toEqual([200, []]);
  });

  it('B\'s organisation is not found for A\'s engineer; A\'s is', async () => {
    expect((await h.call('GET', `/organisations/${B.org}`, engineerA)).status).toBe(404);
    expect((await h.call('GET', `/organisations/${A.org}`, engineerA)).status).toBe(200);
    const list = await h.call<Array<{ id: number }>>('GET', '/organisations', engineerA);
    expect(list.body.map((o) => o.id)).toEqual([A.org]);
  });
});

describe('gateway secret rotation', () => {
  let app: FastifyInstance;
  const rotated: Array<{ gateway: string; hashAtCall: string }> = [];
  let failNext = false;
  const hashOf = async (id: string) => (await h.opened.db.query<{ credential_hash: string }>('SELECT credential_hash FROM gateways WHERE id = $1', [id])).rows[0].credential_hash;

  beforeAll(async () => {
    app = Fastify({ logger: false });
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    app.decorate('clock', fixedClock('2026-04-15T09:00:00Z'));
    await app.register(errorsPlugin);
    await app.register(authPlugin, { db: h.opened.db });
    await app.register(gatewayRoutes, {
      db: h.opened.db, config: { TOKEN_TTL: 3600 }, codeKey: null,
      // Reads the stored hash through the pool, outside the rotation's transaction: it is the new one only if that committed first.
      onGatewaySecretRotated: async (gateway) => {
        rotated.push({ gateway, hashAtCall: await hashOf(gateway) });
        if (failNext) { failNext = false; throw new Error('broker unreachable'); }
      },
    });
    await app.ready();
  });
  afterAll(async () => { await app?.close(); });

  const rotate = async (gateway: string, token: string) => {
    const r = await app.inject({ method: 'POST', url: `/gateways/${gateway}/credentials`, headers: { authorization: `Bearer ${token}` } });
    return { status: r.statusCode, body: JSON.parse(r.body) as { username: string; password: string } };
  };

  it('calls the hook once, after the new secret is committed, with the gateway id; the new password verifies', async () => {
    const old = await hashOf(A.gateway);
    const r = await rotate(A.gateway, engineerA);
    expect(r.status).toBe(200);
    expect(r.body.username).toBe(A.gateway);
    expect(rotated.map((x) => x.gateway)).toEqual([A.gateway]);
    expect(rotated[0].hashAtCall).not.toBe(old);
    expect(rotated[0].hashAtCall).toBe(await hashOf(A.gateway));
    expect(await verifySecret(r.body.password, await hashOf(A.gateway))).toBe(true);
  });

  it('B\'s gateway for A\'s engineer: 404, its secret unchanged, the hook not called', async () => {
    const before = await hashOf(B.gateway);
    const calls = rotated.length;
    expect((await rotate(B.gateway, engineerA)).status).toBe(404);
    expect(await hashOf(B.gateway)).toBe(before);
    expect(rotated.length).toBe(calls);
  });

  it('a failing hook does not undo the rotation: 200, and the new password is the one stored', async () => {
    failNext = true;
    const r = await rotate(A.gateway, engineerA);
    expect(r.status).toBe(200);
    expect(await verifySecret(r.body.password, await hashOf(A.gateway))).toBe(true);
  });
});
