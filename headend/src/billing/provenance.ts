/**
 * Which reading counts when several exist for the same meter and instant: one taken on site by staff
 * outranks a remote (telemetry) one, which outranks a resident's; a file import counts as staff's
 * (it comes from the managing organisation); a record read back from the meter's archive is the
 * meter's own measurement, as telemetry is. Among equals, the latest version wins.
 */
import type { ReadingSource } from '@amr/protocols';

export const SOURCE_RANK: Record<ReadingSource, number> = { staff: 3, import: 3, telemetry: 2, meter_archive: 2, resident: 1 };

/** The same rank as an SQL expression over a readings row `alias`, for queries that pick the reading that counts. */
export function sourceRankSql(alias: string): string {
  const cases = Object.entries(SOURCE_RANK).map(([source, rank]) => `WHEN '${source}' THEN ${rank}`).join(' ');
  return `(CASE ${alias}.source ${cases} ELSE 0 END)`;
}

export interface RankedReading {
  source: ReadingSource;
  version: number;
}

export function preferredReading<T extends RankedReading>(candidates: readonly T[]): T | null {
  let best: T | null = null;
  for (const c of candidates) {
    if (!best || SOURCE_RANK[c.source] > SOURCE_RANK[best.source] || (SOURCE_RANK[c.source] === SOURCE_RANK[best.source] && c.version > best.version)) best = c;
  }
  return best;
}
