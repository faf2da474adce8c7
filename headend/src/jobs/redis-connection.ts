/**
 * The ioredis connection bullmq runs on. Redis being down must not crash the head-end: ioredis
 * retries forever with back-off, and we log one clear line naming the URL per outage (not one per retry).
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redactUrl } from '../util/redact-url.js';
export { redactUrl };


export function createRedisConnection(url: string, logger: Logger, name = 'jobs'): Redis {
  const shown = redactUrl(url);
  // maxRetriesPerRequest: null is required by bullmq workers (blocking commands must wait out an outage).
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(attempt * 500, 10_000),
    connectionName: `amr-headend-${name}`,
  });
  let down = false;
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    logger.error({ redis: shown, err: err.message }, `Redis unreachable at ${shown} (${err.message}); retrying in the background — jobs wait until it is back`);
  });
  redis.on('ready', () => {
    if (down) logger.info({ redis: shown }, `Redis at ${shown} is reachable again`);
    else logger.debug({ redis: shown }, `connected to Redis at ${shown}`);
    down = false;
  });
  return redis;
}
