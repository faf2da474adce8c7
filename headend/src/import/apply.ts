/**
 * Applies parsed import rows inside ONE transaction. Each row runs under a SAVEPOINT so a database
 * error on one row is recorded (row, column, problem) and checking continues with the next; at the end,
 * any error or a dry run rolls the whole transaction back. Existing rows are matched by natural key
 * (building external id, premise number, account number, meter make + serial) and updated only where a
 * field differs, so re-importing the same file changes nothing.
 */
import { z } from 'zod';
import type { Database, Queryable } from '../db/types.js';
import { audit, type Actor } from '../audit/index.js';
import type { Principal } from '../auth/index.js';
import { detectFormat, readCsv, readXlsx, type SourceTable } from './table.js';
import { ImportKind, KIND_ORDER, ROW_SCHEMAS } from './rows.js';

/** One row that passed its sheet's schema, its data typed by its kind. */
type ParsedRow = { [K in ImportKind]: { kind: K; row: number; data: z.infer<(typeof ROW_SCHEMAS)[K]> } }[ImportKind];

export const RowError = z.object({ sheet: z.string(), row: z.number(), column: z.string().optional(), message: z.string() });
export type RowError = z.infer<typeof RowError>;
export const RowChange = z.object({
  sheet: z.string(), row: z.number(), action: z.enum(['create', 'update', 'unchanged']), key: z.string(),
  changes: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })).optional(),
});
export type RowChange = z.infer<typeof RowChange>;
export const ImportReport = z.object({
  ok: z.boolean(), dry_run: z.boolean(), applied: z.boolean(),
  summary: z.record(z.string(), z.object({ create: z.number(), update: z.number(), unchanged: z.number() })),
  changes: z.array(RowChange), errors: z.array(RowError),
});
export type ImportReport = z.infer<typeof ImportReport>;

export interface ImportOptions {
  file: Buffer; contentType?: string; kind?: ImportKind; orgId: number; dryRun: boolean;
  principal: Principal; actor: Actor; requestId?: string;
}

class RowFailure extends Error {
  constructor(readonly column: string | undefined, message: string) { super(message); }
}
class Rollback extends Error {}

const TABLE: Record<ImportKind, { table: string; entity: string }> = {
  buildings: { table: 'buildings', entity: 'building' },
  premises: { table: 'premises', entity: 'premise' },
  accounts: { table: 'personal_accounts', entity: 'personal_account' },
  meters: { table: 'meters', entity: 'meter' },
};

/** A stored or parsed value as text to compare by; the imported columns are all scalars. */
const asText = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v));

function same(a: unknown, b: unknown): boolean {
  if (a instanceof Date) a = a.toISOString().slice(0, 10);
  if (a === null || a === undefined) return b === null || b === undefined;
  if (typeof b === 'number') return Number(a) === b;
  return asText(a) === asText(b);
}

/** pg date columns come back as local-midnight Dates; compare by local calendar date. */
function normalise(v: unknown): unknown {
  if (v instanceof Date) return `${v.getFullYear()}-${String(v.getMonth() + 1).padStart(2, '0')}-${String(v.getDate()).padStart(2, '0')}`;
  return v;
}

export async function loadTables(file: Buffer, contentType: string | undefined, kind?: ImportKind): Promise<{ tables: SourceTable[]; errors: RowError[] }> {
  const errors: RowError[] = [];
  if (detectFormat(contentType, file) === 'xlsx') {
    const all = await readXlsx(file);
    const tables = all.filter((t) => (ImportKind.options as string[]).includes(t.sheet) && (!kind || t.sheet === kind));
    for (const t of all) if (!(ImportKind.options as string[]).includes(t.sheet)) errors.push({ sheet: t.sheet, row: 1, message: `unknown sheet "${t.sheet}" (expected: ${ImportKind.options.join(', ')})` });
    if (!tables.length) errors.push({ sheet: '', row: 0, message: `no sheet named ${kind ?? ImportKind.options.join(' / ')}` });
    return { tables, errors };
  }
  if (!kind) return { tables: [], errors: [{ sheet: '', row: 0, message: 'a CSV file holds one kind: give ?kind=buildings|premises|accounts|meters' }] };
  return { tables: [readCsv(file, kind)], errors };
}

