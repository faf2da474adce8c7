/**
 * A file import's readings, staged invisibly and switched visible at once (migrations/028).
 *
 *   openImport      the import's row (state 'staging'); its rows are hidden by the `readings` view
 *   stageVersions   one judged chunk: the bulk write (bulk-write.ts) into the hypertable with the
 *                   import's id, its meters recorded, in the caller's short transaction
 *   switchImport    the all-or-nothing commit: ONE UPDATE of the import's row, refused when another
 *                   write made the import's judgement stale (markImportsStale); the same statement
 *                   marks the heat statement days of a building heat meter's rows (readings/statement-marks.ts)
 *   settleImport    after the switch: the instants queued for validation (the ones the import staged,
 *                   a slice per transaction; after a crash, found again in the import's rows by
 *                   chunks of meters), and the import's meter list cleared
 *   discardImport   a refused or abandoned import: 'failed' (hidden), its rows deleted in chunks
 *   finishImports   on start: what a crash left — staging → discarded, switched → settled
 *
 * Every step is a short transaction of its own, so the embedded engine's one connection is never
 * held for long; between steps it serves ingest and the API.
 */
import type { Database, Queryable } from '../db/types.js';
import { enqueueForValidation, unitOf, type NewVersion } from './write-store.js';
import { writeReadingRows } from './bulk-write.js';
import { sideBySide } from '../util/side-by-side.js';
import { markDaysSql, STATEMENT_QUANTITIES } from './statement-marks.js';

/** Meters per clean-up / settle statement: several hundred rows each, well under 0.1 s of the engine (500 held it 0.3 s). */
const METERS_PER_STEP = 200;

export async function openImport(q: Queryable, o: { orgId: number; fileName: string; createdBy: string }): Promise<number> {
  return Number((await q.query<{ id: string }>(
    'INSERT INTO reading_imports (org_id, file_name, created_by) VALUES ($1, $2, $3) RETURNING id', [o.orgId, o.fileName, o.createdBy])).rows[0].id);
}

/**
 * Writes judged versions of an import, hidden until the switch: the bulk write (bulk-write.ts, one
 * statement; the validation queue is filled after the switch, validating hidden rows now would find
 * nothing), which also marks other imports staging the same meters stale, as any other write marks
 * this one. A version judged free but taken meanwhile is not skipped: the chunk fails as a taken key
 * would (SQLSTATE 23505), and the import answers "run again".
 */
export async function stageVersions(q: Queryable, importId: number, rs: ReadonlyArray<NewVersion & { version: number }>): Promise<void> {
  if (!rs.length) return;
  // The bulk write records the rows' meters as this import's (reading_import_meters) in its statement.
  const { inserted } = await writeReadingRows(q, rs.map((r) => ({
    meterId: r.meterId, time: r.time instanceof Date ? r.time.toISOString() : r.time, quantity: r.quantity, value: r.value, unit: r.unit ?? unitOf(r.quantity),
    source: r.source, version: r.version, quality: [], createdBy: r.createdBy, reason: r.reason ?? null, importId,
  })), { queueValidation: false });
  if (inserted < rs.length) throw new VersionTakenError(rs.length - inserted);
}

/** Staged versions another writer took after the import judged them free: the unique key's answer, so callers treat it alike. */
export class VersionTakenError extends Error {
  readonly code = '23505';
  constructor(readonly taken: number) {
    super(`${taken} reading version(s) the import judged free were written by another writer meanwhile`);
  }
}

/** The switch: the import's rows become visible together, or (stale) nothing changes and the reason is returned. */
export async function switchImport(q: Queryable, importId: number, rows: number): Promise<{ ok: true } | { ok: false; conflict: string }> {
  // The rows becoming visible mark their heat statement days in the same statement (readings/statement-marks.ts): a
  // building heat meter's archive values only, found through the import's meter list.
  const done = await q.query(
    `WITH sw AS (
       UPDATE reading_imports SET state = 'switched', switched_at = clock_timestamp(), rows = $2
        WHERE id = $1 AND state = 'staging' AND conflict IS NULL RETURNING id),
     hd AS (${markDaysSql(`(SELECT r.meter_id, r.time FROM sw JOIN reading_import_meters im ON im.import_id = sw.id
                              JOIN meters hm ON hm.id = im.meter_id AND hm.placement = 'building' AND hm.resource = 'heat'
                              JOIN reading_rows r ON r.meter_id = im.meter_id AND r.quantity = ANY($3::text[]) AND r.import_id = sw.id) k`, null)})
     SELECT id FROM sw`, [importId, rows, STATEMENT_QUANTITIES]);
  if (done.rows.length) return { ok: true };
  const r = (await q.query<{ conflict: string | null; state: string }>('SELECT conflict, state FROM reading_imports WHERE id = $1', [importId])).rows[0];
  return { ok: false, conflict: r?.conflict ?? `the import is ${r?.state ?? 'gone'}` };
}

