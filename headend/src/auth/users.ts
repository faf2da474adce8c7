/**
 * Users and their grants. `createUser` is what `amr-headend user create` uses to make the first admin.
 */
import { z } from 'zod';
import type { Database, Queryable } from '../db/types.js';
import { audit, SYSTEM_ACTOR, type Actor, type AuditEntry } from '../audit/index.js';
import { hashPassword, verifyPassword, needsRehash } from './password.js';
import { Role } from './roles.js';
import { PASSWORD_MAX, passwordProblem } from './password-policy.js';

export const NewUser = z.object({
  username: z.string().trim().min(3).max(64).regex(/^[A-Za-z0-9._@-]+$/, 'letters, digits, . _ @ -'),
  password: z.string().max(PASSWORD_MAX),
  role: Role,
  display_name: z.string().max(200).optional(),
  email: z.email().optional(),
}).superRefine((u, ctx) => {
  // The one password policy (password-policy.ts): length, not the login, not a common password.
  const problem = passwordProblem(u.username, u.password);
  if (problem) ctx.addIssue({ code: 'custom', path: ['password'], message: problem });
});
export type NewUser = z.infer<typeof NewUser>;

export interface UserRow {
  id: number; username: string; display_name: string | null; email: string | null; role: Role; active: boolean;
  created_at: Date; updated_at: Date;
}

export const USER_COLUMNS = 'id, username, display_name, email, role, active, created_at, updated_at';

/**
 * Creates a user and audits it. Given the database (it has `tx`), the slow password hash is computed
 * before the transaction opens, so the one embedded connection is not held during it; given a
 * transaction handle, everything happens inside it. A taken username raises pg's unique error (→ 409).
 */
export async function createUser(q: Queryable | Database, input: NewUser, actor: Actor = SYSTEM_ACTOR): Promise<UserRow> {
  const u = NewUser.parse(input);
  const hash = await hashPassword(u.password);
  return 'tx' in q ? q.tx((t) => insertUser(t, u, hash, actor)) : insertUser(q, u, hash, actor);
}

/**
 * The write of createUser, with the hash computed beforehand (hashPassword): for a caller that creates
 * the user and more in one transaction of its own. The input is checked here as in createUser.
 */
export async function insertUser(q: Queryable, input: NewUser, hash: string, actor: Actor): Promise<UserRow> {
  const u = NewUser.parse(input);
  const { rows } = await q.query<UserRow>(
    `INSERT INTO users (username, display_name, email, password_hash, role) VALUES ($1,$2,$3,$4,$5) RETURNING ${USER_COLUMNS}`,
    [u.username, u.display_name ?? null, u.email ?? null, hash, u.role],
  );
  await audit(q, actor, { action: 'create', entity: 'user', entityId: rows[0].id, after: rows[0] });
  return rows[0];
}

/**
 * The resident user named `username`, or a new one that cannot log in with a password (no password
 * hash stored): a resident signs in with access codes only and holds sessions. No slow hash is made
 * for it, so it is created inside the sign-in's short transaction — found or created in ONE statement
 * (a sign-in wave on the embedded engine's one connection counts statements). A creation is audited as
 * any user's: the entry is returned for the caller's own audit insert (auditMany), with its other rows.
 */
export async function residentUserFor(q: Queryable, username: string, actor: Actor): Promise<{ id: number; created: { actor: Actor; entry: AuditEntry } | null }> {
  const { rows } = await q.query<{ found_id: string | null } & Partial<UserRow>>(
    `WITH found AS (SELECT id FROM users WHERE lower(username) = $1 AND role = 'resident'),
          made AS (INSERT INTO users (username, password_hash, role) SELECT $1, NULL, 'resident' WHERE NOT EXISTS (SELECT 1 FROM found)
                   RETURNING ${USER_COLUMNS})
     SELECT (SELECT id FROM found) AS found_id, made.* FROM (SELECT 1) one LEFT JOIN made ON true`, [username]);
  const { found_id: foundId, ...made } = rows[0];
  if (foundId !== null) return { id: Number(foundId), created: null };
  return { id: Number(made.id), created: { actor, entry: { action: 'create', entity: 'user', entityId: made.id!, after: made } } };
}

/**
 * Checks a password. Same work whether or not the user exists (a dummy hash is verified), so response
 * time does not reveal valid usernames; a user without a password (a resident) is checked against the
 * dummy too and refused. Upgrades the hash when parameters were raised. No transaction: the hash is slow.
 */
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
export async function authenticate(q: Queryable, username: string, password: string): Promise<UserRow | null> {
  const { rows } = await q.query<UserRow & { password_hash: string | null }>(
    `SELECT ${USER_COLUMNS}, password_hash FROM users WHERE lower(username) = lower($1)`, [username],
  );
  const row = rows[0];
  const ok = await verifyPassword(password, row?.password_hash ?? DUMMY_HASH);
  if (!row || !ok || !row.active) return null;
  if (row.password_hash !== null && needsRehash(row.password_hash)) {
    await q.query('UPDATE users SET password_hash = $2 WHERE id = $1', [row.id, await hashPassword(password)]);
  }
  const { password_hash: _h, ...user } = row;
  return user;
}

/** Sets a password hash computed beforehand (hashPassword) and ends every session of that user. */
export async function setPasswordHash(q: Queryable, userId: number, hash: string, actor: Actor): Promise<void> {
  await q.query('UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1', [userId, hash]);
  await q.query('UPDATE auth_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL', [userId]);
  await audit(q, actor, { action: 'set-password', entity: 'user', entityId: userId });
}
