/**
 * Gateway secrets (MQTT passwords) are stored like user passwords: scrypt, in the one format of
 * src/auth/password.ts (`scrypt$N$r$p$salt$hash`), so the API that issues a gateway secret and the
 * broker that checks it cannot drift apart.
 */
import { hashPassword, verifyPassword } from '../auth/password.js';

export async function hashSecret(secret: string): Promise<string> {
  return hashPassword(secret);
}

export async function verifySecret(secret: string, stored: string | null | undefined): Promise<boolean> {
  if (!stored) return false;
  try {
    return await verifyPassword(secret, stored);
  } catch {
    return false; // a malformed stored hash refuses the login instead of failing the broker
  }
}
