/**
 * The billing feed: per building × resource of an organisation and month, the building meter's
 * (ОДПУ) register at the period bounds, its consumption and method, the validation status of its
 * readings in the period, Σ ИПУ and the imbalance (the stored month report; computed and stored
 * when missing). Each row has an export id derived from (organisation, building, resource, period)
 * so pulling twice gives the same ids.
 */
import type { Resource } from '@amr/protocols';
import type { Database } from '../api/queryable.js';
import { computeBuildingImbalance, rowToReport, REPORT_COLUMNS, type StoredImbalanceReport } from '../imbalance/index.js';
import { primaryQuantity } from '../api/services/readings.js';
import { exportId } from './service.js';
import { meterPoints } from './inputs.js';

export type FeedValidation = 'valid' | 'suspect' | 'invalid' | 'unvalidated' | 'no_readings';

export interface FeedRow {
  exportId: string;
  buildingId: number;
  resource: string;
  period: string;
  periodStart: string;
  periodEnd: string;
  odpuMeterIds: number[];
  /** The ОДПУ register at or just before each bound (current version, rejected rows excluded). */
  startReading: { value: number; time: string } | null;
  endReading: { value: number; time: string } | null;
  consumption: number | null;
  method: string | null;
  validation: FeedValidation;
  apartmentsConsumption: number;
  imbalance: number | null;
  imbalancePct: number | null;
  imbalanceStatus: string;
}

const NOT_REJECTED = `NOT EXISTS (SELECT 1 FROM (SELECT decision FROM reading_reviews v WHERE v.meter_id = r.meter_id AND v.quantity = r.quantity
  AND v.time = r.time AND v.version = r.version ORDER BY v.reviewed_at DESC, v.id DESC LIMIT 1) last WHERE last.decision = 'reject')`;

/** The register that counts (provenance, rejected excluded) at or up to 45 days before `at`. */
async function registerAt(db: Database, meterIds: number[], quantity: string, at: Date): Promise<{ value: number; time: string } | null> {
  let best: { value: number; time: Date } | null = null;
  for (const id of meterIds) {
    const before = (await meterPoints(db, id, quantity, at, at)).filter((p) => p.time <= at);
    const last = before[before.length - 1];
    if (last && (!best || last.time > best.time)) best = last;
  }
  return best ? { value: best.value, time: best.time.toISOString() } : null;
}

/** Worst verdict over the current readings of the ОДПУ in [start, end]; any without a verdict → unvalidated. */
async function validationOf(db: Database, meterIds: number[], quantity: string, start: Date, end: Date): Promise<FeedValidation> {
  const { rows } = await db.query<{ status: string | null }>(
    `SELECT v.status FROM readings r
       LEFT JOIN reading_validations v ON v.meter_id = r.meter_id AND v.quantity = r.quantity AND v.time = r.time AND v.version = r.version
      WHERE r.meter_id = ANY($1::bigint[]) AND r.quantity = $2 AND r.time BETWEEN $3 AND $4
        AND r.version = (SELECT max(version) FROM readings x WHERE x.meter_id = r.meter_id AND x.quantity = r.quantity AND x.time = r.time)
        AND ${NOT_REJECTED}`,
    [meterIds, quantity, start, end],
  );
  if (rows.length === 0) return 'no_readings';
  const s = new Set(rows.map((r) => r.status ?? 'unvalidated'));
  for (const w of ['invalid', 'unvalidated', 'suspect'] as const) if (s.has(w)) return w;
  return 'valid';
}

export async function billingFeed(db: Database, orgId: number, period: string, opts: { includeUnvalidated: boolean; buildingIds: ReadonlySet<number> | null }): Promise<FeedRow[]> {
  const { rows: pairs } = await db.query<{ building_id: string; resource: Resource; meter_ids: string[]; start: Date; end: Date }>(
    `SELECT m.building_id, m.resource, array_agg(m.id ORDER BY m.id) AS meter_ids,
            ($2::timestamp AT TIME ZONE b.timezone) AS start, (($2::timestamp + interval '1 month') AT TIME ZONE b.timezone) AS end
       FROM meters m JOIN buildings b ON b.id = m.building_id
      WHERE b.org_id = $1 AND m.placement = 'building'
      GROUP BY m.building_id, m.resource, b.timezone ORDER BY m.building_id, m.resource`,
    [orgId, period],
  );
  const out: FeedRow[] = [];
  for (const p of pairs) {
    const buildingId = Number(p.building_id);
    if (opts.buildingIds && !opts.buildingIds.has(buildingId)) continue;
    const start = new Date(p.start);
    const end = new Date(p.end);
    const meterIds = p.meter_ids.map(Number);
    const quantity = primaryQuantity(p.resource);
    const validation = await validationOf(db, meterIds, quantity, start, end);
    if (validation !== 'valid' && !opts.includeUnvalidated) continue;
    const stored = await db.query(`SELECT ${REPORT_COLUMNS} FROM imbalance_reports WHERE building_id = $1 AND resource = $2 AND period_kind = 'month' AND period_start = $3`, [buildingId, p.resource, start]);
    const report: StoredImbalanceReport = stored.rows[0] ? rowToReport(stored.rows[0]) : (await computeBuildingImbalance(db, buildingId, p.resource, 'month', start)).report;
    const odpu = report.meters.filter((m) => m.placement === 'building');
    out.push({
      exportId: exportId(['feed', orgId, buildingId, p.resource, period]),
      buildingId, resource: p.resource, period: period.slice(0, 7), periodStart: start.toISOString(), periodEnd: end.toISOString(), odpuMeterIds: meterIds,
      startReading: await registerAt(db, meterIds, quantity, start),
      endReading: await registerAt(db, meterIds, quantity, end),
      consumption: report.buildingConsumption,
      method: odpu.length === 1 ? odpu[0].method : odpu.find((m) => m.method !== 'measured')?.method ?? odpu[0]?.method ?? null,
      validation,
      apartmentsConsumption: report.apartmentsConsumption,
      imbalance: report.imbalance, imbalancePct: report.imbalancePct, imbalanceStatus: report.status,
    });
  }
  return out;
}
