/**
 * Money through the whole head-end (real embedded database, real HTTP): readings in, accrual run,
 * invoice lines as JSON (kopecks), CSV and XLSX (roubles written from kopecks), and a recalculation of
 * a closed month whose reversal is the exact negative of the original line. Hand arithmetic in comments.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import ExcelJS from 'exceljs';
import { startHarness, type Harness } from '../../api/harness.js';

let h: Harness;
const ids: Record<string, number> = {};

async function one<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T> {
  return (await h.opened.db.query(sql, params)).rows[0] as T;
}
async function reading(meterId: number, iso: string, value: number, version = 1, source = 'telemetry') {
  await h.opened.db.query(`INSERT INTO readings (meter_id, time, quantity, value, unit, source, version) VALUES ($1, $2, 'volume_m3', $3, 'm3', $4, $5)`, [meterId, iso, value, source, version]);
}
const get = (url: string) => h.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${h.adminToken}` } });
async function xlsxRows(period: string): Promise<unknown[][]> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load((await get(`/billing/lines?period=${period}&building_id=${ids.b}&format=xlsx`)).rawPayload as unknown as ArrayBuffer);
  return (wb.worksheets[0].getSheetValues() as unknown[][]).filter(Boolean).map((r) => r.slice(1));
}

beforeAll(async () => {
  h = await startHarness();
  ids.org = Number((await one(`INSERT INTO organisations (name) VALUES ('УК Копейка') RETURNING id`)).id);
  ids.b = Number((await one(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, 'ул. Монетная, 5', 'UTC') RETURNING id`, [ids.org])).id);
  for (const k of ['p1', 'p2']) {
    ids[k] = Number((await one(`INSERT INTO premises (building_id, number, residents, area_m2) VALUES ($1, $2, 1, 40) RETURNING id`, [ids.b, k])).id);
    ids[`a${k}`] = Number((await one(`INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, $2, $3) RETURNING id`, [ids.org, `LS-${k}`, ids[k]])).id);
    ids[`m${k}`] = Number((await one(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number) VALUES ('apartment', $1, $2, 'cold_water', $3) RETURNING id`, [ids.b, ids[k], `KOP-${k}`])).id);
  }
  // p1 (a laundry on the ground floor): 0 → 1729.10 m³; p2: 2.2 → 2.3 m³ (0.09999999999999964 in doubles).
  await reading(ids.mp1, '2026-01-01T00:00:00Z', 0);
  await reading(ids.mp1, '2026-02-01T00:00:00Z', 1729.10);
  await reading(ids.mp2, '2026-01-01T00:00:00Z', 2.2);
  await reading(ids.mp2, '2026-02-01T00:00:00Z', 2.3);
  const t = await h.call('POST', '/billing/tariffs', h.adminToken, { org_id: ids.org, resource: 'cold_water', valid_from: '2025-01-01', tariff: { kind: 'single', price: 42.05 } });
  expect(t.status, JSON.stringify(t.body)).toBe(201);
}, 120_000);
afterAll(async () => { await h?.close(); });

describe('money through the head-end', () => {
  it('a month computed: amounts in kopecks (JSON), roubles from kopecks (CSV, XLSX), totals as sums of the lines', async () => {
    const r = await h.call('POST', '/billing/periods/2026-01/compute', h.adminToken, { building_id: ids.b });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    // p1: 1729.10 × 42.05 = 72 622.20 + 86.455 = 72 708.655 → 72 708.66 ₽.
    // p2: 0.1 × 42.05 = 4.205 → 4.21 ₽ (the doubles' 0.0999… m³ gave 4.20).
    // Σ 72 708.66 + 4.21 = 72 712.87 ₽.
    expect(r.body).toMatchObject({ status: 'open', lines: 2, amount: 7_271_287 });
    type Part = { quantity: number; price: number; amount: number };
    const json = (await h.call<{ lines: { quantity: number; amount: number; parts: Part[] }[] }>('GET', `/billing/lines?period=2026-01&building_id=${ids.b}`, h.adminToken)).body.lines;
    expect(json.map((l) => [l.quantity, l.amount, l.parts.map((p) => [p.quantity, p.price, p.amount])])).toEqual([
      [1729.1, 7_270_866, [[1729.1, 42.05, 7_270_866]]],
      [0.1, 421, [[0.1, 42.05, 421]]],
    ]);

    const csv = await get(`/billing/lines?period=2026-01&building_id=${ids.b}&format=csv`);
    const rows = csv.body.trim().split('\n').map((l) => l.split(','));
    const col = (name: string) => rows[0].indexOf(name);
    expect(rows.slice(1).map((c) => [c[col('quantity')], c[col('amount_rub')]])).toEqual([['1729.1', '72708.66'], ['0.1', '4.21']]);

    const x = await xlsxRows('2026-01');
    expect(x.slice(1).map((c) => [c[0], c[5], c[8]])).toEqual([['LS-p1', 1729.1, 72708.66], ['LS-p2', 0.1, 4.21], ['Total', undefined, 72712.87]]);
  });

  it('a corrected reading of a closed month: the reversal is the exact negative of the line, the recalculated line exact', async () => {
    expect((await h.call('POST', '/billing/periods/2026-01/close', h.adminToken, { org_id: ids.org })).status).toBe(204);
    // p1's register on 1 Feb read on site: 1729.20, a new version.
    await reading(ids.mp1, '2026-02-01T00:00:00Z', 1729.20, 2, 'staff');
    const r = await h.call('POST', '/billing/periods/2026-01/recalculate', h.adminToken, { building_id: ids.b });
    // −72 708.66 ₽ back; 1729.20 × 42.05 = 72 626.40 + 86.46 = 72 712.86 ₽; difference 4.20 ₽.
    expect(r.body).toMatchObject({ adjustments_in: '2026-02', lines: 2, amount: 7_271_286 - 7_270_866 });
    const csv = await get(`/billing/lines?period=2026-02&building_id=${ids.b}&format=csv`);
    const rows = csv.body.trim().split('\n').map((l) => l.split(','));
    const col = (name: string) => rows[0].indexOf(name);
    expect(rows.slice(1).map((c) => [c[col('quantity')], c[col('amount_rub')], c[col('adjustment_kind')]])).toEqual([
      ['-1729.1', '-72708.66', 'reversal'], ['1729.2', '72712.86', 'recalculated'],
    ]);
    const x = await xlsxRows('2026-02');
    // Total: −72 708.66 + 72 712.86 = 4.20 ₽.
    expect(x.slice(1).map((c) => [c[5], c[8], c[9]])).toEqual([[-1729.1, -72708.66, 'reversal'], [1729.2, 72712.86, 'recalculated'], [undefined, 4.2, '']]);
  });
});
