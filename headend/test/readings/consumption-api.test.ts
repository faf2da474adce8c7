/**
 * The one consumption function through the head-end's API (real embedded database, real fastify):
 * POST /billing/periods/:p/compute bills a rolled-over 5-digit hot-water register as +6 m³ with a
 * negative (unbilled) ОДН, charges an unmetered flat under a day/night tariff by norm split by the
 * zone shares while the rest of the building bills normally, and bills November from its own
 * collection window; the building's period_attribution setting is served and validated by the
 * registry API. Expected amounts are worked out by hand in the comments; all dates are fixed.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startHarness, type Harness } from '../api/harness.js';

let h: Harness;
let org = 0;

async function one<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T> {
  return (await h.opened.db.query(sql, params)).rows[0] as T;
}
async function reading(meterId: number, iso: string, quantity: string, value: number, source = 'resident') {
  await h.opened.db.query(`INSERT INTO readings (meter_id, time, quantity, value, unit, source) VALUES ($1, $2, $3, $4, $5, $6)`,
    [meterId, iso, quantity, value, quantity === 'volume_m3' ? 'm3' : 'kWh', source]);
}
async function building(address: string, timezone = 'UTC', commonArea: number | null = null): Promise<number> {
  const res = await h.call('POST', '/buildings', h.adminToken, { org_id: org, address, timezone, ...(commonArea !== null ? { common_area_m2: commonArea } : {}) });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return Number(res.body.id);
}
async function flat(b: number, number: string, residents: number, area = 50): Promise<{ p: number; a: number }> {
  const p = Number((await one(`INSERT INTO premises (building_id, number, residents, area_m2) VALUES ($1, $2, $3, $4) RETURNING id`, [b, number, residents, area])).id);
  const a = Number((await one(`INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, $2, $3) RETURNING id`, [org, `LS-${b}-${number}`, p])).id);
  return { p, a };
}
async function meter(b: number, p: number | null, resource: string, serial: string, digits: number | null = null): Promise<number> {
  return Number((await one(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number, register_digits) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [p === null ? 'building' : 'apartment', b, p, resource, serial, digits])).id);
}
/** An accrual line as GET /billing/lines gives it (the fields this test reads). */
interface LineOut {
  account_id: string; resource: string; meter_id: string | null; method: string; quantity: number; amount: number; note?: string;
  parts: { label: string; quantity: number; price: number; amount: number }[];
}
/** Computes the month through the API; `lines` are the resource's lines (the organisation also bills the other resources by norm). */
async function compute(b: number, period: string, resource: string) {
  const res = await h.call('POST', `/billing/periods/${period}/compute`, h.adminToken, { building_id: b });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const lines = await h.call<{ lines: LineOut[] }>('GET', `/billing/lines?period=${period}&building_id=${b}`, h.adminToken);
  return { body: res.body, lines: lines.body.lines.filter((l) => l.resource === resource) };
}
const total = (lines: { amount: number }[]) => lines.reduce((s, l) => s + l.amount, 0);

beforeAll(async () => {
  h = await startHarness();
  org = Number((await one(`INSERT INTO organisations (name) VALUES ('УК Рассвет') RETURNING id`)).id);
  const setting = (sql: string) => h.opened.db.query(sql, [org]);
  await setting(`INSERT INTO billing_tariffs (org_id, resource, valid_from, tariff) VALUES ($1, 'hot_water', '2025-01-01', '{"kind":"single","price":200}')`);
  await setting(`INSERT INTO billing_tariffs (org_id, resource, valid_from, tariff) VALUES ($1, 'cold_water', '2025-01-01', '{"kind":"single","price":50}')`);
  await setting(`INSERT INTO billing_tariffs (org_id, resource, valid_from, tariff) VALUES ($1, 'electricity', '2025-01-01', '{"kind":"zones","prices":[6.43,3.12]}')`);
  await setting(`INSERT INTO billing_norms (org_id, resource, valid_from, per_resident) VALUES ($1, 'electricity', '2025-01-01', 100)`);
  // The common-area norm caps the ОДН share at 0.1 m³ × 100 m² = 10 m³: the old bug's +99 998 m³ was capped to this.
  await setting(`INSERT INTO billing_norms (org_id, resource, basis, valid_from, per_resident) VALUES ($1, 'hot_water', 'common_area_m2', '2025-01-01', 0.1)`);
}, 120_000);
afterAll(async () => { await h?.close(); });