export async function importRegistry(db: Database, o: ImportOptions): Promise<ImportReport> {
  let loaded: Awaited<ReturnType<typeof loadTables>>;
  try {
    loaded = await loadTables(o.file, o.contentType, o.kind);
  } catch (e) {
    // A broken file (bad zip, unclosed quote) is the user's problem to fix, reported like a row error.
    const line = (e as { lines?: number }).lines;
    return { ok: false, dry_run: o.dryRun, applied: false, summary: {}, changes: [], errors: [{ sheet: o.kind ?? '', row: line ?? 0, message: `cannot read the file: ${(e as Error).message}` }] };
  }
  const { tables, errors } = loaded;
  const changes: RowChange[] = [];
  const ordered = [...tables].sort((a, b) => KIND_ORDER.indexOf(a.sheet as ImportKind) - KIND_ORDER.indexOf(b.sheet as ImportKind));

  // Shape checks first (no database needed): unknown columns, cell types.
  const parsed: ParsedRow[] = [];
  for (const t of ordered) {
    const kind = t.sheet as ImportKind;
    const schema = ROW_SCHEMAS[kind];
    const known = Object.keys(schema.shape);
    for (const c of t.columns) if (!known.includes(c)) errors.push({ sheet: kind, row: 1, column: c, message: `unknown column "${c}" (known: ${known.join(', ')})` });
    for (const r of t.rows) {
      const res = (schema as z.ZodType).safeParse(r.values);
      // The data was parsed by its kind's schema: the kind and the data's type go together.
      if (res.success) parsed.push({ kind, row: r.row, data: res.data } as ParsedRow);
      else for (const i of res.error.issues) errors.push({ sheet: kind, row: r.row, column: String(i.path[0] ?? ''), message: i.message });
    }
  }

  let applied = false;
  try {
    await db.tx(async (q) => {
      const org = (await q.query('SELECT id FROM organisations WHERE id = $1', [o.orgId])).rows[0];
      if (!org) { errors.push({ sheet: '', row: 0, column: 'org_id', message: `organisation ${o.orgId} does not exist` }); throw new Rollback(); }
      for (const item of parsed) {
        await q.query('SAVEPOINT import_row');
        try {
          changes.push(await applyRow(q, o, item));
          await q.query('RELEASE SAVEPOINT import_row');
        } catch (e) {
          await q.query('ROLLBACK TO SAVEPOINT import_row');
          const pg = e as { code?: string; detail?: string; column?: string };
          errors.push({ sheet: item.kind, row: item.row, column: e instanceof RowFailure ? e.column : pg.column, message: e instanceof RowFailure ? e.message : (pg.detail ?? (e as Error).message) });
        }
      }
      if (errors.length || o.dryRun) throw new Rollback();
      await audit(q, o.actor, { action: 'import', entity: 'registry', entityId: null, after: { org_id: o.orgId, rows: changes.length }, requestId: o.requestId });
      applied = true;
    });
  } catch (e) {
    if (!(e instanceof Rollback)) throw e;
  }
  const summary: ImportReport['summary'] = {};
  for (const c of changes) {
    const s = (summary[c.sheet] ??= { create: 0, update: 0, unchanged: 0 });
    s[c.action]++;
  }
  errors.sort((a, b) => KIND_ORDER.indexOf(a.sheet as ImportKind) - KIND_ORDER.indexOf(b.sheet as ImportKind) || a.row - b.row);
  return { ok: errors.length === 0, dry_run: o.dryRun, applied, summary, changes, errors };
}

async function buildingId(q: Queryable, o: ImportOptions, externalId: string): Promise<number> {
  const b = (await q.query('SELECT id FROM buildings WHERE org_id = $1 AND external_id = $2', [o.orgId, externalId])).rows[0];
  if (!b) throw new RowFailure('building', `building "${externalId}" not found in organisation ${o.orgId} (nor earlier in this file)`);
  if (o.principal.buildingIds !== null && !o.principal.buildingIds.has(Number(b.id))) throw new RowFailure('building', `no access to building "${externalId}"`);
  return Number(b.id);
}

async function premise(q: Queryable, bId: number, number: string, building: string): Promise<{ id: number; kind: string }> {
  const p = (await q.query('SELECT id, kind FROM premises WHERE building_id = $1 AND number = $2', [bId, number])).rows[0];
  if (!p) throw new RowFailure('premise', `premise "${number}" not found in building "${building}"`);
  return { id: Number(p.id), kind: p.kind };
}

