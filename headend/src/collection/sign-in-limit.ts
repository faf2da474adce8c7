/**
 * Failed-attempt limit for residents' sign-in (POST /resident/sign-in): at most `maxPerAccount` failed
 * attempts per account number and `maxPerIp` per client address within a sliding `windowMs`; past that
 * the route answers 429 with Retry-After until the oldest counted failure leaves the window.
 *
 * The counting is the head-end's one failure limiter (src/auth/failure-limit.ts, which says why not
 * @fastify/rate-limit); this file only names the keys and the limits of residents' sign-in.
 *
 * A locked account or address is refused before the code is even checked, a right code included:
 * otherwise the check itself keeps answering "right/wrong" to whoever is guessing. The code is not
 * spent by a refused attempt, so the resident signs in with it once Retry-After has passed.
 *
 * The price: anyone who knows an account number can keep it locked by failing on purpose. That costs the
 * resident at most 15 minutes per 5 guesses, and guessing a 10-character code (31^10) is hopeless anyway;
 * the per-address limit mainly stops one client from walking through many account numbers (an IPv6
 * client can change addresses within its /64, so the per-account limit is what protects each account).
 *
 * Each attempt is counted as a failure the moment it starts and un-counted if it succeeds, so a burst
 * of parallel guesses (each waits on scrypt) cannot all slip past the check before any is recorded.
 *
 * In memory, per process: right for one head-end replica. With several replicas behind a load balancer
 * each keeps its own counts (the effective limit is multiplied by the replica count) — the staff login
 * shares its counts through Redis with the same module. Client addresses are what fastify reports as req.ip: behind a reverse
 * proxy that is the proxy's address unless the server trusts X-Forwarded-For, so `maxPerIp` is set well
 * above `maxPerAccount` (many residents share a mobile carrier's NAT, too).
 */

import { MemoryFailureStore, type Attempt, type LimitKey } from '../auth/failure-limit.js';

export type { Attempt } from '../auth/failure-limit.js';

export interface SignInLimitOptions {
  maxPerAccount: number;
  maxPerIp: number;
  windowMs: number;
  /** Keys kept at most; the oldest are forgotten first, so guessing many account numbers cannot grow memory without bound. */
  maxKeys: number;
  now: () => number;
}

export const SIGN_IN_LIMIT_DEFAULTS: SignInLimitOptions = {
  maxPerAccount: 5, maxPerIp: 20, windowMs: 15 * 60_000, maxKeys: 50_000, now: () => Date.now(),
};

export type Admission =
  | { ok: true; attempt: Attempt }
  | { ok: false; by: 'account' | 'ip'; retryAfterSeconds: number };

/** Account numbers compare as redeemAccessCode matches them (trimmed); case-folded so "ls-1" and "LS-1" share a count. */
export const accountKey = (accountNumber: string) => `account:${accountNumber.trim().toLowerCase()}`;
export const ipKey = (ip: string) => `ip:${ip}`;

export class SignInLimiter {
  private readonly o: SignInLimitOptions;
  private readonly store: MemoryFailureStore;

  constructor(options: Partial<SignInLimitOptions> = {}) {
    this.o = { ...SIGN_IN_LIMIT_DEFAULTS, ...options };
    this.store = new MemoryFailureStore({ windowMs: this.o.windowMs, maxKeys: this.o.maxKeys, now: this.o.now });
  }

  /** Admits an attempt (already counted as a failure) or says which limit refuses it and for how long. */
  begin(ip: string, accountNumber: string): Admission {
    const keys: LimitKey[] = [
      { key: accountKey(accountNumber), max: this.o.maxPerAccount, by: 'account', resetOnSuccess: true },
      { key: ipKey(ip), max: this.o.maxPerIp, by: 'ip', resetOnSuccess: false },
    ];
    const a = this.store.begin(keys);
    if (!a.ok) return { ok: false, by: a.by as 'account' | 'ip', retryAfterSeconds: a.retryAfterSeconds };
    this.store.failed(a.attempt);
    return a;
  }

  /** The code was right: the account starts afresh; the address only gets this attempt back. */
  succeeded(attempt: Attempt): void {
    this.store.succeeded(attempt);
  }

  /** Failures counted now for an account number (for tests and diagnostics). */
  failuresFor(accountNumber: string): number {
    return this.store.failures(accountKey(accountNumber));
  }
}
