/**
 * The one decision on an MQTT CONNECT to the embedded broker: who may connect, under which client id,
 * and at what cost. The broker (embedded.ts) only translates the result into a CONNACK.
 *
 * Order, cheapest first, so that a flood of bad attempts costs no scrypt hash:
 *  1. the head-end's own clients (internal users): constant-time compare, no database;
 *  2. the client id must be the gateway's own (acl.ts), or the CONNECT could kick another gateway;
 *  3. credentials never verified must pass the address back-off (backoff.ts) here, before the
 *     database: refused at once when the address failed too often or has too many in flight;
 *  4. the gateway's row (status, credential hash) — read on every CONNECT so a disabled gateway or a
 *     rotated secret takes effect at once, whatever the cache holds;
 *  5. credentials verified recently are accepted on a keyed hash (credential-cache.ts);
 *  6. anything else needs scrypt: credentials verified before (cache "stale") go to the front of the
 *     hash pool; unverified ones must find room in the pool's bounded queue (hash-pool.ts), or are
 *     refused at once ("server busy").
 * CONNACK codes (MQTT 3.1.1): 2 identifier rejected, 3 server unavailable (busy, database down),
 * 4 bad user name or password, 5 not authorized (disabled, backed off).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { gatewayOwnsClientId } from './acl.js';
import { AddressBackoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
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
  | { ok: true; outcome: AuthOutcome; internal: boolean; gatewayId?: string }
  | { ok: false; outcome: AuthOutcome; returnCode: 2 | 3 | 4 | 5; why: string };

export interface GatewayRow {
  credential_hash: string | null;
  status: string;
}

export interface AuthenticatorOptions {
  /** The gateway's row, or null when there is none. Throws when the database is unavailable. */
  lookup(gatewayId: string): Promise<GatewayRow | null>;
  /** The slow check (scrypt). */
  verify(password: string, stored: string | null): Promise<boolean>;
  internalUsers?: Map<string, string>;
  now?: () => number;
  backoff?: Partial<Omit<BackoffOptions, 'now'>>;
  cache?: Partial<Omit<CredentialCacheOptions, 'now'>>;
  pool?: Partial<Omit<HashPoolOptions, 'onDepth'>>;
  onHash?: () => void;
  onDepth?: (lane: Lane, depth: number) => void;
}

export interface Authenticator {
  authenticate(a: ConnectAttempt): Promise<AuthResult>;
  /** Drops the verified credentials of a gateway (rotation and disabling also work without it). */
  forget(gatewayId: string): void;
  readonly cache: CredentialCache;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export function createAuthenticator(o: AuthenticatorOptions): Authenticator {
  const now = o.now ?? Date.now;
  const internal = o.internalUsers ?? new Map<string, string>();
  const backoff = new AddressBackoff({ ...DEFAULT_BACKOFF, ...o.backoff, now });
  const cache = new CredentialCache({ ...DEFAULT_CREDENTIAL_CACHE, ...o.cache, now });
  const pool = new HashPool({ ...DEFAULT_HASH_POOL, ...o.pool, onDepth: o.onDepth });
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
    // Credentials never verified take one of their address's slots before the database is asked,
    // so a burst from one address costs at most `freeFailures` lookups and hashes; credentials
    // verified before skip the back-off (they cost no hash, and may share an address with an attacker).
    let admission = cache.knows(username, password) ? null : backoff.admit(limiterKey);
    if (admission && !admission.ok) return backedOff(admission.retryInMs);
    let result: 'verified' | 'failed' | 'unchecked' = 'unchecked';
    try {
      let row: GatewayRow | null;
      try {
        row = await o.lookup(username);
      } catch (e) {
        return refuse('db_unavailable', 3, `database unavailable: ${(e as Error).message}`);
      }
      if (!row) {
        result = 'failed';
        return refuse('unknown_gateway', 4, 'unknown gateway');
      }
      if (row.status !== 'active') return refuse('disabled', 5, `gateway disabled (status ${row.status})`);
      const stored = row.credential_hash;
      if (!stored) {
        result = 'failed';
        return refuse('bad_password', 4, 'gateway has no credential');
      }
      const verdict = cache.check(username, password, stored);
      if (verdict === 'fresh') return { ok: true, outcome: 'cached', internal: false, gatewayId: username };
      if (verdict === 'miss' && !admission) {
        // Known once, but the secret was rotated since: as unverified as any other guess.
        admission = backoff.admit(limiterKey);
        if (!admission.ok) return backedOff(admission.retryInMs);
      }
      let ok: boolean;
      try {
        ok = await scrypt(verdict === 'stale' ? 'known' : 'unknown', password, stored);
      } catch (e) {
        // A full pool is not this address's failure (others may be flooding).
        if (e instanceof PoolFullError) return refuse('busy', 3, e.message);
        return refuse('db_unavailable', 3, `password check failed: ${(e as Error).message}`);
      }
      result = ok ? 'verified' : 'failed';
      if (!ok) return refuse('bad_password', 4, 'bad password');
      cache.remember(username, password, stored);
      return { ok: true, outcome: 'verified', internal: false, gatewayId: username };
    } finally {
      if (admission?.ok) admission.release(result);
      else if (result === 'failed') backoff.fail(limiterKey);
    }
  }

  return { authenticate, forget: (id) => cache.forget(id), cache };
}
