/**
 * ОДН by formulas 10–11 and heating by area with its fallback, through the API of an embedded
 * head-end (POST /billing/periods/:p/compute, GET /billing/lines), worked by hand as an auditor
 * would: the 250 m² building (4 flats + a shop), the per-premise cap, a negative month, a premise
 * without area and one billed by another organisation, another organisation's key; a basement heat
 * meter that stops answering (its season average for 3 months, then the norm per m²) and the heat
 * imbalance of a building heated by area reported as not applicable.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startHarness, type Harness } from '../../api/harness.js';

let h: Harness;
const GCAL = 1163;

async function one<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T> {
  return (await h.opened.db.query(sql, params)).rows[0] as T;
}
async function reading(meterId: number, iso: string, value: number, quantity = 'volume_m3') {
  await h.opened.db.query(`INSERT INTO readings (meter_id, time, quantity, value, unit, source) VALUES ($1, $2, $3, $4, 'x', 'staff')`, [meterId, iso, quantity, value]);
}
async function meter(b: number, placement: string, premise: number | null, resource: string, serial: string) {
  return Number((await one(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number) VALUES ($1, $2, $3, $4, $5) RETURNING id`, [placement, b, premise, resource, serial])).id);
}
async function post(url: string, body: unknown) {
  const r = await h.call('POST', url, h.adminToken, body);
  expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
  return r.body;
}
/** An accrual line as GET /billing/lines gives it. */
interface LineOut {
  id: number; period: string; building_id: number; account_id: string; resource: string; meter_id: string | null;
  method: string; quantity: number; amount: number; heating_method?: string; note?: string;
  parts: { label: string; quantity: number; price: number; amount: number }[];
  kind: 'regular' | 'adjustment'; adjustment_kind: 'reversal' | 'recalculated' | null; adjusts_period: string | null; export_id: string;
}
/** One premise's share of the common-house volume in the compute answer. */
interface PerPremiseOut { premise_id: string; number: string; kind: string; area: number; account_id: string | null; share: number; cap: number | null; volume: number; excess: number }
async function lines(period: string, b: number): Promise<LineOut[]> {
  const r = await h.call<{ lines: LineOut[] }>('GET', `/billing/lines?period=${period}&building_id=${b}`, h.adminToken);
  expect(r.status).toBe(200);
  return r.body.lines;
}

/**
 * The auditor's building: flats 1–4 of 50, 60, 50, 60 m² (220 m² residential) and a shop Н-1 of
 * 30 m² (250 m² in all), each with an account of the organisation; common property 100 m².
 */
// Readings at the months' bounds close the month before (the calendar rule; the default window rule
// would give a reading dated on the 1st to its own month).
async function building(org: number, name: string) {
  const b = Number((await one(`INSERT INTO buildings (org_id, address, timezone, common_area_m2, period_attribution) VALUES ($1, $2, 'UTC', 100, 'calendar') RETURNING id`, [org, `ул. ${name}, 1`])).id);
  const premises: Record<string, { premise: number; account: number }> = {};
  for (const [n, kind, area] of [['1', 'residential', 50], ['2', 'residential', 60], ['3', 'residential', 50], ['4', 'residential', 60], ['Н-1', 'non_residential', 30]] as const) {
    const premise = Number((await one(`INSERT INTO premises (building_id, number, kind, residents, area_m2) VALUES ($1, $2, $3, $4, $5) RETURNING id`, [b, n, kind, kind === 'residential' ? 2 : 0, area])).id);
    const account = Number((await one(`INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, $2, $3) RETURNING id`, [org, `${name}-${n}`, premise])).id);
    premises[n] = { premise, account };
  }
  return { b, premises };
}

beforeAll(async () => {
  h = await startHarness();
}, 120_000);
afterAll(async () => { await h?.close(); });

