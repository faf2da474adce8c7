/**
 * Reporting periods in the building's own time zone. A Moscow month starts on the 1st at 00:00
 * Moscow time (the 31st 21:00 UTC), so bounds are computed in SQL with AT TIME ZONE from
 * buildings.timezone, never with the server's or UTC calendar.
 */
import type { Queryable } from '../db/types.js';
import type { PeriodKind } from './types.js';

export interface PeriodBounds {
  start: Date;
  end: Date;
}

/** date_trunc unit and step per kind; a fixed table so no caller text reaches SQL. */
const UNIT: Record<PeriodKind, { unit: string; step: string }> = {
  month: { unit: 'month', step: '1 month' },
  day: { unit: 'day', step: '1 day' },
  hour: { unit: 'hour', step: '1 hour' },
};

export function periodUnit(kind: PeriodKind): { unit: string; step: string } {
  return UNIT[kind];
}

/** SQL: the start of the period of `kind` containing instant `$at`, in the zone `tzExpr`. */
export function periodStartSql(kind: PeriodKind, at: string, tzExpr: string): string {
  return `(date_trunc('${UNIT[kind].unit}', (${at})::timestamptz AT TIME ZONE ${tzExpr}) AT TIME ZONE ${tzExpr})`;
}

/**
 * Periods of `kind` of a building overlapping the instants [lo, hi] (both inclusive): from the period
 * containing `lo` to the one containing `hi`. Null when the building does not exist.
 */
export async function periodsBetween(q: Queryable, buildingId: number, kind: PeriodKind, lo: Date, hi: Date, max: number): Promise<PeriodBounds[] | null> {
  const { unit, step } = UNIT[kind];
  const { rows } = await q.query<{ start: Date; end: Date }>(
    `SELECT s AT TIME ZONE b.timezone AS start, (s + interval '${step}') AT TIME ZONE b.timezone AS end
       FROM buildings b,
            generate_series(date_trunc('${unit}', $2::timestamptz AT TIME ZONE b.timezone),
                            date_trunc('${unit}', $3::timestamptz AT TIME ZONE b.timezone), interval '${step}') s
      WHERE b.id = $1
      ORDER BY s LIMIT $4`,
    [buildingId, lo, hi, max + 1],
  );
  if (rows.length === 0) {
    const exists = await q.query('SELECT 1 FROM buildings WHERE id = $1', [buildingId]);
    return exists.rows.length ? [] : null;
  }
  return rows.map((r) => ({ start: new Date(r.start), end: new Date(r.end) }));
}

/**
 * A period locator from the API: 'YYYY-MM' (month), 'YYYY-MM-DD' (day) or 'YYYY-MM-DDTHH' (hour) in
 * the building's local time, turned into a local timestamp literal for `::timestamp AT TIME ZONE`.
 */
export function localPeriodLiteral(kind: PeriodKind, period: string): string | null {
  const re = kind === 'month' ? /^(\d{4})-(0[1-9]|1[0-2])$/ : kind === 'day' ? /^\d{4}-\d{2}-\d{2}$/ : /^\d{4}-\d{2}-\d{2}T\d{2}$/;
  if (!re.test(period)) return null;
  if (kind === 'month') return `${period}-01 00:00:00`;
  if (kind === 'day') return `${period} 00:00:00`;
  return `${period.replace('T', ' ')}:00:00`;
}
