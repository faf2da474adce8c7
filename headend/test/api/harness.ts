/**
 * One migrated database per test file on this run's engine (headend/test/engine.ts: embedded
 * PGlite-TimescaleDB in memory, or a template copy on the tests' TimescaleDB server, dropped on
 * close), an API server on it, and helpers to log in and call it through fastify's inject.
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import type { OpenedDb } from '../../src/db/index.js';
import { openTestDb } from '../engine.js';
import { createApiServer } from '../../src/api/index.js';
import { createUser } from '../../src/auth/index.js';
import type { Role } from '../../src/auth/index.js';
import type { JobRunner } from '../../src/jobs/index.js';
import { wallClock, type Clock } from '../../src/util/clock.js';
import type { CommandSender } from '../../src/commands/service.js';

export interface Harness {
  app: FastifyInstance;
  opened: OpenedDb;
  adminToken: string;
  /** The API's clock (the wall clock unless the test stopped it): seeds date their data by it. */
  clock: Clock;
  /** Creates a user (and optional building grants) and returns a token for it. */
  userToken(role: Role, opts?: { buildingIds?: number[]; accountIds?: number[]; username?: string }): Promise<string>;
  // A test states the body it expects (call<Meter[]>(...)); the `any` default stays while the API tests of
  // other areas still read untyped bodies.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- until every API test names its body type
  call<T = any>(method: string, url: string, token?: string | null, body?: unknown): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

let seq = 0;

/** `clock`: the API's "now" as data (a test's fixed date); sign-in tokens still expire on real time. */
export async function startHarness(config: { TOKEN_TTL?: number | string; jobs?: JobRunner; EXCHANGE_ROOT?: string; SECRETS_KEY?: string; PUBLIC_URL?: string; SIGN_IN_MAX_PER_ADDRESS?: number; clock?: Clock; commands?: CommandSender } = {}): Promise<Harness> {
  const opened = await openTestDb();
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const app = await createApiServer({ db: opened.db, config: { TOKEN_TTL: config.TOKEN_TTL ?? 3600, EXCHANGE_ROOT: config.EXCHANGE_ROOT, SECRETS_KEY: config.SECRETS_KEY, PUBLIC_URL: config.PUBLIC_URL, SIGN_IN_MAX_PER_ADDRESS: config.SIGN_IN_MAX_PER_ADDRESS }, logger, registry: new Registry(), jobs: config.jobs, clock: config.clock, commands: config.commands });
  await app.ready();

  async function call<T>(method: string, url: string, token?: string | null, body?: unknown) {
    const res = await app.inject({
      method: method as 'GET', url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(body !== undefined ? { payload: body as object } : {}),
    });
    return { status: res.statusCode, body: (res.body ? JSON.parse(res.body) : null) as T };
  }

  async function login(username: string, password: string): Promise<string> {
    const r = await call<{ token: string }>('POST', '/auth/login', null, { username, password });
    if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.token;
  }

  await opened.db.tx((q) => createUser(q, { username: 'admin', password: 'admin-password', role: 'admin' }));
  const adminToken = await login('admin', 'admin-password');

  return {
    app, opened, adminToken, call, clock: config.clock ?? wallClock,
    async userToken(role, opts = {}) {
      const username = opts.username ?? `${role}${++seq}`;
      const u = await call<{ id: number }>('POST', '/users', adminToken, { username, password: 'password-123', role });
      if (u.status !== 201) throw new Error(`create user: ${u.status} ${JSON.stringify(u.body)}`);
      for (const b of opts.buildingIds ?? []) await call('POST', `/users/${u.body.id}/grants`, adminToken, { building_id: b });
      for (const a of opts.accountIds ?? []) await call('POST', `/users/${u.body.id}/accounts`, adminToken, { personal_account_id: a });
      return login(username, 'password-123');
    },
    async close() {
      await app.close();
      await opened.close();
    },
  };
}
