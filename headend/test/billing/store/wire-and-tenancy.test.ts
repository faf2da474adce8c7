/**
 * The office's API on the wire and across organisations, on a real embedded database and API server:
 *  - organisation A's billing user and API key naming B's tariff, norm, rules edition, building,
 *    exchange config and run, and account: 404 like an id that does not exist, and no table changes;
 *  - the rules and tariff documents: snake_case in and out; the camelCase body of earlier versions is
 *    accepted and stored exactly like the snake_case one; a bad document is a 400 naming the field;
 *  - no key with a capital letter in any JSON answer of billing, exchange and collection.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness, type Harness } from '../../api/harness.js';
import { fixedClock } from '../../../src/util/clock.js';

let h: Harness;
let root = '';
interface Org { org: number; building: number; premise: number; account: number; meter: number; odpu: number; tariff: number; norm: number; rules: number; config: number; run: number }
let A: Org;
let B: Org;
let billingA = '';
let keyA = '';
let resident = '';
let engineerA = '';

const one = async (sql: string, params: unknown[] = []) => Number((await h.opened.db.query(sql, params)).rows[0].id);

async function seedOrg(tag: string): Promise<Org> {
  const org = await one('INSERT INTO organisations (name) VALUES ($1) RETURNING id', [`УК офис ${tag}`]);
  const building = await one(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, $2, 'UTC') RETURNING id`, [org, `ул. Офисная ${tag}, 1`]);
  const premise = await one(`INSERT INTO premises (building_id, number, residents, area_m2) VALUES ($1, '1', 2, 50) RETURNING id`, [building]);
  const account = await one('INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, $2, $3) RETURNING id', [org, `OFF-${tag}-1`, premise]);
  const meter = await one(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number) VALUES ('apartment', $1, $2, 'cold_water', $3) RETURNING id`, [building, premise, `OFF-CW-${tag}`]);
  const odpu = await one(`INSERT INTO meters (placement, building_id, resource, serial_number) VALUES ('building', $1, 'cold_water', $2) RETURNING id`, [building, `OFF-ODPU-${tag}`]);
  const tariff = await one(`INSERT INTO billing_tariffs (org_id, resource, valid_from, tariff) VALUES ($1, 'cold_water', '2026-01-01', '{"kind":"single","price":50}') RETURNING id`, [org]);
  const norm = await one(`INSERT INTO billing_norms (org_id, resource, valid_from, per_resident) VALUES ($1, 'cold_water', '2026-01-01', 6.94) RETURNING id`, [org]);
  const rules = await one(`INSERT INTO billing_rules (org_id, effective_from, rules) VALUES ($1, '2026-01-01', '{"averageMaxPeriods":3}') RETURNING id`, [org]);
  const config = await one(`INSERT INTO exchange_configs (org_id, building_id, direction, folder, cron, enabled) VALUES ($1, $2, 'import', $3, '0 3 * * *', false) RETURNING id`,
    [org, building, join(root, `org-${org}`, 'inbox')]);
  const run = await one(`INSERT INTO exchange_runs (config_id, status, message, counts) VALUES ($1, 'ok', 'nothing to read', '{"files":0}') RETURNING id`, [config]);
  // January: the flat 100 → 107.5 m³, the building 1000 → 1010 m³.
  for (const [m, from, to] of [[meter, 100, 107.5], [odpu, 1000, 1010]]) {
    await h.opened.db.query(`INSERT INTO readings (meter_id, time, quantity, value, unit, source) VALUES ($1, '2026-01-01T00:00:00Z', 'volume_m3', $2, 'm3', 'telemetry'), ($1, '2026-02-01T00:00:00Z', 'volume_m3', $3, 'm3', 'telemetry')`, [m, from, to]);
  }
  return { org, building, premise, account, meter, odpu, tariff, norm, rules, config, run };
}

const TABLES = ['billing_tariffs', 'billing_norms', 'billing_rules', 'billing_periods', 'accrual_lines', 'exchange_configs', 'exchange_runs', 'resident_access_codes', 'collection_settings', 'audit_log'];
async function snapshot(): Promise<Record<string, string>> {
  const sql = TABLES.map((t) => `SELECT '${t}' AS t, md5(coalesce(string_agg(x, ',' ORDER BY x), '')) AS h FROM (SELECT (to_jsonb(r) - 'updated_at')::text AS x FROM ${t} r) s`).join(' UNION ALL ');
  const { rows } = await h.opened.db.query<{ t: string; h: string }>(sql);
  return Object.fromEntries(rows.map((r) => [r.t, r.h]));
}

async function as(who: { token?: string; key?: string }, method: string, url: string, body?: unknown) {
  const res = await h.app.inject({
    method: method as 'GET', url, headers: who.token ? { authorization: `Bearer ${who.token}` } : { 'x-api-key': who.key! },
    ...(body !== undefined ? { payload: body as object } : {}),
  });
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : null };
}

/** Every key of a JSON value, with its path, deep. */
function keysOf(v: unknown, path = ''): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => keysOf(x, `${path}[${i}]`));
  if (v === null || typeof v !== 'object') return [];
  return Object.entries(v).flatMap(([k, x]) => [`${path}.${k}`, ...keysOf(x, `${path}.${k}`)]);
}
const capitalKeys = (v: unknown) => keysOf(v).filter((k) => /[A-Z]/.test(k.split('.').at(-1)!));

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'amr-office-'));
  // A fixed "now" after January, the month billed here.
  h = await startHarness({ EXCHANGE_ROOT: root, clock: fixedClock('2026-02-10T09:00:00Z') });
  A = await seedOrg('A');
  B = await seedOrg('B');
  billingA = await h.userToken('billing', { buildingIds: [A.building] });
  engineerA = await h.userToken('engineer', { buildingIds: [A.building] });
  keyA = (await h.call('POST', `/organisations/${A.org}/api-keys`, h.adminToken, { name: 'office A' })).body.key;
  const code = await h.call('POST', `/accounts/${A.account}/access-code`, h.adminToken, {});
  resident = (await h.call('POST', '/resident/sign-in', null, { account_number: code.body.account_number, code: code.body.code })).body.token;
}, 120_000);
afterAll(async () => {
  await h?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe("A's billing user and API key with B's ids", () => {
  it('B\'s tariff, norm, rules edition, exchange config and run, building and account answer 404 like ids that do not exist, and nothing changes', async () => {
    const before = await snapshot();
    const calls: Array<[string, (o: Org | null) => string, unknown?]> = [
      ['GET', (o) => `/billing/tariffs/${o ? o.tariff : 999_999}`],
      ['GET', (o) => `/billing/norms/${o ? o.norm : 999_999}`],
      ['GET', (o) => `/billing/rules/${o ? o.rules : 999_999}`],
      ['GET', (o) => `/billing/tariffs?org_id=${o ? o.org : 999_999}`],
      ['GET', (o) => `/billing/lines?period=2026-01&building_id=${o ? o.building : 999_999}`],
      ['POST', () => '/billing/periods/2026-01/compute', 'building'],
      ['POST', () => '/billing/periods/2026-01/close', 'org'],
      ['POST', () => '/billing/tariffs', 'tariff-of'],
      ['GET', (o) => `/exchange/runs/${o ? o.run : 999_999}`],
      ['GET', (o) => `/exchange/runs?config_id=${o ? o.config : 999_999}`],
      ['PATCH', (o) => `/exchange/configs/${o ? o.config : 999_999}`, 'config'],
      ['POST', (o) => `/exchange/configs/${o ? o.config : 999_999}/run`],
    ];
    const bodyFor = (kind: unknown, o: Org | null) => {
      const org = o ? o.org : 999_999;
      if (kind === 'building') return { building_id: o ? o.building : 999_999 };
      if (kind === 'org') return { org_id: org };
      if (kind === 'tariff-of') return { org_id: org, resource: 'hot_water', valid_from: '2026-03-01', tariff: { kind: 'single', price: 1 } };
      if (kind === 'config') return { enabled: true };
      return undefined;
    };
    for (const who of [{ token: billingA }, { key: keyA }]) {
      for (const [method, url, kind] of calls) {
        const theirs = await as(who, method, url(B), bodyFor(kind, B));
        const none = await as(who, method, url(null), bodyFor(kind, null));
        const label = `${who.token ? 'user' : 'key'} ${method} ${url(B)}`;
        expect(theirs.status, `${label}: ${JSON.stringify(theirs.body)}`).toBe(404);
        expect(none.status, label).toBe(404);
        // The same words for "theirs" and "nobody's": nothing to learn by probing ids.
        expect(theirs.body.message, label).toBe(none.body.message);
      }
    }
    // Issuing a code for B's account (engineer of A: registry:write).
    expect((await as({ token: engineerA }, 'POST', `/accounts/${B.account}/access-code`, {})).status).toBe(404);
    expect(await snapshot()).toEqual(before);
  });

  it('a body building of B in the collection settings is a 400 naming building_id; nothing is stored', async () => {
    const before = await snapshot();
    const r = await as({ token: engineerA }, 'PUT', '/collection-settings', {
      building_id: B.building, resource: 'cold_water', enabled: false, window_start_day: 1, window_end_day: 5, integer_only: false, accept_expired_verification: false,
    });
    expect(r.status).toBe(400);
    expect(r.body.details).toEqual([{ path: 'body.building_id', message: 'unknown building' }]);
    expect(await snapshot()).toEqual(before);
  });
});

describe('rules and tariff documents on the wire', () => {
  const camel = {
    averageMaxMonths: 5, averageMinMonths: 2, averageMode: 'daily', averageMaxPeriods: 2, normMultiplier: 1.5, negativeCommonHouse: 'credit',
    heating: { method: 'heating_season', seasonMonths: [1, 2, 3, 10, 11, 12], correctionMonth: 2, averageMaxPeriods: 1 },
    zoneShares: { two: [0.6, 0.4], three: [0.5, 0.3, 0.2] },
  };
  const snake = {
    average_max_months: 5, average_min_months: 2, average_mode: 'daily', average_max_periods: 2, norm_multiplier: 1.5, negative_common_house: 'credit',
    heating: { method: 'heating_season', season_months: [1, 2, 3, 10, 11, 12], correction_month: 2, average_max_periods: 1 },
    zone_shares: { two: [0.6, 0.4], three: [0.5, 0.3, 0.2] },
  };

  it('the camelCase rules body of earlier versions is stored exactly as the snake_case one, and both read back in snake_case', async () => {
    const c = await as({ key: keyA }, 'POST', '/billing/rules', { effective_from: '2026-03-01', rules: camel });
    const s = await as({ key: keyA }, 'POST', '/billing/rules', { effective_from: '2026-04-01', rules: snake });
    expect([c.status, s.status]).toEqual([201, 201]);
    // Stored as the domain reads it (camelCase, as before this API spoke snake_case): both the same document.
    const stored = await h.opened.db.query<{ id: string; rules: unknown }>('SELECT id, rules FROM billing_rules WHERE id = ANY($1::bigint[]) ORDER BY id', [[c.body.id, s.body.id]]);
    expect(stored.rows[0].rules).toEqual(stored.rows[1].rules);
    expect(stored.rows[0].rules).toEqual(camel);
    const one = await as({ key: keyA }, 'GET', `/billing/rules/${c.body.id}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: c.body.id, org_id: A.org, effective_from: '2026-03-01', rules: snake });
    const list = await as({ token: billingA }, 'GET', `/billing/rules?org_id=${A.org}`);
    expect(list.body.items.map((x: { effective_from: string }) => x.effective_from)).toEqual(['2026-01-01', '2026-03-01', '2026-04-01']);
    expect(list.body.items[2].rules).toEqual(snake);
  });

  it('where both spellings arrive the snake_case one wins', async () => {
    const r = await as({ key: keyA }, 'POST', '/billing/rules', { effective_from: '2026-05-01', rules: { normMultiplier: 3, norm_multiplier: 2 } });
    expect(r.status).toBe(201);
    const stored = await h.opened.db.query<{ rules: { normMultiplier: number } }>('SELECT rules FROM billing_rules WHERE id = $1', [r.body.id]);
    expect(stored.rows[0].rules.normMultiplier).toBe(2);
  });

  it('a block tariff: up_to on the wire (upTo accepted), stored as the domain\'s upTo', async () => {
    const blocks = [{ up_to: 100, price: 5.5 }, { up_to: null, price: 7.25 }];
    const s = await as({ key: keyA }, 'POST', '/billing/tariffs', { resource: 'electricity', valid_from: '2026-03-01', tariff: { kind: 'block', blocks } });
    const c = await as({ key: keyA }, 'POST', '/billing/tariffs', { resource: 'electricity', valid_from: '2026-04-01', tariff: { kind: 'block', blocks: [{ upTo: 100, price: 5.5 }, { upTo: null, price: 7.25 }] } });
    expect([s.status, c.status]).toEqual([201, 201]);
    const stored = await h.opened.db.query<{ tariff: unknown }>('SELECT tariff FROM billing_tariffs WHERE id = ANY($1::bigint[]) ORDER BY id', [[s.body.id, c.body.id]]);
    expect(stored.rows.map((r) => r.tariff)).toEqual([0, 1].map(() => ({ kind: 'block', blocks: [{ upTo: 100, price: 5.5 }, { upTo: null, price: 7.25 }] })));
    expect((await as({ key: keyA }, 'GET', `/billing/tariffs/${s.body.id}`)).body.tariff).toEqual({ kind: 'block', blocks });
  });

  it('bad documents are a 400 naming the field in snake_case and how to fix it; nothing is stored', async () => {
    const before = await snapshot();
    const shares = await as({ key: keyA }, 'POST', '/billing/rules', { effective_from: '2026-06-01', rules: { zoneShares: { two: [0.5, 0.4] } } });
    expect(shares.status).toBe(400);
    expect(shares.body.details).toEqual([{ path: 'body.rules.zone_shares.two', message: 'zone_shares.two must add up to 1 (e.g. [0.7, 0.3])', code: 'custom', params: {} }]);
    const open = await as({ key: keyA }, 'POST', '/billing/tariffs', { resource: 'gas', valid_from: '2026-06-01', tariff: { kind: 'block', blocks: [{ up_to: 100, price: 1 }, { up_to: 200, price: 2 }] } });
    expect(open.status).toBe(400);
    expect(open.body.details).toEqual([{ path: 'body.tariff.blocks.1.up_to', message: 'the last block must have up_to: null (no limit), got 200', code: 'custom', params: {} }]);
    const mid = await as({ key: keyA }, 'POST', '/billing/norms', { resource: 'gas', valid_from: '2026-06-15', per_resident: 1 });
    expect(mid.status).toBe(400);
    expect(mid.body.details[0].path).toBe('body.valid_from');
    expect(mid.body.details[0].message).toMatch(/first day of a month \(YYYY-MM-01\), got 2026-06-15/);
    expect(await snapshot()).toEqual(before);
  });
});

describe('one JSON casing', () => {
  it('no key with a capital letter in the answers of billing, exchange and collection', async () => {
    // A month with a common-house summary: ОДПУ 10 m³ against the flat's 7.5 m³ (2.5 m³ ОДН).
    const compute = await as({ token: billingA }, 'POST', '/billing/periods/2026-01/compute', { building_id: A.building });
    expect(compute.status, JSON.stringify(compute.body)).toBe(200);
    expect(compute.body.common_house[0]).toMatchObject({ resource: 'cold_water', building_consumption: 10, apartments_consumption: 7.5, volume: 2.5 });
    const answers = [
      compute,
      await as({ token: billingA }, 'GET', `/billing/lines?period=2026-01&building_id=${A.building}`),
      await as({ token: billingA }, 'GET', `/billing/feed?period=2026-01&org_id=${A.org}&include_unvalidated=true`),
      await as({ key: keyA }, 'GET', '/billing/tariffs'),
      await as({ key: keyA }, 'GET', '/billing/norms'),
      await as({ key: keyA }, 'GET', '/billing/rules'),
      await as({ token: h.adminToken }, 'GET', `/exchange/configs?org_id=${A.org}`),
      await as({ token: h.adminToken }, 'GET', `/exchange/runs?config_id=${A.config}`),
      await as({ token: h.adminToken }, 'GET', `/collection-settings?building_id=${A.building}`),
      await as({ token: resident }, 'GET', '/resident/meters'),
      await as({ token: resident }, 'GET', '/resident/history?months=3'),
    ];
    for (const a of answers) expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(answers[1].body.lines.length).toBeGreaterThan(0);
    expect(answers[2].body.items.length).toBeGreaterThan(0);
    expect(answers.flatMap((a) => capitalKeys(a.body))).toEqual([]);
    // The residents' widget on 10 February (window 15th–25th by default): closed, opens on the 15th, in 15 − 10 = 5 days.
    expect(answers[9].body.summary).toEqual({ state: 'closed', submitted: 0, total: 1, opens_on: '2026-02-15', opens_in_days: 5, text: 'opens in 5 days' });
  });
});
