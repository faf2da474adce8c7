/**
 * The two endpoints EMQX 5 calls (HTTP authentication and HTTP authorization; docs/emqx.md): public to
 * the API's sign-in (EMQX has no session), guarded by the X-Amr-Hook-Token header instead. They only
 * translate; the decisions are emqx-hooks.ts's.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HttpError } from '../http/errors.js';
import { errors } from '../http/context.js';
import { EmqxAnswer, EmqxAuthnRequest, EmqxAuthzRequest, type EmqxHooks } from './emqx-hooks.js';

const digest = (s: string) => createHash('sha256').update(s).digest();
const Headers = z.object({ 'x-amr-hook-token': z.string().optional().describe('MQTT_HOOK_TOKEN, set in EMQX\'s authenticator and authorizer headers') });

const emqxRoutes: FastifyPluginAsyncZod<{ hooks: EmqxHooks }> = async (app, { hooks }) => {
  const expected = digest(hooks.token);
  app.addHook('preValidation', async (req) => {
    const given = req.headers['x-amr-hook-token'];
    if (typeof given !== 'string' || !timingSafeEqual(digest(given), expected)) {
      throw new HttpError(401, 'unauthorized', 'X-Amr-Hook-Token missing or wrong: set it to MQTT_HOOK_TOKEN in EMQX\'s HTTP authenticator and authorizer (docs/emqx.md)');
    }
  });

  app.post('/mqtt/emqx/authn', {
    config: { public: true },
    schema: {
      tags: ['mqtt'], summary: 'EMQX HTTP authentication: may this client connect?',
      description: 'EMQX 5 calls this on every CONNECT (authentication → HTTP Server, POST, JSON body with ${username}, ${password}, ${clientid}, ${peerhost}). A gateway connects with its id and the secret the registry issued, under its own client id; the head-end with MQTT_USERNAME / MQTT_PASSWORD. Always 200 with an explicit allow or deny.',
      headers: Headers, body: EmqxAuthnRequest, response: { 200: EmqxAnswer, ...errors },
    },
  }, async (req) => hooks.authenticate(req.body));

  app.post('/mqtt/emqx/authz', {
    config: { public: true },
    schema: {
      tags: ['mqtt'], summary: 'EMQX HTTP authorization: may this client publish to / subscribe to this topic?',
      description: 'EMQX 5 calls this on PUBLISH and SUBSCRIBE (authorization → HTTP Server, POST, JSON body with ${username}, ${clientid}, ${topic}, ${action}). A gateway publishes only below amr/v1/<its id>/ (readings, status, events, reply/<name>) and subscribes only to its own cmd/…; a disabled or unknown gateway nothing. Always 200 with an explicit allow or deny.',
      headers: Headers, body: EmqxAuthzRequest, response: { 200: EmqxAnswer, ...errors },
    },
  }, async (req) => hooks.authorize(req.body));
};

export default emqxRoutes;
