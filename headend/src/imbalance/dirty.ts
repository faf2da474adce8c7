/**
 * Imbalance reports to recompute because a reading came late (migrations/041).
 *
 * Marking (the ingest writer, once per batch, in its transaction): a register reading stored for an
 * instant older than its meter's newest committed one — a late message, one re-sent out of order — changes
 * every bound interpolated across it, i.e. the bounds between its neighbouring readings of the same
 * register (the report's one consumption function interpolates there, service.ts). So each late row
 * marks the periods from the one holding its previous reading (exclusive of a period that merely ends
 * there: that bound is measured) to the one holding its next reading's instant − 1 ms; without a
 * neighbour within the look-around, the row's own instant bounds it (− 1 ms before: a reading exactly
 * at a bound is also the end value of the period before). Kinds: every month; a day when the
 * building's apartment meters of the resource are all read remotely (the service's rule for day
 * reports) or a day report is stored; an hour only where an hour report is stored (they are computed
 * on demand, and only a stored one can be stale).
 *
 * Only the register quantity counts (protocols registerQuantity: the one a report reads). A meter
 * archive record carries interval amounts (`energy_delta_kwh`, means): no report reads them, so they
 * mark nothing — the periods of a back-filled gap change through the live reading after the gap,
 * which is the meter's newest, not a late one, and is re-judged by the validator like any other.
 *
 * Draining (the `imbalance.recompute-dirty` job, or the head-end's timer with jobs off): the oldest
 * marks, each recomputed through computeBuildingImbalance and then removed only if not marked again
 * since it was taken (marked_at unchanged), so a reading arriving during the computation is never lost.
 */
import { registerQuantitySql, type Resource } from '@amr/protocols';
import type { Queryable } from '../db/types.js';
import { computeBuildingImbalance, ImbalanceError, type TxQueryable } from './service.js';
import type { OnImbalanceReport, PeriodKind } from './types.js';

/** A stored reading row the writer checks for lateness. */
export interface LateCandidate {
  meterId: number;
  quantity: string;
  /** ISO instant. */
  time: string;
}

/** As far as the service looks for readings beyond a bound (service.ts DEFAULT_LOOKAROUND_DAYS). */
const NEIGHBOUR_DAYS = 45;

/**
 * Marks the periods the late register rows touch (see the file head), in ONE statement. The rows are
 * the late ones already (the writer knows its meters' newest instants); the statement keeps those of
 * the meter's register quantity. Returns the number of marks written (new or renewed).
 */
export async function markLateReadings(q: Queryable, rows: readonly LateCandidate[]): Promise<number> {
  if (!rows.length) return 0;
  const { rows: out } = await q.query<{ n: number }>(
    `WITH k AS (
       SELECT DISTINCT k.meter_id, k.quantity, k.time FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS k(meter_id, quantity, time)),
     late AS (
       SELECT m.building_id, m.resource, b.timezone, k.meter_id, k.quantity, k.time
         FROM k JOIN meters m ON m.id = k.meter_id JOIN buildings b ON b.id = m.building_id
        WHERE m.building_id IS NOT NULL
          AND k.quantity = ${registerQuantitySql('m')}),
     span AS (
       SELECT l.building_id, l.resource, l.timezone,
              COALESCE(p.prev, l.time - interval '1 millisecond') AS lo,
              COALESCE(n.next - interval '1 millisecond', l.time) AS hi
         FROM late l
         LEFT JOIN LATERAL (SELECT max(r.time) AS prev FROM readings r
                             WHERE r.meter_id = l.meter_id AND r.quantity = l.quantity AND r.time < l.time
                               AND r.time >= l.time - make_interval(days => $4)) p ON true
         LEFT JOIN LATERAL (SELECT min(r.time) AS next FROM readings r
                             WHERE r.meter_id = l.meter_id AND r.quantity = l.quantity AND r.time > l.time
                               AND r.time <= l.time + make_interval(days => $4)) n ON true),
     tele AS (
       SELECT g.building_id, g.resource,
              EXISTS (SELECT 1 FROM meters a WHERE a.building_id = g.building_id AND a.resource = g.resource AND a.placement = 'apartment' AND a.status <> 'removed')
              AND NOT EXISTS (SELECT 1 FROM meters a WHERE a.building_id = g.building_id AND a.resource = g.resource AND a.placement = 'apartment'
                                                      AND a.status <> 'removed' AND NOT a.remote_reading) AS days
         FROM (SELECT DISTINCT building_id, resource FROM span) g),
     periods AS (
       SELECT g.building_id, g.resource, 'month' AS kind, s AT TIME ZONE g.timezone AS period_start
         FROM span g, generate_series(date_trunc('month', g.lo AT TIME ZONE g.timezone), date_trunc('month', g.hi AT TIME ZONE g.timezone), interval '1 month') s
       UNION
       SELECT g.building_id, g.resource, 'day', s AT TIME ZONE g.timezone
         FROM span g JOIN tele t USING (building_id, resource),
              generate_series(date_trunc('day', g.lo AT TIME ZONE g.timezone), date_trunc('day', g.hi AT TIME ZONE g.timezone), interval '1 day') s
        WHERE t.days
       UNION
       SELECT r.building_id, r.resource, r.period_kind, r.period_start
         FROM span g JOIN imbalance_reports r ON r.building_id = g.building_id AND r.resource = g.resource
        WHERE r.period_kind IN ('day', 'hour') AND r.period_start <= g.hi AND r.period_end > g.lo),
     ins AS (
       INSERT INTO imbalance_dirty (building_id, resource, period_kind, period_start)
       SELECT building_id, resource, kind, period_start FROM periods ORDER BY 1, 2, 3, 4
       ON CONFLICT (building_id, resource, period_kind, period_start) DO UPDATE SET marked_at = clock_timestamp()
       RETURNING 1)
     SELECT count(*)::int AS n FROM ins`,
    [rows.map((r) => r.meterId), rows.map((r) => r.quantity), rows.map((r) => r.time), NEIGHBOUR_DAYS],
  );
  return out[0]?.n ?? 0;
}

