/**
 * Staff login limits (POST /auth/login) on the one failure limiter (failure-limit.ts): at most 5 failed
 * passwords per username and 20 per client address in 15 minutes. A success clears the username's
 * count, never the address's (one good login must not launder a guessing address); a refused attempt
 * is refused before the password is checked, right one included.
 *
 * `createFailureLimiter` is where every limit of the head-end gets its store (staff login here,
 * residents' sign-in in collection/sign-in-limit.ts): shared between replicas through Redis when the
 * head-end runs on Redis (REDIS_URL, with its jobs), each limit under its own key prefix; in memory
 * otherwise (tests, one replica). When Redis does not answer within 2 s (it is down; its connection
 * queues commands until it is back), the replica counts in memory meanwhile: sign-ins keep working
 * and guessing stays limited per replica.
 */
import type { Logger } from 'pino';
import { createRedisConnection, redisUrlFromConfig, type RedisConfigLike } from '../jobs/redis-connection.js';
import { memoryFailureLimiter, redisFailureLimiter, type FailureLimiter, type FailureLimitOptions, type LimitKey } from './failure-limit.js';

export const LOGIN_LIMITS = { maxPerUser: 5, maxPerIp: 20 } as const;

export function loginKeys(ip: string, username: string, limits: { maxPerUser: number; maxPerIp: number } = LOGIN_LIMITS): LimitKey[] {
  // Usernames compare case-insensitively at login (lower(username)), so the count does too.
  return [
    { key: `user:${username.trim().toLowerCase()}`, max: limits.maxPerUser, by: 'user', resetOnSuccess: true },
    { key: `ip:${ip}`, max: limits.maxPerIp, by: 'ip', resetOnSuccess: false },
  ];
}

export interface LimiterStoreOptions { redis?: RedisConfigLike & { REDIS_PREFIX?: string }; logger: Logger; options?: Partial<FailureLimitOptions> }

/** Redis under `${REDIS_PREFIX}:${name}:` when `redis` is given, else memory; close() ends the connection it opened. */
export function createFailureLimiter(name: string, o: LimiterStoreOptions): FailureLimiter {
  if (!o.redis) return memoryFailureLimiter(o.options);
  const conn = createRedisConnection(redisUrlFromConfig(o.redis), o.logger, name);
  const limiter = withFallback(redisFailureLimiter(conn, `${o.redis.REDIS_PREFIX ?? 'amr'}:${name}:`, o.options), memoryFailureLimiter(o.options), o.logger, REDIS_WAIT_MS, name);
  return { ...limiter, close: async () => { await conn.quit().catch(() => conn.disconnect()); } };
}

/** The staff login's limiter: `${REDIS_PREFIX}:login-limit:` in Redis. */
export const createLoginLimiter = (o: LimiterStoreOptions): FailureLimiter => createFailureLimiter('login-limit', o);

const REDIS_WAIT_MS = 2000;

/** `shared` while it answers in time, else `local`; an attempt is settled where it was admitted. */
export function withFallback(shared: FailureLimiter, local: FailureLimiter, logger: Pick<Logger, 'warn'>, waitMs = REDIS_WAIT_MS, name = 'login-limit'): FailureLimiter {
  const admittedLocally = new WeakSet<object>();
  const timely = <T>(p: Promise<T>) => {
    let t: NodeJS.Timeout;
    const timeout = new Promise<never>((_r, reject) => { t = setTimeout(() => reject(new Error(`no answer within ${waitMs} ms`)), waitMs); });
    return Promise.race([p, timeout]).finally(() => clearTimeout(t));
  };
  const what = name.replace('-', ' ');
  return {
    async begin(keys) {
      try {
        return await timely(shared.begin(keys));
      } catch (e) {
        logger.warn({ err: (e as Error).message }, `${what}: Redis unavailable, counting in memory on this replica`);
        const r = await local.begin(keys);
        if (r.ok) admittedLocally.add(r.attempt);
        return r;
      }
    },
    async settle(a, verdict) {
      if (admittedLocally.has(a)) return local.settle(a, verdict);
      // Redis went away mid-attempt: the verdict stands (the attempt was admitted), the failure is not recorded.
      return timely(shared.settle(a, verdict)).catch((e: Error) => {
        logger.warn({ err: e.message }, `${what}: Redis did not record the attempt`);
        return { ok: true as const };
      });
    },
    failures: (key) => timely(shared.failures(key)).catch(() => local.failures(key)),
    close: async () => { await local.close(); await shared.close(); },
  };
}
