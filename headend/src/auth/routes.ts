/**
 * Login, logout, who-am-I; user administration, building grants, resident bindings, API keys.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { authenticate, createApiKey, createUser, hashPassword, issueToken, NewUser, requirePermission, revokeToken, Role, setPasswordHash, type UserRow } from './index.js';
import { USER_COLUMNS } from './users.js';
import { audit } from '../audit/index.js';
import { ttlSeconds } from '../http/config.js';
import { createLoginLimiter, loginKeys } from './login-limit.js';
import { passwordProblem } from './password-policy.js';
import type { RedisConfigLike } from '../jobs/redis-connection.js';
import { HttpError, notFound } from '../http/errors.js';
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
      body: z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(256) }),
      response: { 200: z.object({ token: z.string(), expires_at: z.string(), user: User }), ...errors, 429: ErrorBody },
    },
  }, async (req, reply) => {
    const admitted = await limiter.begin(loginKeys(req.ip, req.body.username));
    if (!admitted.ok) {
      reply.header('retry-after', String(admitted.retryAfterSeconds));
      const who = admitted.by === 'user' ? `for user ${req.body.username}` : 'from your network address';
      throw new HttpError(429, 'too_many_requests', `too many failed logins ${who}; try again in ${admitted.retryAfterSeconds} s`,
        [{ path: admitted.by === 'user' ? 'body.username' : 'ip', message: `retry after ${admitted.retryAfterSeconds} s` }]);
    }
    const user = await authenticate(db, req.body.username, req.body.password).catch(async (e: unknown) => { await limiter.abandoned(admitted.attempt); throw e; });
    if (!user) {
      await limiter.failed(admitted.attempt);
      throw new HttpError(401, 'unauthorized', 'wrong username or password, or the user is deactivated');
    }
    await limiter.succeeded(admitted.attempt);
    const t = await issueToken(db, user.id, ttl, req.headers['user-agent']);
    return { token: t.token, expires_at: t.expiresAt.toISOString(), user };
  });

  app.post('/auth/logout', {
    schema: { tags: ['auth'], summary: 'Revoke the token used for this request', response: { 204: z.null(), ...errors } },
  }, async (req, reply) => {
    const p = principal(req);
    if (p.tokenId === null) throw new HttpError(400, 'bad_request', 'API keys are revoked with DELETE /api-keys/:id');
    await revokeToken(db, p.tokenId);
    return reply.code(204).send(null);
  });

  app.get('/auth/me', {
    schema: {
      tags: ['auth'], summary: 'The authenticated principal and its scope',
      response: { 200: z.object({ kind: z.string(), id: z.number(), name: z.string(), role: Role, building_ids: z.array(z.number()).nullable(), premise_ids: z.array(z.number()).nullable(), organisation_id: z.number().nullable() }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    return { kind: p.kind, id: p.id, name: p.name, role: p.role, organisation_id: p.organisationId, building_ids: p.buildingIds && [...p.buildingIds], premise_ids: p.premiseIds && [...p.premiseIds] };
  });

  app.get('/users', { schema: { tags: ['users'], response: { 200: z.array(User), ...errors } } }, async (req) => {
    requirePermission(principal(req), 'users:manage');
    return (await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users ORDER BY id`)).rows;
  });

  app.post('/users', { schema: { tags: ['users'], body: NewUser, response: { 201: User, ...errors } } }, async (req, reply) => {
    requirePermission(principal(req), 'users:manage');
    const user = await createUser(db, req.body, actorOf(req));
    return reply.code(201).send(user);
  });

  app.patch('/users/:id', {
    schema: {
      tags: ['users'], params: IdParams,
      body: z.object({ role: Role.optional(), active: z.boolean().optional(), display_name: z.string().max(200).nullable().optional(), email: z.email().nullable().optional(), password: z.string().min(1).max(256).optional() }),
      response: { 200: User, ...errors },
    },
  }, async (req) => {
    requirePermission(principal(req), 'users:manage');
    const b = req.body;
    if (b.password !== undefined) {
      const login = (await db.query<{ username: string }>('SELECT username FROM users WHERE id = $1', [req.params.id])).rows[0]?.username;
      const problem = login === undefined ? null : passwordProblem(login, b.password);
      if (problem) throw new HttpError(400, 'bad_request', problem, [{ path: 'body.password', message: problem }]);
    }
    const hash = b.password ? await hashPassword(b.password) : null; // before the transaction: it is slow
    return db.tx(async (q) => {
      const before = (await q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1 FOR UPDATE`, [req.params.id])).rows[0];
      if (!before) throw notFound('user');
      const { rows } = await q.query<UserRow>(
        `UPDATE users SET role = COALESCE($2, role), active = COALESCE($3, active),
            display_name = CASE WHEN $4::boolean THEN $5 ELSE display_name END,
            email = CASE WHEN $6::boolean THEN $7 ELSE email END, updated_at = now()
          WHERE id = $1 RETURNING ${USER_COLUMNS}`,
        [req.params.id, b.role ?? null, b.active ?? null, b.display_name !== undefined, b.display_name ?? null, b.email !== undefined, b.email ?? null],
      );
      if (b.active === false) await q.query('UPDATE auth_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL', [req.params.id]);
      await audit(q, actorOf(req), { action: 'update', entity: 'user', entityId: req.params.id, before, after: rows[0] });
      if (hash) await setPasswordHash(q, req.params.id, hash, actorOf(req));
      return rows[0];
    });
  });

  const Grant = z.object({ building_id: z.number().int().positive() });
  app.get('/users/:id/grants', { schema: { tags: ['users'], params: IdParams, response: { 200: z.array(z.number()), ...errors } } }, async (req) => {
    requirePermission(principal(req), 'users:manage');
    return (await db.query<{ building_id: string }>('SELECT building_id FROM user_building_grants WHERE user_id = $1 ORDER BY 1', [req.params.id])).rows.map((r) => Number(r.building_id));
  });
  app.post('/users/:id/grants', { schema: { tags: ['users'], summary: 'Grant access to a building', params: IdParams, body: Grant, response: { 204: z.null(), ...errors } } }, async (req, reply) => {
    requirePermission(principal(req), 'users:manage');
    await db.tx(async (q) => {
      const r = await q.query('INSERT INTO user_building_grants (user_id, building_id) VALUES ($1,$2) ON CONFLICT DO NOTHING', [req.params.id, req.body.building_id]);
      if (r.rowCount) await audit(q, actorOf(req), { action: 'grant', entity: 'user', entityId: req.params.id, buildingId: req.body.building_id, after: { building_id: req.body.building_id } });
    });
    return reply.code(204).send(null);
  });
  app.delete('/users/:id/grants/:buildingId', {
    schema: { tags: ['users'], params: z.object({ id: z.coerce.number().int(), buildingId: z.coerce.number().int() }), response: { 204: z.null(), ...errors } },
  }, async (req, reply) => {
    requirePermission(principal(req), 'users:manage');
    await db.tx(async (q) => {
      const r = await q.query('DELETE FROM user_building_grants WHERE user_id = $1 AND building_id = $2', [req.params.id, req.params.buildingId]);
      if (!r.rowCount) throw notFound('grant');
      await audit(q, actorOf(req), { action: 'revoke', entity: 'user', entityId: req.params.id, buildingId: req.params.buildingId, before: { building_id: req.params.buildingId } });
    });
    return reply.code(204).send(null);
  });

  app.post('/users/:id/accounts', {
    schema: { tags: ['users'], summary: 'Bind a resident user to a personal account', params: IdParams, body: z.object({ personal_account_id: z.number().int().positive() }), response: { 204: z.null(), ...errors } },
  }, async (req, reply) => {
    requirePermission(principal(req), 'users:manage');
    await db.tx(async (q) => {
      const u = (await q.query<{ role: string }>('SELECT role FROM users WHERE id = $1', [req.params.id])).rows[0];
      if (!u) throw notFound('user');
      if (u.role !== 'resident') throw new HttpError(400, 'bad_request', `only resident users are bound to personal accounts (user ${req.params.id} is ${u.role})`, [{ path: 'params.id', message: 'not a resident' }]);
      await q.query('INSERT INTO user_accounts (user_id, personal_account_id) VALUES ($1,$2) ON CONFLICT DO NOTHING', [req.params.id, req.body.personal_account_id]);
      await audit(q, actorOf(req), { action: 'bind-account', entity: 'user', entityId: req.params.id, after: req.body });
    });
    return reply.code(204).send(null);
  });

  app.post('/organisations/:id/api-keys', {
    schema: {
      tags: ['users'], summary: 'Create a billing API key for an organisation; the key is shown only in this response', params: IdParams,
      body: z.object({ name: z.string().min(1).max(100), expires_at: z.iso.datetime({ offset: true }).optional() }),
      response: { 201: z.object({ id: z.number(), key: z.string(), prefix: z.string() }), ...errors },
    },
  }, async (req, reply) => {
    requirePermission(principal(req), 'users:manage');
    const issued = await db.tx(async (q) => {
      const k = await createApiKey(q, req.params.id, req.body.name, principal(req).id, req.body.expires_at ? new Date(req.body.expires_at) : undefined);
      await audit(q, actorOf(req), { action: 'create', entity: 'api_key', entityId: k.id, after: { organisation_id: req.params.id, name: req.body.name, prefix: k.prefix } });
      return k;
    });
    return reply.code(201).send(issued);
  });
  app.delete('/api-keys/:id', { schema: { tags: ['users'], params: IdParams, response: { 204: z.null(), ...errors } } }, async (req, reply) => {
    requirePermission(principal(req), 'users:manage');
    await db.tx(async (q) => {
      const r = await q.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [req.params.id]);
      if (!r.rowCount) throw notFound('API key');
      await audit(q, actorOf(req), { action: 'revoke', entity: 'api_key', entityId: req.params.id });
    });
    return reply.code(204).send(null);
  });
};

export default authRoutes;
