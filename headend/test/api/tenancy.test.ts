/**
 * Tenancy: two organisations, A and B, each fully seeded (building, premise, account, resident,
 * meters, gateway with a binding, tariff, norm, exchange config, quarantine item, dead letter, alert,
 * replacement, user, API key). Every route in the OpenAPI document that takes an id is called by A's
 * engineer, A's billing user and A's API key with B's ids: each answer is 403/404 (400 for an id in a
 * body) and no table changed. Then the four cases found by the two organisations probing each other.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/index.js';
import { startHarness, type Harness } from './harness.js';

interface Org {
  org: number; building: number; premise: number; premise2: number; account: number; resident: number; meter: number; meter2: number;
  gateway: string; binding: number; tariff: number; norm: number; rules: number; run: number; config: number; quarantine: number; deadLetter: number; alert: number;
  replacement: number; user: number; apiKeyId: number; apiKey: string;
}

let h: Harness;
let root: string;
let A: Org;
let B: Org;
let engineerA: string;
let billingA: string;

const one = async (sql: string, params: unknown[]) => Number((await h.opened.db.query(sql, params)).rows[0].id);

/** One organisation written straight into the database (the routes under test are not used to seed). */
async function seedOrg(tag: string): Promise<Org> {
  const org = await one('INSERT INTO organisations (name) VALUES ($1) RETURNING id', [`УК ${tag}`]);
  const building = await one('INSERT INTO buildings (org_id, external_id, address) VALUES ($1, $2, $3) RETURNING id', [org, `B-${tag}`, `ул. ${tag}, 1`]);
  const premise = await one(`INSERT INTO premises (building_id, number, residents) VALUES ($1, '1', 2) RETURNING id`, [building]);
  const premise2 = await one(`INSERT INTO premises (building_id, number) VALUES ($1, '2') RETURNING id`, [building]);
  const account = await one('INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, $2, $3) RETURNING id', [org, `${tag}-1`, premise]);
  const resident = await one(`INSERT INTO residents (account_id, full_name) VALUES ($1, 'Жилец') RETURNING id`, [account]);
  const meter = await one(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number) VALUES ('apartment', $1, $2, 'cold_water', $3) RETURNING id`, [building, premise, `CW-${tag}`]);
  const meter2 = await one(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number) VALUES ('apartment', $1, $2, 'hot_water', $3) RETURNING id`, [building, premise2, `HW-${tag}`]);
  const meter3 = await one(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number, status) VALUES ('apartment', $1, $2, 'hot_water', $3, 'removed') RETURNING id`, [building, premise2, `HW0-${tag}`]);
  const gateway = `gw-${tag}`;
  await h.opened.db.query('INSERT INTO gateways (id, building_id) VALUES ($1, $2)', [gateway, building]);
  const binding = await one(`INSERT INTO bindings (gateway_id, bus, address, meter_id, valid_from) VALUES ($1, 'mbus0', '5', $2, '-infinity') RETURNING id`, [gateway, meter]);
  const tariff = await one(`INSERT INTO billing_tariffs (org_id, resource, valid_from, tariff) VALUES ($1, 'cold_water', '2026-01-01', '{}') RETURNING id`, [org]);
  const norm = await one(`INSERT INTO billing_norms (org_id, resource, valid_from, per_resident) VALUES ($1, 'cold_water', '2026-01-01', 6.94) RETURNING id`, [org]);
  const config = await one(`INSERT INTO exchange_configs (org_id, building_id, direction, folder, cron, enabled) VALUES ($1, $2, 'import', $3, '0 3 * * *', false) RETURNING id`,
    [org, building, join(root, `org-${org}`, 'inbox')]);
  const rules = await one(`INSERT INTO billing_rules (org_id, effective_from, rules) VALUES ($1, '2026-01-01', '{}') RETURNING id`, [org]);
  const run = await one(`INSERT INTO exchange_runs (config_id, status, message) VALUES ($1, 'ok', 'nothing to read') RETURNING id`, [config]);
  const quarantine = await one(`INSERT INTO quarantine (gateway_id, seq, meter_ref, reading, reason) VALUES ($1, 1, '{"bus":"mbus0","address":"9"}', '{"value":1}', 'unknown_meter') RETURNING id`, [gateway]);
  const deadLetter = await one(`INSERT INTO dead_letters (topic, gateway_id, payload, reason) VALUES ($1, $2, 'garbage', 'not json') RETURNING id`, [`amr/${gateway}/readings`, gateway]);
  const alert = await one(`INSERT INTO alerts (kind, subject, building_id, meter_id, severity, message) VALUES ('meter_silent', $1, $2, $3, 'warning', 'silent') RETURNING id`, [`meter:${meter}`, building, meter]);
  const replacement = await one(`INSERT INTO meter_replacements (old_meter_id, new_meter_id, replaced_at, removal_reading, installation_reading) VALUES ($1, $2, '2026-03-10T09:00:00Z', 10, 0) RETURNING id`, [meter3, meter2]);
  const user = await one(`INSERT INTO users (username, password_hash, role) VALUES ($1, 'x', 'engineer') RETURNING id`, [`eng-${tag}`]);
  await h.opened.db.query('INSERT INTO user_building_grants (user_id, building_id) VALUES ($1, $2)', [user, building]);
  const key = await h.opened.db.tx((q) => createApiKey(q, org, `billing ${tag}`, null));
  return { org, building, premise, premise2, account, resident, meter, meter2, gateway, binding, tariff, norm, rules, run, config, quarantine, deadLetter, alert, replacement, user, apiKeyId: key.id, apiKey: key.key };
}

/** Tables a cross-organisation call could touch, hashed in one query (api_keys without the last-used stamp a key's own call sets). */
const TABLES = ['organisations', 'buildings', 'premises', 'personal_accounts', 'residents', 'meters', 'meter_replacements', 'gateways', 'bindings', 'readings',
  'quarantine', 'dead_letters', 'alerts', 'exchange_configs', 'exchange_runs', 'billing_tariffs', 'billing_norms', 'billing_rules', 'billing_periods', 'accrual_lines',
  'users', 'user_building_grants', 'user_accounts', 'api_keys', 'collection_settings', 'resident_access_codes', 'resident_meter_labels', 'imbalance_thresholds'];
async function snapshot(): Promise<Record<string, string>> {
  const sql = TABLES.map((t) => `SELECT '${t}' AS t, md5(coalesce(string_agg(x, ',' ORDER BY x), '')) AS h FROM (SELECT (to_jsonb(r) - 'last_used_at' - 'updated_at')::text AS x FROM ${t} r) s`).join(' UNION ALL ');
  const { rows } = await h.opened.db.query<{ t: string; h: string }>(sql);
  return Object.fromEntries(rows.map((r) => [r.t, r.h]));
}

async function callAs(who: { token?: string; apiKey?: string }, method: string, url: string, body?: unknown) {
  const res = await h.app.inject({
    method: method as 'GET', url,
    headers: who.token ? { authorization: `Bearer ${who.token}` } : { 'x-api-key': who.apiKey! },
    ...(body !== undefined ? { payload: body as object } : {}),
  });
  // Exports answer with a file: kept as text, so a leak of B's serials shows there too.
  const json = String(res.headers['content-type'] ?? '').includes('json');
  return { status: res.statusCode, body: !res.body ? null : json ? JSON.parse(res.body) : res.body };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'amr-tenancy-'));
  h = await startHarness({ EXCHANGE_ROOT: root });
  A = await seedOrg('A');
  B = await seedOrg('B');
  engineerA = await h.userToken('engineer', { buildingIds: [A.building] });
  billingA = await h.userToken('billing', { buildingIds: [A.building] });
}, 60_000);
afterAll(async () => {
  await h?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Generated from the OpenAPI document.

type Schema = { type?: string | string[]; properties?: Record<string, Schema>; required?: string[]; enum?: unknown[]; minimum?: number; format?: string; anyOf?: Schema[]; oneOf?: Schema[]; items?: Schema; default?: unknown; pattern?: string; minLength?: number };

/** Path parameter → B's id, by the collection the path names. */
function idForPath(path: string, param: string, o: Org): string | number | undefined {
  if (param === 'buildingId') return o.building;
  const table: Array<[RegExp, keyof Org]> = [
    [/^\/organisations\//, 'org'], [/^\/buildings\//, 'building'], [/^\/premises\//, 'premise'], [/^\/accounts\//, 'account'], [/^\/residents\//, 'resident'],
    [/^\/meters\//, 'meter'], [/^\/resident\/meters\//, 'meter'], [/^\/gateways\//, 'gateway'], [/^\/bindings\//, 'binding'], [/^\/quarantine\//, 'quarantine'],
    [/^\/dead-letters\//, 'deadLetter'], [/^\/alerts\//, 'alert'], [/^\/exchange\/configs\//, 'config'], [/^\/replacements\//, 'replacement'],
    [/^\/users\//, 'user'], [/^\/api-keys\//, 'apiKeyId'], [/^\/billing\/tariffs\//, 'tariff'], [/^\/billing\/norms\//, 'norm'],
    [/^\/billing\/rules\//, 'rules'], [/^\/exchange\/runs\//, 'run'],
  ];
  const hit = table.find(([re]) => re.test(path));
  return hit ? o[hit[1]] : undefined;
}

/** Body field ending in _id → that organisation's id of the kind. */
function idForField(field: string, o: Org): string | number | undefined {
  const map: Record<string, keyof Org> = {
    org_id: 'org', organisation_id: 'org', building_id: 'building', premise_id: 'premise', account_id: 'account', personal_account_id: 'account',
    meter_id: 'meter', old_meter_id: 'meter', new_meter_id: 'meter2', gateway_id: 'gateway', config_id: 'config', binding_id: 'binding', user_id: 'user',
  };
  return map[field] ? o[map[field]] : undefined;
}

/** A value that passes the schema, so the call reaches the handler's scope check rather than stopping at validation. */
function sample(s: Schema | undefined, name = ''): unknown {
  if (!s) return undefined;
  if (s.default !== undefined) return s.default;
  if (s.enum) return s.enum[0];
  const alt = s.anyOf ?? s.oneOf;
  if (alt) return sample(alt.find((x) => x.type !== 'null') ?? alt[0], name);
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const k of s.required ?? []) out[k] = sample(s.properties?.[k], k);
      return out;
    }
    case 'array': return [];
    case 'boolean': return false;
    case 'integer': case 'number': return Math.max(1, s.minimum ?? 1);
    case 'string':
      if (s.format === 'date') return '2026-03-15';
      if (s.format === 'date-time') return '2026-03-15T10:00:00.000Z';
      if (s.format === 'email') return 'a@example.org';
      if (name === 'cron') return '0 2 * * *';
      if (name === 'folder') return 'inbox';
      if (name === 'period') return '2026-03';
      return 'sample text';
    default: return undefined;
  }
}

/** Fields where the generic sample does not pass validation (each with the shape the route wants; ids of the organisation `o`). */
const BODY_OVERRIDES: Record<string, (o: Org) => Record<string, unknown>> = {
  'POST /meters/{id}/readings': () => ({ time: '2026-03-15T10:00:00.000Z', value: 1, quantity: 'volume_m3' }),
  'POST /gateways/{id}/commands': () => ({ name: 'poll_now', args: {} }),
  'POST /meters/{id}/readings/corrections': () => ({ time: '2026-03-15T10:00:00.000Z', value: 1, quantity: 'volume_m3', reason: 'probe' }),
  'POST /meters/{id}/estimates': () => ({ from: '2026-03-01T00:00:00.000Z', to: '2026-03-31T00:00:00.000Z', reason: 'probe' }),
  'PATCH /replacements/{id}': () => ({ removal_reading: 11, reason: 'probe' }),
  'POST /premises/{id}/readings': (o) => ({ readings: [{ meter_id: o.meter, value: 1 }] }),
  'POST /buildings/{id}/readings': (o) => ({ readings: [{ meter_id: o.meter, value: 1 }] }),
  'POST /gateways/{id}/bindings': () => ({ bus: 'mbus0', address: '7' }),
  'POST /quarantine/{id}/resolve': () => ({ resolution: 'rejected: probe' }),
};
/** Required query parameters by name (a range the routes accept). */
const QUERY_SAMPLES: Record<string, string> = { from: '2026-03-01T00:00:00.000Z', to: '2026-03-31T00:00:00.000Z', period: '2026-03' };

/**
 * Routes with a path parameter that is not an id of a record of one organisation, with why.
 */
const NOT_GENERATED: Record<string, string> = {
  'POST /jobs/{name}/run': 'a job name; admin only (jobs:run is not a tenant permission)',
  'POST /notifications/run/{job}': 'a job name; admin only',
  'POST /billing/periods/{period}/compute': 'a month, not an id; probed with a month from PATH_SAMPLES and B\'s ids in the body only',
  'POST /billing/periods/{period}/recalculate': 'a month, not an id; probed with B\'s ids in the body only',
  'POST /billing/periods/{period}/close': 'a month, not an id; probed with B\'s ids in the body only',
  'GET /billing/periods/{period}': 'a month, not an id; probed with B\'s org_id in the query',
};
/** Path parameters that are not ids: the value a body-only probe puts there. */
const PATH_SAMPLES: Record<string, string> = { period: '2026-03' };

interface Probe { key: string; method: string; url: string; body?: unknown; bodyId: boolean; queryId?: boolean }

async function probes(): Promise<{ probes: Probe[]; skipped: string[] }> {
  const doc = JSON.parse((await h.app.inject({ method: 'GET', url: '/docs/json' })).body) as { paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string; required?: boolean }>; requestBody?: { content?: Record<string, { schema?: Schema }> } }>> };
  const out: Probe[] = [];
  const skipped: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method0, op] of Object.entries(ops)) {
      const method = method0.toUpperCase();
      if (!['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) continue;
      const key = `${method} ${path}`;
      const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const schema = op.requestBody?.content?.['application/json']?.schema;
      const base = (o: Org) => ({ ...(sample(schema) as Record<string, unknown> | undefined ?? {}), ...BODY_OVERRIDES[key]?.(o) });
      const idFields = Object.keys(schema?.properties ?? {}).filter((k) => k.endsWith('_id') && idForField(k, B) !== undefined);
      const withIds = (o: Org) => ({ ...base(o), ...Object.fromEntries(idFields.map((k) => [k, idForField(k, o)])) });
      const query = (op.parameters ?? []).filter((x) => x.in === 'query' && x.required)
        .map((x) => `${x.name}=${encodeURIComponent(QUERY_SAMPLES[x.name] ?? '1')}`).join('&');
      const q = query ? `?${query}` : '';
      const body = schema ? withIds(B) : undefined;
      if (pathParams.length) {
        if (NOT_GENERATED[key]) {
          skipped.push(key);
          // No id of B's to put in the path, but B's ids in the body must still be refused.
          const sampled = pathParams.reduce((u, x) => u.replace(`{${x}}`, PATH_SAMPLES[x] ?? `{${x}}`), path);
          if (idFields.length && pathParams.every((x) => PATH_SAMPLES[x] !== undefined)) {
            out.push({ key: `${key} (body ids of B)`, method, url: sampled + q, body, bodyId: true });
          }
          if (method === 'GET' && pathParams.every((x) => PATH_SAMPLES[x] !== undefined)) {
            const queryIds = (op.parameters ?? []).filter((x) => x.in === 'query' && x.name.endsWith('_id') && idForField(x.name, B) !== undefined);
            for (const x of queryIds) out.push({ key: `${key}?${x.name}=<B's>`, method, url: `${sampled}?${x.name}=${encodeURIComponent(String(idForField(x.name, B)))}`, bodyId: false, queryId: true });
          }
          continue;
        }
        const ids = pathParams.map((p) => idForPath(path, p, B));
        if (ids.some((x) => x === undefined)) throw new Error(`${key}: no id of B for its path parameter; add it to idForPath or NOT_GENERATED with why`);
        const url = pathParams.reduce((u, p, i) => u.replace(`{${p}}`, encodeURIComponent(String(ids[i]))), path) + q;
        // B's record in the path (with B's ids in the body too): never found.
        out.push({ key, method, url, body: schema ? withIds(A) : undefined, bodyId: false });
        // A's own record in the path, B's ids in the body: moving or linking A's record into B is refused.
        if (JSON.stringify(withIds(A)) !== JSON.stringify(withIds(B))) {
          const ownUrl = pathParams.reduce((u, p) => u.replace(`{${p}}`, encodeURIComponent(String(idForPath(path, p, A)))), path) + q;
          out.push({ key: `${key} (body ids of B)`, method, url: ownUrl, body, bodyId: true });
        }
      } else if (method === 'GET') {
        // A list filtered by B's id in the query: refused, or an answer with nothing of B's in it.
        const queryIds = (op.parameters ?? []).filter((x) => x.in === 'query' && x.name.endsWith('_id') && idForField(x.name, B) !== undefined);
        for (const x of queryIds) {
          const extra = (op.parameters ?? []).filter((y) => y.in === 'query' && y.required && y.name !== x.name).map((y) => `&${y.name}=${encodeURIComponent(QUERY_SAMPLES[y.name] ?? '1')}`).join('');
          out.push({ key: `${key}?${x.name}=<B's>`, method, url: `${path}?${x.name}=${encodeURIComponent(String(idForField(x.name, B)))}${extra}`, bodyId: false, queryId: true });
        }
      } else if (idFields.length) {
        out.push({ key: `${key} (body ids of B)`, method, url: path + q, body, bodyId: true });
      }
    }
  }
  return { probes: out, skipped };
}

