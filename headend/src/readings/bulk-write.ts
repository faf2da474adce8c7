/**
 * The bulk write of reading rows: any number of rows in a fixed handful of statements, whatever the
 * batch's size — the ingest batch's path (ingest/writer.ts) and the one a bulk file import can share.
 * The caller has decided WHAT to write (idempotency, bindings, versions, quarantine); this does the
 * database part once per batch, set-based, that row triggers and the foreign key did per row:
 *
 *   1. the batch's distinct meters are locked FOR KEY SHARE in id order (what readings.meter_id's
 *      foreign key did per row, migrations/033) and a missing one refuses the whole batch, naming it;
 *   2. the rows go into the hypertable in ONE INSERT … SELECT FROM unnest, sorted by (time, key),
 *      so that concurrent batches wait for each other's rows in one order (never a deadlock); an
 *      existing key is skipped, never overwritten (ON CONFLICT DO NOTHING), and the skipped rows are
 *      named. Time first: the rows of one hypertable chunk go in together (a file import's months
 *      meter by meter sent every row to another chunk; time first took a quarter off the statement);
 *   3. the instants of the rows actually inserted are queued for validation in the same statement
 *      (the per-row trigger is off while it runs, as in migrations/017);
 *   4. a file import still staging one of the meters written (another import's rows, or any other
 *      row) is marked stale, so its switch refuses: it judged the meter before this write; rows
 *      of an import record their meters as that import's, the list the next writers look at;
 *   5. a building heat meter's archive values inserted (not an import's hidden rows: its switch marks
 *      them) mark their days for the signed statements' check (readings/statement-marks.ts).
 * All of it is ONE statement.
 *
 * Pipelined batches on several connections are safe: every lock taken here is taken in key order.
 */
import type { Queryable } from '../db/types.js';
import { isStatementQuantity, markDaysSql, STATEMENT_QUANTITIES } from './statement-marks.js';

export interface BulkReadingRow {
  meterId: number;
  /** The instant, ISO 8601 (or anything timestamptz parses). */
  time: string;
  quantity: string;
  /** NULL: the quantity was reported without a usable value. */
  value: number | null;
  unit: string;
  source: 'telemetry' | 'meter_archive' | 'resident' | 'staff' | 'import' | 'estimate';
  version: number;
  /** Quality flags (contract QualityFlag: no commas). */
  quality: readonly string[];
  gatewayId?: string | null;
  seq?: number | null;
  createdBy?: string | null;
  reason?: string | null;
  /** A file import's id: the row stays hidden by the `readings` view until the import switches (migrations/028). */
  importId?: number | null;
}

export interface BulkWriteOptions {
  /**
   * Queue the inserted instants for validation now (default). An import staging hidden rows says
   * false: its instants are queued when it switches (import-staging.ts settleImport).
   */
  queueValidation?: boolean;
}

export interface BulkWriteResult {
  /** Rows inserted; the others' keys (meter, quantity, time, version) existed already. */
  inserted: number;
  /**
   * Indexes (into the rows given) of the rows not inserted because their key was taken, ascending;
   * empty when all were inserted. The caller passes each key once: of two rows with one key, neither
   * is listed.
   */
  skipped: number[];
}

/** A batch naming a meter that does not exist: SQLSTATE 23503 like the foreign key it replaces, so callers treat it as the data's fault. */
export class MissingMetersError extends Error {
  readonly code = '23503';
  constructor(readonly meterIds: number[]) {
    super(`readings refer to meters that do not exist: ${meterIds.join(', ')}; register the meters (or fix the ids) and write again`);
  }
}

