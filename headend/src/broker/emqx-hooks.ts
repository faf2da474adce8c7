/**
 * EMQX 5's HTTP authentication and authorization, answered by the head-end: EMQX POSTs who connects
 * (username, password, client id, address) and who publishes or subscribes to what, and takes
 * `{"result": "allow" | "deny"}` back (docs/emqx.md has the EMQX side). The decisions are the ones the
 * embedded broker makes: the CONNECT check of authenticate.ts against the registry (registry-auth.ts)
 * and the topic grant of acl.ts. The routes (emqx-routes.ts) only translate.
 *
 * Every answer says allow or deny explicitly, also when the database is down: EMQX reads a non-200
 * answer as "ignore" and would ask the next authenticator or fall back to its no-match default.
 */
import { z } from 'zod';
import type { Logger } from 'pino';
import type { CoreMetrics } from '../metrics/index.js';
import type { Authenticator, GatewayRow } from './authenticate.js';
import { gatewayGrant, gatewayOwnsClientId, grantAllowsPublish, grantAllowsSubscribe, headendGrant } from './acl.js';

/** What EMQX is configured to send on a CONNECT (docs/emqx.md: `${username}` … placeholders). */
export const EmqxAuthnRequest = z.object({
  username: z.string().default('').describe('${username}: the CONNECT\'s user name (a gateway\'s id, or the head-end\'s MQTT_USERNAME)'),
  password: z.string().default('').describe('${password}: the CONNECT\'s password'),
  clientid: z.string().min(1).describe('${clientid}: the CONNECT\'s client id (amr-gw-<id> for a gateway)'),
  peerhost: z.string().optional().describe('${peerhost}: the client\'s address; failures from one address are slowed down together'),
});
export type EmqxAuthnRequest = z.infer<typeof EmqxAuthnRequest>;

/** What EMQX is configured to send on a PUBLISH or SUBSCRIBE. */
export const EmqxAuthzRequest = z.object({
  username: z.string().default('').describe('${username}'),
  clientid: z.string().min(1).describe('${clientid}'),
  topic: z.string().min(1).describe('${topic}: the topic published to, or the filter subscribed to'),
  action: z.enum(['publish', 'subscribe']).describe('${action}'),
});
export type EmqxAuthzRequest = z.infer<typeof EmqxAuthzRequest>;

export const EmqxAnswer = z.object({
  result: z.enum(['allow', 'deny']),
  is_superuser: z.boolean().optional().describe('authentication only: always false, so every publish and subscribe is authorized'),
});
export type EmqxAnswer = z.infer<typeof EmqxAnswer>;

export interface EmqxHooks {
  /** The token EMQX sends in X-Amr-Hook-Token (MQTT_HOOK_TOKEN). */
  token: string;
  authenticate(r: EmqxAuthnRequest): Promise<EmqxAnswer>;
  authorize(r: EmqxAuthzRequest): Promise<EmqxAnswer>;
}

export interface EmqxHooksOptions {
  token: string;
  auth: Authenticator;
  /** The gateway's row (status), or null; throws when the database is unavailable. */
  lookup(gatewayId: string): Promise<GatewayRow | null>;
  /** The head-end's own user on EMQX (MQTT_USERNAME) and its share group. */
  headend?: { username: string; shareGroup: string };
  metrics: CoreMetrics;
  logger: Logger;
}

const allow: EmqxAnswer = { result: 'allow' };
const deny: EmqxAnswer = { result: 'deny' };

export function createEmqxHooks(o: EmqxHooksOptions): EmqxHooks {
  const { metrics, logger } = o;
  return {
    token: o.token,
    async authenticate(r) {
      const res = await o.auth.authenticate({ username: r.username || undefined, password: r.password, clientId: r.clientid, limiterKey: r.peerhost ?? 'unknown' });
      metrics.brokerAuth.inc({ outcome: res.outcome });
      if (res.ok) return { result: 'allow', is_superuser: false };
      metrics.authRejected.inc({ action: 'connect' });
      logger.warn({ clientId: r.clientid, username: r.username, why: res.why }, 'EMQX connect refused');
      return { result: 'deny', is_superuser: false };
    },
    async authorize(r) {
      const refuse = (why: string): EmqxAnswer => {
        metrics.authRejected.inc({ action: r.action });
        logger.warn({ clientId: r.clientid, username: r.username, topic: r.topic, action: r.action, why }, 'EMQX publish/subscribe refused');
        return deny;
      };
      const may = (grant: ReturnType<typeof gatewayGrant>) =>
        r.action === 'publish' ? grantAllowsPublish(grant, r.topic) : grantAllowsSubscribe(grant, r.topic);
      if (o.headend && r.username === o.headend.username) return may(headendGrant(o.headend.shareGroup)) ? allow : refuse('outside the head-end\'s grant');
      if (!r.username) return refuse('no user name');
      if (!gatewayOwnsClientId(r.username, r.clientid)) return refuse(`client id ${r.clientid} is not gateway ${r.username}'s`);
      if (!may(gatewayGrant(r.username))) return refuse(`outside gateway ${r.username}'s topics`);
      // EMQX caches this answer for a while (authorization.cache): a gateway disabled since its CONNECT stops within that time.
      let row: GatewayRow | null;
      try {
        row = await o.lookup(r.username);
      } catch (e) {
        return refuse(`database unavailable: ${(e as Error).message}`);
      }
      if (!row) return refuse('unknown gateway');
      if (row.status !== 'active') return refuse(`gateway disabled (status ${row.status})`);
      return allow;
    },
  };
}