describe('ОДН of cold water over all premises (formulas 10–11)', () => {
  let org: number;
  let b: number;
  let p: Record<string, { premise: number; account: number }>;
  const m: Record<string, number> = {};

  beforeAll(async () => {
    org = Number((await one(`INSERT INTO organisations (name) VALUES ('УК Аудит') RETURNING id`)).id);
    ({ b, premises: p } = await building(org, 'Аудит'));
    for (const n of ['1', '2', '3', '4']) m[n] = await meter(b, 'apartment', p[n].premise, 'cold_water', `AUD-CW-${n}`);
    m.shop = await meter(b, 'non_residential', p['Н-1'].premise, 'cold_water', 'AUD-CW-SHOP');
    m.odpu = await meter(b, 'building', null, 'cold_water', 'AUD-CW-ODPU');
    await post('/billing/tariffs', { org_id: org, resource: 'cold_water', valid_from: '2025-01-01', tariff: { kind: 'single', price: 50.93 } });
    await post('/billing/norms', { org_id: org, resource: 'cold_water', basis: 'common_area_m2', valid_from: '2025-01-01', per_resident: 0.03 });
    // January: ОДПУ 30 m³; flats 4 + 6 + 4 + 6 = 20 m³; the shop's meter 2 m³.
    // February: ОДПУ 18 m³ against the same 20 + 2 m³: a negative month.
    for (const [id, jan, feb] of [[m.odpu, 30, 18], [m['1'], 4, 4], [m['2'], 6, 6], [m['3'], 4, 4], [m['4'], 6, 6], [m.shop, 2, 2]]) {
      await reading(id, '2026-01-01T00:00:00Z', 100);
      await reading(id, '2026-02-01T00:00:00Z', 100 + jan);
      await reading(id, '2026-03-01T00:00:00Z', 100 + jan + feb);
    }
  });

  it('V = 30 − 20 − 2 = 8 m³ over 250 m²; each premise capped at 3 m³ × Sᵢ/250; the shop charged on its own account', async () => {
    const r = await post('/billing/periods/2026-01/compute', { building_id: b });
    const ch = r.common_house[0];
    expect(ch).toMatchObject({ resource: 'cold_water', building_consumption: 30, apartments_consumption: 20, non_residential_consumption: 2, volume: 8, negative: false, cap_volume: 3 });
    expect(ch.area_base).toEqual({ total_area: 250, residential_area: 220, non_residential_area: 30, without_area: [], without_account: [] });
    // Shares 8 × Sᵢ/250: 1.6 / 1.92 / 1.6 / 1.92 / 0.96 m³; caps 0.03 × 100 = 3 m³ × Sᵢ/250:
    // 0.6 / 0.72 / 0.6 / 0.72 / 0.36 m³ — every premise is over its cap and billed the cap.
    const round = (x: number) => Math.round(x * 1e9) / 1e9;
    expect(ch.per_premise.map((x: PerPremiseOut) => [x.number, x.kind, x.area, round(x.share), x.cap === null ? null : round(x.cap), round(x.volume), round(x.excess)])).toEqual([
      ['1', 'residential', 50, 1.6, 0.6, 0.6, 1], ['2', 'residential', 60, 1.92, 0.72, 0.72, 1.2],
      ['3', 'residential', 50, 1.6, 0.6, 0.6, 1], ['4', 'residential', 60, 1.92, 0.72, 0.72, 1.2],
      ['Н-1', 'non_residential', 30, 0.96, 0.36, 0.36, 0.6],
    ]);
    // Billed 3 m³ in all; excess 8 − 3 = 5 m³ is the organisation's, reported.
    expect(ch.billed_volume).toBeCloseTo(3, 9);
    expect(ch.excess_over_cap).toBeCloseTo(5, 9);
    const jan = await lines('2026-01', b);
    // At 50.93 ₽/m³: measured 4 m³ = 203.72 ₽, 6 m³ = 305.58 ₽; ОДН 0.6 m³ = 30.558 → 30.56 ₽,
    // 0.72 m³ = 36.6696 → 36.67 ₽, the shop's 0.36 m³ = 18.3348 → 18.33 ₽.
    expect(jan.map((l) => [Number(l.account_id), l.method, l.amount])).toEqual([
      [p['1'].account, 'measured', 20372], [p['1'].account, 'common_house', 3056], [p['2'].account, 'measured', 30558], [p['2'].account, 'common_house', 3667],
      [p['3'].account, 'measured', 20372], [p['3'].account, 'common_house', 3056], [p['4'].account, 'measured', 30558], [p['4'].account, 'common_house', 3667],
      [p['Н-1'].account, 'common_house', 1833],
    ]);
    // 4 × 50.93 + 6 × 50.93 twice = 1 018.60 ₽; ОДН 30.56 + 36.67 + 30.56 + 36.67 + 18.33 = 152.79 ₽.
    expect(r.amount).toBe(101860 + 15279);
    expect(jan[1].note).toMatch(/× 50 \/ 250 m² of all premises/);
    expect(jan[1].note).toMatch(/capped at 0\.600/);
    expect(jan[1].note).toContain('common-house volume 8.000, capped (excess 5.000 not billed)');
  });

  it('a negative month (ОДПУ 18 − 20 − 2 = −4 m³) bills no ОДН and says so', async () => {
    const r = await post('/billing/periods/2026-02/compute', { building_id: b });
    expect(r.common_house[0]).toMatchObject({ volume: -4, negative: true, billed_volume: 0, excess_over_cap: 0 });
    const feb = await lines('2026-02', b);
    expect(feb.filter((l) => l.method === 'common_house')).toEqual([]);
    expect(feb).toHaveLength(4);
  });

  it('a premise without area is reported (no share), one billed by another organisation keeps its share unbilled; another organisation\'s key cannot compute', async () => {
    // A careless office adds flat 5 without its area, and a shop Н-2 of 50 m² whose account is another organisation's.
    const other = Number((await one(`INSERT INTO organisations (name) VALUES ('УК Чужая') RETURNING id`)).id);
    const f5 = Number((await one(`INSERT INTO premises (building_id, number, residents) VALUES ($1, '5', 1) RETURNING id`, [b])).id);
    await one(`INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, 'Аудит-5', $2) RETURNING id`, [org, f5]);
    const n2 = Number((await one(`INSERT INTO premises (building_id, number, kind, area_m2) VALUES ($1, 'Н-2', 'non_residential', 50) RETURNING id`, [b])).id);
    await one(`INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, 'Чужой-1', $2) RETURNING id`, [other, n2]);
    const r = await post('/billing/periods/2026-01/compute', { building_id: b });
    const ch = r.common_house[0];
    expect(ch.area_base.total_area).toBe(300);
    expect(ch.area_base.without_area).toEqual([{ premise_id: String(f5), number: '5', kind: 'residential' }]);
    expect(ch.area_base.without_account).toEqual([{ premise_id: String(n2), number: 'Н-2', kind: 'non_residential' }]);
    // S_total 300: flat 1 now 8 × 50/300 = 1.333 m³ capped at 3 × 50/300 = 0.5 m³ (25.47 ₽ at 50.93:
    // 25.465 → 25.47). Н-2's cap share 3 × 50/300 = 0.5 m³ is not billed here nor moved onto anyone.
    const jan = (await lines('2026-01', b)).filter((l) => l.method === 'common_house');
    expect(jan.map((l) => Number(l.account_id))).toEqual([p['1'].account, p['2'].account, p['3'].account, p['4'].account, p['Н-1'].account]);
    expect(jan[0].quantity).toBeCloseTo(0.5, 9);
    expect(jan[0].amount).toBe(2547);
    expect(ch.without_account_volume).toBeCloseTo(0.5, 9);
    expect(jan[0].note).toMatch(/without area, not sharing: 5/);
    // The other organisation's API key cannot compute this building: to it the building does not exist, and nothing is written.
    const key = (await h.call('POST', `/organisations/${other}/api-keys`, h.adminToken, { name: 'other' })).body.key;
    const before = await one(`SELECT count(*)::int AS n, max(computed_at) AS at FROM accrual_lines WHERE building_id = $1`, [b]);
    const res = await h.app.inject({ method: 'POST', url: '/billing/periods/2026-01/compute', headers: { 'x-api-key': key }, payload: { building_id: b } });
    expect(res.statusCode).toBe(404);
    expect(await one(`SELECT count(*)::int AS n, max(computed_at) AS at FROM accrual_lines WHERE building_id = $1`, [b])).toEqual(before);
  });
});

