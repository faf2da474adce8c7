/**
 * A resident's sign-in with account number and one-time code, start to end — the one path
 * POST /resident/sign-in takes:
 *   1. the failure limit admits the attempt (sign-in-limit.ts; refused only for real failures);
 *   2. the account's live codes are read (one short query, no transaction);
 *   3. the typed code is checked against them — one keyed HMAC each (access.ts; scrypt, in
 *      auth/password.ts's bounded pool, only for codes hashed without a key), with no transaction
 *      open and no database connection held (the embedded engine has only one, and a server's pool
 *      is shared with the gateways' ingestion);
 *   4. the limit settles the verdict (a wrong code is a failure; a right one clears the account);
 *   5. one short transaction spends the code if it is still live and opens the session
 *      (store.ts openResidentSession). Of two sign-ins racing with one code, one gets the session and
 *      the other a wrong-code answer; that loser is not counted as a failure (it knew the right code).
 */
import type { Database } from '../db/types.js';
import { limitedCheck, type FailureLimiter, type LimitedOutcome } from '../auth/failure-limit.js';
import { liveCodes, matchAccessCode, type CodeKey } from './access.js';
import { signInKeys } from './sign-in-limit.js';
import { openResidentSession } from './store.js';

export interface ResidentSession { token: string; expiresAt: Date; userId: number; accountId: number }

export interface SignInRequest { ip: string; accountNumber: string; code: string; ttlSeconds: number; userAgent: string | undefined; requestId: string }

export async function residentSignIn(db: Database, limiter: FailureLimiter, codeKey: CodeKey, r: SignInRequest): Promise<LimitedOutcome<ResidentSession>> {
  const checked = await limitedCheck(limiter, signInKeys(r.ip, r.accountNumber), async () => matchAccessCode(await liveCodes(db, r.accountNumber), r.code, codeKey));
  if (!checked.ok) return checked;
  const session = await openResidentSession(db, checked.value, r.ttlSeconds, r.userAgent, r.requestId);
  return session ? { ok: true, value: session } : { ok: false, refused: null };
}
