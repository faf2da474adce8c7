/**
 * The one failed-attempt limiter of the head-end: staff login (POST /auth/login, auth/login-limit.ts)
 * and residents' sign-in (POST /resident/sign-in, collection/sign-in-limit.ts) both count through it,
 * and both run an attempt through `limitedCheck`. Each attempt names its keys (an account, a client
 * address), each key with its own maximum of failures within a sliding window.
 *
 * Why not @fastify/rate-limit: it counts requests, and what has to be limited is failures — a user who
 * signs in must not use up an allowance, and a success must clear the account's count, which that
 * plugin has no per-key reset for.
 *
 * The rules:
 *  - Only real failures count. An attempt in progress (its password or code is being hashed) is not a
 *    failure and takes nothing from the allowance: thousands of residents behind one carrier address
 *    signing in at once are all answered, none is told to wait because of the others.
 *  - An attempt is refused before its check when a key already holds `max` failures in the window; the
 *    wait (Retry-After) is until the failure that has to leave the window for the count to drop below
 *    `max` leaves it: computed from the failures' times only.
 *  - The verdict of a check is given only while every key is still under its maximum (`settle`,
 *    atomic with recording the failure). A burst of parallel guesses all pass the first check, but once
 *    `max` of them have failed the rest — a right one among them included — are answered 429 like the
 *    guesses after them: at most `max` verdicts per window, and a right guess beyond the allowance is
 *    not told apart from a wrong one (no oracle). A right code is refused only for real failures.
 *  - A success clears the keys that reset on success (the account; never the address, or one good
 *    login would launder a guessing address). A check that broke (a database error) settles nothing.
 *
 * Two stores with the same rules: in memory (one replica), and Redis (several replicas share the counts;
 * each step is one Lua script, so check-and-record is atomic across replicas). Redis keys expire with the window.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface LimitKey {
  /** Stored key, e.g. `account:ls-1`. */
  key: string;
  /** Failures admitted within the window; the next attempt is refused. */
  max: number;
  /** Named in the refusal (`by`), e.g. 'account' or 'ip'. */
  by: string;
  /** A success clears this key's failures (an account), or leaves them (an address). */
  resetOnSuccess: boolean;
}

export interface Attempt { readonly id: string; readonly at: number; readonly keys: readonly LimitKey[] }

export interface Refusal { ok: false; by: string; retryAfterSeconds: number }

export type Admission = { ok: true; attempt: Attempt } | Refusal;

/** The check's outcome: 'right' clears the resetting keys, 'wrong' records a failure on every key. */
export type Verdict = 'right' | 'wrong';

export interface FailureLimitOptions {
  windowMs: number;
  /** Keys kept at most in memory; the least recently used are forgotten first (bounded memory). */
  maxKeys: number;
  now: () => number;
}

export const FAILURE_LIMIT_DEFAULTS: FailureLimitOptions = {
  windowMs: 15 * 60_000, maxKeys: 50_000, now: () => Date.now(),
};

/** The shape both stores offer (the memory store answers synchronously, wrapped in promises here). */
export interface FailureLimiter {
  /** Refused when a key holds `max` failures already; otherwise the attempt may be checked. */
  begin(keys: readonly LimitKey[]): Promise<Admission>;
  /** Gives the verdict unless a key reached its `max` meanwhile (then refused, nothing recorded). */
  settle(a: Attempt, verdict: Verdict): Promise<{ ok: true } | Refusal>;
  failures(key: string): Promise<number>;
  close(): Promise<void>;
}

const newId = () => randomBytes(9).toString('base64url');
const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

export type LimitedOutcome<T> = { ok: true; value: T } | { ok: false; refused: Refusal } | { ok: false; refused: null };

/**
 * One limited attempt, the way every sign-in path runs it: admitted (or refused before the check), the
 * check (`check` resolves the checked thing or null for a wrong password/code; it runs outside any
 * database transaction, the slow hash is in it), then the verdict settled. `refused: null` is a wrong
 * answer (401), a refusal is 429 with its Retry-After. A check that throws settles nothing.
 */
export async function limitedCheck<T>(limiter: FailureLimiter, keys: readonly LimitKey[], check: () => Promise<T | null>): Promise<LimitedOutcome<T>> {
  const admitted = await limiter.begin(keys);
  if (!admitted.ok) return { ok: false, refused: admitted };
  const value = await check();
  const settled = await limiter.settle(admitted.attempt, value === null ? 'wrong' : 'right');
  if (!settled.ok) return { ok: false, refused: settled };
  return value === null ? { ok: false, refused: null } : { ok: true, value };
}

/** In memory, per process. */
export class MemoryFailureStore {
  readonly o: FailureLimitOptions;
  /** Per key, the times of its failures in the window, oldest first. */
  private readonly entries = new Map<string, number[]>();

  constructor(options: Partial<FailureLimitOptions> = {}) {
    this.o = { ...FAILURE_LIMIT_DEFAULTS, ...options };
  }

  begin(keys: readonly LimitKey[]): Admission {
    const now = this.o.now();
    const refused = this.refusal(keys, now);
    return refused ?? { ok: true, attempt: { id: newId(), at: now, keys } };
  }

  settle(a: Attempt, verdict: Verdict): { ok: true } | Refusal {
    const now = this.o.now();
    const refused = this.refusal(a.keys, now);
    if (refused) return refused;
    for (const k of a.keys) {
      if (verdict === 'wrong') this.touch(k.key).push(now);
      else if (k.resetOnSuccess) this.entries.delete(k.key);
    }
    return { ok: true };
  }

