/**
 * Staff login limits (POST /auth/login) on the one failure limiter (failure-limit.ts): at most 5 failed
 * passwords per username and 20 per client address in 15 minutes. Shared between replicas through Redis
 * when the head-end runs on Redis (REDIS_URL, with its jobs); in memory otherwise (tests, one replica).
 * A success clears the username's count, never the address's (one good login must not launder a
 * guessing address); a refused attempt is refused before the password is checked, right one included.
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

/** Redis under `${REDIS_PREFIX}:login-limit:` when `redis` is given, else memory; close() ends the connection it opened. */
export function createLoginLimiter(o: { redis?: RedisConfigLike & { REDIS_PREFIX?: string }; logger: Logger; options?: Partial<FailureLimitOptions> }): FailureLimiter {
  if (!o.redis) return memoryFailureLimiter(o.options);
  const conn = createRedisConnection(redisUrlFromConfig(o.redis), o.logger, 'login-limit');
  const limiter = redisFailureLimiter(conn, `${o.redis.REDIS_PREFIX ?? 'amr'}:login-limit:`, o.options);
  return { ...limiter, close: async () => { await conn.quit().catch(() => conn.disconnect()); } };
}
