/**
 * Versioned billing settings of an organisation: tariffs, norms and editions of the rules. A version
 * is a row in force from its date; rows are never edited (a change is a new date), so a closed
 * month's bill can always be recomputed by the versions it was computed with.
 *
 * The tariff and rules documents are stored as the domain writes them (camelCase JSON, the shape
 * loadBuildingInputs parses); the API's snake_case is the route's business.
 */
import type { Database, Queryable } from '../../db/types.js';
import { audit, type Actor } from '../../audit/index.js';
import { HttpError } from '../../http/errors.js';
import type { Resource } from '@amr/protocols';
import type { BillingRules, Tariff } from '../index.js';

export type SettingKind = 'tariffs' | 'norms' | 'rules';
export type NormBasis = 'resident' | 'common_area_m2' | 'heating_m2';

/** A new version as the domain spells it; `from` is its first day (YYYY-MM-01). */
export type SettingVersion =
  | { kind: 'tariffs'; resource: Resource; from: string; tariff: Tariff }
  | { kind: 'norms'; resource: Resource; basis: NormBasis; from: string; perResident: number }
  | { kind: 'rules'; from: string; rules: Omit<BillingRules, 'effectiveFrom'> };

/** One stored version: the table's columns (the JSON documents as stored), dates as YYYY-MM-DD, timestamps as ISO. */
export type SettingRow = Record<string, unknown> & { id: number; org_id: number };

const TABLES: Record<SettingKind, { table: string; entity: string; date: string }> = {
  tariffs: { table: 'billing_tariffs', entity: 'billing_tariff', date: 'valid_from' },
  norms: { table: 'billing_norms', entity: 'billing_norm', date: 'valid_from' },
  rules: { table: 'billing_rules', entity: 'billing_rules', date: 'effective_from' },
};

/** The columns a version writes, its unique key among them (one version per (resource,) date). */
function columnsOf(v: SettingVersion): { cols: Record<string, unknown>; key: string[] } {
  switch (v.kind) {
    case 'tariffs': return { cols: { resource: v.resource, valid_from: v.from, tariff: JSON.stringify(v.tariff) }, key: ['resource', 'valid_from'] };
    case 'norms': return { cols: { resource: v.resource, basis: v.basis, valid_from: v.from, per_resident: v.perResident }, key: ['resource', 'basis', 'valid_from'] };
    case 'rules': return { cols: { effective_from: v.from, rules: JSON.stringify(v.rules) }, key: ['effective_from'] };
  }
}

const plain = (v: unknown) => (v instanceof Date ? v.toISOString() : v);
function toRow(r: Record<string, unknown>): SettingRow {
  return { ...Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)])), id: Number(r.id), org_id: Number(r.org_id) };
}

/** Every version of one kind of an organisation, oldest first. */
export async function listSettings(q: Queryable, kind: SettingKind, orgId: number): Promise<SettingRow[]> {
  const { table, date } = TABLES[kind];
  const { rows } = await q.query<Record<string, unknown>>(
    `SELECT *, to_char(${date}, 'YYYY-MM-DD') AS ${date} FROM ${table} WHERE org_id = $1 ORDER BY ${table}.${date}, id`, [orgId]);
  return rows.map(toRow);
}

/** One version by id (the caller resolved its owner through auth/tenancy.ts), or null. */
export async function getSetting(q: Queryable, kind: SettingKind, id: number): Promise<SettingRow | null> {
  const { table, date } = TABLES[kind];
  const { rows } = await q.query<Record<string, unknown>>(`SELECT *, to_char(${date}, 'YYYY-MM-DD') AS ${date} FROM ${table} WHERE id = $1`, [id]);
  return rows[0] ? toRow(rows[0]) : null;
}

/** Adds a version (409 when one exists for the same key) and its audit row, in one transaction. Returns its id. */
export async function addSetting(db: Database, orgId: number, v: SettingVersion, actor: Actor, audited: { after: object; requestId: string }): Promise<number> {
  const { table, entity } = TABLES[v.kind];
  const { cols, key } = columnsOf(v);
  const names = Object.keys(cols);
  return db.tx(async (q) => {
    const keyVals = key.map((k) => cols[k]);
    const dup = await q.query(`SELECT id FROM ${table} WHERE org_id = $1 AND ${key.map((k, i) => `${k} = $${i + 2}`).join(' AND ')}`, [orgId, ...keyVals]);
    if (dup.rows[0]) throw new HttpError(409, 'conflict', `a version of ${v.kind} for ${keyVals.join(' from ')} already exists; a version is never edited: add one from another month`);
    const { rows } = await q.query<{ id: string }>(
      `INSERT INTO ${table} (org_id, ${names.join(', ')}, created_by) VALUES ($1, ${names.map((_, i) => `$${i + 2}`).join(', ')}, $${names.length + 2}) RETURNING id`,
      [orgId, ...Object.values(cols), actor.name]);
    await audit(q, actor, { action: 'create', entity, entityId: rows[0].id, after: { org_id: orgId, ...audited.after }, requestId: audited.requestId });
    return Number(rows[0].id);
  });
}