async function upsert(q: Queryable, o: ImportOptions, kind: ImportKind, row: number, key: string, existing: Record<string, unknown> | undefined, values: Record<string, unknown>, buildingIdOf: number | null, frozen: string[] = []): Promise<RowChange> {
  const { table, entity } = TABLE[kind];
  const defined = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
  if (!existing) {
    const cols = Object.keys(defined);
    const { rows } = await q.query(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`, Object.values(defined));
    await audit(q, o.actor, { action: 'create', entity, entityId: rows[0].id, buildingId: buildingIdOf ?? rows[0].id, after: rows[0], reason: 'import', requestId: o.requestId });
    return { sheet: kind, row, action: 'create', key };
  }
  const diff: Record<string, { from: unknown; to: unknown }> = {};
  for (const [k, v] of Object.entries(defined)) if (!same(existing[k], v)) diff[k] = { from: normalise(existing[k]), to: v };
  for (const k of frozen) if (diff[k]) throw new RowFailure(k, `${k} of existing ${entity} "${key}" is ${String(diff[k].from)}; it cannot change to ${String(diff[k].to)} by import`);
  if (!Object.keys(diff).length) return { sheet: kind, row, action: 'unchanged', key };
  const cols = Object.keys(diff);
  const { rows } = await q.query(`UPDATE ${table} SET ${cols.map((c, i) => `${c} = $${i + 2}`).join(', ')}, updated_at = now() WHERE id = $1 RETURNING *`, [existing.id, ...cols.map((c) => diff[c].to)]);
  await audit(q, o.actor, { action: 'update', entity, entityId: existing.id as number, buildingId: buildingIdOf, before: existing, after: rows[0], reason: 'import', requestId: o.requestId });
  return { sheet: kind, row, action: 'update', key, changes: diff };
}

async function applyRow(q: Queryable, o: ImportOptions, item: ParsedRow): Promise<RowChange> {
  const { kind, row } = item;
  switch (item.kind) {
    case 'buildings': {
      const d = item.data;
      const existing = (await q.query('SELECT * FROM buildings WHERE org_id = $1 AND external_id = $2', [o.orgId, d.building])).rows[0];
      if (existing && o.principal.buildingIds !== null && !o.principal.buildingIds.has(Number(existing.id))) throw new RowFailure('building', `no access to building "${d.building}"`);
      const { building, ...rest } = d;
      const change = await upsert(q, o, kind, row, building, existing, { org_id: o.orgId, external_id: building, ...rest }, existing ? Number(existing.id) : null);
      if (change.action === 'create' && o.principal.kind === 'user' && o.principal.buildingIds !== null) {
        await q.query('INSERT INTO user_building_grants (user_id, building_id) SELECT $1, id FROM buildings WHERE org_id = $2 AND external_id = $3', [o.principal.id, o.orgId, building]);
        (o.principal.buildingIds as Set<number>).add(Number((await q.query('SELECT id FROM buildings WHERE org_id = $1 AND external_id = $2', [o.orgId, building])).rows[0].id));
      }
      return change;
    }
    case 'premises': {
      const d = item.data;
      const bId = await buildingId(q, o, d.building);
      const existing = (await q.query('SELECT * FROM premises WHERE building_id = $1 AND number = $2', [bId, d.number])).rows[0];
      const { building, ...rest } = d;
      return upsert(q, o, kind, row, `${building}/${d.number}`, existing, { building_id: bId, ...rest }, bId);
    }
    case 'accounts': {
      const d = item.data;
      const bId = await buildingId(q, o, d.building);
      const p = await premise(q, bId, d.premise, d.building);
      const existing = (await q.query('SELECT * FROM personal_accounts WHERE org_id = $1 AND number = $2', [o.orgId, d.account])).rows[0];
      const { account, building: _b, premise: _p, ...rest } = d;
      return upsert(q, o, kind, row, account, existing, { org_id: o.orgId, number: account, premise_id: p.id, ...rest }, bId, ['premise_id']);
    }
    case 'meters': {
      const d = item.data;
      const bId = await buildingId(q, o, d.building);
      const p = d.premise ? await premise(q, bId, d.premise, d.building) : null;
      const placement = d.placement ?? (p ? (p.kind === 'non_residential' ? 'non_residential' : 'apartment') : 'building');
      if (p && (placement === 'building' || placement === 'common_area')) throw new RowFailure('premise', `a ${placement} meter has no premise; leave "premise" empty`);
      if (!p && (placement === 'apartment' || placement === 'non_residential')) throw new RowFailure('premise', `a ${placement} meter needs a premise`);
      const existing = (await q.query('SELECT * FROM meters WHERE make = $1 AND serial_number = $2', [d.make, d.serial_number])).rows[0];
      if (existing && (Number(existing.building_id) !== bId || (existing.premise_id == null ? null : Number(existing.premise_id)) !== (p?.id ?? null))) {
        throw new RowFailure('serial_number', `a meter of make "${d.make}" with serial number "${d.serial_number}" already exists elsewhere (meter ${existing.id}, building ${existing.building_id}${existing.premise_id ? `, premise ${existing.premise_id}` : ''})`);
      }
      const { building: _b, premise: _p, ...rest } = d;
      return upsert(q, o, kind, row, `${d.make}/${d.serial_number}`, existing, { placement, building_id: bId, premise_id: p?.id ?? null, ...rest }, bId, ['placement', 'resource']);
    }
  }
}
