/**
 * Computes one building's imbalance for a resource and period from stored readings, stores it and
 * tells the hook. Reads go through the pool BEFORE the (two-statement) transaction that stores the
 * report, so the one embedded connection is held only briefly and the pool is never called inside it.
 */
import type { Resource } from '@amr/protocols';
import type { Queryable } from '../db/types.js';
import { registerQuantity } from '@amr/protocols';
import { computeImbalance, type ImbalanceThresholds, type MeterPeriodValue } from '../vee/index.js';
import { consumption, hasDrop, usualMonthly } from '../readings/consumption.js';
import { periodStartSql, periodUnit, type PeriodBounds } from './periods.js';
import { buildPoint, chains, flaggedWithin, pointPeriod, type MeterRow, type MeteringPoint, type ReadingRow, type ReplacementRow } from './points.js';
import { billedByArea } from '../billing/index.js';
import { upsertReport } from './reports.js';
import { thresholdsFromRow } from './thresholds.js';
import type { ImbalanceMeterValue, OnImbalanceReport, PeriodKind, StoredImbalanceReport } from './types.js';

export interface TxQueryable extends Queryable {
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
}

export class ImbalanceError extends Error {
  constructor(readonly code: 'building_not_found' | 'kind_not_applicable', message: string) {
    super(message);
    this.name = 'ImbalanceError';
  }
}

export interface ComputeOptions {
  onReport?: OnImbalanceReport;
  /** How far beyond each bound readings are looked for (manual monthly readings are ~30 days apart). */
  lookaroundDays?: number;
}

export interface ImbalanceComputation {
  report: StoredImbalanceReport;
  previous: StoredImbalanceReport | null;
}

const DEFAULT_LOOKAROUND_DAYS = 45;
/** A bound a little past the last reading is extrapolated from the recent rate (vee/period.ts's default), marked 'estimated'. */
const DEFAULT_EXTRAPOLATION_MS = 3 * 86_400_000;
/** Readings kept beyond each bound: enough to interpolate past a few rejected or invalid ones. */
const EDGE_ROWS = 12;

interface Context {
  timezone: string;
  bounds: PeriodBounds;
  thresholds: ImbalanceThresholds;
}

async function loadContext(q: Queryable, buildingId: number, resource: Resource, kind: PeriodKind, at: Date): Promise<Context> {
  const start = periodStartSql(kind, '$2', 'b.timezone');
  const { rows } = await q.query(
    `SELECT b.timezone, ${start} AS start, ((${start} AT TIME ZONE b.timezone) + interval '${periodUnit(kind).step}') AT TIME ZONE b.timezone AS end,
            t.high_loss_pct, t.negative_pct, t.min_coverage
       FROM buildings b
       LEFT JOIN LATERAL (SELECT * FROM imbalance_thresholds t WHERE t.resource = $3 AND (t.building_id = b.id OR t.building_id IS NULL)
                           ORDER BY t.building_id NULLS LAST LIMIT 1) t ON true
      WHERE b.id = $1`,
    [buildingId, at, resource],
  );
  const r = rows[0];
  if (!r) throw new ImbalanceError('building_not_found', `building ${buildingId} not found`);
  return { timezone: r.timezone, bounds: { start: new Date(r.start), end: new Date(r.end) }, thresholds: thresholdsFromRow(r) };
}

/** The building's meters of the resource, each marked in service or not during the period, and their replacements. */
async function loadMeters(q: Queryable, buildingId: number, resource: Resource, ctx: Context): Promise<{ meters: MeterRow[]; reps: ReplacementRow[] }> {
  const { rows } = await q.query(
    `SELECT id, placement, register_digits, remote_reading,
            (COALESCE(installed_on, commissioned_on) IS NULL OR COALESCE(installed_on, commissioned_on)::timestamp AT TIME ZONE $3 < $5)
            AND (CASE WHEN decommissioned_on IS NULL THEN status <> 'removed' ELSE (decommissioned_on + 1)::timestamp AT TIME ZONE $3 > $4 END) AS in_service,
            COALESCE(installed_on, commissioned_on)::timestamp AT TIME ZONE $3 AS installed_at,
            CASE WHEN status = 'removed' AND decommissioned_on IS NOT NULL THEN (decommissioned_on + 1)::timestamp AT TIME ZONE $3 END AS removed_by
       FROM meters WHERE building_id = $1 AND resource = $2 ORDER BY id`,
    [buildingId, resource, ctx.timezone, ctx.bounds.start, ctx.bounds.end],
  );
  const meters: MeterRow[] = rows.map((r) => ({
    id: Number(r.id), placement: r.placement, registerDigits: r.register_digits, remoteReading: r.remote_reading, inService: r.in_service,
    installedAt: r.installed_at ? new Date(r.installed_at) : null, removedBy: r.removed_by ? new Date(r.removed_by) : null,
  }));
  if (meters.length === 0) return { meters, reps: [] };
  const reps = (await q.query(
    `SELECT old_meter_id, new_meter_id, replaced_at, removal_reading, installation_reading FROM meter_replacements
      WHERE old_meter_id = ANY($1::bigint[]) AND undone_at IS NULL ORDER BY replaced_at`, [meters.map((m) => m.id)])).rows.map((r): ReplacementRow => ({
    oldMeterId: Number(r.old_meter_id), newMeterId: Number(r.new_meter_id), replacedAt: new Date(r.replaced_at),
    removalReading: r.removal_reading, installationReading: r.installation_reading,
  }));
  return { meters, reps };
}

