/**
 * Heating by area on a real embedded database: flats without heat meters are charged the building
 * heat meter's Gcal by area at the ₽/Gcal tariff, by the method of the rules in force (monthly
 * actual, heating season only, evenly over the year with the year-end correction in its month);
 * no heat norm and no common-house line for heat alongside; method and parts stored on the line.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { OpenedDb } from '../../../src/db/index.js';
import { openTestDb } from '../../engine.js';
import { computePeriod, LINE_COLUMNS, rowToLine } from '../../../src/billing/store/index.js';

let opened: OpenedDb;

async function one<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T> {
  return (await opened.db.query(sql, params)).rows[0] as T;
}
async function heat(meterId: number, iso: string, kwh: number) {
  await opened.db.query(`INSERT INTO readings (meter_id, time, quantity, value, unit, source) VALUES ($1, $2, 'energy_kwh', $3, 'kWh', 'telemetry')`, [meterId, iso, kwh]);
}
async function lines(period: string, buildingId: number) {
  const { rows } = await opened.db.query(`SELECT ${LINE_COLUMNS} FROM accrual_lines WHERE period = $1 AND building_id = $2 ORDER BY id`, [period, buildingId]);
  return rows.map(rowToLine);
}
const GCAL = 1163;

/**
 * An organisation with heat at 2 500 ₽/Gcal, a heat norm (which must not apply) and its rules; a
 * building (UTC) with flats of 40 and 60 m² and, when asked, a shop of 50 m² without an account.
 */
