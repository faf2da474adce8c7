/**
 * imbalance_reports rows ↔ StoredImbalanceReport, and the upsert that returns the replaced report.
 * Callers pass the transaction handle for the upsert.
 */
import type { Resource } from '@amr/protocols';
import type { Queryable } from '../db/types.js';
import { ImbalanceThresholds } from '../vee/index.js';
import type { ImbalanceMeterValue, PeriodKind, StoredImbalanceReport, StoredImbalanceStatus } from './types.js';

export interface ReportRow {
  building_id: string | number;
  resource: string;
  period_kind: string;
  period_start: Date | string;
  period_end: Date | string;
  building_consumption: number | null;
  apartments_consumption: number;
  other_consumption: number;
  imbalance: number | null;
  imbalance_pct: number | null;
  coverage: number;
  apartments_total: number;
  apartments_actual: number;
  status: string;
  thresholds: unknown;
  meters: unknown;
  computed_at: Date | string;
}

export const REPORT_COLUMNS = `building_id, resource, period_kind, period_start, period_end, building_consumption, apartments_consumption,
  other_consumption, imbalance, imbalance_pct, coverage, apartments_total, apartments_actual, status, thresholds, meters, computed_at`;

/** Thresholds are stored in the API's snake_case (as in imbalance_thresholds) and read back either way. */
export function thresholdsToJson(t: ImbalanceThresholds): Record<string, number> {
  return { high_loss_pct: t.highLossPct, negative_pct: t.negativePct, min_coverage: t.minCoverage };
}

export function thresholdsFromJson(j: unknown): ImbalanceThresholds {
  const o = (j ?? {}) as Record<string, unknown>;
  return ImbalanceThresholds.parse({
    highLossPct: o.high_loss_pct ?? o.highLossPct,
    negativePct: o.negative_pct ?? o.negativePct,
    minCoverage: o.min_coverage ?? o.minCoverage,
  });
}

export function rowToReport(r: ReportRow): StoredImbalanceReport {
  return {
    buildingId: Number(r.building_id),
    resource: r.resource as Resource,
    periodKind: r.period_kind as PeriodKind,
    periodStart: new Date(r.period_start),
    periodEnd: new Date(r.period_end),
    buildingConsumption: r.building_consumption,
    apartmentsConsumption: r.apartments_consumption,
    otherConsumption: r.other_consumption,
    imbalance: r.imbalance,
    imbalancePct: r.imbalance_pct,
    coverage: r.coverage,
    apartmentsTotal: r.apartments_total,
    apartmentsActual: r.apartments_actual,
    status: r.status as StoredImbalanceStatus,
    thresholds: thresholdsFromJson(r.thresholds),
    meters: (r.meters ?? []) as ImbalanceMeterValue[],
    computedAt: new Date(r.computed_at),
  };
}

/** Replaces the report of its key; returns the stored one and the one it replaced. */
export async function upsertReport(q: Queryable, r: Omit<StoredImbalanceReport, 'computedAt'>): Promise<{ report: StoredImbalanceReport; previous: StoredImbalanceReport | null }> {
  const key = [r.buildingId, r.resource, r.periodKind, r.periodStart];
  const prev = (await q.query<ReportRow>(
    `SELECT ${REPORT_COLUMNS} FROM imbalance_reports WHERE building_id = $1 AND resource = $2 AND period_kind = $3 AND period_start = $4 FOR UPDATE`, key)).rows[0];
  const { rows } = await q.query<ReportRow>(
    `INSERT INTO imbalance_reports (building_id, resource, period_kind, period_start, period_end, building_consumption, apartments_consumption,
       other_consumption, imbalance, imbalance_pct, coverage, apartments_total, apartments_actual, status, thresholds, meters, computed_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15::jsonb,$16::jsonb, clock_timestamp())
     ON CONFLICT (building_id, resource, period_kind, period_start) DO UPDATE SET
       period_end = EXCLUDED.period_end, building_consumption = EXCLUDED.building_consumption,
       apartments_consumption = EXCLUDED.apartments_consumption, other_consumption = EXCLUDED.other_consumption,
       imbalance = EXCLUDED.imbalance, imbalance_pct = EXCLUDED.imbalance_pct, coverage = EXCLUDED.coverage,
       apartments_total = EXCLUDED.apartments_total, apartments_actual = EXCLUDED.apartments_actual, status = EXCLUDED.status,
       thresholds = EXCLUDED.thresholds, meters = EXCLUDED.meters, computed_at = EXCLUDED.computed_at
     RETURNING ${REPORT_COLUMNS}`,
    [...key, r.periodEnd, r.buildingConsumption, r.apartmentsConsumption, r.otherConsumption, r.imbalance, r.imbalancePct, r.coverage,
      r.apartmentsTotal, r.apartmentsActual, r.status, JSON.stringify(thresholdsToJson(r.thresholds)), JSON.stringify(r.meters)],
  );
  return { report: rowToReport(rows[0]), previous: prev ? rowToReport(prev) : null };
}
