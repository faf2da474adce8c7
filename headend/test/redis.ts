/**
 * The shared Redis the tests use (127.0.0.1:6379, or TEST_REDIS_URL): every test file works under a
 * key prefix of its own and removes its keys afterwards, so test files never see each other's queues.
 */
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Deletes every key under `prefix:` (bullmq queues, schedulers, locks). */
export async function removeRedisKeys(prefix: string, url = REDIS_URL): Promise<void> {
  const r = new Redis(url);
  try {
    const keys = await r.keys(`${prefix}:*`);
    if (keys.length) await r.del(...keys);
  } finally {
    await r.quit();
  }
}
