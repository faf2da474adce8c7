/**
 * MQTT CONNECT under attack, through real embedded brokers (aedes) and real mqtt.js clients over
 * loopback: floods of wrong passwords for a real gateway id, a reconnect storm of honest gateways,
 * a gateway claiming another's client id, a forbidden subscription, a rotated secret and a disabled
 * gateway. Password hashes are counted on the broker's own metric; the broker's clock for back-off
 * and cache expiry is a number the test moves. Loopback is one address, so "several addresses" are
 * simulated through the limiter's key: a client id `<gw>:from-<addr>-<n>` counts as coming from <addr>.
 * Timeouts below only guard against hanging and say what was awaited; nothing is timed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, dbEnv, type TestDatabase } from '../engine.js';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { topics } from '@amr/protocols';
import { loadConfig } from '../../src/config/index.js';
import { startHeadend, type Headend } from '../../src/server/index.js';
import { startEmbeddedBroker, hashSecret, type EmbeddedBroker } from '../../src/broker/index.js';
import { hashPassword } from '../../src/auth/password.js';
import { createApiKey } from '../../src/auth/index.js';
import { coreMetrics, createRegistry } from '../../src/metrics/index.js';
import { registerGateway, readings } from '../ingest/fixtures.js';
import { guard, metricValue, mqttClients } from './clients.js';

let he: Headend;
let database: TestDatabase | undefined;
const brokers: EmbeddedBroker[] = [];
const clients = mqttClients();
const T0 = Date.parse('2026-11-01T00:00:00Z');
const MIN = 60_000;

beforeAll(async () => {
  database = await testDatabase();
  const config = loadConfig({ DATA_DIR: 'memory://', ...dbEnv(database), MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', INGEST_LINGER_MS: '5', LOG_LEVEL: 'silent' });
  he = await startHeadend({ config, logger: pino({ level: 'silent' }), api: false, jobs: false });
});
afterAll(async () => {
  await clients.endAll();
  for (const b of brokers) await b.close();
  await he?.close();
  await database?.drop();
});

/** A broker of its own (metrics, clock, back-off state) on the shared database and ingestion. */
async function broker(opts: { byClientId?: boolean; internal?: Map<string, string> } = {}) {
  const clock = { t: T0 };
  const registry = createRegistry();
  const b = await startEmbeddedBroker({
    db: he.db, ingest: he.ingest, logger: pino({ level: 'silent' }), metrics: coreMetrics(registry),
    host: '127.0.0.1', port: 0, internalUsers: opts.internal,
    auth: {
      now: () => clock.t,
      limiterKey: opts.byClientId ? (c) => /:from-([^-]+)-/.exec(c.id)?.[1] ?? 'loopback' : undefined,
    },
  });
  brokers.push(b);
  const value = (name: string, labels: Record<string, string> = {}) => metricValue(registry, name, labels);
  return {
    b, clock, url: `mqtt://127.0.0.1:${b.port}`,
    hashes: () => value('amr_broker_password_hashes_total'),
    outcome: (outcome: string) => value('amr_broker_auth_attempts_total', { outcome }),
  };
}

const { attempt, connected } = clients;
const count = async (sql: string, params: unknown[]) => (await he.db.query<{ n: number }>(sql, params)).rows[0].n;

