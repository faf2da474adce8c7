/**
 * Accrual runs on a real embedded database: a hand-computed month, the average-then-norm fallback,
 * close (lines frozen by the trigger) and a late correction booked as adjustments in the next period.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { OpenedDb } from '../../../src/db/index.js';
import { openTestDb } from '../../engine.js';
import { computePeriod, closePeriod, recalculateClosed, LINE_COLUMNS, rowToLine } from '../../../src/billing/store/index.js';

let opened: OpenedDb;
const ids: Record<string, number> = {};

async function one<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T> {
  return (await opened.db.query(sql, params)).rows[0] as T;
}
/** A register reading at local midnight (UTC building: the bounds are plain UTC). */
async function reading(meterId: number, iso: string, value: number, version = 1, source = version === 1 ? 'telemetry' : 'staff') {
  await opened.db.query(`INSERT INTO readings (meter_id, time, quantity, value, unit, source, version) VALUES ($1, $2, 'volume_m3', $3, 'm3', $4, $5)`,
    [meterId, iso, value, source, version]);
}
async function lines(period: string, buildingId = ids.b1) {
  const { rows } = await opened.db.query(`SELECT ${LINE_COLUMNS} FROM accrual_lines WHERE period = $1 AND building_id = $2 ORDER BY id`, [period, buildingId]);
  return rows.map(rowToLine);
}

