/**
 * Import of ИПУ readings (Excel, CSV or exchange XML, all turned into rows of cell text first):
 * all-or-nothing in ONE transaction, every row checked and every problem reported with its row and
 * column; a dry run does the same and rolls back, reporting what would be inserted.
 *
 * A row names its meter by serial number and, to guard against typos in the serial, its place: the
 * personal account (лицевой счёт) or the building address + premise number. Values go through the readings core
 * (src/readings/write.ts: source 'import', created_by = actor, reason = file name) with every rule an
 * entry has, so nothing is overwritten. Re-importing the same value for the same instant adds nothing ("unchanged"); a
 * different value for an instant that has one becomes the next version.
 */
import { z } from 'zod';
import type { Database, Queryable } from '../db/types.js';
import { HttpError } from '../http/errors.js';
import { writeReadings } from '../readings/write.js';
import type { WriteRights } from '../readings/judge.js';
import { audit, type Actor } from '../audit/index.js';
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

class RowFailure extends Error {
  constructor(readonly column: string, message: string) { super(message); }
}
class Rollback extends Error {}

interface MeterRow { id: string; building_id: string; premise_id: string | null; resource: Resource; timezone: string }

export async function importReadingRows(db: Database, sheet: string, columns: string[], rows: SourceRow[], o: ReadingsImportOptions): Promise<ReadingsImportReport> {
  const errors: RowError[] = [];
  const changes: ReadingChange[] = [];
  for (const c of columns) if (!READING_COLUMNS.includes(c)) errors.push({ sheet, row: 1, column: c, message: `unknown column "${c}" (known: ${READING_COLUMNS.join(', ')})` });
  for (const need of ['serial', 'date', 'value']) if (!columns.includes(need)) errors.push({ sheet, row: 1, column: need, message: `column "${need}" is missing` });
  if (!columns.includes('account') && !(columns.includes('address') && columns.includes('premise'))) {
    errors.push({ sheet, row: 1, column: 'account', message: 'give the personal account (column "account") or the address and premise number (columns "address", "premise")' });
  }
  const parsed: { row: number; data: ReadingImportRow }[] = [];
  for (const r of rows) {
    const res = ReadingImportRow.safeParse(r.values);
    if (res.success) parsed.push({ row: r.row, data: res.data });
    else for (const i of res.error.issues) errors.push({ sheet, row: r.row, column: String(i.path[0] ?? ''), message: i.message });
  }
  if (!rows.length) errors.push({ sheet, row: 0, message: 'the file holds no readings' });

  let applied = false;
  try {
    await db.tx(async (q) => {
      for (const item of parsed) {
        await q.query('SAVEPOINT reading_row');
        try {
          changes.push(await applyRow(q, o, item.row, item.data));
          await q.query('RELEASE SAVEPOINT reading_row');
        } catch (e) {
          await q.query('ROLLBACK TO SAVEPOINT reading_row');
          if (!(e instanceof RowFailure)) throw e;
          errors.push({ sheet, row: item.row, column: e.column, message: e.message });
        }
      }
      if (errors.length || o.dryRun) throw new Rollback();
      const inserted = changes.filter((c) => c.action === 'insert').length;
      await audit(q, o.actor, { action: 'import', entity: 'reading', entityId: null, after: { org_id: o.orgId, file: o.fileName, rows: changes.length, inserted }, reason: o.fileName, requestId: o.requestId });
      applied = true;
    });
  } catch (e) {
    if (!(e instanceof Rollback)) throw e;
  }
  errors.sort((a, b) => a.row - b.row);
  return {
    ok: errors.length === 0, dry_run: o.dryRun, applied,
    summary: { insert: changes.filter((c) => c.action === 'insert').length, unchanged: changes.filter((c) => c.action === 'unchanged').length },
    changes, errors,
  };
}