/** Inserts the rows not stored yet, in the caller's transaction; see the file head for what it guarantees. */
export async function writeReadingRows(q: Queryable, rows: readonly BulkReadingRow[], opts: BulkWriteOptions = {}): Promise<BulkWriteResult> {
  if (!rows.length) return { inserted: 0, skipped: [] };
  const queue = opts.queueValidation ?? true;
  // One round trip: under load every statement waits its turn for a CPU, so the per-batch count of
  // statements matters as much as their cost. The validation trigger's mark (amr.vee_bulk) is set by
  // each row of k before that row can be inserted, and cleared by `done` only after every insert
  // (it counts `ins`): rows a caller writes later in the transaction go through the trigger again.
  // The skipped rows are looked for only when fewer were inserted than sent (a one-time filter: the
  // common batch pays no anti-join).
  const { rows: out } = await q.query<{ inserted: number; missing: string[] | null; skipped: string[] | null }>(
    `WITH k AS MATERIALIZED (
       SELECT k.*, set_config('amr.vee_bulk', 'on', true) AS bulk
         FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::float8[], $5::text[], $6::text[], $7::text[], $8::int[],
                     $9::text[], $10::bigint[], $11::text[], $12::text[], $13::bigint[]) WITH ORDINALITY
           AS k(meter_id, time, quantity, value, unit, source, quality, version, gateway_id, seq, created_by, reason, import_id, i)),
     -- An index probe per distinct meter ($16): as a join with k the planner merge-joined the meters'
     -- index from its start up to the batch's highest id, and with $1's repeated ids it estimated
     -- so many that it read the whole table; both grew with the number of meters.
     m AS MATERIALIZED (SELECT id FROM meters WHERE id = ANY($16::bigint[]) ORDER BY id FOR KEY SHARE),
     ins AS (
       INSERT INTO reading_rows (meter_id, time, quantity, value, unit, source, quality, version, gateway_id, seq, created_by, reason, import_id)
       SELECT meter_id, time, quantity, value, unit, source,
              CASE WHEN quality = '' THEN '{}'::text[] ELSE string_to_array(quality, ',') END,
              version, gateway_id, seq, created_by, reason, import_id
         FROM k WHERE bulk = 'on' AND meter_id IN (SELECT id FROM m)
        ORDER BY time, meter_id, quantity, version
       ON CONFLICT DO NOTHING
       RETURNING meter_id, time, quantity, version, import_id),
     -- A file import's rows: their meters are the import's (the list other writers mark it stale by).
     im AS (
       INSERT INTO reading_import_meters (import_id, meter_id)
       SELECT DISTINCT import_id, meter_id FROM k WHERE import_id IS NOT NULL ORDER BY 1, 2
       ON CONFLICT DO NOTHING),
     -- An import still staging one of these meters judged it before this write: its switch must
     -- refuse (readings/write-store.ts markImportsStale, the same rule for every writer).
     stale AS (
       UPDATE reading_imports i SET conflict = coalesce(i.conflict, 'meters ' || s.ms)
         FROM (SELECT import_id, string_agg(meter_id::text, ', ' ORDER BY meter_id) AS ms
                 FROM (SELECT DISTINCT im.import_id, im.meter_id FROM reading_import_meters im
                         JOIN (SELECT DISTINCT meter_id, import_id FROM ins) w ON w.meter_id = im.meter_id AND w.import_id IS DISTINCT FROM im.import_id) d
                GROUP BY import_id) s
        WHERE i.id = s.import_id AND i.state = 'staging'),
     vq AS (
       INSERT INTO vee_queue (meter_id, time)
       SELECT DISTINCT meter_id, time FROM ins WHERE $14::boolean ORDER BY meter_id, time
       ON CONFLICT (meter_id, time) DO UPDATE SET enqueued_at = now() WHERE vee_queue.enqueued_at < now()),
     -- The heat statement's dirty mark (readings/statement-marks.ts): only archive values of a building heat meter.
     -- $17 is empty when no row of the batch can be one (nearly every batch): the filter folds to false.
     hd AS (${markDaysSql('(SELECT meter_id, time FROM ins WHERE cardinality($17::text[]) > 0 AND import_id IS NULL AND quantity = ANY($17::text[])) k', null)}),
     done AS (SELECT n, set_config('amr.vee_bulk', '', true) FROM (SELECT count(*)::int AS n FROM ins) c)
     SELECT (SELECT n FROM done) AS inserted,
            (SELECT array_agg(DISTINCT meter_id::text) FROM k WHERE meter_id NOT IN (SELECT id FROM m)) AS missing,
            (SELECT array_agg(k.i - 1 ORDER BY k.i) FROM k
              WHERE (SELECT n FROM done) < $15::int
                AND NOT EXISTS (SELECT 1 FROM ins WHERE ins.meter_id = k.meter_id AND ins.quantity = k.quantity
                                                    AND ins.time = k.time AND ins.version = k.version)) AS skipped`,
    [
      rows.map((r) => r.meterId), rows.map((r) => r.time), rows.map((r) => r.quantity), rows.map((r) => r.value),
      rows.map((r) => r.unit), rows.map((r) => r.source), rows.map((r) => r.quality.join(',')), rows.map((r) => r.version),
      rows.map((r) => r.gatewayId ?? null), rows.map((r) => r.seq ?? null), rows.map((r) => r.createdBy ?? null),
      rows.map((r) => r.reason ?? null), rows.map((r) => r.importId ?? null), queue, rows.length, [...new Set(rows.map((r) => r.meterId))],
      rows.some((r) => r.importId == null && isStatementQuantity(r.quantity)) ? STATEMENT_QUANTITIES : [],
    ],
  );
  if (out[0].missing?.length) throw new MissingMetersError(out[0].missing.map(Number).sort((a, b) => a - b));
  return { inserted: out[0].inserted, skipped: (out[0].skipped ?? []).map(Number) };
}

/**
 * Rows whose key (meter, quantity, time, version) is stored with a different value — the skipped rows
 * a caller must not take for redeliveries. Also sees rows an unfinished import holds hidden: such a
 * key is taken, so the row was not stored either.
 */
export async function differingStoredValues(q: Queryable, rows: readonly BulkReadingRow[]): Promise<{ index: number; stored: number | null }[]> {
  if (!rows.length) return [];
  const { rows: found } = await q.query<{ i: string; value: number | null }>(
    `SELECT k.i, r.value FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::int[], $5::float8[]) WITH ORDINALITY AS k(m, qn, t, ver, v, i)
       JOIN reading_rows r ON r.meter_id = k.m AND r.quantity = k.qn AND r.time = k.t AND r.version = k.ver
      WHERE r.value IS DISTINCT FROM k.v`,
    [rows.map((r) => r.meterId), rows.map((r) => r.quantity), rows.map((r) => r.time), rows.map((r) => r.version), rows.map((r) => r.value)],
  );
  return found.map((f) => ({ index: Number(f.i) - 1, stored: f.value }));
}
