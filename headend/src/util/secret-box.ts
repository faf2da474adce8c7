/**
 * Secrets the head-end must use later in clear (an exchange partner's FTP password or SFTP key) are
 * kept sealed in the database when SECRETS_KEY is set: AES-256-GCM from node:crypto, a fresh 12-byte
 * nonce per value, the tag checked on opening. Whoever reads a dump or a replica then holds nothing
 * that logs in to a partner's server. Without SECRETS_KEY the head-end seals anyway, with a key it
 * generates once and keeps beside its data (`secretsKeyFor`: DATA_DIR/secrets.key, mode 0600; a
 * process-lifetime key for memory:// data dirs). Values stored in clear before that still open as they
 * are, and are sealed on their next write. A sealed value without the key, or with another key, is an
 * error that says so, never garbage.
 * Stored form: `sealed:v1:` + base64(nonce | tag | ciphertext).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

/** Generated once per process for memory:// data dirs: the data goes with the process, so may the key. */
let processKey: string | null = null;

export const SECRETS_KEY_FILE = 'secrets.key';

/**
 * The key to seal with: SECRETS_KEY when given; else the one kept in DATA_DIR/secrets.key, created on
 * first start (32 random bytes in base64, mode 0600, written exclusively so two processes starting
 * together keep the same one); for memory:// a key for this process's lifetime. `log` says which.
 */
export function secretsKeyFor(given: string | undefined, dataDir: string, log: (m: string) => void = () => {}): string {
  if (given) { parseSecretsKey(given); return given; }
  if (dataDir.startsWith('memory://')) {
    processKey ??= randomBytes(32).toString('base64');
    return processKey;
  }
  const file = join(dataDir, SECRETS_KEY_FILE);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    log(`SECRETS_KEY not set: generated a key for sealing stored secrets in ${file} (back it up with the data; set SECRETS_KEY to use your own)`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  // Someone loosened the file's mode: tighten it (only the head-end's user reads the key).
  if ((statSync(file).mode & 0o077) !== 0 && process.platform !== 'win32') chmodSync(file, 0o600);
  const key = readFileSync(file, 'utf8').trim();
  try { parseSecretsKey(key); } catch { throw new SecretKeyError(`${file} does not hold a key (32 bytes in base64); restore it from a backup, or set SECRETS_KEY`); }
  return key;
}
