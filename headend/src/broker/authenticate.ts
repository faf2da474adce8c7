/**
 * The one decision on an MQTT CONNECT to the embedded broker: who may connect, under which client id,
 * and at what cost. The broker (embedded.ts) only translates the result into a CONNACK.
 *
 * Order, cheapest first, so that a flood of bad attempts costs no scrypt hash:
 *  1. the head-end's own clients (internal users): constant-time compare, no database;
 *  2. the client id must be the gateway's own (acl.ts), or the CONNECT could kick another gateway;
 *  3. the gateway's row (status, credential hash) — read on every CONNECT so a disabled gateway or a
 *     rotated secret takes effect at once, whatever the cache holds. An unknown id (or a gateway
 *     without a credential) is checked against a decoy hash through the same steps as a wrong secret
 *     (credentials.ts), so neither the answer nor its timing tells which ids exist;
 *  4. credentials verified recently are accepted on a keyed hash (credential-cache.ts);
 *  5. a secret stored in the fast form is checked at once (one SHA-256): no pool, no back-off slot;
 *  6. a scrypt-stored one needs a hash: unverified credentials must pass the address back-off
 *     (backoff.ts) — refused at once when the address failed too often or has too many in flight —
 *     and find room in the pool's bounded queue (hash-pool.ts), or are refused ("server busy");
 *     credentials verified before (cache "stale") skip the back-off and go to the front of the pool.
 *     A scrypt hash that verifies an issued secret is rewritten in the fast form (`upgrade`).
 * The status is judged after the secret, so a disabled gateway's id is no more visible than others.
 * CONNACK codes (MQTT 3.1.1): 2 identifier rejected, 3 server unavailable (busy, database down),
 * 4 bad user name or password, 5 not authorized (disabled, backed off).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { gatewayOwnsClientId } from './acl.js';
import { AddressBackoff, DEFAULT_BACKOFF, type Admission, type BackoffOptions } from './backoff.js';
import { CredentialCache, DEFAULT_CREDENTIAL_CACHE, type CredentialCacheOptions } from './credential-cache.js';
import { DEFAULT_HASH_POOL, HashPool, PoolFullError, type HashPoolOptions, type Lane } from './hash-pool.js';

export const AUTH_OUTCOMES = [
  'internal', 'cached', 'verified', 'no_username', 'bad_password', 'unknown_gateway', 'disabled', 'client_id',
  'backed_off', 'busy', 'db_unavailable',
] as const;
export type AuthOutcome = (typeof AUTH_OUTCOMES)[number];

export interface ConnectAttempt {
  username: string | undefined;
  password: string;
  clientId: string;
  /** Whose failures count together: the remote address by default. */
  limiterKey: string;
}

export type AuthResult =
  | { ok: true; outcome: AuthOutcome; internal: boolean; gatewayId?: string; /** see Authenticator.rotation */ rotation?: number }
  | { ok: false; outcome: AuthOutcome; returnCode: 2 | 3 | 4 | 5; why: string };

export interface GatewayRow {
  credential_hash: string | null;
  status: string;
}

export interface AuthenticatorOptions {
  /** The gateway's row, or null when there is none. Throws when the database is unavailable. */
  lookup(gatewayId: string): Promise<GatewayRow | null>;
  /** Checks a secret against a stored hash (either form). */
  verify(password: string, stored: string): Promise<boolean>;
  /** Whether `stored` is checked fast (no scrypt): then it needs no pool and no back-off slot. */
  isFast(stored: string): boolean;
  /** Checked instead when the gateway is unknown or has no credential: a fast hash of no known secret. */
  decoy: string;
  /** After a scrypt hash verified `password`: stores the fast form in place of `stored` (unless the
   * secret was rotated meanwhile) and returns it, or returns null. */
  upgrade?(gatewayId: string, password: string, stored: string): Promise<string | null>;
  internalUsers?: Map<string, string>;
  now?: () => number;
  backoff?: Partial<Omit<BackoffOptions, 'now'>>;
  cache?: Partial<Omit<CredentialCacheOptions, 'now'>>;
  pool?: Partial<Omit<HashPoolOptions, 'onDepth'>>;
  /** A scrypt hash ran. */
  onHash?: () => void;
  onDepth?: (lane: Lane, depth: number) => void;
  onUpgradeError?: (gatewayId: string, e: Error) => void;
}

