/**
 * Gateway secrets (MQTT passwords): how they are stored and checked.
 *
 * A secret the head-end issues (auth/password.ts `randomSecret`: 32 random bytes, base64url, 43
 * characters) is stored as `sha256$<salt>$<digest>` and checked with one SHA-256 (~2 µs). Why that is
 * as safe as scrypt for these secrets: scrypt's work factor slows down guessing a password a person
 * chose; a uniformly random 256-bit secret cannot be guessed, and recovering it from its digest is a
 * 2^256 preimage search whatever the hash costs. Why it matters: at scrypt N=2^15 one check costs
 * ~230 ms of a core on a small head-end, so 300 gateways connecting after a restart need ~35 s of
 * hashing on 2 cores — beyond their 10 s connect timeout. No server key (HMAC) on purpose: it would
 * add nothing for unguessable secrets, and would be one more secret that every replica must share and
 * nobody may lose (losing it locks out every gateway).
 *
 * Anything that does not look like an issued secret (a shorter, possibly chosen one) is hashed with
 * scrypt in the one format of auth/password.ts, and so are hashes written before: `upgradeSecret`
 * tells the broker to rewrite those in the fast form on the gateway's next successful login.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { hashPassword, randomSecret, verifyPasswordUnpooled } from '../auth/password.js';

const FAST = 'sha256';
/** What `randomSecret()` yields: at least 32 bytes in base64url. */
const ISSUED_SECRET = /^[A-Za-z0-9_-]{43,}$/;

/** Whether a secret has the form (and so the entropy) of one the head-end issued. */
export function isIssuedSecret(secret: string): boolean {
  return ISSUED_SECRET.test(secret);
}

const sha256 = (salt: Buffer, secret: string) => createHash('sha256').update(salt).update(secret, 'utf8').digest();

function hashIssuedSecret(secret: string): string {
  const salt = randomBytes(16);
  return [FAST, salt.toString('base64'), sha256(salt, secret).toString('base64')].join('$');
}

export async function hashSecret(secret: string): Promise<string> {
  return isIssuedSecret(secret) ? hashIssuedSecret(secret) : hashPassword(secret);
}

/** Whether checking against `stored` is a fast hash (no scrypt, no pool, no back-off slot needed). */
export function isFastSecretHash(stored: string): boolean {
  return stored.startsWith(`${FAST}$`);
}

function verifyFast(secret: string, stored: string): boolean {
  const parts = stored.split('$');
  if (parts.length !== 3) return false;
  const expected = Buffer.from(parts[2], 'base64');
  const got = sha256(Buffer.from(parts[1], 'base64'), secret);
  return expected.length === got.length && timingSafeEqual(expected, got);
}

export async function verifySecret(secret: string, stored: string | null | undefined): Promise<boolean> {
  if (!stored) return false;
  if (isFastSecretHash(stored)) return verifyFast(secret, stored);
  try {
    return await verifyPasswordUnpooled(secret, stored); // the broker's hash pool bounds it
  } catch {
    return false; // a malformed stored hash refuses the login instead of failing the broker
  }
}

/** The fast form of a secret just verified against a scrypt hash, or null when it must stay scrypt. */
export function upgradeSecret(secret: string, stored: string): string | null {
  return !isFastSecretHash(stored) && isIssuedSecret(secret) ? hashIssuedSecret(secret) : null;
}

/**
 * A stored hash nobody knows the secret of, in the fast form: an unknown gateway id is checked
 * against it exactly like a wrong secret of a real gateway, so the refusal takes as long.
 */
export const DECOY_SECRET_HASH = hashIssuedSecret(randomSecret());
