/**
 * Failed-attempt limit for residents' sign-in (POST /resident/sign-in): at most `maxPerAccount` failed
 * attempts per account number (5) and `maxPerIp` per client address (SIGN_IN_MAX_PER_ADDRESS, default
 * 200) within a sliding window (15 minutes);
 * past that the answer is 429 with Retry-After until the failure that has to leave the window leaves it.
 *
 * The counting is the head-end's one failure limiter (src/auth/failure-limit.ts: its rules, and why not
 * @fastify/rate-limit), the store the one staff login gets too (auth/login-limit.ts createFailureLimiter:
 * shared through Redis under `${REDIS_PREFIX}:sign-in-limit:` when the head-end runs on Redis, in memory
 * otherwise); this file only names the keys and the limits of residents' sign-in.
 *
 * Only failures count: a sign-in in progress is not one, so a right code is never refused because other
 * residents behind the same carrier address are signing in at that moment — only when that address (or
 * the account) really failed `max` times. A locked account or address is refused before the code is
 * even checked, a right code included: otherwise the check itself keeps answering "right/wrong" to
 * whoever is guessing. The code is not spent by a refused attempt, so the resident signs in with it once
 * Retry-After has passed.
 *
 * The price: anyone who knows an account number can keep it locked by failing on purpose. That costs the
 * resident at most 15 minutes per 5 guesses, and guessing a 10-character code (31^10) is hopeless anyway;
 * the per-address limit mainly stops one client from walking through many account numbers (an IPv6
 * client can change addresses within its /64, so the per-account limit is what protects each account).
 * Client addresses are what fastify reports as req.ip: behind a reverse proxy that is the proxy's address
 * unless the server trusts X-Forwarded-For (TRUST_PROXY), so `maxPerIp` is set well above `maxPerAccount`.
 *
 * Why 200 per address, not 20: carrier NAT puts thousands of residents behind one address, and on the
 * evening of the letters their typos add up — 20 locked a whole district out for 15 minutes. A failure
 * costs the head-end microseconds with keyed codes (access.ts), and 200 guesses of a 31^10 code are
 * as hopeless as 20; the per-account limit of 5 is what protects each account.
 */
import type { LimitKey } from '../auth/failure-limit.js';
import { createFailureLimiter, type LimiterStoreOptions } from '../auth/login-limit.js';

export interface SignInLimits { maxPerAccount: number; maxPerIp: number }

/** The defaults; `maxPerIp` is configured by SIGN_IN_MAX_PER_ADDRESS (config/schema.ts, the same default). */
export const SIGN_IN_LIMITS: SignInLimits = { maxPerAccount: 5, maxPerIp: 200 };

/** The limits of a configuration: SIGN_IN_MAX_PER_ADDRESS when set, else the defaults. */
export const signInLimitsOf = (config: { SIGN_IN_MAX_PER_ADDRESS?: number }): SignInLimits =>
  ({ ...SIGN_IN_LIMITS, maxPerIp: config.SIGN_IN_MAX_PER_ADDRESS ?? SIGN_IN_LIMITS.maxPerIp });

/** Account numbers compare as liveCodes matches them (trimmed); case-folded so "ls-1" and "LS-1" share a count. */
export const accountKey = (accountNumber: string) => `account:${accountNumber.trim().toLowerCase()}`;
export const ipKey = (ip: string) => `ip:${ip}`;

/** The keys of one sign-in: the account (cleared by a success) and the address (never cleared by one). */
export function signInKeys(ip: string, accountNumber: string, limits: SignInLimits = SIGN_IN_LIMITS): LimitKey[] {
  return [
    { key: accountKey(accountNumber), max: limits.maxPerAccount, by: 'account', resetOnSuccess: true },
    { key: ipKey(ip), max: limits.maxPerIp, by: 'ip', resetOnSuccess: false },
  ];
}

/** Redis under `${REDIS_PREFIX}:sign-in-limit:` when `redis` is given, else memory. */
export const createSignInLimiter = (o: LimiterStoreOptions) => createFailureLimiter('sign-in-limit', o);