/**
 * The readings a period's values depend on, chosen in SQL so a month of 15-minute telemetry does not
 * cross the wire. Candidates: current versions of the register quantity inside the period plus the
 * few nearest beyond each bound (within the look-around). Of the usable ones (not rejected, not
 * invalid unless accepted) only these are returned: the two on either side of each bound and of
 * each replacement instant, both sides of every decrease (rollover or fault), flagged ones, and each
 * meter's first and last two. Between two returned readings the register only rose, so its
 * consumption is their difference: the period's value is the same as from every reading. (An
 * extrapolated bound takes its rate from these readings, a coarser window than all of them.)
 * The edge queries follow the unique index (meter, quantity, time, version); after the end bound it
 * is read in ascending version order, so the last instant a LIMIT cut may lack its newest version:
 * that instant is dropped unless fewer rows than the limit came back.
 */
async function loadReadings(q: Queryable, meterIds: number[], quantity: string, b: PeriodBounds, lookaroundDays: number, replacedAt: Date[]): Promise<{ rows: Map<number, ReadingRow[]>; usable: Map<number, number> }> {
  const rows = new Map<number, ReadingRow[]>();
  const usable = new Map<number, number>();
  if (meterIds.length === 0) return { rows, usable };
  const res = await q.query(
    `WITH ids AS (SELECT unnest($1::bigint[]) AS id),
     raw AS (
       SELECT meter_id, time, value, version FROM readings
        WHERE meter_id = ANY($1::bigint[]) AND quantity = $2 AND time >= $3 AND time <= $4
       UNION ALL
       SELECT x.* FROM ids, LATERAL (
         SELECT meter_id, time, value, version FROM readings
          WHERE meter_id = ids.id AND quantity = $2 AND time < $3 AND time >= $3::timestamptz - make_interval(days => $5)
          ORDER BY time DESC, version DESC LIMIT ${EDGE_ROWS}) x
       UNION ALL
       SELECT y.meter_id, y.time, y.value, y.version FROM ids, LATERAL (
         SELECT e.*, count(*) OVER () AS n, max(e.time) OVER () AS tmax FROM (
           SELECT meter_id, time, value, version FROM readings
            WHERE meter_id = ids.id AND quantity = $2 AND time > $4 AND time <= $4::timestamptz + make_interval(days => $5)
            ORDER BY time, version LIMIT ${EDGE_ROWS}) e) y
        WHERE y.n < ${EDGE_ROWS} OR y.time < y.tmax),
     cur AS (SELECT DISTINCT ON (meter_id, time) meter_id, time, value, version FROM raw ORDER BY meter_id, time, version DESC),
     -- Only flagged verdicts and reviewed rows matter; both are few, so they are fetched once and hash-joined.
     flags AS (
       SELECT meter_id, time, version, status FROM reading_validations
        WHERE meter_id = ANY($1::bigint[]) AND quantity = $2 AND status <> 'valid'
          AND time >= $3::timestamptz - make_interval(days => $5) AND time <= $4::timestamptz + make_interval(days => $5)),
     revs AS (
       SELECT DISTINCT ON (meter_id, time, version) meter_id, time, version, decision FROM reading_reviews
        WHERE meter_id = ANY($1::bigint[]) AND quantity = $2
          AND time >= $3::timestamptz - make_interval(days => $5) AND time <= $4::timestamptz + make_interval(days => $5)
        ORDER BY meter_id, time, version, reviewed_at DESC, id DESC),
     judged AS (
       SELECT cur.meter_id, cur.time, cur.value, f.status AS verdict, r.decision
         FROM cur LEFT JOIN flags f USING (meter_id, time, version) LEFT JOIN revs r USING (meter_id, time, version)),
     usable AS (
       SELECT *, (verdict IN ('suspect', 'invalid') AND decision IS DISTINCT FROM 'accept') AS flagged FROM judged
        WHERE value IS NOT NULL AND decision IS DISTINCT FROM 'reject' AND (verdict IS DISTINCT FROM 'invalid' OR decision = 'accept')),
     marked AS (
       SELECT *, lag(value) OVER w AS prev_value, lead(value) OVER w AS next_value, lag(time) OVER w AS prev_time, lead(time) OVER w AS next_time,
              row_number() OVER w AS rn, count(*) OVER (PARTITION BY meter_id) AS n
         FROM usable WINDOW w AS (PARTITION BY meter_id ORDER BY time))
     SELECT meter_id, time, value, verdict, decision, n FROM marked
      WHERE rn <= 2 OR rn > n - 2 OR flagged
         OR value < prev_value OR next_value < value
         OR EXISTS (SELECT 1 FROM unnest(ARRAY[$3::timestamptz, $4::timestamptz] || $6::timestamptz[]) AS k(t)
                     WHERE (time < k.t AND (next_time IS NULL OR next_time >= k.t)) OR (time >= k.t AND (prev_time IS NULL OR prev_time < k.t)))
      ORDER BY meter_id, time`,
    [meterIds, quantity, b.start, b.end, lookaroundDays, replacedAt],
  );
  for (const r of res.rows) {
    const id = Number(r.meter_id);
    let list = rows.get(id);
    if (!list) rows.set(id, (list = []));
    list.push({ meterId: id, time: new Date(r.time), value: r.value, verdict: r.verdict ?? null, decision: r.decision ?? null });
    usable.set(id, Number(r.n));
  }
  return { rows, usable };
}

