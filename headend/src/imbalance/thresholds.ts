/**
 * Imbalance thresholds: a building's own row for a resource wins over the default row (building_id
 * NULL), which wins over the ImbalanceThresholds defaults. Changing a row re-judges the stored
 * reports it governs in the same transaction: status depends only on the stored percentage, coverage
 * and thresholds, so no readings need to be read again.
 */
import type { Resource } from '@amr/protocols';
import type { Queryable } from '../db/types.js';
import { ImbalanceThresholds } from '../vee/index.js';
import { REPORT_COLUMNS, rowToReport, thresholdsFromJson, thresholdsToJson, type ReportRow } from './reports.js';
import type { StoredImbalanceReport } from './types.js';

export interface ThresholdRow {
  id: number;
  building_id: number | null;
  resource: Resource;
  high_loss_pct: number;
  negative_pct: number;
  min_coverage: number;
  updated_by: string | null;
  updated_at: Date;
}

/** From a (possibly all-NULL, LEFT JOINed) imbalance_thresholds row to thresholds with defaults. */
export function thresholdsFromRow(r: { high_loss_pct?: number | null; negative_pct?: number | null; min_coverage?: number | null }): ImbalanceThresholds {
  return ImbalanceThresholds.parse({
    highLossPct: r.high_loss_pct ?? undefined,
    negativePct: r.negative_pct ?? undefined,
    minCoverage: r.min_coverage ?? undefined,
  });
}

// bigint ids may arrive as text.
const toRow = (r: Omit<ThresholdRow, 'id' | 'building_id'> & { id: number | string; building_id: number | string | null }): ThresholdRow => ({ ...r, id: Number(r.id), building_id: r.building_id === null ? null : Number(r.building_id) });

export async function listThresholds(q: Queryable, scopeSql: string, params: unknown[]): Promise<ThresholdRow[]> {
  const { rows } = await q.query(
    `SELECT id, building_id, resource, high_loss_pct, negative_pct, min_coverage, updated_by, updated_at FROM imbalance_thresholds
      WHERE building_id IS NULL OR ${scopeSql} ORDER BY building_id NULLS FIRST, resource`, params);
  return rows.map(toRow);
}

export interface ThresholdInput {
  buildingId: number | null;
  resource: Resource;
  thresholds: ImbalanceThresholds;
  updatedBy: string;
}

/** Inserts or updates the row of (building or default, resource); returns it and the row before. */
export async function upsertThreshold(q: Queryable, t: ThresholdInput): Promise<{ row: ThresholdRow; before: ThresholdRow | null }> {
  const before = (await q.query(
    `SELECT id, building_id, resource, high_loss_pct, negative_pct, min_coverage, updated_by, updated_at FROM imbalance_thresholds
      WHERE COALESCE(building_id, 0) = COALESCE($1::bigint, 0) AND resource = $2 FOR UPDATE`, [t.buildingId, t.resource])).rows[0];
  const { rows } = await q.query(
    `INSERT INTO imbalance_thresholds (building_id, resource, high_loss_pct, negative_pct, min_coverage, updated_by, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, now())
     ON CONFLICT ((COALESCE(building_id, 0)), resource) DO UPDATE SET
       high_loss_pct = EXCLUDED.high_loss_pct, negative_pct = EXCLUDED.negative_pct, min_coverage = EXCLUDED.min_coverage,
       updated_by = EXCLUDED.updated_by, updated_at = now()
     RETURNING id, building_id, resource, high_loss_pct, negative_pct, min_coverage, updated_by, updated_at`,
    [t.buildingId, t.resource, t.thresholds.highLossPct, t.thresholds.negativePct, t.thresholds.minCoverage, t.updatedBy],
  );
  return { row: toRow(rows[0]), before: before ? toRow(before) : null };
}

/**
 * The same verdict as computeImbalance (src/vee/imbalance.ts), in SQL over stored reports; a report
 * that is not applicable (resource billed by area) stays so whatever the thresholds.
 */
const STATUS_SQL = `CASE WHEN r.status = 'not_applicable' THEN 'not_applicable'
                         WHEN r.imbalance_pct IS NULL OR r.coverage < $5::float8 THEN 'insufficient_data'
                         WHEN r.imbalance_pct < -($4::float8) THEN 'negative_imbalance'
                         WHEN r.imbalance_pct > $3::float8 THEN 'high_loss'
                         ELSE 'ok' END`;

export interface Rejudged {
  report: StoredImbalanceReport;
  previous: StoredImbalanceReport;
}

/**
 * Re-judges the stored reports governed by a threshold row: the building's reports of the resource,
 * or for a default row those of buildings without their own row. Returns the reports whose status
 * changed (with the report as it was) so alerts can follow after commit.
 */
export async function rejudgeReports(q: Queryable, buildingId: number | null, resource: Resource, th: ImbalanceThresholds): Promise<Rejudged[]> {
  const { rows } = await q.query<ReportRow & { old_status: string; old_thresholds: unknown }>(
    `WITH old AS (
       SELECT r.building_id, r.resource, r.period_kind, r.period_start, r.status AS old_status, r.thresholds AS old_thresholds
         FROM imbalance_reports r
        WHERE r.resource = $2
          AND CASE WHEN $1::bigint IS NULL
                   THEN NOT EXISTS (SELECT 1 FROM imbalance_thresholds t WHERE t.building_id = r.building_id AND t.resource = r.resource)
                   ELSE r.building_id = $1::bigint END)
     UPDATE imbalance_reports r SET status = ${STATUS_SQL}, thresholds = $6::jsonb
       FROM old
      WHERE r.building_id = old.building_id AND r.resource = old.resource AND r.period_kind = old.period_kind AND r.period_start = old.period_start
     RETURNING ${REPORT_COLUMNS.split(',').map((c) => `r.${c.trim()}`).join(', ')}, old.old_status, old.old_thresholds`,
    [buildingId, resource, th.highLossPct, th.negativePct, th.minCoverage, JSON.stringify(thresholdsToJson(th))],
  );
  return rows.filter((r) => r.status !== r.old_status).map((r) => {
    const report = rowToReport(r);
    return { report, previous: { ...report, status: r.old_status as StoredImbalanceReport['status'], thresholds: thresholdsFromJson(r.old_thresholds) } };
  });
}
