/**
 * Reading stored imbalance reports for the API: a building's reports over a range, every visible
 * building's reports of one local period, and the helpers that turn the API's local bounds into
 * instants of the building's time zone. Lists are scoped by the caller in SQL.
 */
import type { Resource } from '@amr/protocols';
import { buildingScopeSql, type Principal } from '../auth/index.js';
import type { Queryable } from '../db/types.js';
import { REPORT_COLUMNS, rowToReport, type ReportRow } from './reports.js';
import type { PeriodKind, StoredImbalanceReport } from './types.js';

/** A building's time zone, or null when there is no such building. */
export async function buildingTimezone(q: Queryable, buildingId: number): Promise<string | null> {
  const { rows } = await q.query<{ timezone: string }>('SELECT timezone FROM buildings WHERE id = $1', [buildingId]);
  return rows[0]?.timezone ?? null;
}

/**
 * A bound as an instant: ISO instants as given; a date (YYYY-MM-DD) or month (YYYY-MM) at local
 * midnight of the building. Null when there is no such building.
 */
export async function localInstant(q: Queryable, buildingId: number, bound: string): Promise<Date | null> {
  if (bound.includes('T')) return new Date(bound);
  const lit = bound.length === 7 ? `${bound}-01` : bound;
  const { rows } = await q.query<{ t: Date }>('SELECT ($2::timestamp AT TIME ZONE timezone) AS t FROM buildings WHERE id = $1', [buildingId, lit]);
  return rows[0] ? new Date(rows[0].t) : null;
}

export interface ReportFilter { kind: PeriodKind; resource: Resource | null; from: Date | null; to: Date | null }

/** A building's stored reports of one kind whose periods start in [from, to), by resource and start. */
export async function buildingReports(q: Queryable, buildingId: number, f: ReportFilter): Promise<StoredImbalanceReport[]> {
  const { rows } = await q.query<ReportRow>(
    `SELECT ${REPORT_COLUMNS} FROM imbalance_reports
      WHERE building_id = $1 AND period_kind = $2 AND ($3::text IS NULL OR resource = $3)
        AND ($4::timestamptz IS NULL OR period_start >= $4) AND ($5::timestamptz IS NULL OR period_start < $5)
      ORDER BY resource, period_start LIMIT 5000`,
    [buildingId, f.kind, f.resource, f.from, f.to]);
  return rows.map(rowToReport);
}

export interface BuildingPeriodReports {
  id: number; address: string; city: string | null; timezone: string;
  /** Keyed by resource. */
  reports: Record<string, StoredImbalanceReport>;
}

/**
 * Every building the caller sees, with its stored reports of the period starting at the local
 * timestamp `localStart` ('YYYY-MM-DD HH:MI:SS', each building in its own zone).
 */
export async function reportsOfPeriod(q: Queryable, p: Principal, kind: PeriodKind, localStart: string): Promise<BuildingPeriodReports[]> {
  const params: unknown[] = [kind, localStart];
  const scope = buildingScopeSql(p, 'b.id', params);
  const cols = REPORT_COLUMNS.split(',').map((c) => `r.${c.trim()}`).join(', ');
  const { rows } = await q.query<ReportRow & { b_id: string; address: string; city: string | null; b_timezone: string }>(
    `SELECT b.id AS b_id, b.address, b.city, b.timezone AS b_timezone, ${cols}
       FROM buildings b
       LEFT JOIN imbalance_reports r ON r.building_id = b.id AND r.period_kind = $1 AND r.period_start = ($2::timestamp AT TIME ZONE b.timezone)
      WHERE ${scope}
      ORDER BY b.id, r.resource`, params);
  const out = new Map<number, BuildingPeriodReports>();
  for (const r of rows) {
    const id = Number(r.b_id);
    let b = out.get(id);
    if (!b) out.set(id, (b = { id, address: r.address, city: r.city, timezone: r.b_timezone, reports: {} }));
    // A building without a report of the period comes once, with NULLs from the LEFT JOIN.
    if (r.resource) b.reports[r.resource] = rowToReport(r);
  }
  return [...out.values()];
}

/** The resources a building has building (ОДПУ) meters for: what "recompute every resource" covers. */
export async function buildingMeterResources(q: Queryable, buildingId: number): Promise<Resource[]> {
  const { rows } = await q.query<{ resource: Resource }>(
    `SELECT DISTINCT resource FROM meters WHERE building_id = $1 AND placement = 'building' ORDER BY resource`, [buildingId]);
  return rows.map((r) => r.resource);
}