async function findMeter(q: Queryable, o: ReadingsImportOptions, serial: string): Promise<MeterRow> {
  const { rows } = await q.query<MeterRow>(
    `SELECT m.id, m.building_id, m.premise_id, m.resource, b.timezone FROM meters m JOIN buildings b ON b.id = m.building_id
     WHERE b.org_id = $1 AND m.serial_number = $2 AND m.status <> 'removed'`, [o.orgId, serial]);
  const visible = rows.filter((m) => o.buildingIds === null || o.buildingIds.has(Number(m.building_id)));
  if (!visible.length) throw new RowFailure('serial', `unknown meter "${serial}" in organisation ${o.orgId}`);
  return visible.length === 1 ? visible[0] : ambiguous(serial, visible);
}

function ambiguous(serial: string, ms: MeterRow[]): never {
  throw new RowFailure('serial', `serial "${serial}" matches ${ms.length} meters (${ms.map((m) => m.id).join(', ')}); give the account or address to tell them apart`);
}

async function premiseOf(q: Queryable, o: ReadingsImportOptions, d: ReadingImportRow): Promise<{ id: string; column: string; label: string }> {
  if (d.account) {
    const a = (await q.query('SELECT premise_id FROM personal_accounts WHERE org_id = $1 AND number = $2', [o.orgId, d.account])).rows[0];
    if (!a) throw new RowFailure('account', `personal account "${d.account}" not found in organisation ${o.orgId}`);
    return { id: String(a.premise_id), column: 'account', label: `account "${d.account}"` };
  }
  if (!d.address || !d.premise) throw new RowFailure(d.address ? 'premise' : 'address', 'give the account, or the address and premise number');
  const p = (await q.query(
    `SELECT p.id FROM premises p JOIN buildings b ON b.id = p.building_id
     WHERE b.org_id = $1 AND lower(b.address) = lower($2) AND p.number = $3`, [o.orgId, d.address, d.premise])).rows[0];
  if (!p) throw new RowFailure('premise', `premise "${d.premise}" at "${d.address}" not found`);
  return { id: String(p.id), column: 'premise', label: `premise "${d.premise}" at "${d.address}"` };
}

async function applyRow(q: Queryable, o: ReadingsImportOptions, row: number, d: ReadingImportRow): Promise<ReadingChange> {
  const meter = await findMeter(q, o, d.serial);
  const premise = await premiseOf(q, o, d);
  if (String(meter.premise_id) !== premise.id) throw new RowFailure(premise.column, `meter "${d.serial}" is not in the premise of ${premise.label}`);
  // A date means the start of that day in the building's time zone.
  const time: Date = (await q.query(
    `SELECT CASE WHEN $1 ~ '^\\d{4}-\\d{2}-\\d{2}$' THEN ($1::timestamp AT TIME ZONE $2) ELSE $1::timestamptz END AS t`, [d.date, meter.timezone])).rows[0].t;
  // Every rule of an entry (rights, window, neighbours, time, plausibility) is the readings core's.
  let w;
  try {
    [w] = await writeReadings(q, [{ meterId: Number(meter.id), value: d.value, time, zone: d.zone, path: `row ${row}` }], {
      source: 'import', actor: o.actor, rights: o.rights, scope: { orgId: o.orgId, buildingIds: o.buildingIds }, now: o.now ?? new Date(),
      confirm: o.confirm ?? false, reason: o.fileName, requestId: o.requestId ?? null, skipUnchanged: true, auditEach: false,
    });
  } catch (e) {
    if (!(e instanceof HttpError)) throw e;
    const d0 = e.details?.[0];
    const msg = (e.details ?? []).map((x) => x.message).join('; ') || e.message;
    const column = d0?.column === 'time' ? 'date' : d0?.column ?? 'value';
    throw new RowFailure(column, e.code === 'confirmation_required' ? `${msg} (to accept such values, import with confirm=true)` : msg);
  }
  const base = { row, meter_id: Number(meter.id), serial: d.serial, time: w.time.toISOString(), value: d.value, previous: w.previous };
  if (w.unchanged) return { ...base, action: 'unchanged', version: null };
  return { ...base, action: 'insert', version: w.version };
}