beforeAll(async () => {
  opened = await openTestDb();
  ids.org = Number((await one(`INSERT INTO organisations (name) VALUES ('УК Север') RETURNING id`)).id);
  ids.b1 = Number((await one(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, 'ул. Ленина, 1', 'UTC') RETURNING id`, [ids.org])).id);
  ids.b2 = Number((await one(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, 'ул. Мира, 2', 'UTC') RETURNING id`, [ids.org])).id);
  for (const [k, b, n, res] of [['p1', ids.b1, '1', 2], ['p2', ids.b1, '2', 3], ['p3', ids.b2, '1', 2]] as const) {
    ids[k] = Number((await one(`INSERT INTO premises (building_id, number, residents, area_m2) VALUES ($1, $2, $3, 50) RETURNING id`, [b, n, res])).id);
    ids[`a${k}`] = Number((await one(`INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, $2, $3) RETURNING id`, [ids.org, `LS-${k}`, ids[k]])).id);
  }
  for (const k of ['p1', 'p2', 'p3']) {
    ids[`m${k}`] = Number((await one(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number) VALUES ('apartment', (SELECT building_id FROM premises WHERE id = $1), $1, 'cold_water', $2) RETURNING id`, [ids[k], `CW-${k}`])).id);
  }
  await opened.db.query(`INSERT INTO billing_tariffs (org_id, resource, valid_from, tariff) VALUES ($1, 'cold_water', '2025-01-01', '{"kind":"single","price":50.93}'),
    ($1, 'hot_water', '2025-01-01', '{"kind":"single","price":250.5}')`, [ids.org]);
  await opened.db.query(`INSERT INTO billing_norms (org_id, resource, valid_from, per_resident) VALUES ($1, 'cold_water', '2025-01-01', 4.5), ($1, 'hot_water', '2025-01-01', 3.2)`, [ids.org]);
  await opened.db.query(`INSERT INTO billing_rules (org_id, effective_from, rules) VALUES ($1, '2025-01-01', '{"averageMaxPeriods":3}')`, [ids.org]);
}, 120_000);
afterAll(async () => { await opened?.close(); });

describe('accrual run for a building and month', () => {
  it('charges measured consumption × tariff, norm for unmetered resources (hand-computed)', async () => {
    // p1: 100 → 107.5 m³ in January; p2: 200 → 212 m³.
    await reading(ids.mp1, '2026-01-01T00:00:00Z', 100);
    await reading(ids.mp1, '2026-02-01T00:00:00Z', 107.5);
    await reading(ids.mp2, '2026-01-01T00:00:00Z', 200);
    await reading(ids.mp2, '2026-02-01T00:00:00Z', 212);
    const r = await computePeriod(opened.db, ids.b1, '2026-01-01');
    const ls = await lines('2026-01-01');
    const cw = ls.filter((l) => l.resource === 'cold_water');
    // 7.5 × 50.93 = 381.975 → 381.98 ₽; 12 × 50.93 = 611.16 ₽.
    expect(cw.map((l) => [Number(l.accountId), l.method, l.quantity, l.amount])).toEqual([
      [ids.ap1, 'measured', 7.5, 38198], [ids.ap2, 'measured', 12, 61116],
    ]);
    // Hot water has no meter: norm 3.2 × residents × 250.50 — p1: 2 → 6.4 × 250.5 = 1603.20; p2: 3 → 9.6 × 250.5 = 2404.80.
    const hw = ls.filter((l) => l.resource === 'hot_water');
    expect(hw.map((l) => [Number(l.accountId), l.method, l.amount])).toEqual([[ids.ap1, 'norm', 160320], [ids.ap2, 'norm', 240480]]);
    expect(r.amountKop).toBe(38198 + 61116 + 160320 + 240480);
    expect(cw[0].kind).toBe('regular');
  });

  it('provenance: a resident\'s later version does not outrank telemetry; a rejected version does not count', async () => {
    await reading(ids.mp2, '2026-02-01T00:00:00Z', 230, 2, 'resident');
    await reading(ids.mp1, '2026-02-01T00:00:00Z', 150, 2, 'telemetry');
    await opened.db.query(`INSERT INTO reading_reviews (meter_id, quantity, time, version, decision, reason, reviewed_by) VALUES ($1, 'volume_m3', '2026-02-01T00:00:00Z', 2, 'reject', 'spike', 'test')`, [ids.mp1]);
    await computePeriod(opened.db, ids.b1, '2026-01-01');
    const cw = (await lines('2026-01-01')).filter((l) => l.resource === 'cold_water');
    expect(cw.map((l) => l.quantity)).toEqual([7.5, 12]);
  });

  it('recomputing an open period replaces its regular lines and keeps the export ids', async () => {
    const before = await lines('2026-01-01');
    await computePeriod(opened.db, ids.b1, '2026-01-01');
    const after = await lines('2026-01-01');
    expect(after.map((l) => l.exportId)).toEqual(before.map((l) => l.exportId));
    expect(after).toHaveLength(before.length);
  });
});

describe('close and late corrections', () => {
  it('a closed period refuses compute, UPDATE and DELETE of its lines', async () => {
    await closePeriod(opened.db, ids.org, '2026-01-01', 'test');
    await expect(computePeriod(opened.db, ids.b1, '2026-01-01')).rejects.toThrow(/closed/);
    await expect(opened.db.query(`UPDATE accrual_lines SET amount_kop = 0 WHERE period = '2026-01-01'`)).rejects.toThrow(/closed/);
    await expect(opened.db.query(`DELETE FROM accrual_lines WHERE period = '2026-01-01'`)).rejects.toThrow(/closed/);
    await expect(opened.db.query(`UPDATE billing_periods SET status = 'open', closed_at = NULL WHERE period = '2026-01-01'`)).rejects.toThrow(/closed/);
  });

  it('a corrected reading of a closed month becomes reversal + recalculated lines in the next open period', async () => {
    const closedBefore = await lines('2026-01-01');
    // Staff on site: p1's register on 1 Feb was 109.5, not 107.5 (a new version; the old one stays).
    await reading(ids.mp1, '2026-02-01T00:00:00Z', 109.5, 3, 'staff');
    const r = await recalculateClosed(opened.db, ids.b1, '2026-01-01');
    expect(r.target).toBe('2026-02-01');
    const feb = await lines('2026-02-01');
    expect(feb.map((l) => [l.adjustmentKind, l.adjustsPeriod, l.quantity, l.amount])).toEqual([
      ['reversal', '2026-01-01', -7.5, -38198],
      // 9.5 × 50.93 = 483.835 → 483.84 ₽.
      ['recalculated', '2026-01-01', 9.5, 48384],
    ]);
    expect(r.amountKop).toBe(48384 - 38198);
    expect(await lines('2026-01-01')).toEqual(closedBefore);
    // Nothing new: a second run adds nothing.
    expect((await recalculateClosed(opened.db, ids.b1, '2026-01-01')).lines).toBe(0);
    // Recomputing February keeps the adjustments (only regular lines are replaced).
    await reading(ids.mp1, '2026-03-01T00:00:00Z', 115);
    await reading(ids.mp2, '2026-03-01T00:00:00Z', 220);
    await computePeriod(opened.db, ids.b1, '2026-02-01');
    const feb2 = await lines('2026-02-01');
    expect(feb2.filter((l) => l.kind === 'adjustment')).toHaveLength(2);
    // p1 in February: 115 − 109.5 (the corrected register, current version) = 5.5 m³.
    expect(feb2.find((l) => l.kind === 'regular' && l.meterId === String(ids.mp1))?.quantity).toBeCloseTo(5.5, 9);
  });
});

describe('fallback without readings', () => {
  it('average of the history for up to 3 consecutive periods, then norm × residents', async () => {
    // Building 2, p3: measured Jun–Aug 2025 (6, 9, 12 m³), then no readings.
    const regs = [['2025-06-01', 0], ['2025-07-01', 6], ['2025-08-01', 15], ['2025-09-01', 27]] as const;
    for (const [d, v] of regs) await reading(ids.mp3, `${d}T00:00:00Z`, v);
    const months = ['2025-06-01', '2025-07-01', '2025-08-01', '2025-09-01', '2025-10-01', '2025-11-01', '2025-12-01'];
    for (const m of months) await computePeriod(opened.db, ids.b2, m);
    const cw = [];
    for (const m of months) cw.push((await lines(m, ids.b2)).find((l) => l.resource === 'cold_water')!);
    expect(cw.map((l) => l.method)).toEqual(['measured', 'measured', 'measured', 'average', 'average', 'average', 'norm']);
    expect(cw.slice(0, 3).map((l) => l.quantity)).toEqual([6, 9, 12]);
    // Average of 6, 9, 12 = 9 m³ × 50.93 = 458.37 ₽ (monthly mode: the same each month).
    expect(cw[3].quantity).toBeCloseTo(9, 9);
    expect(cw[3].amount).toBe(45837);
    // Norm: 4.5 × 2 residents = 9 m³ → 458.37 ₽ too; method recorded as norm.
    expect(cw[6].quantity).toBeCloseTo(9, 9);
    expect(cw[6].note).toMatch(/norm × 2/);
  });
});

describe('zone tariff (day/night electricity)', () => {
  it('charges each zone register at its price; a missing tariff setting is named', async () => {
    const org = Number((await one(`INSERT INTO organisations (name) VALUES ('ТСЖ Заря') RETURNING id`)).id);
    const b = Number((await one(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, 'ул. Зари, 3', 'UTC') RETURNING id`, [org])).id);
    const p = Number((await one(`INSERT INTO premises (building_id, number, residents) VALUES ($1, '7', 1) RETURNING id`, [b])).id);
    const a = Number((await one(`INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, 'LS-7', $2) RETURNING id`, [org, p])).id);
    const m = Number((await one(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number, zones) VALUES ('apartment', $1, $2, 'electricity', 'EL-7', 2) RETURNING id`, [b, p])).id);
    await expect(computePeriod(opened.db, b, '2026-01-01')).resolves.toMatchObject({ lines: 0 }); // no tariff: nothing billable
    await opened.db.query(`INSERT INTO billing_tariffs (org_id, resource, valid_from, tariff) VALUES ($1, 'electricity', '2025-01-01', '{"kind":"zones","prices":[6.43,3.12]}')`, [org]);
    // No readings and no norm: the error names the account and what is missing.
    await expect(computePeriod(opened.db, b, '2026-01-01')).rejects.toThrow(new RegExp(`account ${a}: no norm for electricity`));
    for (const [q, v0, v1] of [['energy_t1_kwh', 1000, 1150], ['energy_t2_kwh', 500, 560]] as const) {
      await opened.db.query(`INSERT INTO readings (meter_id, time, quantity, value, unit, source) VALUES ($1, '2026-01-01T00:00:00Z', $2, $3, 'kWh', 'telemetry'), ($1, '2026-02-01T00:00:00Z', $2, $4, 'kWh', 'telemetry')`, [m, q, v0, v1]);
    }
    await computePeriod(opened.db, b, '2026-01-01');
    const [l] = await lines('2026-01-01', b);
    // Day 150 kWh × 6.43 = 964.50 ₽; night 60 kWh × 3.12 = 187.20 ₽.
    expect(l.parts.map((x) => [x.label, x.quantity, x.amount])).toEqual([['T1', 150, 96450], ['T2', 60, 18720]]);
    expect([l.method, l.quantity, l.amount]).toEqual(['measured', 210, 96450 + 18720]);
  });
});

describe('common-house volume (ОДН)', () => {
  it('ОДПУ − Σ ИПУ − non-residential, shared by area, capped by norm × common area', async () => {
    const org = Number((await one(`INSERT INTO organisations (name) VALUES ('УК Дом') RETURNING id`)).id);
    const b = Number((await one(`INSERT INTO buildings (org_id, address, timezone, common_area_m2) VALUES ($1, 'ул. Дома, 5', 'UTC', 100) RETURNING id`, [org])).id);
    const mk = async (placement: string, premise: number | null, serial: string) =>
      Number((await one(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number) VALUES ($1, $2, $3, 'cold_water', $4) RETURNING id`, [placement, b, premise, serial])).id);
    const acc: number[] = [];
    const ipu: number[] = [];
    for (const [n, area] of [['1', 40], ['2', 60]] as const) {
      const p = Number((await one(`INSERT INTO premises (building_id, number, residents, area_m2) VALUES ($1, $2, 1, $3) RETURNING id`, [b, n, area])).id);
      acc.push(Number((await one(`INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, $2, $3) RETURNING id`, [org, `LS-D${n}`, p])).id));
      ipu.push(await mk('apartment', p, `D-CW-${n}`));
    }
    const shop = Number((await one(`INSERT INTO premises (building_id, number, kind, area_m2) VALUES ($1, 'Н-1', 'non_residential', 30) RETURNING id`, [b])).id);
    const nr = await mk('non_residential', shop, 'D-CW-N1');
    const odpu = await mk('building', null, 'D-ODPU');
    await opened.db.query(`INSERT INTO billing_tariffs (org_id, resource, valid_from, tariff) VALUES ($1, 'cold_water', '2025-01-01', '{"kind":"single","price":50}')`, [org]);
    // ОДПУ 30, apartments 10 + 12, shop 3 → common-house 5 m³, shared 40:60 → 2 and 3 m³ (no cap yet).
    for (const [m, v0, v1] of [[odpu, 0, 30], [ipu[0], 0, 10], [ipu[1], 0, 12], [nr, 0, 3]]) {
      await reading(m, '2026-01-01T00:00:00Z', v0);
      await reading(m, '2026-02-01T00:00:00Z', v1);
    }
    const r = await computePeriod(opened.db, b, '2026-01-01');
    expect(r.commonHouse[0]).toMatchObject({ buildingConsumption: 30, apartmentsConsumption: 22, nonResidentialConsumption: 3, volume: 5, billedVolume: 5, excessOverCap: 0, negative: false });
    const ch = (await lines('2026-01-01', b)).filter((l) => l.method === 'common_house');
    // Shared over ALL premises, 40 + 60 + 30 = 130 m² (formula 10): 5 × 40/130 = 1.538 46… m³ × 50 =
    // 76.92 ₽; 5 × 60/130 = 2.307 69… m³ × 50 = 115.38 ₽. The shop's 5 × 30/130 = 1.153 8 m³ has no
    // account here: not billed, and not moved onto the flats.
    expect(ch.map((l) => [Number(l.accountId), l.amount])).toEqual([[acc[0], 7692], [acc[1], 11538]]);
    expect(ch[0].quantity).toBe(1.538462); // 1.538 461 5… half up to 6 decimals, as billed
    expect(r.commonHouse[0].withoutAccountVolume).toBe(1.153846); // 1.153 846 1…
    // Norm 0.03 m³ per m² × 100 m² common area = cap of 3 m³, per premise 3 × Sᵢ/130: flat 1 0.923 08 m³
    // (46.15 ₽), flat 2 1.384 62 m³ (69.23 ₽); 2 m³ in all is excess.
    await opened.db.query(`INSERT INTO billing_norms (org_id, resource, basis, valid_from, per_resident) VALUES ($1, 'cold_water', 'common_area_m2', '2025-01-01', 0.03)`, [org]);
    const capped = await computePeriod(opened.db, b, '2026-01-01');
    // Σ of the premises' capped shares, each rounded to 6 decimals: 0.923077 + 1.384615 + 0.692308 = 3.
    expect(capped.commonHouse[0].billedVolume).toBe(3);
    expect(capped.commonHouse[0].excessOverCap).toBe(2);
    const ch2 = (await lines('2026-01-01', b)).filter((l) => l.method === 'common_house');
    expect(ch2.map((l) => l.amount)).toEqual([4615, 6923]);
    expect(ch2[0].quantity).toBe(0.923077); // 0.923 076 9…
  });
});