describe('billing through the one consumption function', () => {
  it('a 5-digit hot-water register rolling over 99 996.5 → 2.5 is billed +6 m³; the ОДН is negative and bills nothing', async () => {
    const b = await building('ул. Горячая, 5', 'UTC', 100);
    const { p, a } = await flat(b, '1', 2);
    const m = await meter(b, p, 'hot_water', 'HW-5D', 5);
    const odpu = await meter(b, null, 'hot_water', 'HW-ODPU', 8);
    // Resident readings dated in the windows (Oct, Nov, Dec): usual ≈ 6.5 m³/month, December wraps.
    await reading(m, '2026-10-20T00:00:00Z', 'volume_m3', 99_990);
    await reading(m, '2026-11-20T00:00:00Z', 'volume_m3', 99_996.5);
    await reading(m, '2026-12-20T00:00:00Z', 'volume_m3', 2.5);
    // The building meter read by staff in the same windows: December 5 004 − 5 000 = 4 m³.
    await reading(odpu, '2026-11-20T00:00:00Z', 'volume_m3', 5_000, 'staff');
    await reading(odpu, '2026-12-20T00:00:00Z', 'volume_m3', 5_004, 'staff');
    const dec = await compute(b, '2026-12', 'hot_water');
    // 100 000 − 99 996.5 + 2.5 = 6 m³ × 200 ₽ = 1 200.00 ₽ (not −99 994 m³ = −19 998 800.00 ₽).
    expect(dec.lines.map((l) => [Number(l.account_id), l.method, l.quantity, l.amount])).toEqual([[a, 'measured', 6, 120000]]);
    // ОДН = 4 − 6 = −2 m³: negative, nothing billed (not +99 998 capped to 10 m³ = 2 000.00 ₽).
    expect(dec.body.common_house).toHaveLength(1);
    expect(dec.body.common_house[0]).toMatchObject({ resource: 'hot_water', building_consumption: 4, apartments_consumption: 6, billed_volume: 0, negative: true });
    expect(dec.body.common_house[0].volume).toBeCloseTo(-2, 9);
    expect(total(dec.lines)).toBe(120000);
    expect(dec.lines.some((l) => l.method === 'common_house')).toBe(false);
  });

  it('a drop that is no plausible rollover is not billed as consumption: the month falls back and the line says why', async () => {
    const b = await building('ул. Горячая, 7');
    const { p } = await flat(b, '1', 2);
    await h.opened.db.query(`INSERT INTO billing_norms (org_id, resource, valid_from, per_resident) VALUES ($1, 'hot_water', '2025-01-01', 3) ON CONFLICT DO NOTHING`, [org]);
    const m = await meter(b, p, 'hot_water', 'HW-DROP', 5);
    // 4 990 → 4 995 → 5 000 (5 m³ a month), then 10: "rollover" would be 95 010 m³.
    await reading(m, '2026-09-20T00:00:00Z', 'volume_m3', 4_990);
    await reading(m, '2026-10-20T00:00:00Z', 'volume_m3', 4_995);
    await reading(m, '2026-11-20T00:00:00Z', 'volume_m3', 5_000);
    await reading(m, '2026-12-20T00:00:00Z', 'volume_m3', 10);
    const dec = await compute(b, '2026-12', 'hot_water');
    // No history of billed months: norm 3 m³ × 2 residents = 6 m³ × 200 ₽ = 1 200.00 ₽, never a negative quantity.
    expect(dec.lines.map((l) => [l.method, l.quantity, l.amount])).toEqual([['norm', 6, 120000]]);
    expect(dec.lines[0].note).toMatch(/went down from 5000 .* to 10/);
  });

  it('day/night tariff: an unmetered flat gets norm lines split 70/30 by zone, a meter missing its night reading falls back, the others bill by zone', async () => {
    const b = await building('ул. Ночная, 2');
    const f1 = await flat(b, '1', 2);
    const f2 = await flat(b, '2', 1);
    const f3 = await flat(b, '3', 3);
    // Flat 1 has no electricity meter. Flat 2: T1 1 000 → 1 150, T2 500 → 560 (staff, Oct 25 and Nov 25 windows).
    const m2 = await meter(b, f2.p, 'electricity', 'EL-2Z', 6);
    for (const [q, v1, v2] of [['energy_t1_kwh', 1_000, 1_150], ['energy_t2_kwh', 500, 560]] as const) {
      await reading(m2, '2026-10-25T00:00:00Z', q, v1, 'staff');
      await reading(m2, '2026-11-25T00:00:00Z', q, v2, 'staff');
    }
    // Flat 3: T1 read in both windows, T2 not in November's.
    const m3 = await meter(b, f3.p, 'electricity', 'EL-2Z-3', 6);
    await reading(m3, '2026-10-25T00:00:00Z', 'energy_t1_kwh', 10, 'staff');
    await reading(m3, '2026-11-25T00:00:00Z', 'energy_t1_kwh', 90, 'staff');
    await reading(m3, '2026-10-25T00:00:00Z', 'energy_t2_kwh', 5, 'staff');
    const nov = await compute(b, '2026-11', 'electricity');
    const byAccount = (a: number) => nov.lines.filter((l) => Number(l.account_id) === a);
    // Flat 1: norm 100 kWh × 2 = 200 kWh → T1 140 × 6.43 = 900.20 ₽, T2 60 × 3.12 = 187.20 ₽: 1 087.40 ₽.
    const l1 = byAccount(f1.a);
    expect(l1.map((l) => [l.method, l.meter_id, l.quantity, l.amount])).toEqual([['norm', null, 200, 108740]]);
    expect(l1[0].parts.map((x) => [x.label, x.quantity, x.price, x.amount])).toEqual([['T1', 140, 6.43, 90020], ['T2', 60, 3.12, 18720]]);
    // Flat 2: T1 150 × 6.43 = 964.50 ₽, T2 60 × 3.12 = 187.20 ₽: 1 151.70 ₽, measured.
    const l2 = byAccount(f2.a);
    expect(l2.map((l) => [l.method, l.quantity, l.amount])).toEqual([['measured', 210, 115170]]);
    expect(l2[0].parts.map((x) => [x.label, x.quantity, x.amount])).toEqual([['T1', 150, 96450], ['T2', 60, 18720]]);
    // Flat 3: the night reading is missing → norm 100 × 3 = 300 kWh → T1 210 × 6.43 = 1 350.30 ₽, T2 90 × 3.12 = 280.80 ₽: 1 631.10 ₽.
    const l3 = byAccount(f3.a);
    expect(l3.map((l) => [l.method, l.quantity, l.amount])).toEqual([['norm', 300, 163110]]);
    expect(l3[0].parts.map((x) => [x.label, x.quantity, x.amount])).toEqual([['T1', 210, 135030], ['T2', 90, 28080]]);
    expect(l3[0].note).toMatch(/split by zones 70%\/30%/);
    expect(total(nov.lines)).toBe(108740 + 115170 + 163110);
  });

  it('November is billed from its own collection window: 115 − 110 = 5 m³, before December\'s reading exists and after', async () => {
    // Moscow (UTC+3), window 15–25: each reading is dated at local midnight of the 15th = 21:00 UTC on the 14th.
    const b = await building('ул. Оконная, 15', 'Europe/Moscow');
    const { p, a } = await flat(b, '1', 2);
    const m = await meter(b, p, 'cold_water', 'CW-WIN', 5);
    await reading(m, '2026-09-14T21:00:00Z', 'volume_m3', 100);
    await reading(m, '2026-10-14T21:00:00Z', 'volume_m3', 110);
    await reading(m, '2026-11-14T21:00:00Z', 'volume_m3', 115);
    // The current month is billable from its own window: 5 m³ × 50 ₽ = 250.00 ₽.
    const early = await compute(b, '2026-11', 'cold_water');
    expect(early.lines.map((l) => [Number(l.account_id), l.method, l.quantity, l.amount])).toEqual([[a, 'measured', 5, 25000]]);
    // December's window reading arrives: November stays 5 (not 10.806 interpolated); October is 110 − 100 = 10.
    await reading(m, '2026-12-14T21:00:00Z', 'volume_m3', 123);
    expect((await compute(b, '2026-11', 'cold_water')).lines.map((l) => [l.method, l.quantity])).toEqual([['measured', 5]]);
    expect((await compute(b, '2026-10', 'cold_water')).lines.map((l) => [l.method, l.quantity, l.amount])).toEqual([['measured', 10, 50000]]);
    // The provenance of November's line names its two window readings.
    const src = await one<{ sources: { time: string }[] }>(`SELECT sources FROM accrual_lines WHERE period = '2026-11-01' AND building_id = $1 AND resource = 'cold_water'`, [b]);
    expect(src.sources.map((s) => s.time)).toEqual(['2026-10-14T21:00:00.000Z', '2026-11-14T21:00:00.000Z']);

    // The same building set to 'calendar' interpolates to the local month bounds instead:
    // Oct 15 → Nov 15 is 31 days, Nov 1 is 17 of them: 110 + 5 × 17/31 = 112.741935…;
    // Nov 15 → Dec 15 is 30 days, Dec 1 is 16 of them: 115 + 8 × 16/30 = 119.266666…; November = 6.524731… m³.
    const patch = await h.call('PATCH', `/buildings/${b}`, h.adminToken, { period_attribution: 'calendar' });
    expect(patch.status, JSON.stringify(patch.body)).toBe(200);
    expect(patch.body.period_attribution).toBe('calendar');
    const cal = await compute(b, '2026-11', 'cold_water');
    expect(cal.lines).toHaveLength(1);
    expect(cal.lines[0].quantity).toBeCloseTo(115 + (8 * 16) / 30 - (110 + (5 * 17) / 31), 6); // billed to 6 decimals
  });

  it('a missed window: October charged by norm, November\'s reading covers both months and the norm is deducted (never charged twice)', async () => {
    const b = await building('ул. Пропущенная, 3');
    const { p, a } = await flat(b, '1', 2);
    await h.opened.db.query(`INSERT INTO billing_norms (org_id, resource, valid_from, per_resident) VALUES ($1, 'cold_water', '2025-01-01', 4) ON CONFLICT DO NOTHING`, [org]);
    const m = await meter(b, p, 'cold_water', 'CW-GAP', 5);
    await reading(m, '2026-09-15T00:00:00Z', 'volume_m3', 100);
    await reading(m, '2026-11-15T00:00:00Z', 'volume_m3', 115);
    // October has no reading of its own and no history: norm 4 × 2 = 8 m³ × 50 ₽ = 400.00 ₽.
    const oct = await compute(b, '2026-10', 'cold_water');
    expect(oct.lines.map((l) => [Number(l.account_id), l.method, l.quantity, l.amount])).toEqual([[a, 'norm', 8, 40000]]);
    // November: 115 − 100 = 15 m³ over Oct + Nov, minus October's 8 m³ = 7 m³ × 50 ₽ = 350.00 ₽; 8 + 7 = 15 in all.
    const nov = await compute(b, '2026-11', 'cold_water');
    expect(nov.lines.map((l) => [l.method, l.quantity, l.amount])).toEqual([['measured', 7, 35000]]);
    expect(nov.lines[0].note).toMatch(/cover 2026-10 too: their substitute charge \(8\) deducted/);
  });

  it('the registry serves period_attribution (window by default) and refuses a wrong value naming the field', async () => {
    const b = await building('ул. Новая, 1');
    const got = await h.call('GET', `/buildings/${b}`, h.adminToken);
    expect(got.body.period_attribution).toBe('window');
    const bad = await h.call('PATCH', `/buildings/${b}`, h.adminToken, { period_attribution: 'monthly' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/period_attribution/);
    expect((await h.call('GET', `/buildings/${b}`, h.adminToken)).body.period_attribution).toBe('window');
    // Staff of another building cannot switch this building's attribution (and with it its bills).
    const other = await building('ул. Чужая, 9');
    const stranger = await h.userToken('operator', { buildingIds: [other] });
    const denied = await h.call('PATCH', `/buildings/${b}`, stranger, { period_attribution: 'calendar' });
    expect([403, 404]).toContain(denied.status);
    expect((await h.call('GET', `/buildings/${b}`, h.adminToken)).body.period_attribution).toBe('window');
  });
});