  failures(key: string): number {
    return this.live(key, this.o.now())?.length ?? 0;
  }

  /** The refusal of the key whose wait is longest, or null when every key is under its maximum. */
  private refusal(keys: readonly LimitKey[], now: number): Refusal | null {
    let worst = 0;
    let by: string | null = null;
    for (const k of keys) {
      const fails = this.live(k.key, now);
      const n = fails?.length ?? 0;
      if (n < k.max) continue;
      // The failure that has to leave the window for the count to drop below max.
      const wait = fails![n - k.max] + this.o.windowMs - now;
      if (by === null || wait > worst) { worst = wait; by = k.by; }
    }
    return by === null ? null : { ok: false, by, retryAfterSeconds: seconds(worst) };
  }

  /** The key's failures with those out of the window removed; never creates an entry. */
  private live(key: string, now: number): number[] | undefined {
    const fails = this.entries.get(key);
    if (!fails) return undefined;
    const from = fails.findIndex((at) => at > now - this.o.windowMs);
    fails.splice(0, from === -1 ? fails.length : from);
    if (fails.length === 0) { this.entries.delete(key); return undefined; }
    return fails;
  }

  /** The key's failures, moved to the end of the map: keys are evicted least recently used first. */
  private touch(key: string): number[] {
    const fails = this.entries.get(key) ?? [];
    this.entries.delete(key);
    this.entries.set(key, fails);
    while (this.entries.size > this.o.maxKeys) this.entries.delete(this.entries.keys().next().value!);
    return fails;
  }
}

export function memoryFailureLimiter(options: Partial<FailureLimitOptions> = {}): FailureLimiter {
  const s = new MemoryFailureStore(options);
  return {
    begin: async (keys) => s.begin(keys),
    settle: async (a, verdict) => s.settle(a, verdict),
    failures: async (key) => s.failures(key),
    close: async () => {},
  };
}

/**
 * The refusal part both scripts share. KEYS: fail1..failN. ARGV: now, windowMs, N, max1..maxN (from 4).
 * Leaves `by` (index of the refusing key, 0: none) and `worst` (its wait in ms).
 */
const REFUSAL = `
local now = tonumber(ARGV[1]); local win = tonumber(ARGV[2]); local n = tonumber(ARGV[3])
local worst = 0; local by = 0
for i = 1, n do
  local f = KEYS[i]; local max = tonumber(ARGV[3 + i])
  redis.call('ZREMRANGEBYSCORE', f, '-inf', now - win)
  local c = redis.call('ZCARD', f)
  if c >= max then
    local s = redis.call('ZRANGE', f, c - max, c - max, 'WITHSCORES')
    local w = tonumber(s[2]) + win - now
    if by == 0 or w > worst then worst = w; by = i end
  end
end
`;

/** Returns {1} admitted, or {0, index of the refusing key, wait ms}. */
const BEGIN = `${REFUSAL}
if by > 0 then return {0, by, worst} end
return {1}
`;

/**
 * ARGV after the maxima: id, verdict (1 right, 0 wrong), reset1..resetN (1: cleared by a success).
 * Returns {1} settled, or {0, index of the refusing key, wait ms} with nothing recorded.
 */
const SETTLE = `${REFUSAL}
if by > 0 then return {0, by, worst} end
local id = ARGV[4 + n]; local right = ARGV[5 + n] == '1'
for i = 1, n do
  if not right then
    redis.call('ZADD', KEYS[i], now, id)
    redis.call('PEXPIRE', KEYS[i], win)
  elseif ARGV[5 + n + i] == '1' then
    redis.call('DEL', KEYS[i])
  end
end
return {1}
`;

/** Shared between replicas: every key lives under `prefix` (e.g. `amr:login-limit:`). */
export function redisFailureLimiter(redis: Redis, prefix: string, options: Partial<FailureLimitOptions> = {}): FailureLimiter {
  const o = { ...FAILURE_LIMIT_DEFAULTS, ...options };
  const fk = (k: LimitKey) => `${prefix}fail:${k.key}`;
  const refusal = (keys: readonly LimitKey[], r: number[]): Refusal => ({ ok: false, by: keys[r[1] - 1].by, retryAfterSeconds: seconds(Number(r[2])) });
  return {
    async begin(keys) {
      const now = o.now();
      const r = await redis.eval(BEGIN, keys.length, ...keys.map(fk), now, o.windowMs, keys.length, ...keys.map((k) => k.max)) as number[];
      return r[0] === 1 ? { ok: true, attempt: { id: newId(), at: now, keys } } : refusal(keys, r);
    },
    async settle(a, verdict) {
      const r = await redis.eval(SETTLE, a.keys.length, ...a.keys.map(fk), o.now(), o.windowMs, a.keys.length, ...a.keys.map((k) => k.max),
        a.id, verdict === 'right' ? 1 : 0, ...a.keys.map((k) => (k.resetOnSuccess ? 1 : 0))) as number[];
      return r[0] === 1 ? { ok: true } : refusal(a.keys, r);
    },
    async failures(key) {
      return redis.zcount(`${prefix}fail:${key}`, o.now() - o.windowMs + 1, '+inf');
    },
    close: async () => {},
  };
}
