/**
 * Credentials the broker has verified, so a gateway's reconnect costs a keyed hash (HMAC-SHA256 with
 * a key that lives only in this process's memory) instead of a scrypt hash.
 *
 * An entry is bound to the stored credential hash it was verified against: when the API rotates the
 * gateway's secret (POST /gateways/:id/credentials writes a new credential_hash), the next CONNECT
 * reads the new hash from the database and the old entry no longer matches — in this process and in
 * any other head-end sharing the database, with nothing to call. A disabled gateway is refused from
 * its database row before the cache is asked. `forget` drops an entry at once where a caller knows.
 *
 * `fresh` (verified within `ttlMs`): accepted without scrypt. `stale` (the same password verified
 * before, older than the TTL): scrypt again, but ahead of unknown credentials in the hash pool, since
 * only the holder of the password can present it. Passwords themselves are never kept.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';

export interface CredentialCacheOptions {
  /** Accept without scrypt for this long after a verification. */
  ttlMs: number;
  /** Remember a verified password (for hash-pool priority) this long. */
  rememberMs: number;
  maxEntries: number;
  now: () => number;
}

export const DEFAULT_CREDENTIAL_CACHE: Omit<CredentialCacheOptions, 'now'> = {
  ttlMs: 10 * 60_000,
  rememberMs: 7 * 24 * 3_600_000,
  maxEntries: 100_000,
};

interface Entry {
  storedHash: string;
  mac: Buffer;
  verifiedAt: number;
}

export type CacheVerdict = 'fresh' | 'stale' | 'miss';

export class CredentialCache {
  private readonly key = randomBytes(32);
  private readonly entries: LRUCache<string, Entry>;
  constructor(private readonly o: CredentialCacheOptions) {
    this.entries = new LRUCache({ max: o.maxEntries });
  }

  private mac(username: string, password: string): Buffer {
    return createHmac('sha256', this.key).update(username).update('\0').update(password).digest();
  }

  /** What the cache knows of this username/password against the credential hash stored now. */
  check(username: string, password: string, storedHash: string): CacheVerdict {
    const e = this.entries.get(username);
    if (!e || e.storedHash !== storedHash) return 'miss';
    const age = this.o.now() - e.verifiedAt;
    if (age > this.o.rememberMs) return 'miss';
    if (!timingSafeEqual(e.mac, this.mac(username, password))) return 'miss';
    return age <= this.o.ttlMs ? 'fresh' : 'stale';
  }

  /** Whether this password was verified for this username before (whatever is stored now): lets a
   * known gateway past an address's back-off to the database check, which then decides. */
  knows(username: string, password: string): boolean {
    const e = this.entries.get(username);
    return !!e && this.o.now() - e.verifiedAt <= this.o.rememberMs && timingSafeEqual(e.mac, this.mac(username, password));
  }

  /** Records a successful scrypt verification. */
  remember(username: string, password: string, storedHash: string): void {
    this.entries.set(username, { storedHash, mac: this.mac(username, password), verifiedAt: this.o.now() });
  }

  forget(username: string): void {
    this.entries.delete(username);
  }

  get size(): number {
    return this.entries.size;
  }
}
