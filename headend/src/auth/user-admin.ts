/**
 * User administration: the one way every path (the HTTP routes, and the local admin channel for user
 * create) changes users, their building grants, their resident accounts and API keys. Each call
 * resolves the ids it is given through auth/tenancy.ts first — a user, grant or key the caller may not
 * see is a 404 like a missing one, a building or account not theirs a 400 naming the field — then
 * writes once, audited in the same transaction. The SQL is in user-store.ts.
 */
import type { Database, Queryable } from '../db/types.js';
import { audit, type Actor } from '../audit/index.js';
import { badRequest, HttpError, notFound } from '../http/errors.js';
import { hashPassword } from './password.js';
import { passwordProblem } from './password-policy.js';
import { requirePermission, type Principal } from './principal.js';
import type { Role } from './roles.js';
import { createApiKey, type IssuedApiKey } from './sessions.js';
import { grantId, requireBodyRef, requireOwned, userScopeSql } from './tenancy.js';
import {
  deleteGrant, grantedBuildings, selectApiKeys, type ApiKeyRow, grantOrganisationBuildings, insertGrant, insertUserAccount, loadUser, organisationExists, revokeApiKeyRow, revokeSessions,
  selectUsers, updateUserRow, userByLogin, type UserChange,
} from './user-store.js';
import { createUser, insertUser, NewUser, setPasswordHash, type UserRow } from './users.js';

/** Who acts: the principal (scope and rights), and the actor and request id for the audit row. */
export interface Admin { p: Principal; actor: Actor; requestId?: string | null }

/**
 * Only an admin who sees every organisation may hand out the admin role: an admin sees everything,
 * so anyone else making one would widen their own reach.
 */
function requireGlobalForAdminRole(p: Principal, role: Role | undefined, field: string): void {
  if (role === 'admin' && (p.buildingIds !== null || p.organisationId !== null)) {
    throw new HttpError(403, 'forbidden', `${field}: only an administrator of every organisation may make an admin`);
  }
}

export async function listUsers(q: Queryable, p: Principal): Promise<UserRow[]> {
  requirePermission(p, 'users:manage');
  const params: unknown[] = [];
  return selectUsers(q, await userScopeSql(q, p, 'u.id', params), params);
}

export async function addUser(db: Database, a: Admin, input: NewUser): Promise<UserRow> {
  requirePermission(a.p, 'users:manage');
  requireGlobalForAdminRole(a.p, input.role, 'role');
  return createUser(db, input, a.actor);
}

export interface UserPatch extends UserChange { password?: string }

export async function changeUser(db: Database, a: Admin, id: number, b: UserPatch): Promise<UserRow> {
  requirePermission(a.p, 'users:manage');
  requireGlobalForAdminRole(a.p, b.role, 'role');
  await requireOwned(db, a.p, 'user', id);
  let hash: string | null = null;
  if (b.password !== undefined) {
    const login = (await loadUser(db, id))?.username;
    const problem = login === undefined ? null : passwordProblem(login, b.password);
    if (problem) throw badRequest(problem, [{ path: 'body.password', message: problem }]);
    hash = await hashPassword(b.password); // before the transaction: it is slow
  }
  return db.tx(async (q) => {
    await requireOwned(q, a.p, 'user', id);
    const before = await loadUser(q, id, { forUpdate: true });
    if (!before) throw notFound('user');
    const after = await updateUserRow(q, id, b);
    if (b.active === false) await revokeSessions(q, id);
    await audit(q, a.actor, { action: 'update', entity: 'user', entityId: id, before, after, requestId: a.requestId ?? null });
    if (hash) await setPasswordHash(q, id, hash, a.actor);
    return after;
  });
}

export async function listGrants(q: Queryable, p: Principal, userId: number): Promise<number[]> {
  requirePermission(p, 'users:manage');
  await requireOwned(q, p, 'user', userId);
  return grantedBuildings(q, userId);
}

/**
 * Grants a building. The building must be one the caller sees; it may lie in another organisation
 * than the user's other grants (a contractor serving two organisations), which makes the user an
 * admin-only one (auth/tenancy.ts: a user in several organisations belongs to none).
 */
export async function grantBuilding(db: Database, a: Admin, userId: number, buildingId: number): Promise<void> {
  requirePermission(a.p, 'users:manage');
  await db.tx(async (q) => {
    await requireOwned(q, a.p, 'user', userId);
    await requireBodyRef(q, a.p, 'building', buildingId, 'building_id');
    if (await insertGrant(q, userId, buildingId)) {
      await audit(q, a.actor, { action: 'grant', entity: 'user', entityId: userId, buildingId, after: { building_id: buildingId }, requestId: a.requestId ?? null });
    }
  });
}

