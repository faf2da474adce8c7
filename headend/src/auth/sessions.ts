/**
 * Login sessions (bearer tokens) and API keys → the request's Principal.
 */
import type { Queryable } from '../db/types.js';
import type { Principal } from './principal.js';
import type { Role } from './roles.js';
import { newSecret, secretHash } from './secrets.js';

export interface IssuedToken { token: string; tokenId: number; expiresAt: Date }

export async function issueToken(q: Queryable, userId: number, ttlSeconds: number, userAgent?: string): Promise<IssuedToken> {
  const token = newSecret('amrt');
  const { rows } = await q.query<{ id: number; expires_at: Date }>(
    `INSERT INTO auth_tokens (user_id, token_hash, expires_at, user_agent)
     VALUES ($1, $2, now() + make_interval(secs => $3), $4) RETURNING id, expires_at`,
    [userId, secretHash(token), ttlSeconds, userAgent?.slice(0, 200) ?? null],
  );
  return { token, tokenId: Number(rows[0].id), expiresAt: new Date(rows[0].expires_at) };
}

export async function revokeToken(q: Queryable, tokenId: number): Promise<void> {
  await q.query('UPDATE auth_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [tokenId]);
}

/**
 * Bearer tokens' principals in ONE statement, however many: each token marked used, its user, and the
 * user's scope — granted buildings (all for admin), and for residents their premises (and those
 * premises' buildings). Null for a token unknown, revoked or expired, or of an inactive user.
 */
export async function principalsFromTokens(q: Queryable, tokens: readonly string[]): Promise<Array<Principal | null>> {
  const hashes = [...new Set(tokens.map(secretHash))];
  const { rows } = await q.query<{ token_hash: string; token_id: string; user_id: string; username: string; role: Role; premises: Array<[number, number]> | null; grants: number[] | null }>(
    `WITH t AS (
       UPDATE auth_tokens t SET last_used_at = now()
         FROM users u, unnest($1::text[]) AS k(h)
        WHERE t.token_hash = k.h AND t.revoked_at IS NULL AND t.expires_at > now() AND u.id = t.user_id AND u.active
        RETURNING t.token_hash, t.id AS token_id, u.id AS user_id, u.username, u.role)
     SELECT t.token_hash, t.token_id, t.user_id, t.username, t.role,
            CASE WHEN t.role = 'resident' THEN
              (SELECT coalesce(json_agg(json_build_array(p.id, p.building_id)), '[]'::json) FROM user_accounts ua
                 JOIN personal_accounts a ON a.id = ua.personal_account_id AND a.active
                 JOIN premises p ON p.id = a.premise_id
                WHERE ua.user_id = t.user_id) END AS premises,
            CASE WHEN t.role NOT IN ('admin', 'resident') THEN
              (SELECT coalesce(array_agg(g.building_id), '{}') FROM user_building_grants g WHERE g.user_id = t.user_id) END AS grants
       FROM t`,
    [hashes],
  );
  const byHash = new Map(rows.map((r) => [r.token_hash, r]));
  return tokens.map((token) => {
    const r = byHash.get(secretHash(token));
    if (!r) return null;
    const scope: Pick<Principal, 'buildingIds' | 'premiseIds'> = r.role === 'admin' ? { buildingIds: null, premiseIds: null }
      : r.role === 'resident' ? { buildingIds: new Set((r.premises ?? []).map(([, b]) => Number(b))), premiseIds: new Set((r.premises ?? []).map(([p]) => Number(p))) }
      : { buildingIds: new Set((r.grants ?? []).map(Number)), premiseIds: null };
    return { kind: 'user', id: Number(r.user_id), name: r.username, role: r.role, organisationId: null, tokenId: Number(r.token_id), ...scope };
  });
}

export async function principalFromToken(q: Queryable, token: string): Promise<Principal | null> {
  return (await principalsFromTokens(q, [token]))[0];
}

/**
 * principalFromToken for every request, coalesced: a lookup asked while another is in flight waits for
 * it and goes with everything else that waited, in one statement (principalsFromTokens). Idle, a lookup
 * goes at once (no linger). Every authenticated request asks one; on the embedded engine's one
 * connection, a statement per request was half the database time of the 25th evening's submissions.
 */
export function tokenPrincipals(q: Queryable): (token: string) => Promise<Principal | null> {
  let waiting: Array<{ token: string; resolve: (p: Principal | null) => void; reject: (e: Error) => void }> = [];
  let inFlight = false;
  const run = async (): Promise<void> => {
    inFlight = true;
    while (waiting.length) {
      const batch = waiting;
      waiting = [];
      try {
        const found = await principalsFromTokens(q, batch.map((w) => w.token));
        batch.forEach((w, i) => w.resolve(found[i]));
      } catch (e) {
        for (const w of batch) w.reject(e as Error);
      }
    }
    inFlight = false;
  };
  return (token) => new Promise<Principal | null>((resolve, reject) => {
    waiting.push({ token, resolve, reject });
    if (!inFlight) void run();
  });
}

export async function principalFromApiKey(q: Queryable, key: string): Promise<Principal | null> {
  const { rows } = await q.query<{ id: string; name: string; organisation_id: string; role: Role }>(
    `UPDATE api_keys SET last_used_at = now()
      WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
      RETURNING id, name, organisation_id, role`,
    [secretHash(key)],
  );
  const r = rows[0];
  if (!r) return null;
  const b = await q.query<{ id: string }>('SELECT id FROM buildings WHERE org_id = $1', [r.organisation_id]);
  return {
    kind: 'api-key', id: Number(r.id), name: `api-key:${r.name}`, role: r.role, organisationId: Number(r.organisation_id), tokenId: null,
    buildingIds: new Set(b.rows.map((x) => Number(x.id))), premiseIds: null,
  };
}

export interface IssuedApiKey { id: number; key: string; prefix: string }

export async function createApiKey(q: Queryable, organisationId: number, name: string, createdBy: number | null, expiresAt?: Date): Promise<IssuedApiKey> {
  const key = newSecret('amrk');
  const prefix = key.slice(0, 12);
  const { rows } = await q.query<{ id: string }>(
    `INSERT INTO api_keys (organisation_id, name, key_prefix, key_hash, created_by, expires_at) VALUES ($1,$2,$3,$4,$5,$6) RETURNING id`,
    [organisationId, name, prefix, secretHash(key), createdBy, expiresAt ?? null],
  );
  return { id: Number(rows[0].id), key, prefix };
}