async function setup(name: string, rules: object, shop: boolean) {
  const org = Number((await one(`INSERT INTO organisations (name) VALUES ($1) RETURNING id`, [name])).id);
  await opened.db.query(`INSERT INTO billing_tariffs (org_id, resource, valid_from, tariff) VALUES ($1, 'heat', '2025-01-01', '{"kind":"single","price":2500}')`, [org]);
  await opened.db.query(`INSERT INTO billing_norms (org_id, resource, valid_from, per_resident) VALUES ($1, 'heat', '2025-01-01', 1)`, [org]);
  await opened.db.query(`INSERT INTO billing_rules (org_id, effective_from, rules) VALUES ($1, '2025-01-01', $2)`, [org, JSON.stringify(rules)]);
  const b = Number((await one(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, $2, 'UTC') RETURNING id`, [org, `ул. ${name}, 1`])).id);
  const acc: number[] = [];
  for (const [n, area] of [['1', 40], ['2', 60]] as const) {
    const p = Number((await one(`INSERT INTO premises (building_id, number, residents, area_m2) VALUES ($1, $2, 2, $3) RETURNING id`, [b, n, area])).id);
    acc.push(Number((await one(`INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, $2, $3) RETURNING id`, [org, `LS-${name}-${n}`, p])).id));
  }
  if (shop) await opened.db.query(`INSERT INTO premises (building_id, number, kind, area_m2) VALUES ($1, 'Н-1', 'non_residential', 50)`, [b]);
  const odpu = Number((await one(`INSERT INTO meters (placement, building_id, resource, serial_number) VALUES ('building', $1, 'heat', $2) RETURNING id`, [b, `HEAT-${name}`])).id);
  return { org, b, acc, odpu };
}

beforeAll(async () => {
  opened = await openTestDb();
}, 120_000);
afterAll(async () => { await opened?.close(); });

describe('heating by area', () => {
  it('monthly_actual (default rules): the month\'s Gcal by area over all premises, flats charged, no norm or ОДН line', async () => {
    const { b, acc } = await setup('Тепло', {}, true).then(async (s) => {
      // 150 Gcal in January: 0 → 174 450 kWh.
      await heat(s.odpu, '2026-01-01T00:00:00Z', 0);
      await heat(s.odpu, '2026-02-01T00:00:00Z', 150 * GCAL);
      return s;
    });
    const r = await computePeriod(opened.db, b, '2026-01-01');
    const jan = await lines('2026-01-01', b);
    // 150 Gcal over 40 + 60 + 50 m²: 40 and 60 Gcal for the flats (the shop's 50 is not the flats'),
    // × 2 500 ₽ = 100 000 ₽ and 150 000 ₽.
    expect(jan.map((l) => [Number(l.accountId), l.resource, l.method, l.heatingMethod, l.quantity, l.amount])).toEqual([
      [acc[0], 'heat', 'heating', 'monthly_actual', 40, 10_000_000],
      [acc[1], 'heat', 'heating', 'monthly_actual', 60, 15_000_000],
    ]);
    expect(jan[0].parts).toEqual([{ label: 'single', quantity: 40, price: 2500, amount: 10_000_000 }]);
    expect(r.heating).toMatchObject({ method: 'monthly_actual', monthHeat: 150, volume: 150, totalArea: 150 });
    expect(r.commonHouse).toEqual([]);
  });

  it('heating_season: charged in the season, nothing in July although the meter counted heat', async () => {
    const { b, odpu } = await setup('Сезон', { heating: { method: 'heating_season' } }, false);
    await heat(odpu, '2026-06-01T00:00:00Z', 0);
    await heat(odpu, '2026-07-01T00:00:00Z', 2 * GCAL);
    await heat(odpu, '2026-08-01T00:00:00Z', 5 * GCAL);
    await heat(odpu, '2026-10-01T00:00:00Z', 10 * GCAL);
    await heat(odpu, '2026-11-01T00:00:00Z', 110 * GCAL);
    const jul = await computePeriod(opened.db, b, '2026-07-01');
    expect(await lines('2026-07-01', b)).toEqual([]);
    expect(jul.heating).toMatchObject({ method: 'heating_season', monthHeat: 3, volume: null, missing: null });
    await computePeriod(opened.db, b, '2026-10-01');
    // October: 100 Gcal over 40 / 60 m² → 40 / 60 Gcal.
    expect((await lines('2026-10-01', b)).map((l) => [l.heatingMethod, l.quantity, l.amount])).toEqual([
      ['heating_season', 40, 10_000_000], ['heating_season', 60, 15_000_000],
    ]);
  });

  it('even_over_year: 1/12 of last year each month; in January the correction of last year as its own lines', async () => {
    const { b, odpu } = await setup('Ровно', { heating: { method: 'even_over_year', correctionMonth: 1 } }, false);
    // 2025: 1 000 Gcal; 2026: 1 200 Gcal (readings at the year bounds only).
    await heat(odpu, '2025-01-01T00:00:00Z', 0);
    await heat(odpu, '2026-01-01T00:00:00Z', 1000 * GCAL);
    await heat(odpu, '2027-01-01T00:00:00Z', 2200 * GCAL);
    for (let m = 1; m <= 12; m++) await computePeriod(opened.db, b, `2026-${String(m).padStart(2, '0')}-01`);
    // Each month of 2026: 1 000 / 12 = 83.333… Gcal → 33.333… / 50 Gcal → 83 333.33 ₽ / 125 000 ₽.
    const jul = await lines('2026-07-01', b);
    expect(jul.map((l) => [l.heatingMethod, l.amount])).toEqual([['even_over_year', 8_333_333], ['even_over_year', 12_500_000]]);
    // Shown and billed to 6 decimals: 1 000 / 12 = 83.333333 Gcal × 0.4 = 33.3333332 → 33.333333.
    expect(jul[0].quantity).toBe(33.333333);
    // January 2026 carries no correction: nothing was charged evenly in 2025.
    expect((await lines('2026-01-01', b)).some((l) => l.heatingMethod === 'annual_correction')).toBe(false);
    const r = await computePeriod(opened.db, b, '2027-01-01');
    const jan = await lines('2027-01-01', b);
    // January 2027: 1 200 / 12 = 100 Gcal → 40 / 60 Gcal; correction of 2026: shares of 1 200 (480 / 720)
    // − charged as the lines show it (12 × 33.333333 = 399.999996 / 12 × 50 = 600) = 80.000004 / 120 Gcal
    // → 80.000004 × 2 500 = 200 000.01 ₽ / 300 000 ₽ (2026 + correction = 999 999.96 + 200 000.01 ₽ for 480 Gcal).
    expect(jan.map((l) => [l.heatingMethod, l.quantity, l.amount])).toEqual([
      ['even_over_year', 40, 10_000_000], ['even_over_year', 60, 15_000_000],
      ['annual_correction', 80.000004, 20_000_001], ['annual_correction', 120, 30_000_000],
    ]);
    expect(jan[2].note).toMatch(/annual heating correction for 2026/);
    expect(r.heating).toMatchObject({ method: 'even_over_year', chargedAs: 'even_over_year', lastYearHeat: 1200, volume: 100 });
    expect(r.heating!.correction).toMatchObject({ year: 2026, actualHeat: 1200 });
    expect(r.heating!.correction!.chargedHeat).toBeCloseTo(999.999996, 9);
  });

  it('even_over_year without a measured previous year: the month\'s actual heat, said so on the lines and in the summary', async () => {
    const { b, odpu } = await setup('Новый', { heating: { method: 'even_over_year' } }, false);
    await heat(odpu, '2026-03-01T00:00:00Z', 0);
    await heat(odpu, '2026-04-01T00:00:00Z', 50 * GCAL);
    const r = await computePeriod(opened.db, b, '2026-03-01');
    expect(r.heating).toMatchObject({ method: 'even_over_year', chargedAs: 'monthly_actual', missing: 'last_year', lastYearHeat: null, monthHeat: 50, volume: 50 });
    const mar = await lines('2026-03-01', b);
    // 50 Gcal → 20 / 30 Gcal × 2 500 ₽.
    expect(mar.map((l) => [l.heatingMethod, l.quantity, l.amount])).toEqual([['monthly_actual', 20, 5_000_000], ['monthly_actual', 30, 7_500_000]]);
    expect(mar[0].note).toMatch(/2025 not measured for even_over_year/);
  });

  it('a building whose flats have heat meters is billed by those meters (in Gcal), not by area', async () => {
    const { b, odpu } = await setup('Счётчики', {}, false);
    const p = Number((await one(`SELECT id FROM premises WHERE building_id = $1 AND number = '1'`, [b])).id);
    const m = Number((await one(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number) VALUES ('apartment', $1, $2, 'heat', 'HM-1') RETURNING id`, [b, p])).id);
    await heat(m, '2026-01-01T00:00:00Z', 0);
    await heat(m, '2026-02-01T00:00:00Z', 2 * GCAL);
    await heat(odpu, '2026-01-01T00:00:00Z', 0);
    await heat(odpu, '2026-02-01T00:00:00Z', 10 * GCAL);
    const r = await computePeriod(opened.db, b, '2026-01-01');
    expect(r.heating).toBeNull();
    const jan = await lines('2026-01-01', b);
    expect(jan.some((l) => l.method === 'heating')).toBe(false);
    // Flat 1 measured: 2 Gcal × 2 500 = 5 000 ₽.
    expect(jan.find((l) => l.meterId === String(m))).toMatchObject({ method: 'measured', quantity: 2, amount: 500_000 });
    // The common-house volume of heat is in Gcal too: 10 − (2 measured + 2 by norm for flat 2) = 6.
    expect(r.commonHouse[0]).toMatchObject({ resource: 'heat', buildingConsumption: 10, apartmentsConsumption: 4, volume: 6 });
  });
});
