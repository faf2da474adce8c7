/**
 * The CONNECT check (authenticate.ts) against the registry, as every broker the head-end answers for
 * uses it: the embedded aedes broker and EMQX's HTTP hooks (emqx-hooks.ts). One construction, so
 * both check the same rows the same way, with the same metrics.
 */
import type { Logger } from 'pino';
import type { Db } from '../db/index.js';
import type { CoreMetrics } from '../metrics/index.js';
import { DECOY_SECRET_HASH, isFastSecretHash, upgradeSecret, verifySecret } from './credentials.js';
import { AUTH_OUTCOMES, createAuthenticator, type Authenticator, type AuthenticatorOptions } from './authenticate.js';
import { batchedRowLookup } from './gateway-rows.js';
import { gatewayRows, upgradeCredentialHash } from './store.js';

export interface RegistryAuthOptions {
  db: Db;
  logger: Logger;
  metrics: CoreMetrics;
  /** Head-end's own clients (username → password): allowed everything. */
  internalUsers?: Map<string, string>;
  tuning?: Pick<AuthenticatorOptions, 'now' | 'backoff' | 'cache' | 'pool'>;
}

export function registryAuthenticator(o: RegistryAuthOptions): Authenticator {
  const { db, logger, metrics } = o;
  for (const outcome of AUTH_OUTCOMES) metrics.brokerAuth.inc({ outcome }, 0); // every outcome visible on /metrics from the start
  for (const lane of ['known', 'unknown']) metrics.brokerHashQueue.set({ lane }, 0);
  return createAuthenticator({
    now: o.tuning?.now,
    backoff: o.tuning?.backoff,
    cache: o.tuning?.cache,
    pool: o.tuning?.pool,
    internalUsers: o.internalUsers,
    lookup: batchedRowLookup((ids) => gatewayRows(db, ids)),
    verify: verifySecret,
    isFast: isFastSecretHash,
    decoy: DECOY_SECRET_HASH,
    async upgrade(id, password, stored) {
      const fast = upgradeSecret(password, stored);
      if (!fast) return null;
      // Compare-and-set: a rotation committed since the check wins over this rewrite.
      return (await upgradeCredentialHash(db, id, stored, fast)) ? fast : null;
    },
    onUpgradeError: (id, e) => logger.warn({ gatewayId: id, err: e.message }, 'gateway secret hash not rewritten in the fast form'),
    onHash: () => metrics.brokerHashes.inc(),
    onDepth: (lane, depth) => metrics.brokerHashQueue.set({ lane }, depth),
  });
}
