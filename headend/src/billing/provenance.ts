/**
 * Which reading counts when several exist for the same meter and instant: one taken on site by staff
 * outranks a remote (telemetry) one, which outranks a resident's; a file import counts as staff's
 * (it comes from the managing organisation). Among equals, the latest version wins.
 */
import type { ReadingSource } from '@amr/protocols';

export const SOURCE_RANK: Record<ReadingSource, number> = { staff: 3, import: 3, telemetry: 2, resident: 1 };

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
