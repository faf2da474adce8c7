/**
 * What the API needs from the head-end configuration. The full config (zod, key-named errors) lives
 * in src/config/; this is the slice the API reads, so tests can build a server without the rest.
 */
export interface ApiConfig {
  HTTP_HOST?: string;
  HTTP_PORT?: number;
  /** Session lifetime: seconds, or a duration like "12h", "30m", "7d". */
  TOKEN_TTL: number | string;
  /** Largest accepted import file. */
  IMPORT_MAX_BYTES?: number;
  /** Exchange folders must lie under this folder (unset: any absolute folder — tests only). */
  EXCHANGE_ROOT?: string;
  /** Seals stored secrets (src/util/secret-box.ts); unset = kept as given. */
  SECRETS_KEY?: string;
  /** X-Forwarded-For hops to believe (see the config schema); unset = the socket's address. */
  TRUST_PROXY?: string;
  /** The address residents reach the head-end at: printed links point there (unset: the request's own). */
  PUBLIC_URL?: string;
  /** Failed residents' sign-ins per client address in 15 minutes (collection/sign-in-limit.ts); unset = its default, 200. */
  SIGN_IN_MAX_PER_ADDRESS?: number;
  /** Readings entries batched into one transaction (readings/submissions.ts): linger ms, requests per batch, batches at once; unset = 5, 200, 1. */
  SUBMIT_LINGER_MS?: number;
  SUBMIT_MAX_BATCH?: number;
  SUBMIT_PARALLEL_BATCHES?: number;
}

/** TRUST_PROXY as fastify's trustProxy option: true/false, a hop count, or a list of addresses/CIDRs. */
export function trustProxyOption(v: string | undefined): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (v === undefined || v === 'false') return false;
  if (v === 'true') return true;
  // A hop count: the n addresses nearest to us are proxies (hop 0 is the socket's peer).
  if (/^\d+$/.test(v)) { const n = Number(v); return (_address, hop) => hop < n; }
  return v.split(',').map((x) => x.trim()).filter(Boolean);
}

const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

export function ttlSeconds(ttl: number | string): number {
  if (typeof ttl === 'number') return ttl;
  const m = /^\s*(\d+)\s*([smhd]?)\s*$/.exec(ttl);
  if (!m) throw new Error(`TOKEN_TTL: expected seconds or a duration like "12h", got "${ttl}"`);
  return Number(m[1]) * UNIT[m[2] || 's'];
}
