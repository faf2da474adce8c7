/**
 * A resident's sign-in with account number and one-time code, start to end — the one path
 * POST /resident/sign-in takes:
 *   1. the failure limit admits the attempt (sign-in-limit.ts; refused only for real failures);
 *   2. the account's live codes are read (one short query, no transaction), with the codes this same
 *      attempt spent within the grace (a retry, below);
 *   3. the typed code is checked against them — one keyed HMAC each (access.ts; scrypt, in
 *      auth/password.ts's bounded pool, only for codes hashed without a key), with no transaction
 *      open and no database connection held (the embedded engine has only one, and a server's pool
 *      is shared with the gateways' ingestion);
 *   4. the limit settles the verdict (a wrong code is a failure; a right one clears the account);
 *   5. one short transaction spends the code if it is still live and opens the session
 *      (store.ts openResidentSession). Of two sign-ins racing with one code, one gets the session and
 *      the other a wrong-code answer; that loser is not counted as a failure (it knew the right code).
 *
 * The lost answer. A phone without signal may send the sign-in, have it succeed, and never receive
 * the answer; the code is spent, and a plain retry would be a wrong code (and a failure). So the page
 * makes a random attempt key once per code entry, keeps it with the code (sessionStorage) and sends it
 * with every try of that entry; the spent code keeps the key's hash. The same code with the same
 * attempt key within RETRY_GRACE_MS of the spend gets a new session for the same resident user,
 * audited as `sign_in_retry`, and counts as a right answer. Anyone else — the same code without the
 * key, with another key, or after the grace — is refused like a wrong code and counted, as before:
 * a spent code opens nothing for someone who only read the letter. Two tries of one attempt racing
 * each other both get in (the loser finds the winner's spend by its own key).
 */
import { createHash } from 'node:crypto';
import type { Database } from '../db/types.js';
import { limitedCheck, type FailureLimiter, type LimitedOutcome } from '../auth/failure-limit.js';
import { liveCodes, matchAccessCode, type CodeKey, type RetryOf } from './access.js';
import { SIGN_IN_LIMITS, signInKeys, type SignInLimits } from './sign-in-limit.js';
import { openResidentSession } from './store.js';

/** How long after a code was spent the same attempt may retry it: a phone back in signal, not a stolen key kept for later. */
export const RETRY_GRACE_MS = 10 * 60_000;

export interface ResidentSession { token: string; expiresAt: Date; userId: number; accountId: number; retried: boolean }

export interface SignInRequest {
  ip: string; accountNumber: string; code: string;
  /** The page's random key for this code entry (the same on every try of it); absent: no retry possible. */
  attemptKey?: string;
  ttlSeconds: number; userAgent: string | undefined; requestId: string;
}

export interface SignInOptions {
  limits?: SignInLimits;
  /** Real time, ms (the grace is timing, not data: util/clock.ts); tests pass a hand-driven one. */
  now?: () => number;
}

/** Only a hash of the attempt key is stored: while the grace lasts it opens a session with the code. */
export const attemptKeyHash = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');

export async function residentSignIn(db: Database, limiter: FailureLimiter, codeKey: CodeKey, r: SignInRequest, o: SignInOptions = {}): Promise<LimitedOutcome<ResidentSession>> {
  const at = new Date((o.now ?? Date.now)());
  const retry: RetryOf | null = r.attemptKey ? { attemptKeyHash: attemptKeyHash(r.attemptKey), since: new Date(at.getTime() - RETRY_GRACE_MS) } : null;
  const checked = await limitedCheck(limiter, signInKeys(r.ip, r.accountNumber, o.limits ?? SIGN_IN_LIMITS),
    async () => matchAccessCode(await liveCodes(db, r.accountNumber, retry), r.code, codeKey));
  if (!checked.ok) return checked;
  const retryReason = `the answer to an earlier sign-in with this code was lost: the same attempt retried within ${RETRY_GRACE_MS / 60_000} minutes`;
  const session = await openResidentSession(db, checked.value, { at, retry, retryReason }, r.ttlSeconds, r.userAgent, r.requestId);
  return session ? { ok: true, value: session } : { ok: false, refused: null };
}
