/**
 * The store side of the one consumption function on a real embedded database: the imbalance report
 * and billing read a rolled-over register the same way (+6 m³), and a drop that is no plausible
 * rollover is no value in the imbalance report rather than a negative one; rejected versions never
 * count. Expected values by hand in the comments; fixed dates.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { OpenedDb } from '../../src/db/index.js';
import { openTestDb } from '../engine.js';
import { computeBuildingImbalance } from '../../src/imbalance/index.js';
import { loadPointConsumption } from '../../src/readings/consumption-store.js';

let opened: OpenedDb;
let org = 0;

async function one<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T> {
  return (await opened.db.query(sql, params)).rows[0] as T;
}
async function reading(meterId: number, iso: string, value: number, source = 'telemetry', version = 1) {
  await opened.db.query(`INSERT INTO readings (meter_id, time, quantity, value, unit, source, version) VALUES ($1, $2, 'volume_m3', $3, 'm3', $4, $5)`, [meterId, iso, value, source, version]);
}
/** A UTC building with a hot-water ОДПУ and one flat's 5-digit hot-water meter. */
async function building(name: string) {
  const b = Number((await one(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, $2, 'UTC') RETURNING id`, [org, name])).id);
  const p = Number((await one(`INSERT INTO premises (building_id, number, residents, area_m2) VALUES ($1, '1', 2, 50) RETURNING id`, [b])).id);
  const odpu = Number((await one(`INSERT INTO meters (placement, building_id, resource, serial_number, register_digits) VALUES ('building', $1, 'hot_water', $2, 8) RETURNING id`, [b, `ODPU-${name}`])).id);
  const m = Number((await one(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number, register_digits) VALUES ('apartment', $1, $2, 'hot_water', $3, 5) RETURNING id`, [b, p, `HW-${name}`])).id);
  await reading(odpu, '2026-11-01T00:00:00Z', 1_000);
  await reading(odpu, '2026-12-01T00:00:00Z', 1_004);
  return { b, odpu, m };
}
const nov = { start: new Date('2026-11-01T00:00:00Z'), end: new Date('2026-12-01T00:00:00Z') };

beforeAll(async () => {
  opened = await openTestDb();
  org = Number((await one(`INSERT INTO organisations (name) VALUES ('УК Запад') RETURNING id`)).id);
}, 120_000);
afterAll(async () => { await opened?.close(); });

describe('one consumption for imbalance and billing', () => {
  it('a 5-digit rollover 99 996.5 → 2.5 is 6 m³ in both; the imbalance is 4 − 6 = −2 m³', async () => {
    const { b, m } = await building('Roll');
    // Telemetry, so both interpolate to the bounds: readings at Oct 1, Nov 1 and Dec 1.
    await reading(m, '2026-10-01T00:00:00Z', 99_990);
    await reading(m, '2026-11-01T00:00:00Z', 99_996.5);
    await reading(m, '2026-12-01T00:00:00Z', 2.5);
    const billing = (await loadPointConsumption(opened.db, { meterIds: [m], quantities: ['volume_m3'], period: nov })).registers.volume_m3;
    expect(billing).toMatchObject({ status: 'measured', via: 'rollover' });
    expect(billing.status === 'measured' && billing.quantity).toBeCloseTo(6, 9);
    const { report } = await computeBuildingImbalance(opened.db, b, 'hot_water', 'month', nov.start);
    expect(report.apartmentsConsumption).toBeCloseTo(6, 9);
    expect(report.buildingConsumption).toBe(4);
    expect(report.imbalance).toBeCloseTo(-2, 9);
  });

  it('5 000 → 10 with a usual 5 m³/month: no value in either, never −4 990', async () => {
    const { b, m } = await building('Drop');
    // Oct 1 4 995, Nov 1 5 000 (5 m³/month), Dec 1 10: "rollover" would be 95 010 m³.
    await reading(m, '2026-10-01T00:00:00Z', 4_995);
    await reading(m, '2026-11-01T00:00:00Z', 5_000);
    await reading(m, '2026-12-01T00:00:00Z', 10);
    const billing = (await loadPointConsumption(opened.db, { meterIds: [m], quantities: ['volume_m3'], period: nov })).registers.volume_m3;
    expect(billing.status).toBe('implausible_drop');
    const { report } = await computeBuildingImbalance(opened.db, b, 'hot_water', 'month', nov.start);
    const flat = report.meters.find((x) => x.meterId === m)!;
    expect(flat.consumption).toBeNull();
    expect(report.apartmentsConsumption).toBe(0);
  });

  it("a version rejected on review does not count; the resident's own version does not outrank telemetry", async () => {
    const { m } = await building('Prov');
    await reading(m, '2026-11-01T00:00:00Z', 100);
    await reading(m, '2026-12-01T00:00:00Z', 107);
    // A staff correction of Dec 1 to 170 (a typo), rejected on review; a resident's later version 150.
    await reading(m, '2026-12-01T00:00:00Z', 170, 'staff', 2);
    await opened.db.query(`INSERT INTO reading_reviews (meter_id, quantity, time, version, decision, reason, reviewed_by) VALUES ($1, 'volume_m3', '2026-12-01T00:00:00Z', 2, 'reject', 'typo', 'test')`, [m]);
    await reading(m, '2026-12-01T00:00:00Z', 150, 'resident', 3);
    // What counts at Dec 1 is the telemetry 107: November = 107 − 100 = 7.
    const x = (await loadPointConsumption(opened.db, { meterIds: [m], quantities: ['volume_m3'], period: nov })).registers.volume_m3;
    expect(x.status === 'measured' && x.quantity).toBe(7);
  });
});
