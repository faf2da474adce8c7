/**
 * The billing feed: per building × resource of an organisation and month, the building meter's
 * (ОДПУ) register at the period bounds, its consumption and method, the validation status of its
 * readings in the period, Σ ИПУ and the imbalance from the stored month report. Each row has an
 * export id derived from (organisation, building, resource, period) so pulling twice gives the same ids.
 *
 * A month is validated when (1) the ОДПУ readings at both bounds (the one counting at or before each
 * bound and, when the bound falls between readings, the next one) are valid or accepted on review,
 * (2) no current apartment-meter reading of the building × resource in the month is invalid and still
 * unreviewed, and (3) the imbalance report of the month is stored. Only validated months are served
 * unless asked; every row says which checks failed (validationStatus + reasons). Reading the feed
 * writes nothing: a missing report is reported, not computed (the imbalance jobs store it).
 */
import { registerQuantity } from '@amr/protocols';
import type { Resource } from '@amr/protocols';
import type { Database } from '../../db/types.js';
import { rowToReport, REPORT_COLUMNS } from '../../imbalance/index.js';
import { exportId } from './service.js';
import { meterPoints } from './inputs.js';
import { NOT_REJECTED_SQL } from '../../readings/consumption-store.js';

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
  /** Worst verdict over the ОДПУ's readings in the month. */
  validation: FeedValidation;
  /** All three checks passed (see the head comment); otherwise `reasons` names each failed one. */
  validationStatus: 'validated' | 'not_validated';
  reasons: FeedReason[];
  /** From the stored imbalance report; null when it is missing. */
  apartmentsConsumption: number | null;
  imbalance: number | null;
  imbalancePct: number | null;
  /** The report's status, or 'report_missing'. */
  imbalanceStatus: string;
}

export type FeedCheck = 'odpu_start' | 'odpu_end' | 'apartment_readings' | 'imbalance_report';
export interface FeedReason { check: FeedCheck; message: string }

/** Each ОДПУ meter's counting readings around a bound (provenance, rejected excluded): loaded once, read by the bound's check and its register. */
type AroundBound = Array<{ meterId: number; points: Array<{ time: Date; value: number; version: number }> }>;
async function aroundBound(db: Database, meterIds: number[], quantity: string, at: Date): Promise<AroundBound> {
  const out: AroundBound = [];
  for (const id of meterIds) out.push({ meterId: id, points: await meterPoints(db, id, quantity, at, at) });
  return out;
}