describe('MQTT authentication under a flood', () => {
  it('a flood of wrong passwords from one address costs 3 hashes; the real gateway connects and publishes meanwhile', async () => {
    const s = await broker();
    const good = await registerGateway(he.db, 'gw-flood-1', 1);
    // First connect: unknown credentials, one scrypt hash, then remembered.
    (await connected(s.url, { username: good.gatewayId, password: good.password, clientId: `amr-gw-${good.gatewayId}` })).end(true);
    expect(await s.hashes()).toBe(1);
    // 10 min + 1 ms later the cache entry is stale: the next CONNECT hashes again, in the known lane.
    s.clock.t += 10 * MIN + 1;

    const flood = Array.from({ length: 300 }, (_, i) =>
      attempt(s.url, { username: good.gatewayId, password: 'not-the-password', clientId: `${good.gatewayId}:bad${i}` }));
    const c = await guard(connected(s.url, { username: good.gatewayId, password: good.password, clientId: `amr-gw-${good.gatewayId}` }), 'the real gateway to connect during the flood');
    await guard(c.publishAsync(topics.readings(good.gatewayId), JSON.stringify(readings(good.gatewayId, [{ seq: 1, address: '1', value: 11 }])), { qos: 1 }), 'PUBACK of the real gateway');
    expect(await count('SELECT count(*)::int AS n FROM readings WHERE meter_id = $1 AND value = 11', [good.meterIds[0]])).toBe(1);

    const bad = await guard(Promise.all(flood), 'all 300 bad CONNECTs to be answered');
    expect(bad.filter((a) => a.client)).toHaveLength(0);
    // Loopback = one address, 3 free failures: 3 bad attempts hashed (and failed with 4), the other
    // 297 refused without a hash — 5 once the address waits, 3 while its 3 were still in flight.
    expect(bad.filter((a) => a.code === 4)).toHaveLength(3);
    expect(bad.filter((a) => a.code === 5 || a.code === 3)).toHaveLength(297);
    expect(await s.outcome('bad_password')).toBe(3);
    expect(await s.outcome('backed_off')).toBe(297);
    // Hashes: 1 (first connect) + 1 (the real gateway, stale → known lane) + 3 (bad) = 5.
    expect(await s.hashes()).toBe(5);

    // The address now waits 1 s (base · 2^(3 − 3)): its next guess is refused with no hash …
    const next = await attempt(s.url, { username: good.gatewayId, password: 'guess-301', clientId: `${good.gatewayId}:bad301` });
    expect(next.code).toBe(5);
    expect(next.error).toMatch(/Not authorized/i);
    expect(await s.hashes()).toBe(5);
    // … while the real gateway, same address, reconnects on its verified credentials (no hash).
    c.end(true);
    (await connected(s.url, { username: good.gatewayId, password: good.password, clientId: `amr-gw-${good.gatewayId}` })).end(true);
    expect(await s.hashes()).toBe(5);
    // After the 1 s wait one guess is hashed again (6) and fails: 4 failures → wait 2 s (1 s · 2^1).
    s.clock.t += 1_000;
    expect((await attempt(s.url, { username: good.gatewayId, password: 'guess-302', clientId: `${good.gatewayId}:bad302` })).code).toBe(4);
    expect(await s.hashes()).toBe(6);
    s.clock.t += 1_999;
    expect((await attempt(s.url, { username: good.gatewayId, password: 'guess-303', clientId: `${good.gatewayId}:bad303` })).code).toBe(5);
    expect(await s.hashes()).toBe(6);
  });

  it('a flood from 30 addresses at a never-seen gateway: at most 3 hashes per address, and the gateway gets in by retrying', async () => {
    const s = await broker({ byClientId: true });
    const good = await registerGateway(he.db, 'gw-flood-2', 1);
    const flood = Array.from({ length: 300 }, (_, i) =>
      attempt(s.url, { username: good.gatewayId, password: 'not-the-password', clientId: `${good.gatewayId}:from-a${i % 30}-${i}` }));
    // Like the gateway (gateway/src/mqtt/connection.ts): a refused CONNACK ("server busy") is retried.
    const refusals: string[] = [];
    const c = await guard(new Promise<MqttClient>((resolve) => {
      const cl = mqtt.connect(s.url, {
        username: good.gatewayId, password: good.password, clientId: `${good.gatewayId}:from-home-1`, reconnectPeriod: 50, reconnectOnConnackError: true,
      });
      clients.open.push(cl);
      cl.on('error', (e) => refusals.push(e.message));
      cl.once('connect', () => resolve(cl));
    }), 'the never-seen gateway to connect during a flood from 30 addresses');
    // Refused only as "busy" while it waited, never as a bad password or backed off.
    expect(refusals.filter((m) => !/Server unavailable/i.test(m))).toEqual([]);
    await guard(c.publishAsync(topics.readings(good.gatewayId), JSON.stringify(readings(good.gatewayId, [{ seq: 1, address: '1', value: 22 }])), { qos: 1 }), 'PUBACK');
    expect(await count('SELECT count(*)::int AS n FROM readings WHERE meter_id = $1 AND value = 22', [good.meterIds[0]])).toBe(1);
    const bad = await guard(Promise.all(flood), 'all 300 bad CONNECTs to be answered');
    expect(bad.filter((a) => a.client)).toHaveLength(0);
    expect(bad.every((a) => a.code === 3 || a.code === 4 || a.code === 5)).toBe(true);
    // The gateway's own password was hashed once; the bad ones at most 30 addresses × 3 = 90 times.
    expect(await s.outcome('verified')).toBe(1);
    const badHashes = (await s.hashes()) - 1;
    expect(badHashes).toBe(bad.filter((a) => a.code === 4).length);
    expect(badHashes).toBeLessThanOrEqual(90);
  });

  it('300 honest gateways reconnecting at once all connect, on cached credentials (no hash)', async () => {
    const s = await broker(); // keyed by the real remote address: all 300 share loopback
    const N = 300;
    // Cheap scrypt parameters for the fixture only (N=2^10): the stored format is the same, and the
    // reconnect below must not hash at all whatever the cost.
    const gws = await Promise.all(Array.from({ length: N }, async (_, i) => {
      const id = `gw-storm-${i}`;
      return { id, password: `pw-${id}`, hash: await hashPassword(`pw-${id}`, { N: 2 ** 10, r: 8, p: 1 }) };
    }));
    await he.db.query('INSERT INTO gateways (id, credential_hash) SELECT * FROM unnest($1::text[], $2::text[])', [gws.map((g) => g.id), gws.map((g) => g.hash)]);
    const opts = (g: (typeof gws)[number]) => ({ username: g.id, password: g.password, clientId: `amr-gw-${g.id}` });
    // First contact, 3 at a time (one address may have 3 unverified attempts in flight).
    for (let i = 0; i < N; i += 3) {
      const cs = await Promise.all(gws.slice(i, i + 3).map((g) => connected(s.url, opts(g))));
      await Promise.all(cs.map((c) => c.endAsync(true)));
    }
    expect(await s.hashes()).toBe(N);

    const storm = await guard(Promise.all(gws.map((g) => attempt(s.url, opts(g)))), '300 simultaneous reconnects');
    expect(storm.filter((a) => !a.client).map((a) => a.error)).toEqual([]);
    expect(await s.hashes()).toBe(N); // 300 + 0: every reconnect accepted on its keyed hash
    expect(await s.outcome('cached')).toBe(N);
    await Promise.all(storm.map((a) => a.client!.endAsync(true)));
  });

  it("refuses gateway A's credentials under B's client id; B stays connected and keeps its session", async () => {
    const internal = new Map([['headend-test', 'internal-secret']]);
    const s = await broker({ internal });
    const a = await registerGateway(he.db, 'gw-take-a', 1);
    const b = await registerGateway(he.db, 'gw-take-b', 1);
    const victim = await connected(s.url, { username: b.gatewayId, password: b.password, clientId: `amr-gw-${b.gatewayId}`, clean: false });
    await victim.subscribeAsync(topics.command(b.gatewayId, '+'), { qos: 1 });
    let drops = 0;
    victim.on('close', () => drops++);

    for (const clientId of [`amr-gw-${b.gatewayId}`, b.gatewayId, `amr-gw-${b.gatewayId}:x`]) {
      const r = await attempt(s.url, { username: a.gatewayId, password: a.password, clientId, clean: true });
      expect(r.code, clientId).toBe(2);
      expect(r.error).toMatch(/Identifier rejected/i);
    }
    expect(await s.outcome('client_id')).toBe(3);
    expect(await s.hashes()).toBe(1); // B's own connect only: a wrong client id is refused before any hash

    // B's subscription survived: a command published by the head-end reaches it.
    const got = new Promise<string>((r) => victim.once('message', (topic) => r(topic)));
    const head = await connected(s.url, { username: 'headend-test', password: 'internal-secret', clientId: 'headend-test-cmd' });
    await head.publishAsync(topics.command(b.gatewayId, 'poll_now'), JSON.stringify({ v: 1 }), { qos: 1 });
    expect(await guard(got, "the command on B's session")).toBe(topics.command(b.gatewayId, 'poll_now'));
    expect(drops).toBe(0);
    expect(victim.connected).toBe(true);
  });

  it('answers a forbidden subscription with SUBACK 0x80 and keeps the connection', async () => {
    const s = await broker();
    const a = await registerGateway(he.db, 'gw-sub-a', 1);
    const c = await connected(s.url, { username: a.gatewayId, password: a.password, clientId: `amr-gw-${a.gatewayId}` });
    let drops = 0;
    c.on('close', () => drops++);
    const err = await c.subscribeAsync(topics.command('gw-sub-other', '+'), { qos: 1 }).then(() => null, (e: Error & { packet?: { granted: number[] } }) => e);
    expect(err?.message).toMatch(/Subscribe error/);
    expect(err?.packet?.granted).toEqual([0x80]);
    // A SUBSCRIBE with an allowed and a forbidden filter: SUBACK grants QoS 1 to the first, 0x80 to the second.
    const suback = new Promise<number[]>((resolve) => c.on('packetreceive', (p) => p.cmd === 'suback' && resolve(p.granted as number[])));
    c.subscribe([topics.command(a.gatewayId, '+'), 'amr/v1/gw-sub-other/cmd/#'], { qos: 1 });
    expect(await guard(suback, 'SUBACK')).toEqual([1, 0x80]);
    // Still the same connection: it publishes and gets its PUBACK.
    await c.publishAsync(topics.readings(a.gatewayId), JSON.stringify(readings(a.gatewayId, [{ seq: 1, address: '1', value: 33 }])), { qos: 1 });
    expect(await count('SELECT count(*)::int AS n FROM readings WHERE meter_id = $1 AND value = 33', [a.meterIds[0]])).toBe(1);
    expect(drops).toBe(0);
    expect(await s.outcome('verified')).toBe(1);
  });

  it('a rotated secret and a disabled gateway take effect at once, whatever the cache holds', async () => {
    const s = await broker();
    const g = await registerGateway(he.db, 'gw-rotate', 1);
    const opts = (password: string, n: number) => ({ username: g.gatewayId, password, clientId: `amr-gw-${g.gatewayId}:${n}` });
    (await connected(s.url, opts(g.password, 1))).end(true);
    (await connected(s.url, opts(g.password, 2))).end(true);
    expect([await s.hashes(), await s.outcome('cached')]).toEqual([1, 1]);
    // What POST /gateways/:id/credentials writes: a new credential hash.
    await he.db.query('UPDATE gateways SET credential_hash = $2 WHERE id = $1', [g.gatewayId, await hashSecret('the-new-secret')]);
    const old = await attempt(s.url, opts(g.password, 3));
    expect(old.code).toBe(4);
    expect(await s.outcome('cached')).toBe(1);
    (await connected(s.url, opts('the-new-secret', 4))).end(true);
    (await connected(s.url, opts('the-new-secret', 5))).end(true); // now cached
    expect(await s.outcome('cached')).toBe(2);
    await he.db.query(`UPDATE gateways SET status = 'disabled' WHERE id = $1`, [g.gatewayId]);
    const off = await attempt(s.url, opts('the-new-secret', 6));
    expect(off.code).toBe(5);
    expect(await s.outcome('disabled')).toBe(1);
    // forget(): an explicit drop of what the broker verified; the next CONNECT hashes again.
    await he.db.query(`UPDATE gateways SET status = 'active' WHERE id = $1`, [g.gatewayId]);
    s.b.auth.forget(g.gatewayId);
    const before = await s.hashes();
    (await connected(s.url, opts('the-new-secret', 7))).end(true);
    expect(await s.hashes()).toBe(before + 1);
  });

  it('a gateway online when its secret is rotated cannot come back with the old one, though the cache verified it minutes ago', async () => {
    const s = await broker();
    const g = await registerGateway(he.db, 'gw-rotate-live', 1);
    // Reconnects on its own, with the credentials it has: what a gateway does when its link drops.
    const live = mqtt.connect(s.url, { username: g.gatewayId, password: g.password, clientId: `amr-gw-${g.gatewayId}`, reconnectPeriod: 20, connectTimeout: 120_000 });
    clients.open.push(live);
    await guard(new Promise((r) => live.once('connect', r)), 'the first CONNECT');
    s.clock.t += 2 * MIN; // well inside the 10 minutes the verified credentials are accepted without a hash
    await he.db.query('UPDATE gateways SET credential_hash = $2 WHERE id = $1', [g.gatewayId, await hashSecret('the-rotated-secret')]);
    const refused = new Promise<number | undefined>((r) => live.once('error', (e: Error & { code?: number }) => { live.end(true); r(e.code); }));
    live.stream.destroy(); // the link drops (a basement losing signal)
    expect(await guard(refused, 'the reconnect with the old secret to be refused')).toBe(4);
    // One verification (the first CONNECT), never accepted from the cache after the rotation.
    expect([await s.outcome('verified'), await s.outcome('cached')]).toEqual([1, 0]);
    expect(await s.outcome('bad_password')).toBeGreaterThanOrEqual(1);
    (await connected(s.url, { username: g.gatewayId, password: 'the-rotated-secret', clientId: `amr-gw-${g.gatewayId}:new` })).end(true);
  });

  it("an organisation's API key is no MQTT credential: as a gateway's password or as a user name it is refused (4)", async () => {
    const s = await broker();
    const g = await registerGateway(he.db, 'gw-apikey', 1);
    const org = (await he.db.query<{ id: number }>(`INSERT INTO organisations (name) VALUES ('УК с ключом') RETURNING id`)).rows[0].id;
    const key = await he.db.tx((q) => createApiKey(q, org, 'billing export', null));
    const asPassword = await attempt(s.url, { username: g.gatewayId, password: key.key, clientId: `amr-gw-${g.gatewayId}` });
    const asUser = await attempt(s.url, { username: key.prefix, password: key.key, clientId: key.prefix });
    expect([asPassword.code, asUser.code]).toEqual([4, 4]);
    expect([await s.outcome('bad_password'), await s.outcome('unknown_gateway')]).toEqual([1, 1]);
  });
});
