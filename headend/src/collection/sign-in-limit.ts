/**
 * Failed-attempt limit for residents' sign-in (POST /resident/sign-in): at most `maxPerAccount` failed
 * attempts per account number and `maxPerIp` per client address within a sliding `windowMs`; past that
 * the route answers 429 with Retry-After until the oldest counted failure leaves the window.
 *
 * Why not @fastify/rate-limit: it counts requests, and what has to be limited here is failures — a
 * resident who signs in successfully must not use up an allowance, and a success must clear the
 * account's count, which that plugin has no per-key reset for. The count per account number also needs
 * the parsed body, while that plugin keys requests before the body is read by default.
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
 * each keeps its own counts (the effective limit is multiplied by the replica count) — move the counts
 * to Redis or the database then. Client addresses are what fastify reports as req.ip: behind a reverse
 * proxy that is the proxy's address unless the server trusts X-Forwarded-For, so `maxPerIp` is set well
 * above `maxPerAccount` (many residents share a mobile carrier's NAT, too).
 */

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

/** An attempt that may go ahead; pass it back to `succeeded` if the code was right. */
export interface Attempt { readonly accountKey: string; readonly ipKey: string; readonly at: number }

export type Admission =
  | { ok: true; attempt: Attempt }
  | { ok: false; by: 'account' | 'ip'; retryAfterSeconds: number };

/** Account numbers compare as redeemAccessCode matches them (trimmed); case-folded so "ls-1" and "LS-1" share a count. */
export const accountKey = (accountNumber: string) => `account:${accountNumber.trim().toLowerCase()}`;
export const ipKey = (ip: string) => `ip:${ip}`;

export class SignInLimiter {
  private readonly o: SignInLimitOptions;
  /** Failure instants per key, oldest first. */
  private readonly failures = new Map<string, number[]>();

  constructor(options: Partial<SignInLimitOptions> = {}) {
    this.o = { ...SIGN_IN_LIMIT_DEFAULTS, ...options };
  }

  /** Admits an attempt (already counted as a failure) or says which limit refuses it and for how long. */
  begin(ip: string, accountNumber: string): Admission {
    const now = this.o.now();
    const a = accountKey(accountNumber);
    const i = ipKey(ip);
    const byAccount = this.wait(a, this.o.maxPerAccount, now);
    const byIp = this.wait(i, this.o.maxPerIp, now);
    if (byAccount > 0 || byIp > 0) {
      const by = byAccount >= byIp ? 'account' : 'ip';
      return { ok: false, by, retryAfterSeconds: Math.max(1, Math.ceil(Math.max(byAccount, byIp) / 1000)) };
    }
    this.record(a, now);
    this.record(i, now);
    return { ok: true, attempt: { accountKey: a, ipKey: i, at: now } };
  }

  /** The code was right: the account starts afresh; the address only gets this attempt back. */
  succeeded(attempt: Attempt): void {
    this.failures.delete(attempt.accountKey);
    const list = this.failures.get(attempt.ipKey);
    const k = list?.lastIndexOf(attempt.at) ?? -1;
    if (list && k >= 0) {
      list.splice(k, 1);
      if (list.length === 0) this.failures.delete(attempt.ipKey);
    }
  }

  /** Failures counted now for an account number (for tests and diagnostics). */
  failuresFor(accountNumber: string): number {
    return this.live(accountKey(accountNumber), this.o.now()).length;
  }

  /** Milliseconds until `key` is below `max` failures again; 0 when it is already. */
  private wait(key: string, max: number, now: number): number {
    const list = this.live(key, now);
    if (list.length < max) return 0;
    // The failure that has to leave the window for the count to drop below max.
    return list[list.length - max] + this.o.windowMs - now;
  }

  private live(key: string, now: number): number[] {
    const list = this.failures.get(key);
    if (!list) return [];
    const from = list.findIndex((t) => t > now - this.o.windowMs);
    if (from === -1) { this.failures.delete(key); return []; }
    if (from > 0) list.splice(0, from);
    return list;
  }

  private record(key: string, now: number): void {
    const list = this.failures.get(key);
    if (list) {
      list.push(now);
      // Re-insert so the map's order is least-recently-failed first, the order keys are evicted in.
      this.failures.delete(key);
      this.failures.set(key, list);
      return;
    }
    this.failures.set(key, [now]);
    while (this.failures.size > this.o.maxKeys) this.failures.delete(this.failures.keys().next().value!);
  }
}
