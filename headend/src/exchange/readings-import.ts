/**
 * Import of ИПУ readings (Excel, CSV or exchange XML, all turned into rows of cell text first):
 * all-or-nothing, every row checked and every problem reported with its row and column; a dry run
 * does the same and stops before anything is written, reporting what would be inserted.
 *
 * A row names its meter by serial number and, to guard against typos in the serial, its place: the
 * personal account (лицевой счёт) or the building address + premise number. Values go through the readings core
 * (src/readings/write.ts: source 'import', created_by = actor, reason = file name) with every rule an
 * entry has, so nothing is overwritten. Re-importing the same value for the same instant adds nothing ("unchanged"); a
 * different value for an instant that has one becomes the next version.
 *
 * The embedded engine serves one connection at a time, so a file never holds it for long:
 *   parse     the rows' cells, handing the event loop back every few thousand rows
 *   resolve   serials, accounts and addresses in one query each (set-based, short reads)
 *   judge     chunks of about 0.1 s of the engine each (whole meters, so a meter's months meet each other),
 *             each in its own short transaction that also stages what passed: written with the
 *             import's id, hidden by the `readings` view (readings/import-staging.ts, migrations/028);
 *             after the first refused row the rest is only judged, so every problem is reported;
 *             on a server two chunks run side by side (the embedded engine has one connection)
 *   switch    only when every row passed (and not on a dry run): ONE UPDATE of the import's row makes
 *             all its rows visible at once; it refuses when another write touched one of the file's
 *             meters after it was judged (run again). A refused file's hidden rows are deleted in
 *             chunks; one cut off by a crash is discarded on the next start
 *   settle    the imported instants are queued for validation, a chunk of meters at a time
 */
import { z } from 'zod';
import type { Database } from '../db/types.js';
import { judgeReadingsBatch, plannedVersions, type BatchJudgement, type PlannedReading, type WriteItem, type WriteOptions } from '../readings/write.js';
import { discardImport, openImport, settleImport, stageVersions, switchImport } from '../readings/import-staging.js';
import { localMidnight } from '../collection/rules.js';
import type { WriteRights } from '../readings/judge.js';
import { audit, type Actor } from '../audit/index.js';
import { sideBySide } from '../util/side-by-side.js';
import { int, num, opt, optText, text } from '../import/cells.js';
import type { RowError, SourceRow } from '../import/index.js';
import type { Resource } from '@amr/protocols';

/** "31.12.2024" → 2024-12-31; "2024-12-31" and full ISO timestamps with an offset pass. */
const readingTime = () => z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const s = v.trim();
  const ru = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(s);
  return ru ? `${ru[3]}-${ru[2].padStart(2, '0')}-${ru[1].padStart(2, '0')}` : s;
}, z.union([z.iso.date(), z.iso.datetime({ offset: true })], { error: (i) => `not a date (YYYY-MM-DD, DD.MM.YYYY or ISO time with offset): "${String(i.input)}"` }));

export const ReadingImportRow = z.object({
  account: optText(64),
  address: optText(500),
  premise: optText(32),
  serial: text(64),
  date: readingTime(),
  value: num(),
  /** A multi-zone meter: one row per zone (1 = day, 2 = night, 3 = peak). */
  zone: opt(int().pipe(z.number().min(1, 'zone is 1 (day), 2 (night) or 3 (peak)').max(3, 'zone is 1 (day), 2 (night) or 3 (peak)'))),
});
export type ReadingImportRow = z.infer<typeof ReadingImportRow>;
export const READING_COLUMNS = Object.keys(ReadingImportRow.shape);

export const ReadingChange = z.object({
  row: z.number(), action: z.enum(['insert', 'unchanged']), meter_id: z.number(), serial: z.string(),
  time: z.string(), value: z.number(), previous: z.number().nullable(), version: z.number().nullable(),
});
export type ReadingChange = z.infer<typeof ReadingChange>;
export const ReadingsImportReport = z.object({
  ok: z.boolean(), dry_run: z.boolean(), applied: z.boolean(),
  summary: z.object({ insert: z.number(), unchanged: z.number() }),
  changes: z.array(ReadingChange),
  errors: z.array(z.object({ sheet: z.string(), row: z.number(), column: z.string().optional(), message: z.string() })),
});
export type ReadingsImportReport = z.infer<typeof ReadingsImportReport>;

