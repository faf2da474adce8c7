/**
 * Billing API on a real embedded database and API server: settings, compute, close, explicit
 * recalculation, lines (JSON, CSV and XLSX), the feed (a month where ОДПУ < Σ ИПУ; only validated
 * unless asked, with the failed checks named; nothing written by a GET; stable export ids) and API
 * keys scoped to their organisation.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import ExcelJS from 'exceljs';
import { startHarness, type Harness } from '../../api/harness.js';
import { computeBuildingImbalance } from '../../../src/imbalance/index.js';

let h: Harness;
const ids: Record<string, number> = {};
let keyOwn = '';
let keyOther = '';

async function one<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T> {
  return (await h.opened.db.query(sql, params)).rows[0] as T;
}
/** A row of GET /billing/feed (the fields this test reads). */
interface FeedItem {
  export_id: string; imbalance: number | null; reasons: { check: string; message: string }[];
  start_reading: { value: number }; end_reading: { value: number };
}
interface FeedOut { items: FeedItem[] }
/** A GET with an API key; the caller names the body it expects. */
async function withKey<T = unknown>(key: string, url: string): Promise<{ status: number; body: T }> {
  const res = await h.app.inject({ method: 'GET', url, headers: { 'x-api-key': key } });
  return { status: res.statusCode, body: JSON.parse(res.body) as T };
}
async function reading(meterId: number, iso: string, value: number) {
  await h.opened.db.query(`INSERT INTO readings (meter_id, time, quantity, value, unit, source) VALUES ($1, $2, 'volume_m3', $3, 'm3', 'telemetry')`, [meterId, iso, value]);
}

beforeAll(async () => {
  h = await startHarness();
  ids.org = Number((await one(`INSERT INTO organisations (name) VALUES ('УК Север') RETURNING id`)).id);
  ids.other = Number((await one(`INSERT INTO organisations (name) VALUES ('УК Юг') RETURNING id`)).id);
  ids.b = Number((await one(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, 'ул. Ленина, 1', 'UTC') RETURNING id`, [ids.org])).id);
  ids.odpu = Number((await one(`INSERT INTO meters (placement, building_id, resource, serial_number) VALUES ('building', $1, 'cold_water', 'ODPU-1') RETURNING id`, [ids.b])).id);
  for (const [k, n] of [['p1', 2], ['p2', 3]] as const) {
    ids[k] = Number((await one(`INSERT INTO premises (building_id, number, residents, area_m2) VALUES ($1, $2, $3, 50) RETURNING id`, [ids.b, k, n])).id);
    ids[`a${k}`] = Number((await one(`INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, $2, $3) RETURNING id`, [ids.org, `LS-${k}`, ids[k]])).id);
    ids[`m${k}`] = Number((await one(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number) VALUES ('apartment', $1, $2, 'cold_water', $3) RETURNING id`, [ids.b, ids[k], `CW-${k}`])).id);
  }
  // January: ОДПУ 1000 → 1015 (15 m³) while the apartments used 7.5 + 12 = 19.5 m³ (ОДПУ < Σ ИПУ).
  await reading(ids.odpu, '2026-01-01T00:00:00Z', 1000);
  await reading(ids.odpu, '2026-02-01T00:00:00Z', 1015);
  await reading(ids.mp1, '2026-01-01T00:00:00Z', 100);
  await reading(ids.mp1, '2026-02-01T00:00:00Z', 107.5);
  await reading(ids.mp2, '2026-01-01T00:00:00Z', 200);
  await reading(ids.mp2, '2026-02-01T00:00:00Z', 212);
  keyOwn = (await h.call('POST', `/organisations/${ids.org}/api-keys`, h.adminToken, { name: 'billing-north' })).body.key;
  keyOther = (await h.call('POST', `/organisations/${ids.other}/api-keys`, h.adminToken, { name: 'billing-south' })).body.key;
}, 120_000);
afterAll(async () => { await h?.close(); });