export interface Authenticator {
  authenticate(a: ConnectAttempt): Promise<AuthResult>;
  /** Drops the verified credentials of a gateway (rotation and disabling also work without it). */
  forget(gatewayId: string): void;
  /** The gateway's secret was rotated: its verified credentials are dropped, and a CONNECT being
   * checked right now against the old hash is refused. */
  rotated(gatewayId: string): void;
  /** Counts the rotations of a gateway in this process: a session verified under an older count
   * holds a secret that no longer works. */
  rotation(gatewayId: string): number;
  readonly cache: CredentialCache;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export function createAuthenticator(o: AuthenticatorOptions): Authenticator {
  const now = o.now ?? Date.now;
  const internal = o.internalUsers ?? new Map<string, string>();
  const backoff = new AddressBackoff({ ...DEFAULT_BACKOFF, ...o.backoff, now });
  const cache = new CredentialCache({ ...DEFAULT_CREDENTIAL_CACHE, ...o.cache, now });
  const pool = new HashPool({ ...DEFAULT_HASH_POOL, ...o.pool, onDepth: o.onDepth });
  // Only gateways rotated since this process started are kept; a count never goes back, so an entry
  // stays as long as the process (one small number per rotation).
  const rotations = new Map<string, number>();
  const rotation = (id: string) => rotations.get(id) ?? 0;
  const refuse = (outcome: AuthOutcome, returnCode: 2 | 3 | 4 | 5, why: string): AuthResult => ({ ok: false, outcome, returnCode, why });

  const backedOff = (retryInMs: number) =>
    retryInMs > 0
      ? refuse('backed_off', 5, `too many failed attempts from this address; retry in ${Math.ceil(retryInMs / 1000)} s`)
      : refuse('backed_off', 3, 'too many unverified attempts from this address at once; retry shortly');

  const scrypt = (lane: Lane, password: string, stored: string) =>
    pool.run(lane, () => {
      o.onHash?.();
      return o.verify(password, stored);
    });

  async function authenticate(a: ConnectAttempt): Promise<AuthResult> {
    const { username, password, clientId, limiterKey } = a;
    if (!username) {
      backoff.fail(limiterKey);
      return refuse('no_username', 4, 'no username');
    }
    const own = internal.get(username);
    if (own !== undefined) {
      if (!timingSafeEqual(digest(own), digest(password))) {
        backoff.fail(limiterKey);
        return refuse('bad_password', 4, 'bad password');
      }
      return { ok: true, outcome: 'internal', internal: true };
    }
    if (!gatewayOwnsClientId(username, clientId)) {
      backoff.fail(limiterKey);
      return refuse('client_id', 2, `client id "${clientId}" is not gateway ${username}'s: use "amr-gw-${username}" (or "amr-gw-${username}:<suffix>" for a second session)`);
    }
    const rotationAtStart = rotation(username);
    // Credentials verified before skip the address's wait (they may share an address with an attacker).
    const waitMs = cache.knows(username, password) ? 0 : backoff.retryIn(limiterKey);
    let row: GatewayRow | null;
    try {
      row = await o.lookup(username);
    } catch (e) {
      return refuse('db_unavailable', 3, `database unavailable: ${(e as Error).message}`);
    }
    const real = row?.credential_hash ? row.credential_hash : null;
    const stored = real ?? o.decoy;
    const wrong = (): AuthResult =>
      waitMs > 0 ? backedOff(waitMs) : refuse(row ? 'bad_password' : 'unknown_gateway', 4, row ? 'bad password' : 'unknown gateway');
    const verdict = real ? cache.check(username, password, real) : 'miss';
    const fast = o.isFast(stored);
    // Scrypt is not spent on an address that waits, nor beyond its slots for unverified credentials.
    let admission: Admission | null = null;
    if (!fast && verdict === 'miss') {
      if (waitMs > 0) return backedOff(waitMs);
      admission = backoff.admit(limiterKey);
      if (!admission.ok) return backedOff(admission.retryInMs);
    }
    let result: 'verified' | 'failed' | 'unchecked' = 'unchecked';
    try {
      let ok: boolean;
      if (verdict === 'fresh') ok = true;
      else if (fast) ok = await o.verify(password, stored);
      else {
        try {
          ok = await scrypt(verdict === 'stale' ? 'known' : 'unknown', password, stored);
        } catch (e) {
          // A full pool is not this address's failure (others may be flooding).
          if (e instanceof PoolFullError) return refuse('busy', 3, e.message);
          return refuse('db_unavailable', 3, `password check failed: ${(e as Error).message}`);
        }
      }
      if (!ok || !real || !row) {
        result = 'failed';
        return wrong();
      }
      result = 'verified';
      if (row.status !== 'active') return refuse('disabled', 5, `gateway disabled (status ${row.status})`);
      // Rotated while this CONNECT was being checked against the old hash: the old secret is over.
      if (rotation(username) !== rotationAtStart) return refuse('bad_password', 4, 'secret rotated meanwhile');
      if (verdict === 'fresh') return { ok: true, outcome: 'cached', internal: false, gatewayId: username, rotation: rotationAtStart };
      let kept = real;
      if (!fast && o.upgrade) {
        try {
          kept = (await o.upgrade(username, password, real)) ?? real;
        } catch (e) {
          o.onUpgradeError?.(username, e as Error); // still scrypt: checked slowly next time, nothing lost
        }
      }
      cache.remember(username, password, kept);
      return { ok: true, outcome: 'verified', internal: false, gatewayId: username, rotation: rotationAtStart };
    } finally {
      if (admission?.ok) admission.release(result);
      else if (result === 'failed' && waitMs === 0) backoff.fail(limiterKey);
    }
  }

  return {
    authenticate,
    forget: (id) => cache.forget(id),
    rotated(id) {
      rotations.set(id, rotation(id) + 1);
      cache.forget(id);
    },
    rotation,
    cache,
  };
}
