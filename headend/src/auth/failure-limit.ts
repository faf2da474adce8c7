/**
 * The one failed-attempt limiter of the head-end: staff login (POST /auth/login) and residents' sign-in
 * (src/collection/sign-in-limit.ts) both count through it. Each attempt names its keys (an account, a
 * client address), each key with its own maximum of failures within a sliding window; past that the
 * attempt is refused with the wait until the oldest counted failure leaves the window (Retry-After).
 *
 * Why not @fastify/rate-limit: it counts requests, and what has to be limited is failures — a user who
 * signs in must not use up an allowance, and a success must clear the account's count, which that
 * plugin has no per-key reset for.
 *
 * An attempt is first *pending*: it is not a failure (the wait is computed from real failures only),
 * but pending attempts fill the allowance, so a burst of parallel guesses (each waits on scrypt) cannot
 * all slip past the check before any is recorded — the burst beyond the allowance is told to retry in a
 * second. `failed` turns the pending attempt into a failure, `succeeded` drops it and clears the keys
 * that reset on success (the account; never the address, or one good login would launder a guessing
 * address), `abandoned` drops it (the check itself broke: a database error is not the user's failure).
 *
 * Two stores with the same rules: in memory (one replica), and Redis (several replicas share the counts;
 * one Lua script admits atomically). Redis keys expire with the window, pending ones after
 * `pendingTtlMs` (a replica that died mid-attempt does not hold the allowance for ever).
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
  /** A success clears this key's failures (an account), or only drops its own attempt (an address). */
  resetOnSuccess: boolean;
}

export interface Attempt { readonly id: string; readonly at: number; readonly keys: readonly LimitKey[] }

export type Admission =
  | { ok: true; attempt: Attempt }
  | { ok: false; by: string; retryAfterSeconds: number };

export interface FailureLimitOptions {
  windowMs: number;
  /** Keys kept at most in memory; the least recently used are forgotten first (bounded memory). */
  maxKeys: number;
  /** A pending attempt older than this no longer fills the allowance (Redis: a replica died mid-check). */
  pendingTtlMs: number;
  now: () => number;
}

export const FAILURE_LIMIT_DEFAULTS: FailureLimitOptions = {
  windowMs: 15 * 60_000, maxKeys: 50_000, pendingTtlMs: 60_000, now: () => Date.now(),
};

/** The shape both stores offer (the memory store answers synchronously, wrapped in promises here). */
export interface FailureLimiter {
  begin(keys: readonly LimitKey[]): Promise<Admission>;
  failed(a: Attempt): Promise<void>;
  succeeded(a: Attempt): Promise<void>;
  abandoned(a: Attempt): Promise<void>;
  failures(key: string): Promise<number>;
  close(): Promise<void>;
}

const newId = () => randomBytes(9).toString('base64url');
const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

interface Entry { fails: { at: number; id: string }[]; pending: Map<string, number> }

/** In memory, per process; synchronous so the residents' limiter keeps its synchronous interface. */
export class MemoryFailureStore {
  readonly o: FailureLimitOptions;
  private readonly entries = new Map<string, Entry>();

  constructor(options: Partial<FailureLimitOptions> = {}) {
    this.o = { ...FAILURE_LIMIT_DEFAULTS, ...options };
  }

  begin(keys: readonly LimitKey[]): Admission {
    const now = this.o.now();
    let worst = 0;
    let by: string | null = null;
    let busy: string | null = null;
    for (const k of keys) {
      const e = this.live(k.key, now);
      const n = e?.fails.length ?? 0;
      if (n >= k.max) {
        // The failure that has to leave the window for the count to drop below max.
        const wait = e!.fails[n - k.max].at + this.o.windowMs - now;
        if (wait > worst) { worst = wait; by = k.by; }
      } else if (n + (e?.pending.size ?? 0) >= k.max && busy === null) busy = k.by;
    }
    if (by !== null) return { ok: false, by, retryAfterSeconds: seconds(worst) };
    if (busy !== null) return { ok: false, by: busy, retryAfterSeconds: 1 };
    const attempt: Attempt = { id: newId(), at: now, keys };
    for (const k of keys) this.touch(k.key).pending.set(attempt.id, now);
    return { ok: true, attempt };
  }

  failed(a: Attempt): void {
    const now = this.o.now();
    for (const k of a.keys) {
      const e = this.touch(k.key);
      e.pending.delete(a.id);
      e.fails.push({ at: now, id: a.id });
    }
  }

  succeeded(a: Attempt): void {
    for (const k of a.keys) {
      if (k.resetOnSuccess) { this.entries.delete(k.key); continue; }
      this.drop(k.key, a.id);
    }
  }

  abandoned(a: Attempt): void {
    for (const k of a.keys) this.drop(k.key, a.id);
  }

  failures(key: string): number {
    return this.live(key, this.o.now())?.fails.length ?? 0;
  }

  private drop(key: string, id: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    e.pending.delete(id);
    const i = e.fails.findIndex((f) => f.id === id);
    if (i >= 0) e.fails.splice(i, 1);
    if (e.fails.length === 0 && e.pending.size === 0) this.entries.delete(key);
  }

