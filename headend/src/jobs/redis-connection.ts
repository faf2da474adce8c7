/**
 * The ioredis connection bullmq runs on. Redis being down must not crash the head-end: ioredis
 * retries forever with back-off, and we log one clear line naming the URL per outage (not one per retry).
 *
 * Two targets, both given as one string so every caller (JobRunner's `redisUrl`, logs, the jobs
 * API's 503 message) keeps handling a single URL:
 * - `redis://[:password@]host:port[/db]` (or `rediss://`): one Redis server;
 * - `redis-sentinel://[:password@]host:port[,host:port…][/db]#<master name>`: Redis behind Sentinel
 *   (the form Lettuce and Spring use). ioredis asks the sentinels for the current master and
 *   reconnects to the new one after a failover, so a head-end needs no restart. The password
 *   authenticates to the master and to the sentinels (deploy/k8s sets the same one on both).
 * `redisUrlFromConfig` builds the string from REDIS_URL, or from REDIS_SENTINELS/REDIS_SENTINEL_NAME/
 * REDIS_PASSWORD when REDIS_SENTINELS is set.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { redactUrl as redactPlainUrl } from '../util/redact-url.js';

const SENTINEL_SCHEME = 'redis-sentinel://';

export interface SentinelTarget {
  sentinels: { host: string; port: number }[];
  /** The master's name as the sentinels monitor it (`sentinel monitor <name> …`). */
  name: string;
  password?: string;
  db?: number;
}

/** The config keys this module reads; the sentinel ones are optional until the schema has them. */
export interface RedisConfigLike {
  REDIS_URL: string;
  REDIS_SENTINELS?: string;
  REDIS_SENTINEL_NAME?: string;
  REDIS_PASSWORD?: string;
}

export function isSentinelUrl(url: string): boolean {
  return url.startsWith(SENTINEL_SCHEME);
}

/** "host:port,host:port" → list; port defaults to 26379 (Sentinel's). Throws naming the bad entry. */
export function parseSentinelList(list: string): { host: string; port: number }[] {
  const out = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((entry) => {
      const m = /^([A-Za-z0-9._-]+|\[[0-9A-Fa-f:]+\])(?::(\d{1,5}))?$/.exec(entry);
      const port = m?.[2] === undefined ? 26379 : Number(m[2]);
      if (!m || port < 1 || port > 65535) throw new Error(`Redis sentinel "${entry}": expected host:port`);
      return { host: m[1].replace(/^\[|\]$/g, ''), port };
    });
  if (out.length === 0) throw new Error('Redis sentinels: the list is empty (expected host:port,host:port)');
  return out;
}

/** Parses `redis-sentinel://[:password@]h:p[,h:p…][/db]#name`; throws naming what is wrong. */
export function parseSentinelUrl(url: string): SentinelTarget {
  if (!isSentinelUrl(url)) throw new Error(`${redactUrl(url)}: not a ${SENTINEL_SCHEME} URL`);
  const hash = url.indexOf('#');
  const name = hash < 0 ? '' : decodeURIComponent(url.slice(hash + 1));
  if (!name) throw new Error(`${redactUrl(url)}: the master name is missing (…#<name>)`);
  let rest = url.slice(SENTINEL_SCHEME.length, hash);
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    password = decodeURIComponent(colon >= 0 ? userinfo.slice(colon + 1) : userinfo) || undefined;
    rest = rest.slice(at + 1);
  }
  const slash = rest.indexOf('/');
  const hosts = slash < 0 ? rest : rest.slice(0, slash);
  const dbText = slash < 0 ? '' : rest.slice(slash + 1);
  if (dbText !== '' && !/^\d{1,2}$/.test(dbText)) throw new Error(`${redactUrl(url)}: database "${dbText}" is not a number`);
  return { sentinels: parseSentinelList(hosts), name, password, db: dbText === '' ? undefined : Number(dbText) };
}

/** Hides the password of a Redis URL, either form, for logs and error messages. */
export function redactUrl(url: string): string {
  if (!isSentinelUrl(url)) return redactPlainUrl(url);
  const authority = url.slice(SENTINEL_SCHEME.length).split(/[/#]/, 1)[0];
  const at = authority.lastIndexOf('@');
  if (at < 0) return url;
  const userinfo = authority.slice(0, at);
  const colon = userinfo.indexOf(':');
  const shown = colon >= 0 ? `${userinfo.slice(0, colon)}:***` : '***';
  return SENTINEL_SCHEME + shown + url.slice(SENTINEL_SCHEME.length + at);
}

/** The connection string for the config: the sentinel form when REDIS_SENTINELS is set, else REDIS_URL
 *  (with REDIS_PASSWORD added when the URL carries none, so the URL can sit in a ConfigMap). */
export function redisUrlFromConfig(c: RedisConfigLike): string {
  const password = c.REDIS_PASSWORD?.trim() || undefined;
  if (c.REDIS_SENTINELS?.trim()) {
    const name = c.REDIS_SENTINEL_NAME?.trim();
    if (!name) throw new Error('REDIS_SENTINELS is set but REDIS_SENTINEL_NAME (the monitored master name) is not');
    const hosts = parseSentinelList(c.REDIS_SENTINELS)
      .map((s) => `${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.port}`)
      .join(',');
    const auth = password ? `:${encodeURIComponent(password)}@` : '';
    const db = new URL(c.REDIS_URL).pathname.replace(/^\//, '');
    return `${SENTINEL_SCHEME}${auth}${hosts}${/^\d+$/.test(db) ? `/${db}` : ''}#${encodeURIComponent(name)}`;
  }
  if (!password) return c.REDIS_URL;
  const u = new URL(c.REDIS_URL);
  if (u.password) return c.REDIS_URL;
  u.password = encodeURIComponent(password);
  return u.toString();
}

export function createRedisConnection(url: string, logger: Logger, name = 'jobs'): Redis {
  const shown = redactUrl(url);
  // maxRetriesPerRequest: null is required by bullmq workers (blocking commands must wait out an outage).
  const common: RedisOptions = {
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(attempt * 500, 10_000),
    connectionName: `amr-headend-${name}`,
  };
  let redis: Redis;
  if (isSentinelUrl(url)) {
    const t = parseSentinelUrl(url);
    redis = new Redis({
      ...common,
      sentinels: t.sentinels,
      name: t.name,
      password: t.password,
      sentinelPassword: t.password,
      db: t.db,
      // Keep asking the sentinels while none answers (the default gives up after the list is exhausted).
      sentinelRetryStrategy: (attempt) => Math.min(attempt * 500, 10_000),
    });
  } else {
    redis = new Redis(url, common);
  }
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
