/**
 * Residents' one-time access codes: staff issue one per personal account; the resident signs in with
 * account number + code. Only a hash is stored; a code is spent on first use.
 *
 * How a code is hashed: with the head-end's key (SECRETS_KEY, generated and kept in DATA_DIR when
 * unset), `hmac$<salt>$<HMAC-SHA256(codeKey, salt ‖ code)>`, one HMAC (~2 µs) per check. Why not
 * scrypt, as for passwords people choose: a code is 10 random characters of 31 (≈ 2^49.5), guessed
 * online only through the sign-in limits (a handful per account and address per 15 minutes), spent
 * on first use and expiring in days; scrypt's cost protected it only against someone holding a copy
 * of the database — and the key, kept outside the database, does that better (without it a stolen
 * hash cannot even be tested). What scrypt cost: ~0.2 s of a core per code, so a building's letters
 * took minutes and the evening's sign-in wave queued for the hash pool (≈ 1 sign-in per second on 2
 * cores) in front of everything else. Without a key (an API built with no SECRETS_KEY, as in some
 * tests) codes fall back to scrypt, and codes stored as scrypt hashes before keep working.
 */
import { createHmac, hkdfSync, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../db/types.js';
import { hashPassword, verifyPassword } from '../auth/password.js';

/** The key access codes are hashed with, derived from SECRETS_KEY for this one use; null: none configured. */
export type CodeKey = Buffer | null;

export function codeKeyOf(secretsKeyB64: string | undefined): CodeKey {
  if (!secretsKeyB64) return null;
  return Buffer.from(hkdfSync('sha256', Buffer.from(secretsKeyB64, 'base64'), Buffer.alloc(0), 'amr resident access codes', 32));
}

/**
 * Names a code key without revealing it: the HMAC of a fixed label under the key (hex). Stored with
 * each keyed code and at start-up (code-key-check.ts), so a replaced SECRETS_KEY is noticed and the
 * codes it silently broke can be counted; the key itself never leaves the process.
 */
export function codeKeyFingerprint(key: Buffer): string {
  return createHmac('sha256', key).update('amr access-code key fingerprint').digest('hex').slice(0, 32);
}

const KEYED = 'hmac';
const hmac = (key: Buffer, salt: Buffer, code: string) => createHmac('sha256', key).update(salt).update(code, 'utf8').digest();

async function hashCode(code: string, key: CodeKey): Promise<string> {
  if (!key) return hashPassword(code);
  const salt = randomBytes(16);
  return [KEYED, salt.toString('base64'), hmac(key, salt, code).toString('base64')].join('$');
}

async function verifyCode(code: string, stored: string, key: CodeKey): Promise<boolean> {
  if (!stored.startsWith(`${KEYED}$`)) return verifyPassword(code, stored);
  const parts = stored.split('$');
  // A keyed hash with no key to check it (SECRETS_KEY removed or changed): it cannot match; the
  // resident asks for a new code. Never an error: the sign-in answers like a wrong code.
  if (!key || parts.length !== 3) return false;
  const expected = Buffer.from(parts[2], 'base64');
  const got = hmac(key, Buffer.from(parts[1], 'base64'), code);
  return expected.length === got.length && timingSafeEqual(expected, got);
}

// No 0/O, 1/I/L: codes are read out over the phone or printed on a bill.
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

export function newAccessCode(length = 10): string {
  return Array.from({ length }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
}

const normalise = (code: string) => code.trim().toUpperCase().replace(/[\s-]/g, '');

/**
 * A new code, its hash and the fingerprint of the key that made it (null: scrypt, no key). Made before
 * the transaction that stores it: a scrypt hash (no key) is slow and must not hold the database connection.
 */
export interface PreparedCode { code: string; hash: string; keyFingerprint?: string | null }

export async function prepareAccessCode(key: CodeKey): Promise<PreparedCode> {
  const code = newAccessCode();
  return { code, hash: await hashCode(code, key), keyFingerprint: key ? codeKeyFingerprint(key) : null };
}

/** Stores a prepared code for an account; any unused older code of it stops working (only the latest handed-out code works). */
export async function storeAccessCode(q: Queryable, accountId: number, prepared: PreparedCode, issuedBy: number | null, validDays: number): Promise<{ code: string; expiresAt: Date }> {
  await q.query('UPDATE resident_access_codes SET expires_at = least(expires_at, now()) WHERE account_id = $1 AND used_at IS NULL', [accountId]);
  const { rows } = await q.query<{ expires_at: Date }>(
    `INSERT INTO resident_access_codes (account_id, code_hash, issued_by, expires_at, key_fingerprint) VALUES ($1, $2, $3, now() + make_interval(days => $4), $5) RETURNING expires_at`,
    [accountId, prepared.hash, issuedBy, validDays, prepared.keyFingerprint ?? null]);
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
 * A code an account number's sign-in may open: one row per live code of each account with that number,
 * and (`spent`) a code this very attempt already spent within the grace (sign-in.ts: a lost answer).
 */
export interface LiveCode { codeId: number; accountId: number; hash: string; spent?: boolean }

/** The attempt a sign-in retries: the hash of the page's attempt key and the earliest spend it may retry. */
export interface RetryOf { attemptKeyHash: string; since: Date }

/**
 * The live (unused, unrevoked, unexpired) codes of the accounts with this number — in several
 * organisations there may be several — and, with `retry`, the codes spent since `retry.since` by an
 * attempt with the same key (whatever their expiry now: they were live when spent). One short query,
 * no transaction: the hashes are checked after it.
 */
export async function liveCodes(q: Queryable, accountNumber: string, retry: RetryOf | null = null): Promise<LiveCode[]> {
  const { rows } = await q.query<{ id: string; account_id: string; code_hash: string; spent: boolean }>(
    `SELECT c.id, c.account_id, c.code_hash, c.used_at IS NOT NULL AS spent FROM resident_access_codes c JOIN personal_accounts a ON a.id = c.account_id AND a.active
      WHERE a.number = $1 AND ((c.used_at IS NULL AND c.revoked_at IS NULL AND c.expires_at > now())
                            OR (c.attempt_key_hash = $2 AND c.used_at > $3))
      ORDER BY c.used_at IS NOT NULL, c.id`, [accountNumber.trim(), retry?.attemptKeyHash ?? null, retry?.since ?? null]);
  return rows.map((r) => ({ codeId: Number(r.id), accountId: Number(r.account_id), hash: r.code_hash, spent: r.spent === true }));
}

/**
 * The live code the typed code matches, or null. One HMAC per live code; for a code stored as a
 * scrypt hash (no key, or issued before keys) the slow part of a sign-in, through the bounded pool of
 * auth/password.ts: either way called with no transaction open and no connection held.
 */
export async function matchAccessCode(live: readonly LiveCode[], code: string, key: CodeKey): Promise<LiveCode | null> {
  const c = normalise(code);
  for (const r of live) if (await verifyCode(c, r.hash, key)) return r;
  if (live.length === 0) await verifyCode(c, key ? `${KEYED}$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=` : await (dummyHash ??= hashPassword('not-a-real-code')), key);
  return null;
}

/**
 * Spends a matched code, inside the sign-in's short transaction: only if it is still live (a parallel
 * sign-in with the same code, a revocation or a new code issued since it was read make it not).
 * Whether this call spent it: of two sign-ins racing with one code exactly one gets true. `at`: the
 * sign-in's instant (the retry grace is counted from it, on the same clock); `attemptKeyHash`: kept
 * so that the same attempt may retry (null: the page sent no attempt key, no retry).
 */
export async function spendAccessCode(q: Queryable, codeId: number, at: Date = new Date(), attemptKeyHash: string | null = null): Promise<boolean> {
  const spent = await q.query(
    `UPDATE resident_access_codes SET used_at = $2, attempt_key_hash = $3
      WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now() RETURNING id`, [codeId, at, attemptKeyHash]);
  return spent.rows.length === 1;
}

/**
 * The resident user a spent code signed in, when it was spent by an attempt with this key since
 * `retry.since`; else null. Read inside the retry's transaction, after a racing spend committed.
 */
export async function spenderOfAttempt(q: Queryable, codeId: number, retry: RetryOf): Promise<number | null> {
  const { rows } = await q.query<{ used_by: string | null }>(
    'SELECT used_by FROM resident_access_codes WHERE id = $1 AND attempt_key_hash = $2 AND used_at > $3 AND used_by IS NOT NULL', [codeId, retry.attemptKeyHash, retry.since]);
  return rows[0] ? Number(rows[0].used_by) : null;
}

/**
 * The live keyed codes (unused, unrevoked, unexpired, `hmac$…`) that the key with this fingerprint
 * cannot check: hashed under another key. Codes from before fingerprints were stored count as the
 * key `legacyFingerprint`'s (the key the head-end last started with).
 */
export async function liveCodesUnderOtherKeys(q: Queryable, fingerprint: string, legacyFingerprint: string): Promise<{ codes: number; accounts: number }> {
  const { rows } = await q.query<{ codes: number; accounts: number }>(
    `SELECT count(*)::int AS codes, count(DISTINCT account_id)::int AS accounts FROM resident_access_codes
      WHERE used_at IS NULL AND revoked_at IS NULL AND expires_at > now() AND code_hash LIKE '${KEYED}$%'
        AND coalesce(key_fingerprint, $2) <> $1`, [fingerprint, legacyFingerprint]);
  return rows[0];
}

/**
 * Keyed codes stored before fingerprints were: given the fingerprint of the key they were made
 * under as far as the head-end knows (the key it last started with), so that a key restored later
 * counts them right. The number of codes given one.
 */
export async function attributeUnfingerprintedCodes(q: Queryable, fingerprint: string): Promise<number> {
  const { rows } = await q.query(`UPDATE resident_access_codes SET key_fingerprint = $1 WHERE key_fingerprint IS NULL AND code_hash LIKE '${KEYED}$%' RETURNING id`, [fingerprint]);
  return rows.length;
}