describe('heating by area when the basement heat meter goes silent (п. 59(1), 60(1))', () => {
  let org: number;
  let b: number;
  let p: Record<string, { premise: number; account: number }>;

  beforeAll(async () => {
    org = Number((await one(`INSERT INTO organisations (name) VALUES ('УК Подвал') RETURNING id`)).id);
    ({ b, premises: p } = await building(org, 'Подвал'));
    const odpu = await meter(b, 'building', null, 'heat', 'POD-HEAT');
    await post('/billing/tariffs', { org_id: org, resource: 'heat', valid_from: '2025-01-01', tariff: { kind: 'single', price: 2500 } });
    await post('/billing/norms', { org_id: org, resource: 'heat', basis: 'heating_m2', valid_from: '2025-01-01', per_resident: 0.02 });
    // October 90, November 120, December 150 Gcal; nothing after 1 January (no signal in the basement).
    for (const [d, gcal] of [['2025-10-01', 0], ['2025-11-01', 90], ['2025-12-01', 210], ['2026-01-01', 360]] as const) await reading(odpu, `${d}T00:00:00Z`, gcal * GCAL, 'energy_kwh');
  });

  it('a heating_m2 norm is heat only: for cold water it is refused, naming the fix', async () => {
    const r = await h.call('POST', '/billing/norms', h.adminToken, { org_id: org, resource: 'cold_water', basis: 'heating_m2', valid_from: '2025-01-01', per_resident: 0.02 });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toMatch(/use resource 'heat'/);
  });

  it('December is measured: 150 Gcal by area, the shop on its own account', async () => {
    const r = await post('/billing/periods/2025-12/compute', { building_id: b });
    expect(r.heating).toMatchObject({ charged_as: 'monthly_actual', month_heat: 150, volume: 150, fallback: null, total_area: 250 });
    // 150 × 50/250 = 30 Gcal × 2 500 = 75 000 ₽; × 60/250 = 36 Gcal = 90 000 ₽; shop × 30/250 = 18 Gcal = 45 000 ₽.
    expect((await lines('2025-12', b)).map((l) => [Number(l.account_id), l.quantity, l.amount])).toEqual([
      [p['1'].account, 30, 7_500_000], [p['2'].account, 36, 9_000_000], [p['3'].account, 30, 7_500_000], [p['4'].account, 36, 9_000_000], [p['Н-1'].account, 18, 4_500_000],
    ]);
  });

  it('January–March: the average of October–December (120 Gcal); April, the 4th month without a reading: norm 0.02 × 250 m²', async () => {
    for (const month of ['2026-01', '2026-02', '2026-03']) {
      const r = await post(`/billing/periods/${month}/compute`, { building_id: b });
      expect(r.heating).toMatchObject({ method: 'monthly_actual', charged_as: 'building_average', month_heat: null, missing: 'month', volume: 120 });
      expect(r.heating.fallback).toMatchObject({ kind: 'building_average', volume: 120, months: ['2025-10', '2025-11', '2025-12'] });
      // (90 + 120 + 150) / 3 = 120 Gcal: 24 / 28.8 / 24 / 28.8 / 14.4 Gcal × 2 500 ₽ = 60 000 / 72 000 / … / 36 000 ₽.
      const ls = await lines(month, b);
      expect(ls.map((l) => [l.heating_method, l.amount])).toEqual([
        ['building_average', 6_000_000], ['building_average', 7_200_000], ['building_average', 6_000_000], ['building_average', 7_200_000], ['building_average', 3_600_000],
      ]);
      expect(ls[0].note).toMatch(/average 120\.000 Gcal over 2025-10, 2025-11, 2025-12/);
    }
    const apr = await post('/billing/periods/2026-04/compute', { building_id: b });
    expect(apr.heating).toMatchObject({ charged_as: 'norm', volume: 5, fallback: { kind: 'norm', norm_per_m2: 0.02, total_area: 250, months_without_reading_before: 3 } });
    // 0.02 Gcal/m² × 250 m² = 5 Gcal: 1 / 1.2 / 1 / 1.2 / 0.6 Gcal × 2 500 ₽ = 2 500 / 3 000 / … / 1 500 ₽.
    const ls = await lines('2026-04', b);
    expect(ls.map((l) => [l.heating_method, l.amount])).toEqual([['norm', 250_000], ['norm', 300_000], ['norm', 250_000], ['norm', 300_000], ['norm', 150_000]]);
    expect(ls[0].note).toMatch(/norm 0\.02 Gcal\/m² × 250 m²/);
  });

  it('the heat imbalance of this building is not applicable — no percentage, no 100 % loss — in the report API and the dashboard JSON', async () => {
    const r = await post(`/buildings/${b}/imbalance/recompute`, { resource: 'heat', from: '2025-12', to: '2026-01' });
    expect(r.reports).toHaveLength(1);
    expect(r.reports[0]).toMatchObject({ resource: 'heat', status: 'not_applicable', imbalance: null, imbalance_pct: null });
    // ОДПУ December 150 Gcal = 174 450 kWh, shown as it is.
    expect(r.reports[0].building_consumption).toBeCloseTo(150 * GCAL, 6);
    const ov = await h.call<{ imbalance: { resource: string; period: string; status: string; imbalance_pct: number | null }[] }>('GET', `/buildings/${b}/overview?from=2025-12&to=2025-12`, h.adminToken);
    expect(ov.status).toBe(200);
    expect(ov.body.imbalance.map((x) => [x.resource, x.period, x.status, x.imbalance_pct])).toEqual([['heat', '2025-12', 'not_applicable', null]]);
  });
});