export interface ReadingsImportOptions {
  orgId: number; dryRun: boolean; actor: Actor; fileName: string;
  /** Buildings the caller may write to; null = all of the organisation (admin, scheduled exchange). */
  buildingIds: ReadonlySet<number> | null;
  requestId?: string;
  /** "now" for the future-date check; tests pin it. */
  now?: Date;
  /** What the importer may do (readings/write.ts rightsFor 'import'): outside the window only with the privilege. */
  rights: WriteRights;
  /** Accept values that need a person's confirmation (a rollover, high consumption). */
  confirm?: boolean;
}

/**
 * Rows judged and staged per short transaction: fitted after each chunk so that one holds the
 * connection about CHUNK_HOLD_MS (see bench/import.bench.mjs), starting from FIRST_CHUNK_ROWS.
 * The floor keeps a busy machine from shrinking chunks until each one's fixed cost (its transaction
 * and the judge's few queries) is all the import does: at 50 rows a 100 000-row dry run on a loaded
 * CI machine ran past 5 minutes. A chunk's fixed cost is about 20 ms of the embedded engine; a row
 * costs 0.03–0.1 ms (bench/import-profile.mjs, import.bench.mjs: ~2 500-row chunks hold ~90 ms on an
 * idle machine), so the floor leaves a loaded one room below 100 ms. The fit moves down at once and up
 * slowly: with the last chunk's rate alone, one fast chunk made the next hold 150–230 ms (20–31 holds
 * over 100 ms in a 100 000-row import; 8–10 with this fit, the longest a garbage collection's or a new
 * time chunk's).
 */
const CHUNK_HOLD_MS = 100;
const FIRST_CHUNK_ROWS = 500;
const MIN_CHUNK_ROWS = 500;
const MAX_CHUNK_ROWS = 8000;
/**
 * The next chunk's size after one of `rows` rows held the connection `heldMs`: the pace (rows per ms)
 * goes down at once when a chunk ran slow and up only a fifth of the way when one ran fast, so that one
 * lucky chunk does not make the next one hold the connection too long; the size is the pace times
 * CHUNK_HOLD_MS, within the floor and the ceiling. `pace` is null before the first chunk.
 */
export function fitChunk(pace: number | null, rows: number, heldMs: number): { rowsPerMs: number; rows: number } {
  const rate = rows / Math.max(1, heldMs);
  const rowsPerMs = pace === null ? rate : Math.min(rate, pace + (rate - pace) / 5);
  return { rowsPerMs, rows: Math.max(MIN_CHUNK_ROWS, Math.min(MAX_CHUNK_ROWS, Math.round(rowsPerMs * CHUNK_HOLD_MS))) };
}

/** Chunks judged and staged side by side where the engine has the connections (a server): two keep the head-end's JS and the server's statements both busy and leave the pool's other connections to ingest and the API. */
const PARALLEL_CHUNKS = 2;
/** Rows parsed (and resolved) per turn of the event loop: about 0.05 s of it on an idle machine. */
const PARSE_ROWS_PER_TURN = 1000;
/** Lets timers, sockets and the pool's waiting clients run before the next step. */
const yieldToOthers = () => new Promise<void>((resolve) => setImmediate(resolve));

interface MeterRow { id: string; building_id: string; premise_id: string | null; resource: Resource; timezone: string; serial_number: string }
interface Resolved { row: number; data: ReadingImportRow; meter: MeterRow; time: Date }