describe('billing API', () => {
  it('settings are versioned, validated and audited', async () => {
    const t = await h.call('POST', '/billing/tariffs', h.adminToken, { org_id: ids.org, resource: 'cold_water', valid_from: '2025-01-01', tariff: { kind: 'single', price: 50.93 } });
    expect(t.status).toBe(201);
    expect((await h.call('POST', '/billing/tariffs', h.adminToken, { org_id: ids.org, resource: 'cold_water', valid_from: '2025-01-01', tariff: { kind: 'single', price: 1 } })).status).toBe(409);
    expect((await h.call('POST', '/billing/tariffs', h.adminToken, { org_id: ids.org, resource: 'cold_water', valid_from: '2025-02-01', tariff: { kind: 'zones', prices: [1] } })).status).toBe(400);
    // Another resource from the same date is a different version.
    expect((await h.call('POST', '/billing/tariffs', h.adminToken, { org_id: ids.org, resource: 'electricity', valid_from: '2025-01-01', tariff: { kind: 'zones', prices: [6.43, 3.12] } })).status).toBe(201);
    expect((await h.call('POST', '/billing/norms', h.adminToken, { org_id: ids.org, resource: 'cold_water', valid_from: '2025-01-01', per_resident: 4.5 })).status).toBe(201);
    expect((await h.call('POST', '/billing/rules', h.adminToken, { org_id: ids.org, effective_from: '2025-01-01', rules: { average_max_periods: 2 } })).status).toBe(201);
    const list = await h.call<{ items: { resource: string; valid_from: string }[] }>('GET', `/billing/tariffs?org_id=${ids.org}`, h.adminToken);
    expect(list.status, JSON.stringify(list.body)).toBe(200);
    expect(list.body.items.map((x) => [x.resource, x.valid_from])).toEqual([['cold_water', '2025-01-01'], ['electricity', '2025-01-01']]);
    const a = await one<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE entity LIKE 'billing_%'`);
    expect(a.n).toBe(4);
    // An operator cannot manage billing.
    const op = await h.userToken('operator', { buildingIds: [ids.b] });
    expect((await h.call('POST', '/billing/norms', op, { org_id: ids.org, resource: 'hot_water', valid_from: '2025-01-01', per_resident: 3 })).status).toBe(403);
  });

  it('a careless office dates a tariff, norm or rules edition mid-month: refused, naming the field and the fix, nothing stored', async () => {
    // A month is billed whole by the versions of its first day: a tariff from 15 July would silently bill July at the old price.
    const before = await one(`SELECT (SELECT count(*) FROM billing_tariffs)::int + (SELECT count(*) FROM billing_norms)::int + (SELECT count(*) FROM billing_rules)::int AS n`);
    for (const [url, body] of [
      ['/billing/tariffs', { org_id: ids.org, resource: 'cold_water', valid_from: '2026-07-15', tariff: { kind: 'single', price: 55.1 } }],
      ['/billing/norms', { org_id: ids.org, resource: 'cold_water', valid_from: '2026-07-15', per_resident: 4.5 }],
      ['/billing/rules', { org_id: ids.org, effective_from: '2026-07-15', rules: {} }],
    ] as const) {
      const r = await h.call('POST', url, h.adminToken, body);
      expect(r.status, url).toBe(400);
      expect(JSON.stringify(r.body), url).toMatch(/(valid_from|effective_from).*first day of a month \(YYYY-MM-01\), got 2026-07-15/);
    }
    expect(await one(`SELECT (SELECT count(*) FROM billing_tariffs)::int + (SELECT count(*) FROM billing_norms)::int + (SELECT count(*) FROM billing_rules)::int AS n`)).toEqual(before);
  });

  it('compute, lines as JSON and CSV, close, and compute after close books adjustments', async () => {
    const c = await h.call('POST', '/billing/periods/2026-01/compute', h.adminToken, { building_id: ids.b });
    expect(c.status).toBe(200);
    // 7.5 × 50.93 = 381.98 ₽ + 12 × 50.93 = 611.16 ₽.
    expect(c.body).toMatchObject({ status: 'open', lines: 2, amount: 38198 + 61116 });
    // ОДПУ 15 < Σ ИПУ 19.5: a negative common-house volume, reported and (policy 'zero') not billed.
    expect(c.body.common_house).toHaveLength(1);
    expect(c.body.common_house[0]).toMatchObject({ resource: 'cold_water', building_consumption: 15, apartments_consumption: 19.5, billed_volume: 0, negative: true });
    expect(c.body.common_house[0].volume).toBeCloseTo(-4.5, 9);
    const l = await h.call<{ lines: { method: string; quantity: number; amount: number }[] }>('GET', `/billing/lines?period=2026-01&building_id=${ids.b}`, h.adminToken);
    expect(l.body.lines.map((x) => [x.method, x.quantity, x.amount])).toEqual([['measured', 7.5, 38198], ['measured', 12, 61116]]);
    const csv = await h.app.inject({ method: 'GET', url: `/billing/lines?period=2026-01&building_id=${ids.b}&format=csv`, headers: { authorization: `Bearer ${h.adminToken}` } });
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.body.split('\n')[1]).toContain(',measured,7.5,381.98,regular,');
    expect((await h.call('POST', '/billing/periods/2026-01/close', h.adminToken, { org_id: ids.org })).status).toBe(204);
    expect((await h.call('POST', '/billing/periods/2026-01/close', h.adminToken, { org_id: ids.org })).status).toBe(409);
    // Nothing changed since close: a recalculation books nothing.
    const r = await h.call('POST', '/billing/periods/2026-01/compute', h.adminToken, { building_id: ids.b });
    expect(r.body).toMatchObject({ status: 'closed', lines: 0, adjustments_in: '2026-02' });
  });

  it('feed: only validated months unless asked, each row names the failed checks; reading it writes nothing; export ids are stable', async () => {
    const none = await h.call<FeedOut>('GET', `/billing/feed?period=2026-01&org_id=${ids.org}`, h.adminToken);
    expect(none.body.items).toEqual([]); // the ОДПУ readings have no verdict yet, and there is no imbalance report
    const all = await h.call<FeedOut>('GET', `/billing/feed?period=2026-01&org_id=${ids.org}&include_unvalidated=true`, h.adminToken);
    expect(all.body.items).toHaveLength(1);
    const f = all.body.items[0];
    expect(f).toMatchObject({ building_id: ids.b, resource: 'cold_water', validation: 'unvalidated', validation_status: 'not_validated',
      consumption: null, apartments_consumption: null, imbalance: null, imbalance_status: 'report_missing' });
    expect(f.reasons.map((r) => r.check)).toEqual(['odpu_start', 'odpu_end', 'imbalance_report']);
    expect(f.reasons[0].message).toMatch(/unvalidated/);
    expect(f.start_reading.value).toBe(1000);
    expect(f.end_reading.value).toBe(1015);
    // The GET computed and stored nothing.
    expect((await one(`SELECT count(*)::int AS n FROM imbalance_reports WHERE building_id = $1`, [ids.b])).n).toBe(0);
    // Verdicts arrive for the ОДПУ: only the report is missing now.
    await h.opened.db.query(`INSERT INTO reading_validations (meter_id, quantity, time, version, status) SELECT meter_id, quantity, time, version, 'valid' FROM readings WHERE meter_id = $1 ON CONFLICT DO NOTHING`, [ids.odpu]);
    const noReport = await h.call<FeedOut>('GET', `/billing/feed?period=2026-01&org_id=${ids.org}&include_unvalidated=true`, h.adminToken);
    expect(noReport.body.items[0].reasons.map((r) => r.check)).toEqual(['imbalance_report']);
    expect((await h.call<FeedOut>('GET', `/billing/feed?period=2026-01&org_id=${ids.org}`, h.adminToken)).body.items).toEqual([]);
    // The imbalance job stores the month's report (here called directly): the month is validated.
    await computeBuildingImbalance(h.opened.db, ids.b, 'cold_water', 'month', new Date('2026-01-01T00:00:00Z'));
    const p1 = await withKey<FeedOut>(keyOwn, '/billing/feed?period=2026-01');
    const p2 = await withKey<FeedOut>(keyOwn, '/billing/feed?period=2026-01');
    expect(p1.status).toBe(200);
    expect(p1.body.items).toHaveLength(1);
    // ОДПУ 15 < Σ ИПУ 19.5: a negative imbalance of −4.5 m³.
    expect(p1.body.items[0]).toMatchObject({ validation: 'valid', validation_status: 'validated', reasons: [], consumption: 15, apartments_consumption: 19.5, imbalance_status: 'negative_imbalance' });
    expect(p1.body.items[0].imbalance).toBeCloseTo(-4.5, 9);
    expect(p1.body.items.map((x) => x.export_id)).toEqual(p2.body.items.map((x) => x.export_id));
    expect(p1.body.items[0].export_id).toBe(f.export_id);
    // An apartment reading of the month judged invalid and not reviewed takes the month out again …
    await h.opened.db.query(`INSERT INTO reading_validations (meter_id, quantity, time, version, status) VALUES ($1, 'volume_m3', '2026-01-01T00:00:00Z', 1, 'invalid')`, [ids.mp1]);
    const held = await h.call<FeedOut>('GET', `/billing/feed?period=2026-01&org_id=${ids.org}&include_unvalidated=true`, h.adminToken);
    expect(held.body.items[0].reasons).toEqual([{ check: 'apartment_readings', message: `1 invalid apartment meter reading(s) not reviewed (meters ${ids.mp1})` }]);
    expect((await withKey<FeedOut>(keyOwn, '/billing/feed?period=2026-01')).body.items).toEqual([]);
    // … until an engineer reviews it.
    await h.opened.db.query(`INSERT INTO reading_reviews (meter_id, quantity, time, version, decision, reason, reviewed_by) VALUES ($1, 'volume_m3', '2026-01-01T00:00:00Z', 1, 'accept', 'checked on site', 'test')`, [ids.mp1]);
    expect((await withKey<FeedOut>(keyOwn, '/billing/feed?period=2026-01')).body.items).toHaveLength(1);
    // The ОДПУ reading at the end bound turns out suspect: not validated until accepted.
    await h.opened.db.query(`UPDATE reading_validations SET status = 'suspect' WHERE meter_id = $1 AND time = '2026-02-01T00:00:00Z'`, [ids.odpu]);
    const suspect = await h.call<FeedOut>('GET', `/billing/feed?period=2026-01&org_id=${ids.org}&include_unvalidated=true`, h.adminToken);
    expect(suspect.body.items[0].reasons.map((r) => r.check)).toEqual(['odpu_end']);
    expect(suspect.body.items[0].reasons[0].message).toMatch(/suspect/);
    await h.opened.db.query(`INSERT INTO reading_reviews (meter_id, quantity, time, version, decision, reason, reviewed_by) VALUES ($1, 'volume_m3', '2026-02-01T00:00:00Z', 1, 'accept', 'seal intact', 'test')`, [ids.odpu]);
    expect((await withKey<FeedOut>(keyOwn, '/billing/feed?period=2026-01')).body.items[0]).toMatchObject({ validation_status: 'validated' });
  });

  it('an API key of another organisation sees nothing of this one', async () => {
    const feed = await withKey<FeedOut>(keyOther, '/billing/feed?period=2026-01&include_unvalidated=true');
    expect(feed.status).toBe(200);
    expect(feed.body.items).toEqual([]);
    expect((await withKey(keyOther, `/billing/feed?period=2026-01&org_id=${ids.org}`)).status).toBe(404);
    // A building outside the key's organisation does not exist for it.
    expect((await withKey(keyOther, `/billing/lines?period=2026-01&building_id=${ids.b}`)).status).toBe(404);
    const lines = await withKey<{ lines: unknown[] }>(keyOther, '/billing/lines?period=2026-01');
    expect(lines.body.lines).toEqual([]);
    expect((await withKey<{ items: unknown[] }>(keyOther, '/billing/tariffs')).body.items).toEqual([]);
    // Its own organisation's lines are visible to the own key.
    expect((await withKey<{ lines: unknown[] }>(keyOwn, '/billing/lines?period=2026-01')).body.lines).toHaveLength(2);
  });

  it('another organisation\'s key naming this one, and its billing staff, get 404 in every format and learn nothing', async () => {
    // The key of УК Юг names УК Север outright: refused before anything is read, in JSON, CSV and XLSX alike.
    for (const f of ['json', 'csv', 'xlsx']) {
      const res = await h.app.inject({ method: 'GET', url: `/billing/lines?period=2026-01&org_id=${ids.org}&format=${f}`, headers: { 'x-api-key': keyOther } });
      expect(res.statusCode, f).toBe(404);
      expect(res.body, f).not.toMatch(/LS-p|381\.98|38198|Ленина/);
    }
    // A billing user of УК Юг (granted only its own building) asking for УК Север: as if it did not exist (404), and the
    // same answer for an organisation that does not exist at all, so ids cannot be probed.
    const southBuilding = Number((await one(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, 'ул. Южная, 2', 'UTC') RETURNING id`, [ids.other])).id);
    const south = await h.userToken('billing', { buildingIds: [southBuilding] });
    const asked = [`/billing/lines?period=2026-01&org_id=${ids.org}`, `/billing/feed?period=2026-01&org_id=${ids.org}&include_unvalidated=true`, `/billing/tariffs?org_id=${ids.org}`];
    for (const url of asked) {
      const r = await h.call('GET', url, south);
      expect(r.status, url).toBe(404);
      expect(JSON.stringify(r.body), url).not.toMatch(/LS-p|Север|50\.93/);
      expect((await h.call('GET', url.replace(`org_id=${ids.org}`, 'org_id=999999'), south)).body, url).toEqual(r.body);
    }
    const linesBefore = await one(`SELECT count(*)::int AS n FROM accrual_lines WHERE building_id = $1`, [ids.b]);
    expect((await h.call('POST', '/billing/periods/2026-01/recalculate', south, { building_id: ids.b })).status).toBe(404);
    expect((await h.call('POST', '/billing/periods/2026-03/close', south, { org_id: ids.org })).status).toBe(404);
    expect(await one(`SELECT count(*)::int AS n FROM accrual_lines WHERE building_id = $1`, [ids.b])).toEqual(linesBefore);
  });

  it('staff recalculate a closed month explicitly; an open month is refused', async () => {
    const none = await h.call('POST', '/billing/periods/2026-01/recalculate', h.adminToken, { building_id: ids.b });
    expect(none.status, JSON.stringify(none.body)).toBe(200);
    expect(none.body).toMatchObject({ adjustments_in: '2026-02', lines: 0, amount: 0 });
    const open = await h.call('POST', '/billing/periods/2026-03/recalculate', h.adminToken, { building_id: ids.b });
    expect(open.status).toBe(400);
    expect(open.body.message).toMatch(/not closed/);
    // p2's register on 1 Feb read on site: 213 (not 212), a new version.
    await h.opened.db.query(`INSERT INTO readings (meter_id, time, quantity, value, unit, source, version) VALUES ($1, '2026-02-01T00:00:00Z', 'volume_m3', 213, 'm3', 'staff', 2)`, [ids.mp2]);
    const r = await h.call('POST', '/billing/periods/2026-01/recalculate', h.adminToken, { building_id: ids.b });
    // −12 × 50.93 = −611.16 ₽, +13 × 50.93 = 662.09 ₽.
    expect(r.body).toMatchObject({ adjustments_in: '2026-02', lines: 2, amount: 66209 - 61116 });
    const op = await h.userToken('operator', { buildingIds: [ids.b] });
    expect((await h.call('POST', '/billing/periods/2026-01/recalculate', op, { building_id: ids.b })).status).toBe(403);
  });

  it('lines as XLSX: one row per line with account, address, unit, price, kind and adjusted period, and a totals row', async () => {
    const get = (period: string) => h.app.inject({ method: 'GET', url: `/billing/lines?period=${period}&building_id=${ids.b}&format=xlsx`, headers: { authorization: `Bearer ${h.adminToken}` } });
    const res = await get('2026-01');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/spreadsheetml/);
    expect(res.headers['content-disposition']).toContain('accruals-2026-01.xlsx');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(res.rawPayload as unknown as ArrayBuffer);
    const rows = (wb.worksheets[0].getSheetValues() as unknown[][]).filter(Boolean).map((r) => r.slice(1));
    expect(rows[0]).toEqual(['Account', 'Address', 'Premise', 'Resource', 'Method', 'Quantity', 'Unit', 'Price, ₽', 'Amount, ₽', 'Kind', 'Adjusts period', 'Export id']);
    const json = (await h.call('GET', `/billing/lines?period=2026-01&building_id=${ids.b}`, h.adminToken)).body.lines;
    expect(rows.slice(1, -1)).toEqual([
      ['LS-p1', 'ул. Ленина, 1', 'p1', 'cold_water', 'measured', 7.5, 'm3', 50.93, 381.98, 'regular', undefined, json[0].export_id],
      ['LS-p2', 'ул. Ленина, 1', 'p2', 'cold_water', 'measured', 12, 'm3', 50.93, 611.16, 'regular', undefined, json[1].export_id],
    ]);
    // Totals: 381.98 + 611.16 = 993.14 ₽.
    expect(rows[rows.length - 1][0]).toBe('Total');
    expect(rows[rows.length - 1][8]).toBe(993.14);
    // February: the recalculation of January, named as such.
    const feb = new ExcelJS.Workbook();
    await feb.xlsx.load((await get('2026-02')).rawPayload as unknown as ArrayBuffer);
    const fr = (feb.worksheets[0].getSheetValues() as unknown[][]).filter(Boolean).map((r) => r.slice(1));
    expect(fr.slice(1, -1).map((r) => [r[0], r[5], r[8], r[9], r[10]])).toEqual([['LS-p2', -12, -611.16, 'reversal', '2026-01'], ['LS-p2', 13, 662.09, 'recalculated', '2026-01']]);
    expect(fr[fr.length - 1][8]).toBe(50.93);
  });

  it('OpenAPI documents the new routes and fields', async () => {
    const r = await h.app.inject({ method: 'GET', url: '/docs/json' });
    expect(r.statusCode).toBe(200);
    const doc = JSON.parse(r.body);
    expect(doc.paths['/billing/periods/{period}/recalculate'].post).toBeDefined();
    expect(JSON.stringify(doc.paths['/billing/lines'].get.parameters)).toContain('xlsx');
    expect(JSON.stringify(doc.paths['/billing/feed'].get.responses['200'])).toContain('validation_status');
    expect(JSON.stringify(doc.paths['/billing/periods/{period}/compute'].post.responses['200'])).toContain('even_over_year');
  });
});
