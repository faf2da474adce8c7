/**
 * The heat statement's dirty mark (migrations/047): a building heat meter's day whose statement inputs
 * changed. Written by every writer of what a statement reads, in the writer's own transaction, with
 * this one SQL (markDaysSql) — so the outdated sweep (heat/outdated.ts) reads the marks that touch
 * signed months instead of probing every signed month for new rows. It lives with the readings because
 * its writers are the readings' writers; the heat folder only reads the marks:
 *
 *   - the readings bulk write (readings/bulk-write.ts: ingest's archive values, in its one statement;
 *     a file import's hidden rows are left to its switch);
 *   - the version writers of the readings core (readings/write-store.ts prepareWrite: corrections,
 *     entries, estimates, batch versions);
 *   - a file import's switch (readings/import-staging.ts switchImport, in the switch's statement);
 *   - the archive records themselves (ingest/writer.ts, in the meter_archive_ns insert);
 *   - an engineer's review of a record's heat amount (validation/review-store.ts: a rejection leaves the
 *     record out of the statement, an acceptance after it puts it back).
 *
 * Only what a statement can read marks: the record quantities under both kinds' names (a live poll's
 * register, an apartment meter's reading mark nothing) of a building heat meter. The day is the
 * building's local date of the changed instant; the record it belongs to started that day or (an
 * end-stamped record at local midnight) the day before, so the sweep looks at both days' months.
 */
import { archiveQuantity, HEAT_RECORD_QUANTITIES } from '@amr/protocols';
import type { Queryable } from '../db/types.js';

/** What a record of each kind stores its values under (the hourly names, and the daily record's day names). */
export const STATEMENT_QUANTITIES: readonly string[] = [...new Set((['hourly', 'daily'] as const).flatMap((k) => HEAT_RECORD_QUANTITIES.map((n) => archiveQuantity(n, k))))];
const STATEMENT_QUANTITY_SET = new Set(STATEMENT_QUANTITIES);

/** Whether a value under this name can change a heat statement. */
export const isStatementQuantity = (quantity: string): boolean => STATEMENT_QUANTITY_SET.has(quantity);

/**
 * The mark statement over `from` — a FROM item aliased `k` with columns meter_id, time (and quantity,
 * when `quantities` names the text[] parameter to filter by; without it every row marks, for the
 * archive records, which are statement rows by what they are). In key order: concurrent writers of
 * one meter-day wait for each other, never deadlock. An existing mark is renewed (marked_at moves), so
 * a sweep that took it before this write keeps it for its next round.
 */
export const markDaysSql = (from: string, quantities: string | null): string =>
  `INSERT INTO heat_statement_dirty (meter_id, day)
   SELECT DISTINCT k.meter_id, (k.time AT TIME ZONE b.timezone)::date
     FROM ${from} JOIN meters m ON m.id = k.meter_id JOIN buildings b ON b.id = m.building_id
    WHERE m.placement = 'building' AND m.resource = 'heat'${quantities ? ` AND k.quantity = ANY(${quantities}::text[])` : ''}
    ORDER BY 1, 2
   ON CONFLICT (meter_id, day) DO UPDATE SET marked_at = clock_timestamp()`;

export interface ChangedValue { meterId: number; time: Date | string; quantity: string }

/**
 * Marks the days of the rows that can change a statement, in the caller's transaction; no statement
 * at all when none can (the common write: an apartment reading, a register poll).
 */
export async function markStatementDays(q: Queryable, rows: readonly ChangedValue[]): Promise<void> {
  const hits = rows.filter((r) => isStatementQuantity(r.quantity));
  if (!hits.length) return;
  await q.query(markDaysSql('unnest($1::bigint[], $2::timestamptz[]) AS k(meter_id, time)', null),
    [hits.map((r) => r.meterId), hits.map((r) => (r.time instanceof Date ? r.time.toISOString() : r.time))]);
}