export async function importReadingRows(db: Database, sheet: string, columns: string[], rows: SourceRow[], o: ReadingsImportOptions): Promise<ReadingsImportReport> {
  const errors: RowError[] = [];
  const changes: ReadingChange[] = [];
  for (const c of columns) if (!READING_COLUMNS.includes(c)) errors.push({ sheet, row: 1, column: c, message: `unknown column "${c}" (known: ${READING_COLUMNS.join(', ')})` });
  for (const need of ['serial', 'date', 'value']) if (!columns.includes(need)) errors.push({ sheet, row: 1, column: need, message: `column "${need}" is missing` });
  if (!columns.includes('account') && !(columns.includes('address') && columns.includes('premise'))) {
    errors.push({ sheet, row: 1, column: 'account', message: 'give the personal account (column "account") or the address and premise number (columns "address", "premise")' });
  }
  const parsed: { row: number; data: ReadingImportRow }[] = [];
  for (const [i, r] of rows.entries()) {
    // Parsing 100 000 rows takes the event loop (and so the embedded engine, which runs on it) for
    // seconds: hand it back every few thousand rows.
    if (i > 0 && i % PARSE_ROWS_PER_TURN === 0) await yieldToOthers();
    const res = ReadingImportRow.safeParse(r.values);
    if (res.success) parsed.push({ row: r.row, data: res.data });
    else for (const i of res.error.issues) errors.push({ sheet, row: r.row, column: String(i.path[0] ?? ''), message: i.message });
  }
  if (!rows.length) errors.push({ sheet, row: 0, message: 'the file holds no readings' });

  const resolved = await resolve(db, o, parsed, (row, column, message) => errors.push({ sheet, row, column, message }));
  const now = o.now ?? new Date();
  const opts: Omit<WriteOptions, 'actor'> = {
    source: 'import', rights: o.rights, scope: { orgId: o.orgId, buildingIds: o.buildingIds }, now,
    confirm: o.confirm ?? false, reason: o.fileName, requestId: o.requestId ?? null, skipUnchanged: true, auditEach: false,
  };
  const runAgain = (what: string) => errors.push({ sheet, row: 0, message: `${what} got readings while the file was being checked; nothing was imported, run the import again` });
  const staged: Array<{ r: Resolved; p: PlannedReading }> = [];
  // The import's hidden rows (readings/import-staging.ts): opened before the chunks when the file may
  // be written, so that chunks side by side share one; dropped again if no chunk staged anything.
  let importId: number | null = null;
  let stagedAny = false;
  let applied = false;
  try {
    if (!o.dryRun && !errors.length && resolved.length) {
      importId = await db.tx((q) => openImport(q, { orgId: o.orgId, fileName: o.fileName, createdBy: o.actor.name }));
    }
    let chunkRows = FIRST_CHUNK_ROWS;
    let rowsPerMs: number | null = null;
    // A chunk holds whole meters, so chunks never judge against each other's rows: where the engine
    // has several connections, two run side by side (the judge's JS of one beside the other's statements).
    await sideBySide(chunksByMeter(resolved, () => chunkRows), Math.min(PARALLEL_CHUNKS, db.connections ?? 1), async (chunk) => {
      let held = 0;
      const items: WriteItem[] = chunk.map((r) => ({ meterId: Number(r.meter.id), value: r.data.value, time: r.time, zone: r.data.zone, path: `row ${r.row}` }));
      // Stage while every row so far passed; after the first error only judge, to report every row.
      const stage = importId !== null && !errors.length;
      // Its own short transaction: judged against the database as it is now, and what passed written
      // hidden in the same transaction; the connection is free again right after. Run once more if its
      // connection is lost under it (rolled back with it): it judges and stages the same rows again; a
      // chunk whose COMMIT was lost after it happened is refused on that second run by the versions'
      // unique key, which the import answers as "run again".
      const j = await db.tx(async (q) => {
        const started = performance.now();
        const judged = await judgeReadingsBatch(q, items, opts);
        const versions = plannedVersions(judged.planned, { ...opts, actor: o.actor });
        if (stage && !rowErrors(judged).length && versions.length) {
          await stageVersions(q, importId!, versions);
          stagedAny = true;
        }
        held = performance.now() - started;
        return judged;
      }, { onceMoreIfConnectionLost: true });
      // The next chunk sized so that one holds the connection about CHUNK_HOLD_MS on this machine now.
      ({ rowsPerMs, rows: chunkRows } = fitChunk(rowsPerMs, chunk.length, held));
      for (const e of rowErrors(j)) errors.push({ sheet, row: chunk[e.index].row, column: e.column, message: e.message });
      for (const p of j.planned) staged.push({ r: chunk[p.index], p });
      await yieldToOthers();
    });
    if (!errors.length && !o.dryRun) {
      const id = stagedAny ? importId : null;
      const inserted = staged.filter((s) => !s.p.out.unchanged).length;
      // The switch: one UPDATE of the import's row (and the file's audit row) makes every row visible.
      const switched = await db.tx(async (q) => {
        const sw = id === null ? { ok: true as const } : await switchImport(q, id, inserted);
        if (sw.ok) await audit(q, o.actor, { action: 'import', entity: 'reading', entityId: null, after: { org_id: o.orgId, file: o.fileName, rows: staged.length, inserted }, reason: o.fileName, requestId: o.requestId });
        return sw;
      });
      if (switched.ok) applied = true; else runAgain(switched.conflict);
      if (applied && id !== null) {
        await settleImport(db, id, staged.filter((s) => !s.p.out.unchanged).map((s) => ({ meterId: Number(s.r.meter.id), time: s.p.time })));
      }
    }
  } catch (e) {
    // A writer took a version this file judged free (UNIQUE (meter_id, quantity, time, version)
    // refused a staged row): the same answer as a stale judgement, not a 500.
    if ((e as { code?: string }).code !== '23505') {
      if (importId !== null && (!applied || !stagedAny)) await discardImport(db, importId);
      throw e;
    }
    runAgain('some of its meters');
  }
  // Refused, or opened for nothing (every row unchanged): its row and any hidden rows go.
  if (importId !== null && (!applied || !stagedAny)) await discardImport(db, importId);
  staged.sort((a, b) => a.r.row - b.r.row);
  if (!errors.length) {
    // One object per row, built once (a spread and an ISO string per row were about half a second of
    // a 100 000-row import's CPU); a file names few instants, each written out once.
    const isoOf = new Map<number, string>();
    for (const { r, p } of staged) {
      const t = p.out.time.getTime();
      let time = isoOf.get(t);
      if (time === undefined) isoOf.set(t, time = p.out.time.toISOString());
      changes.push({
        row: r.row, action: p.out.unchanged ? 'unchanged' : 'insert', meter_id: Number(r.meter.id), serial: r.data.serial, time, value: r.data.value,
        previous: p.out.previous, version: p.out.unchanged ? null : p.nextVersion,
      });
    }
  }
  errors.sort((a, b) => a.row - b.row);
  return {
    ok: errors.length === 0, dry_run: o.dryRun, applied,
    summary: { insert: changes.filter((c) => c.action === 'insert').length, unchanged: changes.filter((c) => c.action === 'unchanged').length },
    changes, errors,
  };
}