describe('a closed month whose ОДН moves when a late flat reading arrives (the auditor\'s decimals)', () => {
  // Flats of 33.1 + 33.2 + 33.7 m² (S_total 100 m²; in doubles 100.00000000000001), cold water 42.05 ₽/m³,
  // common property 100 m² × norm 0.07 m³/m² = cap 7 m³ (in doubles 7.000000000000001).
  // January: ОДПУ 100 → 103.4005 = 3.4005 m³; flat 1 0.1 m³, flat 2 0.2 m³, flat 3 no reading → norm 1.05 × 2 residents = 2.1 m³.
  let org: number;
  let b: number;
  const acc: number[] = [];
  const m: number[] = [];
  let odpu: number;

  beforeAll(async () => {
    org = Number((await one(`INSERT INTO organisations (name) VALUES ('УК Копейка') RETURNING id`)).id);
    b = Number((await one(`INSERT INTO buildings (org_id, address, timezone, common_area_m2, period_attribution) VALUES ($1, 'ул. Копеечная, 1', 'UTC', 100, 'calendar') RETURNING id`, [org])).id);
    for (const [n, area] of [['1', 33.1], ['2', 33.2], ['3', 33.7]] as const) {
      const premise = Number((await one(`INSERT INTO premises (building_id, number, residents, area_m2) VALUES ($1, $2, 2, $3) RETURNING id`, [b, n, area])).id);
      acc.push(Number((await one(`INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, $2, $3) RETURNING id`, [org, `К-${n}`, premise])).id));
      m.push(await meter(b, 'apartment', premise, 'cold_water', `KOP-CW-${n}`));
    }
    odpu = await meter(b, 'building', null, 'cold_water', 'KOP-CW-ODPU');
    await post('/billing/tariffs', { org_id: org, resource: 'cold_water', valid_from: '2025-01-01', tariff: { kind: 'single', price: 42.05 } });
    // From February the price rises: January, and its recalculation booked in February, stay at 42.05 ₽.
    await post('/billing/tariffs', { org_id: org, resource: 'cold_water', valid_from: '2026-02-01', tariff: { kind: 'single', price: 47.5 } });
    await post('/billing/norms', { org_id: org, resource: 'cold_water', basis: 'resident', valid_from: '2025-01-01', per_resident: 1.05 });
    await post('/billing/norms', { org_id: org, resource: 'cold_water', basis: 'common_area_m2', valid_from: '2025-01-01', per_resident: 0.07 });
    for (const [id, v0, v1] of [[odpu, 100, 103.4005], [m[0], 10, 10.1], [m[1], 20, 20.2]]) {
      await reading(id, '2026-01-01T00:00:00Z', v0);
      await reading(id, '2026-02-01T00:00:00Z', v1);
    }
    await reading(m[2], '2026-01-01T00:00:00Z', 30);
  });

  it('January: Σ flats 0.1 + 0.2 + 2.1 = 2.4 m³ (not 2.4000000000000004), V = 3.4005 − 2.4 = 1.0005 m³, written 1.001 in the notes', async () => {
    const r = await post('/billing/periods/2026-01/compute', { building_id: b });
    expect(r.common_house[0]).toMatchObject({ building_consumption: 3.4005, apartments_consumption: 2.4, volume: 1.0005, cap_volume: 7, excess_over_cap: 0 });
    expect(r.common_house[0].area_base.total_area).toBe(100);
    // Shares 1.0005 × Sᵢ/100: 0.3311655 → 0.331166, 0.332166, 0.3371685 → 0.337169 (half up at 6 decimals); caps 7 × Sᵢ/100 ≥ 2.317, not reached.
    expect(r.common_house[0].per_premise.map((p: PerPremiseOut) => p.volume)).toEqual([0.331166, 0.332166, 0.337169]);
    expect(r.common_house[0].billed_volume).toBe(1.000501);
    const jan = await lines('2026-01', b);
    // At 42.05 ₽: 0.1 → 4.205 → 4.21; 0.2 → 8.41; flat 3's norm 2.1 → 88.305 → 88.31;
    // ОДН 0.331166 → 13.9255303 → 13.93, 0.332166 → 13.9675803 → 13.97, 0.337169 → 14.17795645 → 14.18.
    expect(jan.map((l) => [Number(l.account_id), l.method, l.quantity, l.amount])).toEqual([
      [acc[0], 'measured', 0.1, 421], [acc[0], 'common_house', 0.331166, 1393],
      [acc[1], 'measured', 0.2, 841], [acc[1], 'common_house', 0.332166, 1397],
      [acc[2], 'norm', 2.1, 8831], [acc[2], 'common_house', 0.337169, 1418],
    ]);
    // 421 + 841 + 8831 + 1393 + 1397 + 1418 = 14 301 kopecks.
    expect(r.amount).toBe(14301);
    expect(jan[1].note).toBe('common-house volume 1.001; by area: 1.001 × 33.1 / 100 m² of all premises = 0.331');
  });

  it('closed, then flat 3\'s reading arrives (0.3 m³): its own line and every ОДН line are reversed and recalculated in February, to the kopeck', async () => {
    expect((await h.call('POST', '/billing/periods/2026-01/close', h.adminToken, { org_id: org })).status).toBe(204);
    await reading(m[2], '2026-02-01T00:00:00Z', 30.3);
    const r = await post('/billing/periods/2026-01/recalculate', { building_id: b });
    // Flats now 0.1 + 0.2 + 0.3 = 0.6 m³, V = 3.4005 − 0.6 = 2.8005 m³; shares 2.8005 × Sᵢ/100:
    // 0.9269655 → 0.926966 (38.9789203 → 38.98 ₽), 0.929766 (39.0966603 → 39.10 ₽), 0.9437685 → 0.943769 (39.68548645 → 39.69 ₽);
    // flat 3 measured 0.3 × 42.05 = 12.615 → 12.62 ₽ (the doubles give 12.614999… → 12.61).
    // Reversed: 13.93 + 13.97 + 88.31 + 14.18 = 130.39 ₽; recalculated: 38.98 + 39.10 + 12.62 + 39.69 = 130.39 ₽; net 0.00 —
    // the building's water is the same 3.4005 m³, only who pays for it moved. Flats 1 and 2's own lines did not change: not touched.
    expect(r).toMatchObject({ adjustments_in: '2026-02', lines: 8, amount: 0 });
    const feb = (await lines('2026-02', b)).filter((l) => l.kind === 'adjustment');
    expect(feb.map((l) => [Number(l.account_id), l.method, l.adjustment_kind, l.quantity, l.amount, l.adjusts_period])).toEqual([
      [acc[0], 'common_house', 'reversal', -0.331166, -1393, '2026-01-01'], [acc[0], 'common_house', 'recalculated', 0.926966, 3898, '2026-01-01'],
      [acc[1], 'common_house', 'reversal', -0.332166, -1397, '2026-01-01'], [acc[1], 'common_house', 'recalculated', 0.929766, 3910, '2026-01-01'],
      [acc[2], 'norm', 'reversal', -2.1, -8831, '2026-01-01'], [acc[2], 'measured', 'recalculated', 0.3, 1262, '2026-01-01'],
      [acc[2], 'common_house', 'reversal', -0.337169, -1418, '2026-01-01'], [acc[2], 'common_house', 'recalculated', 0.943769, 3969, '2026-01-01'],
    ]);
    expect(new Set(feb.flatMap((l) => l.parts.map((x) => x.price)))).toEqual(new Set([42.05])); // January's price, not February's 47.5
    expect(feb.find((l) => l.adjustment_kind === 'recalculated' && l.method === 'common_house' && Number(l.account_id) === acc[0])!.note)
      .toBe('common-house volume 2.801; by area: 2.801 × 33.1 / 100 m² of all premises = 0.927');
    // January as it was billed is untouched.
    expect((await lines('2026-01', b)).map((l) => l.amount)).toEqual([421, 1393, 841, 1397, 8831, 1418]);
    // A second run with nothing new books nothing.
    expect(await post('/billing/periods/2026-01/recalculate', { building_id: b })).toMatchObject({ lines: 0, amount: 0 });
  });
});
