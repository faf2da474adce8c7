/**
 * computeBuildingImbalance on a real embedded PGlite-TimescaleDB: hand-computed examples with
 * 15-minute ОДПУ telemetry and monthly manual ИПУ readings, replacement, rollover, rejected and
 * invalid readings, threshold overrides, building time zones, and the report hook.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenedDb } from '../../src/db/index.js';
import { openTestDb } from '../engine.js';
import { computeBuildingImbalance, ImbalanceError, rejudgeReports, type StoredImbalanceReport } from '../../src/imbalance/index.js';
import * as f from './fixtures.js';

let opened: OpenedDb;
let orgId: number;
const JAN = new Date(f.JAN_START);

beforeAll(async () => {
  opened = await openTestDb();
  orgId = await f.org(opened.db);
}, 120_000);

afterAll(async () => {
  await opened?.close();
});

const compute = (b: number, kind: 'month' | 'day' = 'month', at = JAN, opts = {}) => computeBuildingImbalance(opened.db, b, 'cold_water', kind, at, opts);

describe('computeBuildingImbalance', () => {
  it('hand-computed month: ОДПУ 15-min telemetry 0.035 m³/h, three ИПУ, a common-area meter; meters out of service left out', async () => {
    const q = opened.db;
    const { b, odpu } = await f.buildingWithOdpu(q, orgId, 0.00875);
    const [a1, a2, a3] = await f.threeApartments(q, b);
    const common = await f.meter(q, b, { placement: 'common_area' });
    await f.readings(q, common, [[f.JAN_START, 50], [f.JAN_END, 51.04]]);
    // Installed after January, and removed before it: neither is part of January.
    const later = await f.meter(q, b, { placement: 'apartment', installedOn: '2026-02-10' });
    await f.readings(q, later, [['2026-02-10T09:00:00Z', 0]]);
    const gone = await f.meter(q, b, { placement: 'apartment', status: 'removed', decommissionedOn: '2025-12-05' });
    await f.readings(q, gone, [['2025-12-01T09:00:00Z', 5]]);

    const { report, previous } = await compute(b);
    expect(previous).toBeNull();
    expect(report.periodStart.toISOString()).toBe('2025-12-31T21:00:00.000Z');
    expect(report.periodEnd.toISOString()).toBe('2026-01-31T21:00:00.000Z');
    // ОДПУ: 0.035 m³/h × 744 h = 26.04; Σ ИПУ 10 + 6.2 + 8 = 24.2; other 1.04; imbalance 0.8.
    expect(report.buildingConsumption).toBeCloseTo(0.035 * f.JAN_HOURS, 9);
    expect(report.apartmentsConsumption).toBeCloseTo(24.2, 9);
    expect(report.otherConsumption).toBeCloseTo(1.04, 9);
    expect(report.imbalance).toBeCloseTo(26.04 - 24.2 - 1.04, 9);
    expect(report.imbalancePct).toBeCloseTo((0.8 / 26.04) * 100, 9);
    expect(report.status).toBe('ok');
    expect(report.coverage).toBe(1);
    expect([report.apartmentsTotal, report.apartmentsActual]).toEqual([3, 3]);
    expect(report.thresholds).toEqual({ highLossPct: 10, negativePct: 2, minCoverage: 0.8 });
    const byId = new Map(report.meters.map((m) => [m.meterId, m]));
    expect(byId.get(odpu)).toMatchObject({ placement: 'building', method: 'measured', flagged: false });
    expect(byId.get(a1)).toMatchObject({ placement: 'apartment', method: 'measured' });
    expect(byId.get(a1)!.consumption).toBeCloseTo(10, 9);
    expect(byId.get(a2)).toMatchObject({ method: 'interpolated', startMethod: 'interpolated', endMethod: 'interpolated' });
    expect(byId.get(a2)!.consumption).toBeCloseTo(209.2 - 203, 9);
    expect(byId.get(a3)!.consumption).toBeCloseTo(8, 9);
    expect(byId.get(common)).toMatchObject({ placement: 'common_area' });
    expect(byId.has(later)).toBe(false);
    expect(byId.has(gone)).toBe(false);

    // Stored: one row, the same numbers.
    const row = (await q.query('SELECT status, imbalance_pct, meters FROM imbalance_reports WHERE building_id = $1', [b])).rows;
    expect(row).toHaveLength(1);
    expect(row[0].status).toBe('ok');
    expect(row[0].imbalance_pct).toBeCloseTo((0.8 / 26.04) * 100, 9);
    expect(row[0].meters).toHaveLength(5);
  });

  it('a 12 % loss is high_loss', async () => {
    const { b } = await f.buildingWithOdpu(opened.db, orgId, 0.00925); // 0.037 m³/h → 27.528
    await f.threeApartments(opened.db, b);
    const { report } = await compute(b);
    expect(report.buildingConsumption).toBeCloseTo(27.528, 9);
    expect(report.imbalance).toBeCloseTo(27.528 - f.SUM_IPU, 9);
    expect(report.imbalancePct).toBeCloseTo(((27.528 - 24.2) / 27.528) * 100, 9);
    expect(report.imbalancePct!).toBeGreaterThan(12);
    expect(report.status).toBe('high_loss');
  });

  it('ОДПУ below Σ ИПУ is negative_imbalance', async () => {
    const { b } = await f.buildingWithOdpu(opened.db, orgId, 0.0075); // 0.03 m³/h → 22.32
    await f.threeApartments(opened.db, b);
    const { report } = await compute(b);
    expect(report.buildingConsumption).toBeCloseTo(22.32, 9);
    expect(report.imbalance).toBeCloseTo(22.32 - 24.2, 9);
    expect(report.imbalancePct).toBeCloseTo((-1.88 / 22.32) * 100, 9);
    expect(report.status).toBe('negative_imbalance');
  });

  it('apartments without readings lower the coverage: insufficient_data below min_coverage', async () => {
    const { b } = await f.buildingWithOdpu(opened.db, orgId, 0.00875);
    await f.threeApartments(opened.db, b);
    const silent = await f.meter(opened.db, b, { placement: 'apartment' });
    const stale = await f.meter(opened.db, b, { placement: 'apartment' });
    await f.readings(opened.db, stale, [['2025-10-01T09:00:00Z', 40]]); // far before the month: no value
    const { report } = await compute(b);
    expect([report.apartmentsTotal, report.apartmentsActual]).toEqual([5, 3]);
    expect(report.coverage).toBeCloseTo(0.6, 12);
    expect(report.status).toBe('insufficient_data');
    expect(report.apartmentsConsumption).toBeCloseTo(24.2, 9);
    const byId = new Map(report.meters.map((m) => [m.meterId, m]));
    expect(byId.get(silent)).toMatchObject({ consumption: null, method: null });
    expect(byId.get(stale)).toMatchObject({ consumption: null, method: null });
  });

  it('an apartment meter replaced mid-month is one metering point: (removal − first) + (last − installation)', async () => {
    const q = opened.db;
    const { b } = await f.buildingWithOdpu(q, orgId, 0.00875);
    const a1 = await f.meter(q, b, { placement: 'apartment' });
    await f.readings(q, a1, [[f.JAN_START, 100], [f.JAN_END, 110]]);
    const old = await f.meter(q, b, { placement: 'apartment', registerDigits: 5, status: 'removed', decommissionedOn: '2026-01-10' });
    const neu = await f.meter(q, b, { placement: 'apartment', registerDigits: 5, installedOn: '2026-01-10' });
    const at = '2026-01-10T21:00:00Z';
    await f.readings(q, old, [[f.JAN_START, 100], [at, 104]]); // removal reading, as the API stores it
    await f.readings(q, neu, [[at, 0], [f.JAN_END, 7]]); // installation reading, then end of month
    await q.query(`INSERT INTO meter_replacements (old_meter_id, new_meter_id, replaced_at, removal_reading, installation_reading) VALUES ($1, $2, $3, 104, 0)`, [old, neu, at]);
    const { report } = await compute(b);
    expect([report.apartmentsTotal, report.apartmentsActual]).toEqual([2, 2]);
    const point = report.meters.find((m) => m.meterId === neu)!;
    expect(point).toMatchObject({ placement: 'apartment', replacedMeterIds: [old], method: 'measured', flagged: false });
    expect(point.consumption).toBeCloseTo(4 + 7, 9);
    expect(report.meters.some((m) => m.meterId === old)).toBe(false);
    expect(report.apartmentsConsumption).toBeCloseTo(10 + 11, 9);
  });

  it('a meter installed during the month counts from its first reading, one removed without a successor up to its last', async () => {
    const q = opened.db;
    const { b } = await f.buildingWithOdpu(q, orgId, 0.00875);
    const fresh = await f.meter(q, b, { placement: 'apartment', installedOn: '2026-01-10' });
    await f.readings(q, fresh, [['2026-01-10T09:00:00Z', 0], [f.JAN_END, 5]]);
    const gone = await f.meter(q, b, { placement: 'apartment', status: 'removed', decommissionedOn: '2026-01-20' });
    await f.readings(q, gone, [[f.JAN_START, 10], ['2026-01-20T08:00:00Z', 13]]);
    const { report } = await compute(b);
    const byId = new Map(report.meters.map((m) => [m.meterId, m]));
    expect(byId.get(fresh)).toMatchObject({ consumption: 5, method: 'measured' });
    expect(byId.get(gone)).toMatchObject({ consumption: 3, method: 'measured' });
    expect([report.apartmentsTotal, report.apartmentsActual]).toEqual([2, 2]);
    expect(report.apartmentsConsumption).toBeCloseTo(8, 12);
  });

  it('a register rollover counts the wrapped consumption, flagged while its suspect verdict is not accepted', async () => {
    const q = opened.db;
    const { b } = await f.buildingWithOdpu(q, orgId, 0.00875);
    const m = await f.meter(q, b, { placement: 'apartment', registerDigits: 4 });
    await f.readings(q, m, [[f.JAN_START, 9995], [f.JAN_END, 3]]);
    await f.verdict(q, m, f.JAN_END, 'suspect');
    const first = (await compute(b)).report.meters.find((x) => x.meterId === m)!;
    expect(first.consumption).toBeCloseTo(10_000 - 9995 + 3, 9);
    expect(first.flagged).toBe(true);
    await f.review(q, m, f.JAN_END, 'accept', '2026-02-02T10:00:00Z');
    const second = (await compute(b)).report.meters.find((x) => x.meterId === m)!;
    expect(second.consumption).toBeCloseTo(8, 9);
    expect(second.flagged).toBe(false);
  });

  it('ОДПУ telemetry rolling over several times a month: only the readings that matter are fetched, the value is as from all of them', async () => {
    const q = opened.db;
    const b = await f.building(q, orgId);
    const odpu = await f.meter(q, b, { placement: 'building', registerDigits: 2 });
    // 90 + 0.1 per 15 min on a 2-digit register: 0.4 m³/h, wrapping at 100 about every 10 days.
    await q.query(
      `INSERT INTO readings (meter_id, time, quantity, value, unit, source)
       SELECT $1, t, 'volume_m3', ((90 + 0.1 * (extract(epoch FROM t - timestamptz '2025-12-25T00:00:00Z') / 900))::numeric % 100)::float8, 'm3', 'telemetry'
         FROM generate_series(timestamptz '2025-12-25T00:00:00Z', timestamptz '2026-02-05T00:00:00Z', interval '15 minutes') t`, [odpu]);
    const mid = '2026-01-20T10:15:00Z';
    await f.verdict(q, odpu, mid, 'suspect');
    const { report } = await compute(b);
    const v = report.meters.find((m) => m.meterId === odpu)!;
    expect(v.consumption).toBeCloseTo(0.4 * f.JAN_HOURS, 6); // three wraps, each seen between two fetched readings
    expect(v).toMatchObject({ method: 'measured', flagged: true });
    expect(v.readings).toBeGreaterThan(f.JAN_HOURS * 4); // every usable reading of the month was considered
  });

  it('uses the current version, leaves out rejected readings (latest review wins) and unaccepted invalid ones', async () => {
    const q = opened.db;
    const { b } = await f.buildingWithOdpu(q, orgId, 0.00875);
    // Rejected end reading: the end is interpolated between Dec 31 (100) and Feb 15 (116), 31 of 46 days.
    const g1 = await f.meter(q, b, { placement: 'apartment' });
    await f.readings(q, g1, [[f.JAN_START, 100], [f.JAN_END, 500], ['2026-02-15T21:00:00Z', 116]]);
    await f.review(q, g1, f.JAN_END, 'accept', '2026-02-01T10:00:00Z');
    await f.review(q, g1, f.JAN_END, 'reject', '2026-02-01T11:00:00Z');
    // Invalid (a spike at the end bound) and not accepted: left out, the end is interpolated towards Feb 15 (223).
    const g2 = await f.meter(q, b, { placement: 'apartment' });
    await f.readings(q, g2, [[f.JAN_START, 200], [f.JAN_END, 999], ['2026-02-15T21:00:00Z', 223]]);
    await f.verdict(q, g2, f.JAN_END, 'invalid');
    // A correction (version 2) replaces the wrong value for the instant.
    const g3 = await f.meter(q, b, { placement: 'apartment' });
    await f.readings(q, g3, [[f.JAN_START, 300], [f.JAN_END, 999]]);
    await f.readings(q, g3, [[f.JAN_END, 312]], { version: 2 });

    const { report } = await compute(b);
    const byId = new Map(report.meters.map((m) => [m.meterId, m]));
    expect(byId.get(g1)!.consumption).toBeCloseTo((16 * 31) / 46, 9);
    expect(byId.get(g1)!.method).toBe('interpolated');
    expect(byId.get(g2)!.consumption).toBeCloseTo((23 * 31) / 46, 9);
    expect(byId.get(g2)).toMatchObject({ method: 'interpolated', flagged: false });
    expect(byId.get(g3)!.consumption).toBeCloseTo(12, 9);

    // An engineer accepts the invalid reading: it counts again, measured and not flagged.
    await f.review(q, g2, f.JAN_END, 'accept', '2026-02-03T10:00:00Z');
    const again = (await compute(b)).report.meters.find((m) => m.meterId === g2)!;
    expect(again.consumption).toBeCloseTo(799, 9);
    expect(again).toMatchObject({ method: 'measured', flagged: false });
  });

  it('month bounds follow the building time zone (Yekaterinburg UTC+5 vs Moscow UTC+3)', async () => {
    const { b } = await f.buildingWithOdpu(opened.db, orgId, 0.00875, 'Asia/Yekaterinburg');
    const { report } = await compute(b, 'month', new Date('2026-01-15T00:00:00Z'));
    expect(report.periodStart.toISOString()).toBe('2025-12-31T19:00:00.000Z');
    expect(report.periodEnd.toISOString()).toBe('2026-01-31T19:00:00.000Z');
    expect(report.buildingConsumption).toBeCloseTo(26.04, 9);
    // An instant on Jan 31 20:00Z is already February in Yekaterinburg, still January in Moscow.
    const feb = await compute(b, 'month', new Date('2026-01-31T20:00:00Z'));
    expect(feb.report.periodStart.toISOString()).toBe('2026-01-31T19:00:00.000Z');
    const msk = await f.buildingWithOdpu(opened.db, orgId, 0.00875);
    const jan = await compute(msk.b, 'month', new Date('2026-01-31T20:00:00Z'));
    expect(jan.report.periodStart.toISOString()).toBe('2025-12-31T21:00:00.000Z');
  });

  it('day reports only where apartment meters are telemetered; Moscow day bounds', async () => {
    const q = opened.db;
    const manual = await f.buildingWithOdpu(q, orgId, 0.00875);
    await f.threeApartments(q, manual.b);
    const err = await compute(manual.b, 'day', new Date('2026-01-15T12:00:00Z')).catch((e) => e);
    expect(err).toBeInstanceOf(ImbalanceError);
    expect((err as ImbalanceError).code).toBe('kind_not_applicable');

    const tele = await f.buildingWithOdpu(q, orgId, 0.00875);
    const apt = await f.meter(q, tele.b, { placement: 'apartment', remote: true });
    await f.telemetry(q, apt, '2026-01-10T00:00:00Z', '2026-01-20T00:00:00Z', 10, 0.005); // 0.02 m³/h
    const { report } = await compute(tele.b, 'day', new Date('2026-01-15T12:00:00Z'));
    expect(report.periodKind).toBe('day');
    expect(report.periodStart.toISOString()).toBe('2026-01-14T21:00:00.000Z');
    expect(report.periodEnd.toISOString()).toBe('2026-01-15T21:00:00.000Z');
    expect(report.buildingConsumption).toBeCloseTo(0.035 * 24, 9);
    expect(report.apartmentsConsumption).toBeCloseTo(0.02 * 24, 9);
    expect(report.imbalancePct).toBeCloseTo(((0.84 - 0.48) / 0.84) * 100, 9);
    expect(report.status).toBe('high_loss');
  });

  it('calls onReport after commit with the report it replaced', async () => {
    const { b } = await f.buildingWithOdpu(opened.db, orgId, 0.00875);
    await f.threeApartments(opened.db, b);
    const calls: Array<[StoredImbalanceReport, StoredImbalanceReport | null, number]> = [];
    const onReport = async (r: StoredImbalanceReport, p: StoredImbalanceReport | null) => {
      // After commit: the pool sees the stored row (a call inside the transaction would deadlock here).
      const n = (await opened.db.query('SELECT count(*)::int AS n FROM imbalance_reports WHERE building_id = $1', [b])).rows[0].n;
      calls.push([r, p, n]);
    };
    const first = await compute(b, 'month', JAN, { onReport });
    await f.readings(opened.db, (await opened.db.query(`SELECT id FROM meters WHERE building_id = $1 AND placement = 'apartment' ORDER BY id LIMIT 1`, [b])).rows[0].id,
      [[f.JAN_END, 111]], { version: 2 });
    const second = await compute(b, 'month', JAN, { onReport });
    expect(calls).toHaveLength(2);
    expect(calls[0][1]).toBeNull();
    expect(calls[0][2]).toBe(1);
    expect(calls[1][1]!.computedAt.getTime()).toBe(first.report.computedAt.getTime());
    expect(calls[1][1]!.apartmentsConsumption).toBeCloseTo(24.2, 9);
    expect(calls[1][0].apartmentsConsumption).toBeCloseTo(25.2, 9);
    expect(second.previous!.apartmentsConsumption).toBeCloseTo(24.2, 9);
  });

  it("a building's threshold row overrides the default row, which overrides the built-in defaults", async () => {
    const q = opened.db;
    const loss = await f.buildingWithOdpu(q, orgId, 0.00925); // 12.09 %
    await f.threeApartments(q, loss.b);
    const own = await f.buildingWithOdpu(q, orgId, 0.00875); // 7.07 %
    await f.threeApartments(q, own.b);
    await q.query(`INSERT INTO imbalance_thresholds (building_id, resource, high_loss_pct, negative_pct, min_coverage) VALUES (NULL, 'cold_water', 20, 2, 0.8)`);
    await q.query(`INSERT INTO imbalance_thresholds (building_id, resource, high_loss_pct, negative_pct, min_coverage) VALUES ($1, 'cold_water', 5, 1, 0.5)`, [own.b]);
    try {
      const a = (await compute(loss.b)).report;
      expect(a.status).toBe('ok');
      expect(a.thresholds).toEqual({ highLossPct: 20, negativePct: 2, minCoverage: 0.8 });
      const c = (await compute(own.b)).report;
      expect(c.status).toBe('high_loss');
      expect(c.thresholds).toEqual({ highLossPct: 5, negativePct: 1, minCoverage: 0.5 });
    } finally {
      await q.query(`DELETE FROM imbalance_thresholds WHERE resource = 'cold_water'`);
    }
  });

  it('heat billed by area (a building heat meter, no apartment heat meter) is not_applicable: no imbalance, no percentage, whatever the thresholds', async () => {
    const q = opened.db;
    const b = await f.building(q, orgId);
    const odpu = await f.meter(q, b, { placement: 'building', resource: 'heat' });
    // 1 kWh every 15 min: 744 h × 4 = 2 976 kWh in January, all of it charged to the flats by area.
    await f.telemetry(q, odpu, '2025-12-25T00:00:00Z', '2026-02-05T00:00:00Z', 0, 1, 'energy_kwh');
    // Flats with cold-water meters only: they are no apartment side for heat.
    await f.meter(q, b, { placement: 'apartment', resource: 'cold_water' });
    const { report } = await computeBuildingImbalance(q, b, 'heat', 'month', JAN);
    expect(report).toMatchObject({ status: 'not_applicable', imbalance: null, imbalancePct: null, apartmentsTotal: 0 });
    // The building meter's figure is still shown (it is what was billed by area).
    expect(report.buildingConsumption).toBeCloseTo(2976, 6);
    const stored = (await q.query(`SELECT status, imbalance_pct FROM imbalance_reports WHERE building_id = $1 AND resource = 'heat'`, [b])).rows;
    expect(stored).toEqual([{ status: 'not_applicable', imbalance_pct: null }]);
    // A threshold change re-judges stored reports: a not-applicable one stays so (before, 0 apartments
    // against 2 976 kWh would have been a 100 % "loss").
    await q.query(`INSERT INTO imbalance_thresholds (building_id, resource, high_loss_pct, negative_pct, min_coverage) VALUES ($1, 'heat', 1, 1, 0)`, [b]);
    const changed = await rejudgeReports(q, b, 'heat', { highLossPct: 1, negativePct: 1, minCoverage: 0 });
    expect(changed).toEqual([]);
    expect((await q.query(`SELECT status FROM imbalance_reports WHERE building_id = $1 AND resource = 'heat'`, [b])).rows[0].status).toBe('not_applicable');
    // Once a flat gets a heat meter, heat has an apartment side again and is judged as usual.
    const flat = await f.meter(q, b, { placement: 'apartment', resource: 'heat' });
    await f.readings(q, flat, [[f.JAN_START, 0], [f.JAN_END, 2000]], { quantity: 'energy_kwh' });
    const judged = (await computeBuildingImbalance(q, b, 'heat', 'month', JAN)).report;
    // (2 976 − 2 000) / 2 976 = 32.8 % > the building's 1 %.
    expect(judged.status).toBe('high_loss');
    expect(judged.imbalancePct).toBeCloseTo((976 / 2976) * 100, 9);
  });

  it('names a building that does not exist', async () => {
    await expect(compute(999_999)).rejects.toThrow(/building 999999 not found/);
  });
});
