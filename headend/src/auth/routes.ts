/**
 * Login, logout, who-am-I; user administration, building grants, resident bindings, API keys — the
 * latter through auth/user-admin.ts, which resolves every id through auth/tenancy.ts.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyRequest } from 'fastify';
import { authenticate, issueToken, NewUser, revokeToken, Role } from './index.js';
import { addUser, bindAccount, changeUser, grantBuilding, issueApiKey, listApiKeys, listGrants, listUsers, revokeApiKey, revokeGrant, type Admin } from './user-admin.js';
import { ttlSeconds } from '../http/config.js';
import { createLoginLimiter, loginKeys } from './login-limit.js';
import { limitedCheck } from './failure-limit.js';
import type { RedisConfigLike } from '../jobs/redis-connection.js';
import { HttpError } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { actorOf, ErrorBody, errors, Id, IdParams, Timestamp, type RouteDeps } from '../http/context.js';

const User = z.object({
  id: Id, username: z.string(), display_name: z.string().nullable(), email: z.string().nullable(), role: Role,
  active: z.boolean(), created_at: Timestamp, updated_at: Timestamp,
});

const authRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, config, jobs }) => {
  const ttl = ttlSeconds(config.TOKEN_TTL);
  // Failed logins per username and per address (src/auth/login-limit.ts): in Redis when the head-end runs on it.
  const redis = jobs && 'REDIS_URL' in config ? config as unknown as RedisConfigLike & { REDIS_PREFIX?: string } : undefined;
  const limiter = createLoginLimiter({ redis, logger: app.log as never });
  app.addHook('onClose', () => limiter.close());

  app.post('/auth/login', {
    config: { public: true },
    schema: {
      tags: ['auth'], summary: 'Exchange username and password for a bearer token', security: [],
      description: 'Signs a staff user in. Send the token from the answer as `Authorization: Bearer <token>` on every other call; it expires at `expires_at` (TOKEN_TTL) or when the password is changed. Wrong credentials answer 401 without saying which part was wrong; repeated failures for one user or address answer 429 for a while (Retry-After).',
      body: z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(256) })
        .meta({ examples: [{ username: 'chief', password: 'correct horse battery staple' }] }),
      response: {
        200: z.object({ token: z.string(), expires_at: z.string(), user: User })
          .meta({ examples: [{ token: 'Yp3v0S1bq8cJ9X2rN6tA4eWk7LmQzH5u', expires_at: '2025-03-10T20:00:00.000Z', user: { id: 1, username: 'chief', role: 'admin' } }] }),
        ...errors, 429: ErrorBody,
      },
    },
  }, async (req, reply) => {
    // The password is checked outside any transaction (authenticate), the limit settles the verdict.
    const r = await limitedCheck(limiter, loginKeys(req.ip, req.body.username), () => authenticate(db, req.body.username, req.body.password));
    if (!r.ok && r.refused) {
      const { by, retryAfterSeconds } = r.refused;
      reply.header('retry-after', String(retryAfterSeconds));
      const who = by === 'user' ? `for user ${req.body.username}` : 'from your network address';
      throw new HttpError(429, 'too_many_requests', `too many failed logins ${who}; try again in ${retryAfterSeconds} s`,
        [{ path: by === 'user' ? 'body.username' : 'ip', message: `retry after ${retryAfterSeconds} s` }],
        { minutes: Math.ceil(retryAfterSeconds / 60), retry_after_seconds: retryAfterSeconds, by });
    }
    if (!r.ok) throw new HttpError(401, 'unauthorized', 'wrong username or password, or the user is deactivated');
    const user = r.value;
    const t = await issueToken(db, user.id, ttl, req.headers['user-agent']);
    return { token: t.token, expires_at: t.expiresAt.toISOString(), user };
  });

  app.post('/auth/logout', {
    schema: {
      tags: ['auth'], summary: 'Revoke the token used for this request', response: { 204: z.null(), ...errors },
      description: 'Signs out: the bearer token of this request stops working at once. Other sessions of the same user stay. An API key is revoked with DELETE /api-keys/{id} instead (400 here).',
    },
  }, async (req, reply) => {
    const p = principal(req);
    if (p.tokenId === null) throw new HttpError(400, 'bad_request', 'API keys are revoked with DELETE /api-keys/:id');
    await revokeToken(db, p.tokenId);
    return reply.code(204).send(null);
  });

  app.get('/auth/me', {
    schema: {
      tags: ['auth'], summary: 'The authenticated principal and its scope',
      description: 'Who the token belongs to (user or API key), its role, and what it may see: the granted buildings (null = all of them), a resident\'s premises, an API key\'s organisation.',
      response: { 200: z.object({ kind: z.string(), id: z.number(), name: z.string(), role: Role, building_ids: z.array(z.number()).nullable(), premise_ids: z.array(z.number()).nullable(), organisation_id: z.number().nullable() }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    return { kind: p.kind, id: p.id, name: p.name, role: p.role, organisation_id: p.organisationId, building_ids: p.buildingIds && [...p.buildingIds], premise_ids: p.premiseIds && [...p.premiseIds] };
  });

  const admin = (req: FastifyRequest): Admin => ({ p: principal(req), actor: actorOf(req), requestId: req.id });

  app.get('/users', {
    schema: {
      tags: ['users'], summary: 'Users the caller may manage (an admin of every organisation: all)', response: { 200: z.array(User), ...errors },
      description: 'Staff and resident users with their role and whether they are active. Users are deactivated, never deleted (the audit journal keeps naming them).',
    },
  }, async (req) => (
    listUsers(db, principal(req))
  ));

  app.post('/users', {
    schema: {
      tags: ['users'], body: NewUser, response: { 201: User, ...errors },
      summary: 'Create a user',
      description: 'Creates a staff or resident user with a role and a password (checked for strength: a weak one answers 400 with the reason). Building access is granted separately (POST /users/{id}/grants); audited.',
    },
  }, async (req, reply) => {
    const user = await addUser(db, admin(req), req.body);
    return reply.code(201).send(user);
  });

  app.patch('/users/:id', {
    schema: {
      tags: ['users'], params: IdParams,
      summary: 'Change a user: role, active, name, e-mail or password',
      description: 'Changes the fields given. Deactivating a user or setting a new password ends the user\'s sessions. Audited with the values before and after (never the password).',
      body: z.object({ role: Role.optional(), active: z.boolean().optional(), display_name: z.string().max(200).nullable().optional(), email: z.email().nullable().optional(), password: z.string().min(1).max(256).optional() }),
      response: { 200: User, ...errors },
    },
  }, async (req) => changeUser(db, admin(req), req.params.id, req.body));

  const Grant = z.object({ building_id: z.number().int().positive() });
  app.get('/users/:id/grants', {
    schema: {
      tags: ['users'], summary: 'The buildings granted to a user', params: IdParams, response: { 200: z.array(z.number()), ...errors },
      description: 'Ids of the buildings the user `id` may see and work on. Access in this product is granted per building.',
    },
  }, async (req) => (
    listGrants(db, principal(req), req.params.id)
  ));
  app.post('/users/:id/grants', {
    schema: {
      tags: ['users'], summary: 'Grant access to a building', params: IdParams, body: Grant, response: { 204: z.null(), ...errors },
      description: 'Lets the user `id` see and work on the building (within what the role allows). Granting it twice is harmless; audited.',
    },
  }, async (req, reply) => {
    await grantBuilding(db, admin(req), req.params.id, req.body.building_id);
    return reply.code(204).send(null);
  });
  app.delete('/users/:id/grants/:buildingId', {
    schema: {
      tags: ['users'], params: z.object({ id: z.coerce.number().int().describe('The user'), buildingId: z.coerce.number().int().describe('The building whose grant is withdrawn') }), response: { 204: z.null(), ...errors },
      summary: 'Withdraw access to a building',
      description: 'The user `id` no longer sees the building `buildingId`; audited.',
    },
  }, async (req, reply) => {
    await revokeGrant(db, admin(req), req.params.id, req.params.buildingId);
    return reply.code(204).send(null);
  });

  app.post('/users/:id/accounts', {
    schema: {
      tags: ['users'], summary: 'Bind a resident user to a personal account', params: IdParams, body: z.object({ personal_account_id: z.number().int().positive() }), response: { 204: z.null(), ...errors },
      description: 'The resident user `id` then sees the meters of the account\'s premise and may submit their readings in the collection window; audited.',
    },
  }, async (req, reply) => {
    await bindAccount(db, admin(req), req.params.id, req.body.personal_account_id);
    return reply.code(204).send(null);
  });

  app.post('/organisations/:id/api-keys', {
    schema: {
      tags: ['users'], summary: 'Create a billing API key for an organisation; the key is shown only in this response', params: IdParams,
      description: 'A key for the billing system of the organisation `id` (sent as X-Api-Key): it reads invoice lines and the billing feed of that organisation only. Only a hash is stored, so a lost key is revoked and a new one created.',
      body: z.object({ name: z.string().min(1).max(100), expires_at: z.iso.datetime({ offset: true }).optional() }),
      response: { 201: z.object({ id: z.number(), key: z.string(), prefix: z.string() }), ...errors },
    },
  }, async (req, reply) => {
    const issued = await issueApiKey(db, admin(req), req.params.id, { name: req.body.name, expiresAt: req.body.expires_at ? new Date(req.body.expires_at) : undefined });
    return reply.code(201).send(issued);
  });
  app.get('/organisations/:id/api-keys', {
    schema: {
      tags: ['users'], summary: 'The API keys of an organisation, newest first (never the keys themselves)', params: IdParams,
      description: 'Each key of the organisation `id` by its name and prefix (the first characters of the key, enough to recognise it), who created it and when, when it expires, was last used or was revoked. The key itself is shown only once, when it is created.',
      response: {
        200: z.array(z.object({
          id: Id, name: z.string(), prefix: z.string(), created_by: Id.nullable().describe('The user who created it'), created_at: Timestamp,
          expires_at: Timestamp.nullable(), revoked_at: Timestamp.nullable().describe('Set once the key is revoked: it no longer works'), last_used_at: Timestamp.nullable(),
        })),
        ...errors,
      },
    },
  }, async (req) => listApiKeys(db, principal(req), req.params.id));
  app.delete('/api-keys/:id', {
    schema: {
      tags: ['users'], params: IdParams, response: { 204: z.null(), ...errors },
      summary: 'Revoke an API key',
      description: 'The key `id` stops working at once; audited.',
    },
  }, async (req, reply) => {
    await revokeApiKey(db, admin(req), req.params.id);
    return reply.code(204).send(null);
  });
};

export default authRoutes;