/** The core's refusals of a chunk as row errors (column names of the file, not of the API). */
function rowErrors(j: BatchJudgement): Array<{ index: number; column: string; message: string }> {
  const col = (c: string | undefined) => (c === 'time' ? 'date' : c ?? 'value');
  return [
    ...j.missing.map((e) => ({ index: e.index, column: 'serial', message: e.message })),
    ...j.errors.map((e) => ({ index: e.index, column: col(e.column), message: e.message })),
    // One row error per row however many warnings the row's value raised (the judge gives one each).
    ...[...new Set(j.warnings.map((e) => e.index))].map((index) => {
      const ws = j.warnings.filter((e) => e.index === index);
      return { index, column: col(ws[0].column), message: `${ws.map((e) => e.message).join('; ')} (to accept such values, import with confirm=true)` };
    }),
  ];
}

/** Chunks of about size() rows (asked before each chunk) that never split a meter (its readings are judged together). */
function* chunksByMeter(rs: readonly Resolved[], size: () => number): Generator<Resolved[]> {
  const byMeter = new Map<string, Resolved[]>();
  for (const r of rs) {
    const list = byMeter.get(r.meter.id);
    if (list) list.push(r); else byMeter.set(r.meter.id, [r]);
  }
  let chunk: Resolved[] = [];
  for (const list of byMeter.values()) {
    if (chunk.length && chunk.length + list.length > size()) { yield chunk; chunk = []; }
    chunk.push(...list);
  }
  if (chunk.length) yield chunk;
}

/**
 * Meters, accounts and premises of all rows in one query each; a row whose meter or place does not
 * resolve is reported (same messages as a row-by-row lookup) and left out.
 */
