/**
 * The registry's own SQL beyond the generic CRUD (crud-store.ts): organisations, and the grant a
 * building's creator receives.
 */
import type { Queryable } from '../db/types.js';
import type { Principal } from '../auth/index.js';
import { CRUD_TABLES, visibleRowsSql } from './crud-store.js';

export interface OrganisationRecord { id: string | number; name: string; inn: string | null; created_at: Date; updated_at: Date }

const ORG_COLUMNS = 'id, name, inn, created_at, updated_at';

/** Every organisation for admins; for API keys their own; for other staff those of their granted buildings. */
export async function listOrganisations(q: Queryable, p: Principal): Promise<OrganisationRecord[]> {
  if (p.organisationId !== null) return (await q.query<OrganisationRecord>(`SELECT ${ORG_COLUMNS} FROM organisations WHERE id = $1`, [p.organisationId])).rows;
  if (p.buildingIds === null) return (await q.query<OrganisationRecord>(`SELECT ${ORG_COLUMNS} FROM organisations ORDER BY id`)).rows;
  return (await q.query<OrganisationRecord>(
    `SELECT ${ORG_COLUMNS} FROM organisations o WHERE EXISTS (SELECT 1 FROM buildings b WHERE b.org_id = o.id AND b.id = ANY($1::bigint[])) ORDER BY id`,
    [[...p.buildingIds]])).rows;
}

export async function loadOrganisation(q: Queryable, id: number, opts: { forUpdate?: boolean } = {}): Promise<OrganisationRecord | null> {
  return (await q.query<OrganisationRecord>(`SELECT ${ORG_COLUMNS} FROM organisations WHERE id = $1${opts.forUpdate ? ' FOR UPDATE' : ''}`, [id])).rows[0] ?? null;
}

export async function insertOrganisation(q: Queryable, o: { name: string; inn: string | null }): Promise<OrganisationRecord> {
  return (await q.query<OrganisationRecord>(`INSERT INTO organisations (name, inn) VALUES ($1, $2) RETURNING ${ORG_COLUMNS}`, [o.name, o.inn])).rows[0];
}

/** Sets the given fields; an absent (undefined) one stays. */
export async function updateOrganisation(q: Queryable, id: number, o: { name?: string; inn?: string }): Promise<OrganisationRecord> {
  return (await q.query<OrganisationRecord>(
    `UPDATE organisations SET name = COALESCE($2, name), inn = COALESCE($3, inn), updated_at = now() WHERE id = $1 RETURNING ${ORG_COLUMNS}`,
    [id, o.name ?? null, o.inn ?? null])).rows[0];
}

/** A building's creator (staff other than admin) is granted it, so they can see what they made. */
export async function grantCreatedBuilding(q: Queryable, p: Principal, buildingId: number): Promise<void> {
  if (p.kind === 'user' && p.buildingIds !== null) {
    await q.query('INSERT INTO user_building_grants (user_id, building_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [p.id, buildingId]);
  }
}

export interface BuildingCounts { building_id: string | number; premises: number; accounts: number; meters: number; gateways: number }

/**
 * How much each building the caller may see holds: premises, active personal accounts, meters in
 * service (not removed) and gateways. The registry's list of buildings shows these beside the address.
 */
export async function buildingCounts(q: Queryable, p: Principal): Promise<BuildingCounts[]> {
  const params: unknown[] = [];
  // The same buildings GET /buildings lists to this caller.
  const where = visibleRowsSql(CRUD_TABLES.building, p, params);
  return (await q.query<BuildingCounts>(
    `SELECT t.id AS building_id,
            (SELECT count(*) FROM premises x WHERE x.building_id = t.id)::int AS premises,
            (SELECT count(*) FROM personal_accounts a JOIN premises x ON x.id = a.premise_id WHERE x.building_id = t.id AND a.active)::int AS accounts,
            (SELECT count(*) FROM meters m WHERE m.building_id = t.id AND m.status <> 'removed')::int AS meters,
            (SELECT count(*) FROM gateways g WHERE g.building_id = t.id)::int AS gateways
       FROM buildings t WHERE ${where} ORDER BY t.id`, params)).rows;
}