/** Text only B's records carry (seedOrg('B')): found in an answer to A, something of B's leaked. */
const B_MARKERS = ['gw-B', 'CW-B', 'HW-B', 'УК B', 'ул. B', 'B-B', '"B-1"', 'amr/gw-B'];

describe('every route that takes an id, called by organisation A with B\'s ids (generated from the OpenAPI document)', () => {
  it('answers 403/404 (400 for a body id) to A\'s engineer, billing user and API key, and changes no table', async () => {
    const { probes: list, skipped } = await probes();
    // The generator found the routes it should: at least these, by the document (a guard against an empty pass).
    const keys = new Set(list.map((p) => p.key));
    for (const must of ['GET /quarantine?gateway_id=<B\'s>', 'GET /meters?building_id=<B\'s>', 'PATCH /accounts/{id}', 'POST /gateways/{id}/bindings', 'POST /quarantine/{id}/resolve', 'PATCH /exchange/configs/{id}', 'POST /alerts/{id}/ack', 'GET /meters/{id}/readings', 'PATCH /accounts/{id} (body ids of B)', 'POST /billing/periods/{period}/compute (body ids of B)', 'POST /billing/periods/{period}/close (body ids of B)']) {
      expect(keys.has(must), must).toBe(true);
    }
    expect(skipped.sort()).toEqual(Object.keys(NOT_GENERATED).sort());
    const callers = [{ name: 'engineer of A', token: engineerA }, { name: 'billing user of A', token: billingA }, { name: 'API key of A', apiKey: A.apiKey }];
    const failures: string[] = [];
    for (const probe of list) {
      for (const who of callers) {
        const before = await snapshot();
        const r = await callAs(who, probe.method, probe.url, probe.body);
        const after = await snapshot();
        const allowed = probe.bodyId || probe.queryId ? [400, 403, 404] : [403, 404];
        const leaked = r.status < 300 && B_MARKERS.filter((m) => JSON.stringify(r.body ?? '').includes(m));
        if (probe.queryId && r.status < 300) {
          if (leaked && leaked.length) failures.push(`${probe.key} as ${who.name}: ${r.status} shows ${leaked.join(', ')}`);
        } else if (!allowed.includes(r.status)) failures.push(`${probe.key} as ${who.name}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
        const changed = TABLES.filter((t) => before[t] !== after[t]);
        if (changed.length) failures.push(`${probe.key} as ${who.name}: changed ${changed.join(', ')} (status ${r.status})`);
      }
    }
    expect(failures).toEqual([]);
    expect(list.length).toBeGreaterThan(40);
  }, 600_000);
});

// ---------------------------------------------------------------------------------------------
// The four cases found by the two organisations probing each other.

describe('the cases found by probing', () => {
  it('an engineer of A cannot re-bind B\'s gateway to A\'s meter: 404, B\'s binding stays open, nothing audited', async () => {
    const r = await h.call('POST', `/gateways/${B.gateway}/bindings`, engineerA, { bus: 'mbus0', address: '5', meter_id: A.meter });
    expect(r.status).toBe(404);
    const open = await h.opened.db.query('SELECT meter_id FROM bindings WHERE gateway_id = $1 AND valid_to IS NULL', [B.gateway]);
    expect(open.rows.map((x) => Number(x.meter_id))).toEqual([B.meter]);
    // Even an admin cannot tie B's gateway to A's meter: the two ends of a binding are in one organisation.
    const admin = await h.call('POST', `/gateways/${B.gateway}/bindings`, h.adminToken, { bus: 'mbus0', address: '6', meter_id: A.meter });
    expect(admin.status).toBe(400);
    expect(admin.body.details[0].path).toBe('body.meter_id');
    // A's own gateway to A's own meter still works.
    const ok = await h.call('POST', `/gateways/${A.gateway}/bindings`, engineerA, { bus: 'mbus1', address: '1', meter_id: A.meter2 });
    expect(ok.status).toBe(201);
    // ... and A's gateway to B's meter is a 400 naming the field, whoever sees both.
    const cross = await h.call('POST', `/gateways/${A.gateway}/bindings`, engineerA, { bus: 'mbus1', address: '2', meter_id: B.meter });
    expect(cross.status).toBe(400);
    expect(cross.body.details[0].path).toBe('body.meter_id');
  });

  it('a gateway bound to A\'s meters cannot be moved into B\'s building, not even by an admin', async () => {
    const r = await h.call('PATCH', `/gateways/${A.gateway}`, h.adminToken, { building_id: B.building });
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('organisation');
    const gw = await h.opened.db.query('SELECT building_id FROM gateways WHERE id = $1', [A.gateway]);
    expect(Number(gw.rows[0].building_id)).toBe(A.building);
  });

  it('an engineer cannot move an account into another organisation\'s premise; the account and its resident\'s scope stay', async () => {
    const r = await h.call('PATCH', `/accounts/${A.account}`, engineerA, { premise_id: B.premise });
    expect(r.status).toBe(400);
    expect(r.body.details[0].path).toBe('body.premise_id');
    const acc = await h.opened.db.query('SELECT premise_id FROM personal_accounts WHERE id = $1', [A.account]);
    expect(Number(acc.rows[0].premise_id)).toBe(A.premise);
    // An admin sees both, and is still refused: an account stays in its organisation (org_id is frozen).
    const admin = await h.call('PATCH', `/accounts/${A.account}`, h.adminToken, { premise_id: B.premise });
    expect(admin.status).toBe(400);
    expect(admin.body.message).toContain(`not ${A.org}`);
    // Moving inside A (to A's second flat) is an ordinary change.
    const inside = await h.call('PATCH', `/accounts/${A.account}`, engineerA, { premise_id: A.premise2 });
    expect(inside.status).toBe(200);
    await h.call('PATCH', `/accounts/${A.account}`, engineerA, { premise_id: A.premise });
  });

  it('inside one organisation, a change cannot move a record into a building the caller has no grant on', async () => {
    // A's second building, not granted to A's engineer (a careless office asking the wrong person to move a flat's account).
    const b2 = await one(`INSERT INTO buildings (org_id, external_id, address) VALUES ($1, 'B-A2', 'ул. A, 2') RETURNING id`, [A.org]);
    const far = await one(`INSERT INTO premises (building_id, number) VALUES ($1, '7') RETURNING id`, [b2]);
    const r = await h.call('PATCH', `/accounts/${A.account}`, engineerA, { premise_id: far, holder_name: 'Петров' });
    expect(r.status).toBe(400);
    expect(r.body.details[0].path).toBe('body.premise_id');
    // Rolled back whole: neither the premise nor the holder changed.
    const acc = await h.opened.db.query('SELECT premise_id, holder_name FROM personal_accounts WHERE id = $1', [A.account]);
    expect([Number(acc.rows[0].premise_id), acc.rows[0].holder_name]).toEqual([A.premise, null]);
    // The admin, who sees that building, may (same organisation).
    expect((await h.call('PATCH', `/accounts/${A.account}`, h.adminToken, { premise_id: far })).status).toBe(200);
    expect((await h.call('PATCH', `/accounts/${A.account}`, h.adminToken, { premise_id: A.premise })).status).toBe(200);
  });

  it('quarantine and dead letters: each organisation lists only its gateways\' items and resolves only those; unknown gateways are admin-only', async () => {
    await h.opened.db.query(`INSERT INTO quarantine (gateway_id, seq, meter_ref, reading, reason) VALUES ('gw-nobody', 1, '{}', '{}', 'unknown_gateway')`);
    await h.opened.db.query(`INSERT INTO dead_letters (topic, gateway_id, payload, reason) VALUES ('amr/gw-nobody/readings', 'gw-nobody', 'x', 'bad')`);
    const q = await h.call<{ gateway_id: string }[]>('GET', '/quarantine?state=all', engineerA);
    expect(q.status).toBe(200);
    expect(q.body.map((x) => x.gateway_id)).toEqual([A.gateway]);
    const filtered = await h.call<{ gateway_id: string }[]>('GET', `/quarantine?gateway_id=${B.gateway}`, engineerA);
    expect(filtered.body).toEqual([]);
    const d = await h.call<{ gateway_id: string }[]>('GET', '/dead-letters', engineerA);
    expect(d.body.map((x) => x.gateway_id)).toEqual([A.gateway]);
    const adminQ = await h.call<{ gateway_id: string }[]>('GET', '/quarantine?state=all', h.adminToken);
    expect(new Set(adminQ.body.map((x) => x.gateway_id))).toEqual(new Set([A.gateway, B.gateway, 'gw-nobody']));
    // Resolving B's item: the same 404 as an id that does not exist, and B's item stays open.
    const resolveB = await h.call('POST', `/quarantine/${B.quarantine}/resolve`, engineerA, { resolution: 'rejected: not ours' });
    const resolveNone = await h.call('POST', '/quarantine/999999/resolve', engineerA, { resolution: 'rejected: not ours' });
    expect([resolveB.status, resolveNone.status]).toEqual([404, 404]);
    expect(resolveB.body.message).toBe(resolveNone.body.message);
    const stillOpen = await h.opened.db.query('SELECT resolved_at FROM quarantine WHERE id = $1', [B.quarantine]);
    expect(stillOpen.rows[0].resolved_at).toBeNull();
    const own = await h.call('POST', `/quarantine/${A.quarantine}/resolve`, engineerA, { resolution: 'rejected: probe of our own' });
    expect(own.status).toBe(200);
  });

  it('A\'s billing user cannot point an exchange import at B\'s folder (absolute, or by a config of B\'s)', async () => {
    const bFolder = join(root, `org-${B.org}`, 'inbox');
    const post = await h.call('POST', '/exchange/configs', billingA, { org_id: A.org, building_id: A.building, direction: 'import', folder: bFolder, cron: '0 3 * * *', enabled: false });
    expect(post.status).toBe(400);
    expect(post.body.message).toContain(join(root, `org-${A.org}`));
    const patch = await h.call('PATCH', `/exchange/configs/${B.config}`, billingA, { folder: 'inbox' });
    expect(patch.status).toBe(404);
    const run = await h.call('POST', `/exchange/configs/${B.config}/run`, billingA);
    expect(run.status).toBe(404);
    // A relative folder lands in A's own folder.
    const ok = await h.call('POST', '/exchange/configs', billingA, { org_id: A.org, building_id: A.building, direction: 'import', folder: 'inbox', cron: '0 3 * * *', enabled: false });
    expect(ok.status).toBe(201);
    expect(ok.body.folder).toBe(join(root, `org-${A.org}`, 'inbox'));
    const listed = await h.call<{ org_id: number }[]>('GET', '/exchange/configs', billingA);
    expect(listed.body.every((c) => c.org_id === A.org)).toBe(true);
  });
});
