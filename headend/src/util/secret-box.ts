/**
 * Secrets the head-end must use later in clear (an exchange partner's FTP password or SFTP key) are
 * kept sealed in the database when SECRETS_KEY is set: AES-256-GCM from node:crypto, a fresh 12-byte
 * nonce per value, the tag checked on opening. Whoever reads a dump or a replica then holds nothing
 * that logs in to a partner's server. Without the key, values stay as given (a development default);
 * a sealed value without the key, or with another key, is an error that says so, never garbage.
 * Stored form: `sealed:v1:` + base64(nonce | tag | ciphertext).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const PREFIX = 'sealed:v1:';

export class SecretKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretKeyError';
  }
}

/** SECRETS_KEY: 32 random bytes in base64 (`openssl rand -base64 32`). */
export function parseSecretsKey(b64: string): Buffer {
  const key = Buffer.from(b64, 'base64');
  if (key.length !== 32 || key.toString('base64') !== b64.trim()) throw new SecretKeyError('SECRETS_KEY must be 32 bytes in base64 (openssl rand -base64 32)');
  return key;
}

export const isSealed = (stored: string | null | undefined): boolean => typeof stored === 'string' && stored.startsWith(PREFIX);

/** Seals a new secret when a key is configured; an already sealed value and null pass through. */
export function sealSecret(value: string | null, keyB64: string | undefined): string | null {
  if (value === null || isSealed(value) || !keyB64) return value;
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', parseSecretsKey(keyB64), nonce);
  const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return PREFIX + Buffer.concat([nonce, cipher.getAuthTag(), body]).toString('base64');
}

/** The secret in clear; `what` names whose secret it is in the error. */
export function openSecret(stored: string | null, keyB64: string | undefined, what: string): string | null {
  if (stored === null || !isSealed(stored)) return stored;
  if (!keyB64) throw new SecretKeyError(`${what}: the stored secret is sealed and SECRETS_KEY is not set`);
  const raw = Buffer.from(stored.slice(PREFIX.length), 'base64');
  try {
    const decipher = createDecipheriv('aes-256-gcm', parseSecretsKey(keyB64), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch (e) {
    if (e instanceof SecretKeyError) throw e;
    throw new SecretKeyError(`${what}: the stored secret does not open with this SECRETS_KEY (sealed with another key, or damaged)`);
  }
}