export async function revokeGrant(db: Database, a: Admin, userId: number, buildingId: number): Promise<void> {
  requirePermission(a.p, 'users:manage');
  await db.tx(async (q) => {
    await requireOwned(q, a.p, 'user', userId);
    await requireOwned(q, a.p, 'grant', grantId(userId, buildingId));
    if (!(await deleteGrant(q, userId, buildingId))) throw notFound('grant');
    await audit(q, a.actor, { action: 'revoke', entity: 'user', entityId: userId, buildingId, before: { building_id: buildingId }, requestId: a.requestId ?? null });
  });
}

/** Binds a resident user to a personal account the caller sees. */
export async function bindAccount(db: Database, a: Admin, userId: number, accountId: number): Promise<void> {
  requirePermission(a.p, 'users:manage');
  await db.tx(async (q) => {
    await requireOwned(q, a.p, 'user', userId);
    const u = await loadUser(q, userId);
    if (!u) throw notFound('user');
    if (u.role !== 'resident') throw badRequest(`only resident users are bound to personal accounts (user ${userId} is ${u.role})`, [{ path: 'params.id', message: 'not a resident' }]);
    await requireBodyRef(q, a.p, 'account', accountId, 'personal_account_id');
    await insertUserAccount(q, userId, accountId);
    await audit(q, a.actor, { action: 'bind-account', entity: 'user', entityId: userId, after: { personal_account_id: accountId }, requestId: a.requestId ?? null });
  });
}

export async function issueApiKey(db: Database, a: Admin, orgId: number, k: { name: string; expiresAt?: Date }): Promise<IssuedApiKey> {
  requirePermission(a.p, 'users:manage');
  return db.tx(async (q) => {
    await requireOwned(q, a.p, 'organisation', orgId);
    const issued = await createApiKey(q, orgId, k.name, a.p.kind === 'user' ? a.p.id : null, k.expiresAt);
    await audit(q, a.actor, { action: 'create', entity: 'api_key', entityId: issued.id, after: { organisation_id: orgId, name: k.name, prefix: issued.prefix }, requestId: a.requestId ?? null });
    return issued;
  });
}

export async function listApiKeys(q: Queryable, p: Principal, orgId: number): Promise<ApiKeyRow[]> {
  requirePermission(p, 'users:manage');
  await requireOwned(q, p, 'organisation', orgId);
  return selectApiKeys(q, orgId);
}

export async function revokeApiKey(db: Database, a: Admin, keyId: number): Promise<void> {
  requirePermission(a.p, 'users:manage');
  await db.tx(async (q) => {
    await requireOwned(q, a.p, 'api_key', keyId);
    if (!(await revokeApiKeyRow(q, keyId))) throw notFound('API key');
    await audit(q, a.actor, { action: 'revoke', entity: 'api_key', entityId: keyId, requestId: a.requestId ?? null });
  });
}

/**
 * `amr-headend user create [--org N]` (the local admin channel): the user and its grants on every
 * building of the organisation in ONE transaction, so a failed grant leaves no user without them.
 * The hash is computed before the transaction (the embedded engine has one connection). A problem
 * the operator can fix is returned as text, not thrown.
 */
export async function createUserWithOrganisation(db: Database, actor: Actor, u: { login: string; password: string; role: Role; org?: number }): Promise<{ ok: true; user: UserRow; buildingIds: number[] } | { ok: false; error: string }> {
  if (u.org !== undefined && u.role === 'admin') return { ok: false, error: 'an admin sees every organisation: --org is for the other roles (it grants the organisation\'s buildings)' };
  const input = NewUser.safeParse({ username: u.login, password: u.password, role: u.role });
  if (!input.success) return { ok: false, error: input.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ') };
  const hash = await hashPassword(u.password);
  return db.tx(async (q) => {
    const taken = await userByLogin(q, u.login);
    if (taken) return { ok: false as const, error: `user "${u.login}" already exists (id ${taken.id}); to set its password run: amr-headend user passwd ${u.login}` };
    if (u.org !== undefined && !(await organisationExists(q, u.org))) return { ok: false as const, error: `organisation ${u.org} does not exist` };
    const user = await insertUser(q, input.data, hash, actor);
    let buildingIds: number[] = [];
    if (u.org !== undefined) {
      buildingIds = await grantOrganisationBuildings(q, Number(user.id), u.org);
      await audit(q, actor, { action: 'grant', entity: 'user', entityId: user.id, after: { organisation_id: u.org, building_ids: buildingIds } });
    }
    return { ok: true as const, user, buildingIds };
  });
}