async function resolve(db: Database, o: ReadingsImportOptions, parsed: ReadonlyArray<{ row: number; data: ReadingImportRow }>,
  fail: (row: number, column: string, message: string) => void): Promise<Resolved[]> {
  if (!parsed.length) return [];
  const serials = [...new Set(parsed.map((p) => p.data.serial))];
  const meters = new Map<string, MeterRow[]>();
  for (const m of await inSlices(serials, (part) => db.query<MeterRow>(
    `SELECT m.id, m.building_id, m.premise_id, m.resource, b.timezone, m.serial_number FROM meters m JOIN buildings b ON b.id = m.building_id
     WHERE b.org_id = $1 AND m.serial_number = ANY($2::text[]) AND m.status <> 'removed' ORDER BY m.id`, [o.orgId, part]))) {
    if (o.buildingIds !== null && !o.buildingIds.has(Number(m.building_id))) continue;
    const list = meters.get(m.serial_number);
    if (list) list.push(m); else meters.set(m.serial_number, [m]);
  }
  const accounts = [...new Set(parsed.flatMap((p) => (p.data.account ? [p.data.account] : [])))];
  const premiseOfAccount = new Map((await inSlices(accounts, (part) => db.query<{ number: string; premise_id: string }>(
    'SELECT number, premise_id FROM personal_accounts WHERE org_id = $1 AND number = ANY($2::text[])', [o.orgId, part]))).map((a) => [a.number, String(a.premise_id)]));
  const places = parsed.filter((p) => !p.data.account && p.data.address && p.data.premise);
  const placeKey = (address: string, premise: string) => `${address.toLowerCase()}|${premise}`;
  const premiseAt = new Map<string, string>();
  if (places.length) {
    for (const p of (await db.query<{ address: string; number: string; id: string }>(
      `SELECT DISTINCT ON (k.a, k.n) k.a AS address, k.n AS number, p.id
         FROM unnest($2::text[], $3::text[]) AS k(a, n)
         JOIN buildings b ON b.org_id = $1 AND lower(b.address) = lower(k.a) JOIN premises p ON p.building_id = b.id AND p.number = k.n
        ORDER BY k.a, k.n, p.id`, [o.orgId, places.map((p) => p.data.address), places.map((p) => p.data.premise)])).rows) {
      premiseAt.set(placeKey(p.address, p.number), String(p.id));
    }
  }
  const out: Resolved[] = [];
  // A file names few dates: the building's midnight of each (date, zone) is worked out once.
  const instants = new Map<string, Date>();
  for (const [i, { row, data: d }] of parsed.entries()) {
    if (i > 0 && i % PARSE_ROWS_PER_TURN === 0) await yieldToOthers();
    const ms = meters.get(d.serial) ?? [];
    if (!ms.length) { fail(row, 'serial', `unknown meter "${d.serial}" in organisation ${o.orgId}`); continue; }
    if (ms.length > 1) { fail(row, 'serial', `serial "${d.serial}" matches ${ms.length} meters (${ms.map((m) => m.id).join(', ')}); give the account or address to tell them apart`); continue; }
    const meter = ms[0];
    let premise: { id: string; column: string; label: string };
    if (d.account) {
      const id = premiseOfAccount.get(d.account);
      if (!id) { fail(row, 'account', `personal account "${d.account}" not found in organisation ${o.orgId}`); continue; }
      premise = { id, column: 'account', label: `account "${d.account}"` };
    } else {
      if (!d.address || !d.premise) { fail(row, d.address ? 'premise' : 'address', 'give the account, or the address and premise number'); continue; }
      const id = premiseAt.get(placeKey(d.address, d.premise));
      if (!id) { fail(row, 'premise', `premise "${d.premise}" at "${d.address}" not found`); continue; }
      premise = { id, column: 'premise', label: `premise "${d.premise}" at "${d.address}"` };
    }
    if (String(meter.premise_id) !== premise.id) { fail(row, premise.column, `meter "${d.serial}" is not in the premise of ${premise.label}`); continue; }
    const ik = `${d.date}|${meter.timezone}`;
    let time = instants.get(ik);
    if (!time) instants.set(ik, time = instantOf(d.date, meter.timezone));
    out.push({ row, data: d, meter, time });
  }
  return out;
}

/** Names looked up per query: a slice is a short hold of the connection, and the loop yields between them. */
const LOOKUP_SLICE = 2000;
async function inSlices<T, R>(all: readonly T[], run: (part: T[]) => Promise<{ rows: R[] }>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < all.length; i += LOOKUP_SLICE) {
    out.push(...(await run(all.slice(i, i + LOOKUP_SLICE))).rows);
    await yieldToOthers();
  }
  return out;
}

/** A date means the start of that day in the building's time zone; a full time with an offset is as given. */
function instantOf(date: string, timezone: string): Date {
  const ymd = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  return ymd ? localMidnight({ y: Number(ymd[1]), m: Number(ymd[2]), d: Number(ymd[3]) }, timezone) : new Date(date);
}
