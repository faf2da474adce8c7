/**
 * Staff login limits (POST /auth/login) on the one failure limiter (failure-limit.ts): at most 5 failed
 * passwords per username and 20 per client address in 15 minutes. Shared between replicas through Redis
 * when the head-end runs on Redis (REDIS_URL, with its jobs); in memory otherwise (tests, one replica).
 * A success clears the username's count, never the address's (one good login must not launder a
 * guessing address); a refused attempt is refused before the password is checked, right one included.
 * When Redis does not answer within 2 s (it is down; its connection queues commands until it is back),
 * the replica counts in memory meanwhile: logins keep working and guessing stays limited per replica.
 */
import type { Logger } from 'pino';
import { createRedisConnection, redisUrlFromConfig, type RedisConfigLike } from '../jobs/redis-connection.js';
import { memoryFailureLimiter, redisFailureLimiter, type Attempt, type FailureLimiter, type FailureLimitOptions, type LimitKey } from './failure-limit.js';

export const LOGIN_LIMITS = { maxPerUser: 5, maxPerIp: 20 } as const;

export function loginKeys(ip: string, username: string, limits: { maxPerUser: number; maxPerIp: number } = LOGIN_LIMITS): LimitKey[] {
  // Usernames compare case-insensitively at login (lower(username)), so the count does too.
  return [
    { key: `user:${username.trim().toLowerCase()}`, max: limits.maxPerUser, by: 'user', resetOnSuccess: true },
    { key: `ip:${ip}`, max: limits.maxPerIp, by: 'ip', resetOnSuccess: false },
  ];
}

/** Redis under `${REDIS_PREFIX}:login-limit:` when `redis` is given, else memory; close() ends the connection it opened. */
export function createLoginLimiter(o: { redis?: RedisConfigLike & { REDIS_PREFIX?: string }; logger: Logger; options?: Partial<FailureLimitOptions> }): FailureLimiter {
  if (!o.redis) return memoryFailureLimiter(o.options);
  const conn = createRedisConnection(redisUrlFromConfig(o.redis), o.logger, 'login-limit');
  const limiter = withFallback(redisFailureLimiter(conn, `${o.redis.REDIS_PREFIX ?? 'amr'}:login-limit:`, o.options), memoryFailureLimiter(o.options), o.logger);
  return { ...limiter, close: async () => { await conn.quit().catch(() => conn.disconnect()); } };
}

const REDIS_WAIT_MS = 2000;

/** `shared` while it answers in time, else `local`; an attempt is settled where it was admitted. */
export function withFallback(shared: FailureLimiter, local: FailureLimiter, logger: Pick<Logger, 'warn'>, waitMs = REDIS_WAIT_MS): FailureLimiter {
  const admittedLocally = new WeakSet<object>();
  const timely = <T>(p: Promise<T>) => {
    let t: NodeJS.Timeout;
    const timeout = new Promise<never>((_r, reject) => { t = setTimeout(() => reject(new Error(`no answer within ${waitMs} ms`)), waitMs); });
    return Promise.race([p, timeout]).finally(() => clearTimeout(t));
  };
  const settle = (f: (l: FailureLimiter) => (a: Attempt) => Promise<void>) => async (a: Attempt) => {
    if (admittedLocally.has(a)) return f(local)(a);
    await timely(f(shared)(a)).catch((e: Error) => logger.warn({ err: e.message }, 'login limit: Redis did not record the attempt'));
  };
  return {
    async begin(keys) {
      try {
        return await timely(shared.begin(keys));
      } catch (e) {
        logger.warn({ err: (e as Error).message }, 'login limit: Redis unavailable, counting in memory on this replica');
        const r = await local.begin(keys);
        if (r.ok) admittedLocally.add(r.attempt);
        return r;
      }
    },
    failed: settle((l) => l.failed),
    succeeded: settle((l) => l.succeeded),
    abandoned: settle((l) => l.abandoned),
    failures: (key) => timely(shared.failures(key)).catch(() => local.failures(key)),
    close: async () => { await local.close(); await shared.close(); },
  };
}
