/**
 * The SQL of user administration: users, their building grants and resident accounts, API keys.
 * Scope is applied by the caller (auth/user-admin.ts through auth/tenancy.ts); the list takes the
 * scope's SQL from there.
 */
import type { Queryable } from '../db/types.js';
import { USER_COLUMNS, type UserRow } from './users.js';
import type { Role } from './roles.js';

export async function selectUsers(q: Queryable, where: string, params: unknown[]): Promise<UserRow[]> {
  return (await q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE ${where} ORDER BY id`, params)).rows;
}

export async function loadUser(q: Queryable, id: number, opts: { forUpdate?: boolean } = {}): Promise<UserRow | null> {
  return (await q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1${opts.forUpdate ? ' FOR UPDATE' : ''}`, [id])).rows[0] ?? null;
}

export async function userByLogin(q: Queryable, login: string): Promise<UserRow | null> {
  return (await q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE lower(username) = lower($1)`, [login])).rows[0] ?? null;
}

export interface UserChange { role?: Role; active?: boolean; display_name?: string | null; email?: string | null }

/** Sets the fields given (undefined = leave; null clears display name or e-mail). */
export async function updateUserRow(q: Queryable, id: number, c: UserChange): Promise<UserRow> {
  return (await q.query<UserRow>(
    `UPDATE users SET role = COALESCE($2, role), active = COALESCE($3, active),
        display_name = CASE WHEN $4::boolean THEN $5 ELSE display_name END,
        email = CASE WHEN $6::boolean THEN $7 ELSE email END, updated_at = now()
      WHERE id = $1 RETURNING ${USER_COLUMNS}`,
    [id, c.role ?? null, c.active ?? null, c.display_name !== undefined, c.display_name ?? null, c.email !== undefined, c.email ?? null])).rows[0];
}

/** Ends every session of a user. */
export async function revokeSessions(q: Queryable, userId: number): Promise<void> {
  await q.query('UPDATE auth_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL', [userId]);
}

export async function grantedBuildings(q: Queryable, userId: number): Promise<number[]> {
  return (await q.query<{ building_id: string }>('SELECT building_id FROM user_building_grants WHERE user_id = $1 ORDER BY 1', [userId])).rows.map((r) => Number(r.building_id));
}

/** True when the grant is new (an existing one is left as it is). */
export async function insertGrant(q: Queryable, userId: number, buildingId: number): Promise<boolean> {
  const r = await q.query('INSERT INTO user_building_grants (user_id, building_id) VALUES ($1,$2) ON CONFLICT DO NOTHING', [userId, buildingId]);
  return (r.rowCount ?? 0) > 0;
}

/** Grants every building of an organisation; the ids of those granted now. */
export async function grantOrganisationBuildings(q: Queryable, userId: number, orgId: number): Promise<number[]> {
  const { rows } = await q.query<{ id: string }>(
    'INSERT INTO user_building_grants (user_id, building_id) SELECT $1, id FROM buildings WHERE org_id = $2 ON CONFLICT DO NOTHING RETURNING building_id AS id', [userId, orgId]);
  return rows.map((r) => Number(r.id));
}

export async function deleteGrant(q: Queryable, userId: number, buildingId: number): Promise<boolean> {
  const r = await q.query('DELETE FROM user_building_grants WHERE user_id = $1 AND building_id = $2', [userId, buildingId]);
  return (r.rowCount ?? 0) > 0;
}

export async function insertUserAccount(q: Queryable, userId: number, accountId: number): Promise<void> {
  await q.query('INSERT INTO user_accounts (user_id, personal_account_id) VALUES ($1,$2) ON CONFLICT DO NOTHING', [userId, accountId]);
}

export interface ApiKeyRow {
  id: number; name: string; prefix: string; created_by: number | null; created_at: Date; expires_at: Date | null; revoked_at: Date | null; last_used_at: Date | null;
}

/** An organisation's API keys, newest first: what identifies each (name, prefix), never the hash. */
export async function selectApiKeys(q: Queryable, orgId: number): Promise<ApiKeyRow[]> {
  const { rows } = await q.query<ApiKeyRow & { id: string; created_by: string | null }>(
    `SELECT id, name, key_prefix AS prefix, created_by, created_at, expires_at, revoked_at, last_used_at
       FROM api_keys WHERE organisation_id = $1 ORDER BY id DESC`, [orgId]);
  return rows.map((r) => ({ ...r, id: Number(r.id), created_by: r.created_by == null ? null : Number(r.created_by) }));
}

/** True when the key was live and is revoked now. */
export async function revokeApiKeyRow(q: Queryable, id: number): Promise<boolean> {
  const r = await q.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id]);
  return (r.rowCount ?? 0) > 0;
}

export async function organisationExists(q: Queryable, id: number): Promise<boolean> {
  return (await q.query('SELECT 1 FROM organisations WHERE id = $1', [id])).rows.length > 0;
}
