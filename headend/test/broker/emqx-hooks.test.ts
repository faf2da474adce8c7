/**
 * EMQX 5's HTTP authentication and authorization answered by the head-end, through fastify inject with
 * the request and answer shapes docs/emqx.md configures in EMQX (no EMQX here): the registry's gateway
 * secrets, client ids and status, and the one topic grant of acl.ts — the embedded broker's own rules.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { createApiServer } from '../../src/api/index.js';
import { coreMetrics, createRegistry } from '../../src/metrics/index.js';
import { createEmqxHooks } from '../../src/broker/emqx-hooks.js';
import { registryAuthenticator } from '../../src/broker/registry-auth.js';
import { batchedRowLookup } from '../../src/broker/gateway-rows.js';
import { gatewayRows } from '../../src/broker/store.js';
import type { OpenedDb } from '../../src/db/index.js';
import { openTestDb } from '../engine.js';
import { registerGateway, type Fixture } from '../ingest/fixtures.js';

const TOKEN = 'hook-token-of-this-test-0123456789';
const HEADEND = { username: 'amr-headend', password: 'headend-password-for-emqx' };
let opened: OpenedDb;
let app: FastifyInstance;
let gw: Fixture;
let off: Fixture;

beforeAll(async () => {
  opened = await openTestDb();
  const db = opened.db;
  const registry = createRegistry();
  const metrics = coreMetrics(registry);
  const logger = pino({ level: 'silent' });
  gw = await registerGateway(db, 'gw-emqx-1', 1);
  off = await registerGateway(db, 'gw-emqx-off', 1);
  await db.query(`UPDATE gateways SET status = 'disabled' WHERE id = $1`, [off.gatewayId]);
  const emqxHooks = createEmqxHooks({
    token: TOKEN,
    auth: registryAuthenticator({ db, logger, metrics, internalUsers: new Map([[HEADEND.username, HEADEND.password]]) }),
    lookup: batchedRowLookup((ids) => gatewayRows(db, ids)),
    headend: { username: HEADEND.username, shareGroup: 'amr-headend' },
    metrics, logger,
  });
  app = await createApiServer({ db, config: { TOKEN_TTL: '12h' }, logger, registry, emqxHooks });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await opened?.close();
});

const post = (url: string, body: unknown, token: string | null = TOKEN) =>
  app.inject({ method: 'POST', url, payload: body as object, headers: token === null ? {} : { 'x-amr-hook-token': token } });
const authn = async (username: string, password: string, clientid: string) => (await post('/mqtt/emqx/authn', { username, password, clientid, peerhost: '10.0.0.7' })).json();
const authz = async (username: string, clientid: string, action: string, topic: string) => (await post('/mqtt/emqx/authz', { username, clientid, topic, action })).json();

describe('EMQX HTTP hooks', () => {
  it('refuse a call without the hook token, or with another, naming the header', async () => {
    const none = await post('/mqtt/emqx/authn', { username: 'gw-emqx-1', password: 'x', clientid: 'amr-gw-gw-emqx-1' }, null);
    expect(none.statusCode).toBe(401);
    expect(none.json().message).toMatch(/X-Amr-Hook-Token/);
    expect((await post('/mqtt/emqx/authz', { username: 'gw-emqx-1', clientid: 'amr-gw-gw-emqx-1', topic: 'amr/v1/gw-emqx-1/readings', action: 'publish' }, 'another-token-of-the-same-size-000')).statusCode).toBe(401);
  });

  it('authentication: a gateway with its secret under its own client id, and the head-end, are allowed; anything else denied', async () => {
    const allowed = { result: 'allow', is_superuser: false };
    const denied = { result: 'deny', is_superuser: false };
    expect(await authn(gw.gatewayId, gw.password, 'amr-gw-gw-emqx-1')).toEqual(allowed);
    expect(await authn(HEADEND.username, HEADEND.password, 'he-1-0')).toEqual(allowed);
    expect(await authn(gw.gatewayId, 'wrong', 'amr-gw-gw-emqx-1')).toEqual(denied);
    expect(await authn(gw.gatewayId, gw.password, 'amr-gw-gw-emqx-off')).toEqual(denied); // another gateway's client id
    expect(await authn('gw-nobody', 'whatever', 'amr-gw-gw-nobody')).toEqual(denied);
    expect(await authn(off.gatewayId, off.password, 'amr-gw-gw-emqx-off')).toEqual(denied); // disabled
    expect(await authn(HEADEND.username, 'wrong', 'he-1-0')).toEqual(denied);
  });

  it('authorization: a gateway publishes below its own id and subscribes to its own commands; a disabled one nothing', async () => {
    const cid = 'amr-gw-gw-emqx-1';
    expect(await authz(gw.gatewayId, cid, 'publish', 'amr/v1/gw-emqx-1/readings')).toEqual({ result: 'allow' });
    expect(await authz(gw.gatewayId, cid, 'publish', 'amr/v1/gw-emqx-1/reply/poll_now')).toEqual({ result: 'allow' });
    expect(await authz(gw.gatewayId, cid, 'subscribe', 'amr/v1/gw-emqx-1/cmd/+')).toEqual({ result: 'allow' });
    expect(await authz(gw.gatewayId, cid, 'publish', 'amr/v1/gw-emqx-off/readings')).toEqual({ result: 'deny' });
    expect(await authz(gw.gatewayId, cid, 'publish', 'amr/v1/gw-emqx-1/cmd/restart')).toEqual({ result: 'deny' });
    expect(await authz(gw.gatewayId, cid, 'subscribe', 'amr/v1/+/cmd/+')).toEqual({ result: 'deny' });
    expect(await authz(off.gatewayId, 'amr-gw-gw-emqx-off', 'publish', 'amr/v1/gw-emqx-off/readings')).toEqual({ result: 'deny' });
  });

  it('authorization: the head-end takes every gateway\'s messages in its share group and sends commands, and publishes no readings', async () => {
    expect(await authz(HEADEND.username, 'he-1-0', 'subscribe', '$share/amr-headend/amr/v1/+/readings')).toEqual({ result: 'allow' });
    expect(await authz(HEADEND.username, 'he-1-cmd', 'publish', 'amr/v1/gw-emqx-1/cmd/poll_now')).toEqual({ result: 'allow' });
    expect(await authz(HEADEND.username, 'he-1-0', 'publish', 'amr/v1/gw-emqx-1/readings')).toEqual({ result: 'deny' });
    expect(await authz(HEADEND.username, 'he-1-0', 'subscribe', '$share/other/amr/v1/+/readings')).toEqual({ result: 'deny' });
  });

  it('a request without what EMQX must send is refused with the field named', async () => {
    const r = await post('/mqtt/emqx/authz', { username: 'gw-emqx-1', topic: 'amr/v1/gw-emqx-1/readings', action: 'publish' });
    expect(r.statusCode).toBe(400);
    expect(JSON.stringify(r.json())).toMatch(/clientid/);
  });
});