async function meterSteps(db: Database, importId: number, step: (q: Queryable, meters: number[]) => Promise<void>): Promise<void> {
  for (;;) {
    const done = await db.tx(async (q) => {
      const meters = (await q.query<{ meter_id: string }>(
        'SELECT meter_id FROM reading_import_meters WHERE import_id = $1 ORDER BY meter_id LIMIT $2', [importId, METERS_PER_STEP])).rows.map((r) => Number(r.meter_id));
      if (!meters.length) return true;
      await step(q, meters);
      await q.query('DELETE FROM reading_import_meters WHERE import_id = $1 AND meter_id = ANY($2::bigint[])', [importId, meters]);
      return false;
    });
    if (done) return;
  }
}

/** Instants queued for validation per settle transaction: one short statement each (about 0.05 s embedded). */
const INSTANTS_PER_STEP = 4000;
/** Settle transactions side by side where the engine has the connections (a server). */
const SETTLE_SIDE_BY_SIDE = 2;
/** Meter rows of a switched import cleared per statement: a plain delete by the import's key. */
const CLEAR_PER_STEP = 5000;

/**
 * After the switch: queue the imported instants for validation, then clear the import's meter list
 * (every later write of those meters would otherwise still join it). The import passes the instants
 * it staged, queued a slice per transaction; without them (finishImports after a crash) they are
 * found again in the import's rows, a chunk of meters at a time. Either way each step is a short
 * transaction, and a crash between steps leaves settled_at NULL, so the next start settles again
 * (queueing an instant twice is harmless: the queue's key takes it once).
 */
export async function settleImport(db: Database, importId: number, instants?: ReadonlyArray<{ meterId: number; time: Date }>): Promise<void> {
  if (instants) {
    // Each instant once (a multi-zone meter's rows share theirs), so that slices side by side on a
    // server never insert the same queue key and so never wait for each other.
    const byKey = new Map<string, { meterId: number; time: Date }>();
    for (const x of instants) {
      const key = `${x.meterId}|${x.time.getTime()}`;
      if (!byKey.has(key)) byKey.set(key, x);
    }
    const unique = [...byKey.values()];
    const slices = function* () {
      for (let i = 0; i < unique.length; i += INSTANTS_PER_STEP) yield unique.slice(i, i + INSTANTS_PER_STEP);
    };
    await sideBySide(slices(), Math.min(SETTLE_SIDE_BY_SIDE, db.connections ?? 1), (part) =>
      // A slice queued twice is queued once (the queue's key): safe to run again on a lost connection,
      // which would otherwise fail an import already switched visible.
      db.tx((q) => enqueueForValidation(q, part.map((x) => x.meterId), part.map((x) => x.time)), { onceMoreIfConnectionLost: true }));
    for (;;) {
      const { rows } = await db.query<{ n: number }>(
        `WITH d AS (DELETE FROM reading_import_meters WHERE import_id = $1 AND meter_id IN
                      (SELECT meter_id FROM reading_import_meters WHERE import_id = $1 ORDER BY meter_id LIMIT $2) RETURNING 1)
         SELECT count(*)::int AS n FROM d`, [importId, CLEAR_PER_STEP]);
      if (rows[0].n < CLEAR_PER_STEP) break;
    }
  } else {
    await meterSteps(db, importId, (q, meters) => q.query(
      `INSERT INTO vee_queue (meter_id, time)
       SELECT DISTINCT meter_id, time FROM reading_rows WHERE meter_id = ANY($1::bigint[]) AND import_id = $2
       ON CONFLICT (meter_id, time) DO UPDATE SET enqueued_at = now() WHERE vee_queue.enqueued_at < now()`, [meters, importId]).then(() => undefined));
  }
  await db.query('UPDATE reading_imports SET settled_at = clock_timestamp() WHERE id = $1', [importId]);
}

/**
 * A refused or abandoned import: 'failed' first (its rows stay hidden whatever happens next), then
 * its rows deleted a chunk of meters at a time; when none are left the import's row goes too.
 */
export async function discardImport(db: Database, importId: number): Promise<void> {
  await db.query(`UPDATE reading_imports SET state = 'failed' WHERE id = $1 AND state = 'staging'`, [importId]);
  await meterSteps(db, importId, (q, meters) => q.query(
    'DELETE FROM reading_rows WHERE meter_id = ANY($1::bigint[]) AND import_id = $2', [meters, importId]).then(() => undefined));
  await db.query(`DELETE FROM reading_imports WHERE id = $1 AND state = 'failed'`, [importId]);
}

/**
 * On start: an import still 'staging' was cut off by a crash (its rows never became visible) and is
 * discarded; a switched one not yet settled gets its validation queue. Returns what was done.
 */
export async function finishImports(db: Database): Promise<{ discarded: number; settled: number }> {
  const open = (await db.query<{ id: string; state: string }>(
    `SELECT id, state FROM reading_imports WHERE state <> 'switched' OR settled_at IS NULL ORDER BY id`)).rows;
  let discarded = 0;
  let settled = 0;
  for (const r of open) {
    if (r.state === 'switched') { await settleImport(db, Number(r.id)); settled++; } else { await discardImport(db, Number(r.id)); discarded++; }
  }
  return { discarded, settled };
}