export interface DirtyMark {
  buildingId: number;
  resource: Resource;
  kind: PeriodKind;
  periodStart: Date;
  markedAt: Date;
  /** marked_at in microseconds since the epoch (a Date keeps milliseconds: too coarse to tell a renewed mark). */
  markedUs: string;
}

/** The marks, oldest first (at most `limit`). */
export async function dirtyMarks(q: Queryable, limit = 1000): Promise<DirtyMark[]> {
  const { rows } = await q.query<{ building_id: string; resource: Resource; period_kind: PeriodKind; period_start: Date; marked_at: Date; marked_us: string }>(
    `SELECT building_id, resource, period_kind, period_start, marked_at, (extract(epoch FROM marked_at) * 1000000)::bigint::text AS marked_us FROM imbalance_dirty ORDER BY marked_at, building_id, resource, period_kind, period_start LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({ buildingId: Number(r.building_id), resource: r.resource, kind: r.period_kind, periodStart: new Date(r.period_start), markedAt: new Date(r.marked_at), markedUs: r.marked_us }));
}

/** Removes a mark unless it was marked again after `markedAt`. */
async function clearMark(q: Queryable, m: DirtyMark): Promise<void> {
  await q.query(
    `DELETE FROM imbalance_dirty WHERE building_id = $1 AND resource = $2 AND period_kind = $3 AND period_start = $4
        AND (extract(epoch FROM marked_at) * 1000000)::bigint <= $5::bigint`,
    [m.buildingId, m.resource, m.kind, m.periodStart, m.markedUs],
  );
}

export interface DirtyDrain {
  recomputed: number;
  /** Marks whose period has no report to make (building gone, a day or hour report of a building not read remotely). */
  skipped: number;
  /** Marks kept for the next round: their computation failed. */
  failed: number;
}

/**
 * Recomputes the marked periods (oldest marks first, at most `limit`) and removes their marks. A
 * failing period keeps its mark (the next round tries again) and does not stop the others.
 */
export async function recomputeDirty(db: TxQueryable, opts: { limit?: number; onReport?: OnImbalanceReport; onError?: (m: DirtyMark, e: Error) => void } = {}): Promise<DirtyDrain> {
  const out: DirtyDrain = { recomputed: 0, skipped: 0, failed: 0 };
  for (const m of await dirtyMarks(db, opts.limit ?? 200)) {
    try {
      await computeBuildingImbalance(db, m.buildingId, m.resource, m.kind, m.periodStart, { onReport: opts.onReport });
      out.recomputed++;
    } catch (e) {
      if (!(e instanceof ImbalanceError)) {
        out.failed++;
        opts.onError?.(m, e as Error);
        continue;
      }
      out.skipped++;
    }
    await clearMark(db, m);
  }
  return out;
}
