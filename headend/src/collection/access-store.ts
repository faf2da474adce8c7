/**
 * Residents' access per building: each account's access state (its latest code), codes issued for a
 * whole building at once (the invite letters) and revocation. Codes are made by access.ts, the one core
 * the single-account route uses too. The caller has resolved the building or account through
 * auth/tenancy.ts first.
 */
import type { Database, Queryable } from '../db/types.js';
import { audit, type Actor } from '../audit/index.js';
import { conflict, HttpError } from '../http/errors.js';
import { CODE_STATE_SQL, prepareAccessCode, revokeAccessCode, storeAccessCode, type CodeKey, type PreparedCode } from './access.js';

export type AccessState = 'none' | 'active' | 'used' | 'revoked' | 'expired';

export interface AccountAccess {
  account_id: number; account_number: string; holder_name: string | null; premise_id: number; premise_number: string;
  state: AccessState; issued_at: Date | null; issued_by: string | null; expires_at: Date | null; used_at: Date | null; revoked_at: Date | null;
}

/** The open accounts of a building (flats in their natural order) with the state of each one's latest code. */
export async function listAccountAccess(q: Queryable, buildingId: number): Promise<AccountAccess[]> {
  const { rows } = await q.query<AccountAccess>(
    `SELECT a.id::int AS account_id, a.number AS account_number, a.holder_name, p.id::int AS premise_id, p.number AS premise_number,
            ${CODE_STATE_SQL} AS state, c.issued_at, u.username AS issued_by, c.expires_at, c.used_at, c.revoked_at
       FROM personal_accounts a JOIN premises p ON p.id = a.premise_id
       LEFT JOIN LATERAL (SELECT * FROM resident_access_codes x WHERE x.account_id = a.id ORDER BY x.issued_at DESC, x.id DESC LIMIT 1) c ON true
       LEFT JOIN users u ON u.id = c.issued_by
      WHERE p.building_id = $1 AND a.active
      ORDER BY length(p.number), p.number, a.number`, [buildingId]);
  return rows;
}

export interface InviteLetter { accountId: number; accountNumber: string; premiseNumber: string; holderName: string | null; code: string; expiresAt: Date }
export interface BuildingFacts { id: number; address: string; city: string | null; timezone: string; orgName: string }

/**
 * New one-time codes for a building's open accounts — every one ('all'), or those without a live code
 * ('without_code') — in one transaction, each audited as a single code is. The codes are hashed before
 * the transaction (scrypt is slow; the embedded database has one connection); the accounts are chosen
 * again inside it, so an account that got a code meanwhile is not given a second one.
 */
export async function issueBuildingCodes(db: Database, codeKey: CodeKey, buildingId: number, accounts: 'all' | 'without_code', issuedBy: number | null, validDays: number, actor: Actor, requestId: string):
  Promise<{ building: BuildingFacts; letters: InviteLetter[] }> {
  const building = (await db.query<BuildingFacts>(
    `SELECT b.id::int AS id, b.address, b.city, b.timezone, o.name AS "orgName" FROM buildings b JOIN organisations o ON o.id = b.org_id WHERE b.id = $1`, [buildingId])).rows[0];
  if (!building) throw new HttpError(404, 'not_found', 'building not found');
  const chosen = (q: Queryable) => listAccountAccess(q, buildingId).then((rs) => rs.filter((r) => accounts === 'all' || r.state !== 'active'));
  const before = await chosen(db);
  if (before.length === 0) {
    throw conflict(accounts === 'all'
      ? `building ${building.address} has no open personal accounts: add accounts first`
      : `every open account of building ${building.address} already has a live code: choose accounts 'all' to print new codes for everyone`);
  }
  const prepared = new Map<number, PreparedCode>();
  // Keyed: microseconds each. Without a key (scrypt) one after another, not all at once: each hash
  // waits its turn in the people's hash pool (auth/password.ts), so a resident signing in meanwhile
  // waits for one hash, not a whole building's.
  for (const r of before) prepared.set(r.account_id, await prepareAccessCode(codeKey));
  const letters = await db.tx(async (q) => {
    const out: InviteLetter[] = [];
    for (const r of await chosen(q)) {
      // An account opened after the hashing: no prepared code, it gets its letter next time.
      const p = prepared.get(r.account_id);
      if (!p) continue;
      const c = await storeIssuedCode(q, { id: r.account_id, number: r.account_number, buildingId }, p, { issuedBy, validDays, actor, requestId, letters: accounts });
      out.push({ accountId: r.account_id, accountNumber: r.account_number, premiseNumber: r.premise_number, holderName: r.holder_name, code: c.code, expiresAt: c.expiresAt });
    }
    return out;
  });
  return { building, letters };
}

/**
 * Stores a prepared code for an account and audits it (the account number, never the code): the one
 * step both a single code and a building's invite letters take. `letters`: which letters run it was.
 */
export async function storeIssuedCode(q: Queryable, account: { id: number; number: string; buildingId: number }, prepared: PreparedCode,
  o: { issuedBy: number | null; validDays: number; actor: Actor; requestId: string; letters?: 'all' | 'without_code' }): Promise<{ code: string; expiresAt: Date }> {
  const c = await storeAccessCode(q, account.id, prepared, o.issuedBy, o.validDays);
  await audit(q, o.actor, {
    action: 'issue', entity: 'resident_access_code', entityId: String(account.id), buildingId: account.buildingId,
    after: { account: account.number, expires_at: c.expiresAt, ...(o.letters ? { letters: o.letters } : {}) }, requestId: o.requestId,
  });
  return c;
}

/** Revokes an account's live code, audited; 409 when it has none (never issued, used, expired or revoked already). */
export async function revokeAccountCode(db: Database, accountId: number, revokedBy: number | null, actor: Actor, requestId: string): Promise<{ accountId: number; accountNumber: string }> {
  return db.tx(async (q) => {
    const a = (await q.query<{ number: string; building_id: string }>(
      'SELECT a.number, pr.building_id FROM personal_accounts a JOIN premises pr ON pr.id = a.premise_id WHERE a.id = $1', [accountId])).rows[0];
    if (!a) throw new HttpError(404, 'not_found', 'personal account not found');
    if (await revokeAccessCode(q, accountId, revokedBy) === 0) {
      throw conflict(`personal account ${a.number} has no live access code to revoke (none issued, or it was used, expired or revoked)`);
    }
    await audit(q, actor, { action: 'revoke', entity: 'resident_access_code', entityId: String(accountId), buildingId: Number(a.building_id), after: { account: a.number }, requestId });
    return { accountId, accountNumber: a.number };
  });
}
