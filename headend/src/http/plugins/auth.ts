/**
 * Authentication on every request: `Authorization: Bearer <token>` (users) or `X-Api-Key: <key>`
 * (billing department). Routes are closed unless they set `config: { public: true }`; the docs are public.
 * Authorisation (permission + building scope) is then asked by each route through the Principal helpers.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Queryable } from '../../db/types.js';
import { principalFromApiKey, tokenPrincipals, type Principal } from '../../auth/index.js';
import { HttpError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest { principal: Principal | null }
  interface FastifyContextConfig { public?: boolean }
}

export interface AuthPluginOptions { db: Queryable }

/** The authenticated caller; routes that are not public always have one. */
export function principal(req: FastifyRequest): Principal {
  if (!req.principal) throw new HttpError(401, 'unauthorized', 'authentication required');
  return req.principal;
}

export default fp<AuthPluginOptions>(async function authPlugin(app: FastifyInstance, { db }) {
  app.decorateRequest('principal', null);
  // Concurrent requests' tokens looked up together (auth/sessions.ts tokenPrincipals).
  const principalOf = tokenPrincipals(db);
  app.addHook('onRequest', async (req, reply) => {
    const header = req.headers.authorization;
    const apiKey = req.headers['x-api-key'];
    if (header) {
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      if (!m) throw new HttpError(401, 'unauthorized', 'Authorization header must be "Bearer <token>"');
      req.principal = await principalOf(m[1]);
      if (!req.principal) throw new HttpError(401, 'unauthorized', 'token invalid, expired or revoked');
    } else if (typeof apiKey === 'string') {
      req.principal = await principalFromApiKey(db, apiKey);
      if (!req.principal) throw new HttpError(401, 'unauthorized', 'API key invalid, expired or revoked');
    }
    const isPublic = req.routeOptions.config?.public === true || req.url === '/docs' || req.url.startsWith('/docs/');
    if (!req.principal && !isPublic && req.routeOptions.url !== undefined) {
      reply.header('www-authenticate', 'Bearer');
      throw new HttpError(401, 'unauthorized', 'authentication required: send "Authorization: Bearer <token>" (POST /auth/login) or X-Api-Key');
    }
  });
}, { name: 'amr-auth' });
