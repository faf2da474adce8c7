/**
 * The SQL of the registry's generic CRUD (crud-routes.ts): one table per entity, rows as the database
 * returns them. Table and column names come from the entity's declaration in code, never from a
 * request; values always travel as parameters. The caller's scope is applied here, in the list's
 * WHERE, with the principal passed down.
 */
import type { Queryable } from '../db/types.js';
import { buildingScopeSql, premiseScopeSql, type Principal } from '../auth/index.js';

/** A registry row as pg returns it (bigint ids as strings, dates as Date): the route's row schema shapes it for the wire. */
export type Row = Record<string, unknown>;

export interface TableSpec {
  table: string;
  /** SQL expression for the row's building id, over alias `t`. */
  buildingSql: string;
  /** SQL expression for the row's premise id over `t` (residents see only their premises' rows). */
  premiseSql?: string;
  /** Query filters: query key → SQL column over `t`. */
  filters?: Record<string, string>;
}

/**
 * The registry's CRUD tables: which table, how a row finds its building (and premise), and the
 * columns a list may be filtered on. The routes name an entry; SQL stays here.
 */
export const CRUD_TABLES = {
  building: { table: 'buildings', buildingSql: 't.id', filters: { org_id: 't.org_id', external_id: 't.external_id' } },
  premise: { table: 'premises', buildingSql: 't.building_id', filters: { building_id: 't.building_id', number: 't.number' } },
  personal_account: {
    table: 'personal_accounts', buildingSql: '(SELECT p.building_id FROM premises p WHERE p.id = t.premise_id)',
    // building_id: the console lists a building's accounts without asking premise by premise.
    filters: { premise_id: 't.premise_id', number: 't.number', org_id: 't.org_id', active: 't.active', building_id: '(SELECT p.building_id FROM premises p WHERE p.id = t.premise_id)' },
  },
  resident: {
    table: 'residents', buildingSql: '(SELECT p.building_id FROM personal_accounts a JOIN premises p ON p.id = a.premise_id WHERE a.id = t.account_id)',
    // building_id: the console lists a building's residents (and who has no contact) in one call.
    filters: { account_id: 't.account_id', building_id: '(SELECT p.building_id FROM personal_accounts a JOIN premises p ON p.id = a.premise_id WHERE a.id = t.account_id)' },
  },
  meter: {
    table: 'meters', buildingSql: 't.building_id', premiseSql: 't.premise_id',
    filters: { building_id: 't.building_id', premise_id: 't.premise_id', resource: 't.resource', placement: 't.placement', serial_number: 't.serial_number', status: 't.status' },
  },
} as const satisfies Record<string, TableSpec>;

export interface ListFilter { values: Record<string, string | undefined>; limit: number; offset: number }

/** SQL over the alias `t`: the rows of this table the caller may see (their buildings; a resident's premises only). Pushes its parameters. */
export function visibleRowsSql(spec: TableSpec, p: Principal, params: unknown[]): string {
  const where = [buildingScopeSql(p, `(${spec.buildingSql})`, params)];
  // Rows without a premise (buildings, organisation-wide rows) are never a resident's.
  if (p.premiseIds !== null) where.push(spec.premiseSql ? premiseScopeSql(p, `(${spec.premiseSql})`, params) : 'FALSE');
  return where.join(' AND ');
}

/** The rows the caller may see, filtered by equality on the declared filter columns (compared as text). */
export async function listRows(q: Queryable, spec: TableSpec, p: Principal, f: ListFilter): Promise<Row[]> {
  const params: unknown[] = [];
  const where = [visibleRowsSql(spec, p, params)];
  for (const [key, column] of Object.entries(spec.filters ?? {})) {
    const v = f.values[key];
    if (v === undefined) continue;
    params.push(v);
    where.push(`${column}::text = $${params.length}`);
  }
  params.push(f.limit, f.offset);
  const { rows } = await q.query<Row>(
    `SELECT t.* FROM ${spec.table} t WHERE ${where.join(' AND ')} ORDER BY t.id LIMIT $${params.length - 1} OFFSET $${params.length}`, params);
  return rows;
}

/** One row by id, or null; `forUpdate` locks it for the rest of the transaction. */
export async function loadRow(q: Queryable, spec: TableSpec, id: number, opts: { forUpdate?: boolean } = {}): Promise<Row | null> {
  const { rows } = await q.query<Row>(`SELECT t.* FROM ${spec.table} t WHERE t.id = $1${opts.forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ?? null;
}

/** The building a row belongs to (for the audit row). */
export async function buildingOfRow(q: Queryable, spec: TableSpec, id: number): Promise<number | null> {
  const { rows } = await q.query<{ b: string | number | null }>(`SELECT (${spec.buildingSql}) AS b FROM ${spec.table} t WHERE t.id = $1`, [id]);
  return rows[0]?.b == null ? null : Number(rows[0].b);
}

/** The defined (not undefined) fields of a body: its columns and their values, in one order. */
function columnsOf(body: Record<string, unknown>): [string[], unknown[]] {
  const entries = Object.entries(body).filter(([, v]) => v !== undefined);
  return [entries.map(([k]) => k), entries.map(([, v]) => v)];
}

export async function insertRow(q: Queryable, spec: TableSpec, body: Record<string, unknown>): Promise<Row> {
  const [cols, vals] = columnsOf(body);
  const { rows } = await q.query<Row>(`INSERT INTO ${spec.table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`, vals);
  return rows[0];
}

/** Sets the given fields (null clears one); null when the body changes nothing. */
export async function updateRow(q: Queryable, spec: TableSpec, id: number, body: Record<string, unknown>): Promise<Row | null> {
  const [cols, vals] = columnsOf(body);
  if (cols.length === 0) return null;
  const { rows } = await q.query<Row>(
    `UPDATE ${spec.table} SET ${cols.map((c, i) => `${c} = $${i + 2}`).join(', ')}, updated_at = now() WHERE id = $1 RETURNING *`, [id, ...vals]);
  return rows[0];
}
