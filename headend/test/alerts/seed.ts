/**
 * Registry rows and imbalance reports for the alert tests, written straight into the database
 * (the imbalance service is another module; here a test plays its part: store a report, call the hook).
 */
import type { Queryable } from '../../src/db/index.js';
import type { StoredImbalanceReport } from '../../src/imbalance/types.js';

let serial = 0;

export async function seedBuilding(q: Queryable): Promise<number> {
  const org = (await q.query(`INSERT INTO organisations (name) VALUES ('УК Тест') RETURNING id`)).rows[0].id;
  return Number((await q.query(`INSERT INTO buildings (org_id, address) VALUES ($1, 'ул. Тестовая, 1') RETURNING id`, [org])).rows[0].id);
}

export async function seedMeter(q: Queryable, buildingId: number, opts: { remote?: boolean; lastSeenAt?: Date | null; createdAt?: Date; status?: string } = {}): Promise<number> {
  const { rows } = await q.query(
    `INSERT INTO meters (placement, building_id, resource, make, serial_number, remote_reading, last_seen_at, created_at, status)
     VALUES ('building', $1, 'heat', 'ТВ7', $2, $3, $4, COALESCE($5, now()), $6) RETURNING id`,
    [buildingId, `SN-${process.pid}-${++serial}`, opts.remote ?? true, opts.lastSeenAt ?? null, opts.createdAt ?? null, opts.status ?? 'active']);
  return Number(rows[0].id);
}

export async function seedGateway(q: Queryable, id: string, buildingId: number | null, opts: { lastSeenAt?: Date | null; createdAt?: Date; status?: string } = {}): Promise<string> {
  await q.query(
    `INSERT INTO gateways (id, name, building_id, last_seen_at, created_at, status) VALUES ($1, $2, $3, $4, COALESCE($5, now()), $6)`,
    [id, `Шлюз ${id}`, buildingId, opts.lastSeenAt ?? null, opts.createdAt ?? null, opts.status ?? 'active']);
  return id;
}

/** A month report as the imbalance service would store it; upserted, returned as the hook receives it. */
export async function storeMonthReport(q: Queryable, buildingId: number, periodStart: Date, periodEnd: Date, status: StoredImbalanceReport['status'], imbalancePct: number | null, resource: StoredImbalanceReport['resource'] = 'heat'): Promise<StoredImbalanceReport> {
  const building = status === 'insufficient_data' ? null : 100;
  const imbalance = imbalancePct === null ? null : imbalancePct;
  const report: StoredImbalanceReport = {
    buildingId, resource, periodKind: 'month', periodStart, periodEnd,
    buildingConsumption: building, apartmentsConsumption: 100 - (imbalance ?? 0), otherConsumption: 0, imbalance, imbalancePct,
    coverage: 1, apartmentsTotal: 1, apartmentsActual: 1, status,
    thresholds: { highLossPct: 10, negativePct: 2, minCoverage: 0.8 },
    meters: [], computedAt: new Date(),
  };
  await q.query(
    `INSERT INTO imbalance_reports (building_id, resource, period_kind, period_start, period_end, building_consumption, apartments_consumption, other_consumption,
       imbalance, imbalance_pct, coverage, apartments_total, apartments_actual, status, thresholds, meters)
     VALUES ($1,$2,'month',$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14::jsonb,'[]'::jsonb)
     ON CONFLICT (building_id, resource, period_kind, period_start) DO UPDATE SET status = EXCLUDED.status, imbalance = EXCLUDED.imbalance,
       imbalance_pct = EXCLUDED.imbalance_pct, building_consumption = EXCLUDED.building_consumption, computed_at = now()`,
    [buildingId, resource, periodStart, periodEnd, report.buildingConsumption, report.apartmentsConsumption, 0, imbalance, imbalancePct, 1, 1, 1, status, JSON.stringify(report.thresholds)]);
  return report;
}