describe('history after a recalculation', () => {
  it('the next month\'s average and its count of average periods follow the recalculated month, not the original', async () => {
    const org = Number((await one(`INSERT INTO organisations (name) VALUES ('УК История') RETURNING id`)).id);
    const b = Number((await one(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, 'ул. Истории, 9', 'UTC') RETURNING id`, [org])).id);
    const p = Number((await one(`INSERT INTO premises (building_id, number, residents, area_m2) VALUES ($1, '1', 2, 50) RETURNING id`, [b])).id);
    await opened.db.query(`INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, 'LS-H1', $2)`, [org, p]);
    const m = Number((await one(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number) VALUES ('apartment', $1, $2, 'cold_water', 'CW-H1') RETURNING id`, [b, p])).id);
    await opened.db.query(`INSERT INTO billing_tariffs (org_id, resource, valid_from, tariff) VALUES ($1, 'cold_water', '2025-01-01', '{"kind":"single","price":50}')`, [org]);
    await opened.db.query(`INSERT INTO billing_norms (org_id, resource, valid_from, per_resident) VALUES ($1, 'cold_water', '2025-01-01', 4.5)`, [org]);
    // The average may stand in for one period only: a month wrongly counted as "by average" would force the norm.
    await opened.db.query(`INSERT INTO billing_rules (org_id, effective_from, rules) VALUES ($1, '2025-01-01', '{"averageMaxPeriods":1}')`, [org]);
    // June–August measured 6, 9, 12 m³; no reading for September's end yet.
    for (const [d, v] of [['2025-06-01', 0], ['2025-07-01', 6], ['2025-08-01', 15], ['2025-09-01', 27]] as const) await reading(m, `${d}T00:00:00Z`, v);
    for (const mo of ['2025-06-01', '2025-07-01', '2025-08-01', '2025-09-01']) await computePeriod(opened.db, b, mo);
    expect((await lines('2025-09-01', b)).map((l) => [l.method, l.quantity])).toEqual([['average', 9]]);
    await closePeriod(opened.db, org, '2025-09-01', 'test');
    // The late reading: 30 on 1 October → September measured 3 m³, booked as a recalculation in October.
    await reading(m, '2025-10-01T00:00:00Z', 30);
    expect((await recalculateClosed(opened.db, b, '2025-09-01')).lines).toBe(2);
    // October has no reading at its end: the average of 6, 9, 12 and the recalculated 3 = 7.5 m³ (375 ₽),
    // and September no longer counts as an average period, so the average may still be used.
    await computePeriod(opened.db, b, '2025-10-01');
    const oct = (await lines('2025-10-01', b)).filter((l) => l.kind === 'regular');
    expect(oct.map((l) => [l.method, l.quantity, l.amount])).toEqual([['average', 7.5, 37500]]);
    expect(oct[0].note).toMatch(/average of 4 months/);
  });
});