/** The register that counts at or up to 45 days before `at`. */
function registerAt(around: AroundBound, at: Date): { value: number; time: string } | null {
  let best: { value: number; time: Date } | null = null;
  for (const { points } of around) {
    const last = points.filter((p) => p.time <= at).pop();
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
        AND ${NOT_REJECTED_SQL('r')}`,
    [meterIds, quantity, start, end],
  );
  if (rows.length === 0) return 'no_readings';
  const s = new Set(rows.map((r) => r.status ?? 'unvalidated'));
  for (const w of ['invalid', 'unvalidated', 'suspect'] as const) if (s.has(w)) return w;
  return 'valid';
}

type Verdict = 'valid' | 'accepted' | 'suspect' | 'invalid' | 'unvalidated';

/** The ОДПУ readings a bound's value comes from: the one counting at or before it and, unless exactly at it, the next one. */
function boundReadings(around: AroundBound, at: Date): Array<{ meterId: number; time: Date; version: number }> {
  const out: Array<{ meterId: number; time: Date; version: number }> = [];
  for (const { meterId, points } of around) {
    const before = points.filter((p) => p.time <= at).pop();
    const after = points.find((p) => p.time > at);
    if (before) out.push({ meterId, time: before.time, version: before.version });
    if (after && (!before || before.time.getTime() !== at.getTime())) out.push({ meterId, time: after.time, version: after.version });
  }
  return out;
}

async function verdictOf(db: Database, r: { meterId: number; time: Date; version: number }, quantity: string): Promise<Verdict> {
  const { rows } = await db.query<{ status: string | null; decision: string | null }>(
    `SELECT (SELECT status FROM reading_validations v WHERE v.meter_id = $1 AND v.quantity = $2 AND v.time = $3 AND v.version = $4) AS status,
            (SELECT decision FROM reading_reviews v WHERE v.meter_id = $1 AND v.quantity = $2 AND v.time = $3 AND v.version = $4
              ORDER BY v.reviewed_at DESC, v.id DESC LIMIT 1) AS decision`,
    [r.meterId, quantity, r.time, r.version]);
  const { status, decision } = rows[0];
  if (status === 'valid') return 'valid';
  if (status && decision === 'accept') return 'accepted';
  return (status as Verdict | null) ?? 'unvalidated';
}

/** Check (1) for one bound: null when it passes, else why not. */
async function boundCheck(db: Database, around: AroundBound, quantity: string, at: Date, which: 'start' | 'end'): Promise<FeedReason | null> {
  const check = which === 'start' ? 'odpu_start' : 'odpu_end';
  const rs = boundReadings(around, at);
  if (rs.length === 0) return { check, message: `no building meter reading around the ${which} of the month` };
  const bad: string[] = [];
  for (const r of rs) {
    const v = await verdictOf(db, r, quantity);
    if (v !== 'valid' && v !== 'accepted') bad.push(`meter ${r.meterId} at ${r.time.toISOString()}: ${v}`);
  }
  return bad.length ? { check, message: `building meter reading at the ${which} not valid or accepted (${bad.join('; ')})` } : null;
}

/** Check (2): current apartment-meter readings of the month judged invalid and not reviewed yet. */
async function unreviewedInvalid(db: Database, buildingId: number, resource: Resource, start: Date, end: Date): Promise<FeedReason | null> {
  const { rows } = await db.query<{ n: number; meters: string[] }>(
    `SELECT count(*)::int AS n, array_agg(DISTINCT r.meter_id::text) AS meters
       FROM readings r JOIN meters m ON m.id = r.meter_id
       JOIN reading_validations v ON v.meter_id = r.meter_id AND v.quantity = r.quantity AND v.time = r.time AND v.version = r.version
      WHERE m.building_id = $1 AND m.resource = $2 AND m.placement = 'apartment' AND r.time >= $3 AND r.time <= $4 AND v.status = 'invalid'
        AND r.version = (SELECT max(version) FROM readings x WHERE x.meter_id = r.meter_id AND x.quantity = r.quantity AND x.time = r.time)
        AND NOT EXISTS (SELECT 1 FROM reading_reviews w WHERE w.meter_id = r.meter_id AND w.quantity = r.quantity AND w.time = r.time AND w.version = r.version)`,
    [buildingId, resource, start, end]);
  const n = Number(rows[0]?.n ?? 0);
  return n > 0 ? { check: 'apartment_readings', message: `${n} invalid apartment meter reading(s) not reviewed (meters ${rows[0].meters.sort((a, b) => Number(a) - Number(b)).join(', ')})` } : null;
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
    const quantity = registerQuantity(p.resource);
    const stored = await db.query(`SELECT ${REPORT_COLUMNS} FROM imbalance_reports WHERE building_id = $1 AND resource = $2 AND period_kind = 'month' AND period_start = $3`, [buildingId, p.resource, start]);
    const report = stored.rows[0] ? rowToReport(stored.rows[0]) : null;
    const atStart = await aroundBound(db, meterIds, quantity, start);
    const atEnd = await aroundBound(db, meterIds, quantity, end);
    const reasons = [
      await boundCheck(db, atStart, quantity, start, 'start'),
      await boundCheck(db, atEnd, quantity, end, 'end'),
      await unreviewedInvalid(db, buildingId, p.resource, start, end),
      report ? null : { check: 'imbalance_report' as const, message: 'no stored imbalance report for the month (the imbalance jobs compute it)' },
    ].filter((r): r is FeedReason => r !== null);
    if (reasons.length > 0 && !opts.includeUnvalidated) continue;
    const odpu = report?.meters.filter((m) => m.placement === 'building') ?? [];
    const startReading = registerAt(atStart, start);
    const endReading = registerAt(atEnd, end);
    out.push({
      exportId: exportId(['feed', orgId, buildingId, p.resource, period]),
      buildingId, resource: p.resource, period: period.slice(0, 7), periodStart: start.toISOString(), periodEnd: end.toISOString(), odpuMeterIds: meterIds,
      startReading, endReading,
      consumption: report ? report.buildingConsumption : null,
      method: odpu.length === 1 ? odpu[0].method : odpu.find((m) => m.method !== 'measured')?.method ?? odpu[0]?.method ?? null,
      validation: await validationOf(db, meterIds, quantity, start, end),
      validationStatus: reasons.length === 0 ? 'validated' : 'not_validated', reasons,
      apartmentsConsumption: report ? report.apartmentsConsumption : null,
      imbalance: report?.imbalance ?? null, imbalancePct: report?.imbalancePct ?? null, imbalanceStatus: report?.status ?? 'report_missing',
    });
  }
  return out;
}
