/**
 * Residents' one-time access codes: staff issue one per personal account; the resident signs in with
 * account number + code. Only a scrypt hash is stored; a code is spent on first use.
 */
import { randomInt } from 'node:crypto';
import type { Queryable } from '../db/types.js';
import { hashPassword, verifyPassword } from '../auth/password.js';

// No 0/O, 1/I/L: codes are read out over the phone or printed on a bill.
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

export function newAccessCode(length = 10): string {
  return Array.from({ length }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
}

const normalise = (code: string) => code.trim().toUpperCase().replace(/[\s-]/g, '');

/** A new code and its scrypt hash. Made before the transaction that stores it: hashing is slow and must not hold the database connection. */
export interface PreparedCode { code: string; hash: string }

export async function prepareAccessCode(): Promise<PreparedCode> {
  const code = newAccessCode();
  return { code, hash: await hashPassword(code) };
}

/** Stores a prepared code for an account; any unused older code of it stops working (only the latest handed-out code works). */
export async function storeAccessCode(q: Queryable, accountId: number, prepared: PreparedCode, issuedBy: number | null, validDays: number): Promise<{ code: string; expiresAt: Date }> {
  await q.query('UPDATE resident_access_codes SET expires_at = least(expires_at, now()) WHERE account_id = $1 AND used_at IS NULL', [accountId]);
  const { rows } = await q.query<{ expires_at: Date }>(
    `INSERT INTO resident_access_codes (account_id, code_hash, issued_by, expires_at) VALUES ($1, $2, $3, now() + make_interval(days => $4)) RETURNING expires_at`,
    [accountId, prepared.hash, issuedBy, validDays]);
  return { code: prepared.code, expiresAt: new Date(rows[0].expires_at) };
}

/** Revokes the account's live code (unused, unexpired, not revoked): it no longer signs in. The number of codes revoked (0 or 1). */
export async function revokeAccessCode(q: Queryable, accountId: number, revokedBy: number | null): Promise<number> {
  const { rows } = await q.query(
    `UPDATE resident_access_codes SET revoked_at = now(), revoked_by = $2
      WHERE account_id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now() RETURNING id`, [accountId, revokedBy]);
  return rows.length;
}

/**
 * The state of an account's latest code, as SQL over the alias `c` (a resident_access_codes row or
 * NULLs): none, active (a live code), used, revoked or expired. The one definition the list and the
 * "accounts without a code" choice of the invite letters share.
 */
export const CODE_STATE_SQL = `CASE WHEN c.id IS NULL THEN 'none' WHEN c.used_at IS NOT NULL THEN 'used' WHEN c.revoked_at IS NOT NULL THEN 'revoked'
  WHEN c.expires_at <= now() THEN 'expired' ELSE 'active' END`;

// Verified against when nothing matches, so an unknown account costs as much time as a wrong code.
let dummyHash: Promise<string> | null = null;

/**
 * The account a valid, unused, unexpired code opens (and the code row spent), or null. Accounts with
 * the same number in several organisations are all tried.
 */
export async function redeemAccessCode(q: Queryable, accountNumber: string, code: string): Promise<{ accountId: number; codeId: number } | null> {
  const { rows } = await q.query<{ id: string; account_id: string; code_hash: string }>(
    `SELECT c.id, c.account_id, c.code_hash FROM resident_access_codes c JOIN personal_accounts a ON a.id = c.account_id AND a.active
      WHERE a.number = $1 AND c.used_at IS NULL AND c.revoked_at IS NULL AND c.expires_at > now()`, [accountNumber.trim()]);
  const c = normalise(code);
  for (const r of rows) {
    if (await verifyPassword(c, r.code_hash)) {
      const spent = await q.query('UPDATE resident_access_codes SET used_at = now() WHERE id = $1 AND used_at IS NULL RETURNING id', [r.id]);
      if (spent.rows.length === 0) return null; // spent concurrently
      return { accountId: Number(r.account_id), codeId: Number(r.id) };
    }
  }
  if (rows.length === 0) await verifyPassword(c, await (dummyHash ??= hashPassword('not-a-real-code')));
  return null;
}
