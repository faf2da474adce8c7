/**
 * Opaque bearer secrets (session tokens, API keys). 256-bit random; the database keeps only SHA-256,
 * which is enough for high-entropy secrets and lets us look them up by index.
 */
import { createHash, randomBytes } from 'node:crypto';

export function newSecret(prefix: 'amrt' | 'amrk'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