  /** The key's entry with old failures and stale pending attempts removed; never creates one. */
  private live(key: string, now: number): Entry | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    const from = e.fails.findIndex((f) => f.at > now - this.o.windowMs);
    e.fails.splice(0, from === -1 ? e.fails.length : from);
    for (const [id, at] of e.pending) if (at <= now - this.o.pendingTtlMs) e.pending.delete(id);
    if (e.fails.length === 0 && e.pending.size === 0) { this.entries.delete(key); return undefined; }
    return e;
  }

  /** The key's entry, moved to the end of the map: the order keys are evicted in is least recently used first. */
  private touch(key: string): Entry {
    const e = this.entries.get(key) ?? { fails: [], pending: new Map() };
    this.entries.delete(key);
    this.entries.set(key, e);
    while (this.entries.size > this.o.maxKeys) this.entries.delete(this.entries.keys().next().value!);
    return e;
  }
}

export function memoryFailureLimiter(options: Partial<FailureLimitOptions> = {}): FailureLimiter {
  const s = new MemoryFailureStore(options);
  return {
    begin: async (keys) => s.begin(keys),
    failed: async (a) => s.failed(a),
    succeeded: async (a) => s.succeeded(a),
    abandoned: async (a) => s.abandoned(a),
    failures: async (key) => s.failures(key),
    close: async () => {},
  };
}

/**
 * KEYS: fail1..failN, pend1..pendN. ARGV: now, windowMs, pendingTtlMs, id, N, max1..maxN.
 * Returns {1} admitted, or {0, index of the refusing key, wait ms}.
 */
const ADMIT = `
local now = tonumber(ARGV[1]); local win = tonumber(ARGV[2]); local pttl = tonumber(ARGV[3]); local id = ARGV[4]
local n = tonumber(ARGV[5]); local worst = 0; local by = 0; local busy = 0
for i = 1, n do
  local f = KEYS[i]; local p = KEYS[n + i]; local max = tonumber(ARGV[5 + i])
  redis.call('ZREMRANGEBYSCORE', f, '-inf', now - win)
  redis.call('ZREMRANGEBYSCORE', p, '-inf', now - pttl)
  local c = redis.call('ZCARD', f)
  if c >= max then
    local s = redis.call('ZRANGE', f, c - max, c - max, 'WITHSCORES')
    local w = tonumber(s[2]) + win - now
    if w > worst then worst = w; by = i end
  elseif busy == 0 and c + redis.call('ZCARD', p) >= max then busy = i end
end
if by > 0 then return {0, by, worst} end
if busy > 0 then return {0, busy, 1000} end
for i = 1, n do redis.call('ZADD', KEYS[n + i], now, id); redis.call('PEXPIRE', KEYS[n + i], pttl) end
return {1}
`;

/** KEYS: fail1..failN, pend1..pendN. ARGV: now, windowMs, id, N. */
const FAIL = `
local n = tonumber(ARGV[4])
for i = 1, n do
  redis.call('ZREM', KEYS[n + i], ARGV[3])
  redis.call('ZADD', KEYS[i], ARGV[1], ARGV[3])
  redis.call('PEXPIRE', KEYS[i], ARGV[2])
end
return 1
`;

/** Shared between replicas: every key lives under `prefix` (e.g. `amr:login-limit:`). */
export function redisFailureLimiter(redis: Redis, prefix: string, options: Partial<FailureLimitOptions> = {}): FailureLimiter {
  const o = { ...FAILURE_LIMIT_DEFAULTS, ...options };
  const fk = (k: LimitKey) => `${prefix}fail:${k.key}`;
  const pk = (k: LimitKey) => `${prefix}pend:${k.key}`;
  const keysOf = (keys: readonly LimitKey[]) => [...keys.map(fk), ...keys.map(pk)];
  const drop = async (a: Attempt, reset: boolean) => {
    const m = redis.multi();
    for (const k of a.keys) {
      m.zrem(pk(k), a.id);
      if (reset && k.resetOnSuccess) m.del(fk(k));
    }
    await m.exec();
  };
  return {
    async begin(keys) {
      const now = o.now();
      const id = newId();
      const r = await redis.eval(ADMIT, keys.length * 2, ...keysOf(keys), now, o.windowMs, o.pendingTtlMs, id, keys.length, ...keys.map((k) => k.max)) as number[];
      if (r[0] === 1) return { ok: true, attempt: { id, at: now, keys } };
      return { ok: false, by: keys[r[1] - 1].by, retryAfterSeconds: seconds(Number(r[2])) };
    },
    async failed(a) {
      await redis.eval(FAIL, a.keys.length * 2, ...keysOf(a.keys), o.now(), o.windowMs, a.id, a.keys.length);
    },
    succeeded: (a) => drop(a, true),
    abandoned: (a) => drop(a, false),
    async failures(key) {
      return redis.zcount(`${prefix}fail:${key}`, o.now() - o.windowMs + 1, '+inf');
    },
    close: async () => {},
  };
}