function valueOf(p: MeteringPoint, period: PeriodBounds, usable: ReadonlyMap<number, number>, quantity: string): ImbalanceMeterValue {
  const b = pointPeriod(p, period.start, period.end);
  // The one consumption function, interpolated to the bounds (the imbalance compares the same span
  // for every meter): a drop that is no plausible rollover is no value rather than a negative one.
  const r = consumption({
    period: b, registers: { [quantity]: p.series }, registerDigits: p.registerDigits, replacements: p.replacements, attribution: 'calendar',
    maxExtrapolationMs: DEFAULT_EXTRAPOLATION_MS, requireReadingInside: false,
    usualMonthly: hasDrop(p.series) ? usualMonthly(p.series.filter((s) => s.time < b.start)) : null,
  }).registers[quantity];
  const pc = r.status === 'measured' ? r : null;
  return {
    meterId: p.meter.id,
    placement: p.meter.placement,
    consumption: pc?.quantity ?? null,
    method: pc?.method ?? null,
    flagged: pc ? flaggedWithin(p.series, b.start, b.end) : p.series.some((s) => s.flagged),
    ...(p.replaced.length ? { replacedMeterIds: p.replaced.map((m) => m.id) } : {}),
    startMethod: pc?.startMethod ?? null,
    endMethod: pc?.endMethod ?? null,
    readings: [...p.replaced, p.meter].reduce((n, m) => n + (usable.get(m.id) ?? 0), 0),
  };
}

/**
 * Computes, stores (upsert by building × resource × kind × period start) and returns the report of
 * the period of `kind` that contains `at`, with the report it replaced. `onReport` runs after commit.
 */
export async function computeBuildingImbalance(db: TxQueryable, buildingId: number, resource: Resource, kind: PeriodKind, at: Date, opts: ComputeOptions = {}): Promise<ImbalanceComputation> {
  const ctx = await loadContext(db, buildingId, resource, kind, at);
  const { meters, reps } = await loadMeters(db, buildingId, resource, ctx);
  const points = chains(meters, reps).filter((c) => c.some((m) => m.inService));
  const ids = points.flat().map((m) => m.id);
  const apartmentsOnly = points.filter((c) => c[c.length - 1].placement === 'apartment');
  // Day and hour reports make sense only when every apartment meter of the resource is read remotely.
  if (kind !== 'month' && !(apartmentsOnly.length > 0 && apartmentsOnly.every((c) => c[c.length - 1].remoteReading))) {
    throw new ImbalanceError('kind_not_applicable', `building ${buildingId} ${resource}: ${kind} reports need every apartment meter read remotely`);
  }
  const { rows, usable } = await loadReadings(db, ids, registerQuantity(resource), ctx.bounds, opts.lookaroundDays ?? DEFAULT_LOOKAROUND_DAYS, reps.map((r) => r.replacedAt));
  const values = points.map((c) => valueOf(buildPoint(c, reps, rows), ctx.bounds, usable, registerQuantity(resource)));
  const asInput = (v: ImbalanceMeterValue): MeterPeriodValue => ({ meterId: String(v.meterId), consumption: v.consumption, method: v.method });
  const base = computeImbalance({
    building: values.filter((v) => v.placement === 'building').map(asInput),
    apartments: values.filter((v) => v.placement === 'apartment').map(asInput),
    otherConsumers: values.filter((v) => v.placement === 'common_area' || v.placement === 'non_residential').map(asInput),
    thresholds: ctx.thresholds,
  });
  // Billed by area (heat without apartment heat meters): no apartment side, so no imbalance and no
  // percentage — the building meter's heat is what is charged, not a loss.
  const byArea = billedByArea(resource, { building: values.filter((v) => v.placement === 'building').length, apartment: apartmentsOnly.length });
  const judged = byArea ? { ...base, imbalance: null, imbalancePct: null, status: 'not_applicable' as const } : base;
  const out = await db.tx((q) => upsertReport(q, {
    ...judged, buildingId, resource, periodKind: kind, periodStart: ctx.bounds.start, periodEnd: ctx.bounds.end, thresholds: ctx.thresholds, meters: values,
  }));
  if (opts.onReport) await opts.onReport(out.report, out.previous);
  return out;
}
