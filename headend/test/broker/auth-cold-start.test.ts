/**
 * MQTT CONNECT after a head-end restart, through a real embedded broker (aedes) and real mqtt.js
 * clients over loopback (one address, like gateways behind one carrier NAT): secrets the head-end
 * issued are checked with one SHA-256, so a whole fleet that the broker has never seen connects at
 * once even while an attacker on the same address is backed off; scrypt-stored secrets are rewritten
 * in the fast form on their next login; an unknown gateway id is refused like a wrong secret; a
 * rotation closes the live session and only the new secret gets back in.
 * Scrypt hashes are counted on the broker's own metric; its clock is a number the test moves.
 * Timeouts only guard against hanging; the honest gateways get the 10 s connect timeout a gateway has.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, dbEnv, type TestDatabase } from '../engine.js';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { topics } from '@amr/protocols';
import { loadConfig } from '../../src/config/index.js';
import { startHeadend, type Headend } from '../../src/server/index.js';
import { startEmbeddedBroker, hashSecret, type EmbeddedBroker } from '../../src/broker/index.js';
import { hashPassword, randomSecret } from '../../src/auth/password.js';
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

/** A fresh broker (= a head-end just restarted: empty credential cache, no back-off state). */
async function broker() {
  const clock = { t: T0 };
  const registry = createRegistry();
  const b = await startEmbeddedBroker({
    db: he.db, ingest: he.ingest, logger: pino({ level: 'silent' }), metrics: coreMetrics(registry),
    host: '127.0.0.1', port: 0, auth: { now: () => clock.t },
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
const stored = async (id: string) => (await he.db.query<{ credential_hash: string }>('SELECT credential_hash FROM gateways WHERE id = $1', [id])).rows[0].credential_hash;

/** `n` gateways with secrets as the head-end issues them (randomSecret), stored as hashSecret stores them. */
async function issuedGateways(prefix: string, n: number) {
  const gws = await Promise.all(Array.from({ length: n }, async (_, i) => {
    const id = `${prefix}-${i}`;
    const password = randomSecret();
    return { id, password, hash: await hashSecret(password) };
  }));
  await he.db.query('INSERT INTO gateways (id, credential_hash) SELECT * FROM unnest($1::text[], $2::text[])', [gws.map((g) => g.id), gws.map((g) => g.hash)]);
  return gws;
}

describe('MQTT authentication after a restart', () => {
  it('300 never-seen gateways behind one address all connect at once within their 10 s timeout, while an attacker on that address is backed off', async () => {
    const s = await broker();
    const N = 300;
    const gws = await issuedGateways('gw-cold', N);
    expect(gws.every((g) => g.hash.startsWith('sha256$'))).toBe(true);
    // The attacker first: 3 wrong secrets for a scrypt-stored gateway are hashed, then the address waits 1 s.
    const victim = await registerGateway(he.db, 'gw-cold-victim', 1);
    const guesses = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      attempt(s.url, { username: victim.gatewayId, password: 'not-the-password', clientId: `${victim.gatewayId}:bad${i}` })));
    expect(guesses.filter((a) => a.code === 4)).toHaveLength(3);
    expect(guesses.filter((a) => a.code === 5 || a.code === 3)).toHaveLength(17);
    expect(await s.hashes()).toBe(3);
    expect((await attempt(s.url, { username: victim.gatewayId, password: 'guess-21', clientId: `${victim.gatewayId}:bad21` })).code).toBe(5);

    // Same address, same instant (the clock has not moved: the address still waits): the fleet.
    const storm = await guard(Promise.all(gws.map((g) =>
      attempt(s.url, { username: g.id, password: g.password, clientId: `amr-gw-${g.id}`, connectTimeout: 10_000 }))), '300 cold CONNECTs');
    expect(storm.filter((a) => !a.client).map((a) => a.error)).toEqual([]);
    expect(await s.outcome('verified')).toBe(N);
    expect(await s.hashes()).toBe(3); // the attacker's 3, none for the fleet
    // The address still waits for scrypt-stored guesses: the fleet's success cleared nothing.
    expect((await attempt(s.url, { username: victim.gatewayId, password: 'guess-22', clientId: `${victim.gatewayId}:bad22` })).code).toBe(5);
    expect(await s.hashes()).toBe(3);
    await Promise.all(storm.map((a) => a.client!.endAsync(true)));
  });

  it('an issued secret stored with scrypt is rewritten in the fast form on its next login; a chosen one stays scrypt', async () => {
    const s = await broker();
    const secret = randomSecret();
    // Cheap scrypt parameters for the fixture (N=2^10): the format is the one written before.
    await he.db.query('INSERT INTO gateways (id, credential_hash) VALUES ($1, $2)', ['gw-upgrade', await hashPassword(secret, { N: 2 ** 10, r: 8, p: 1 })]);
    const chosen = await registerGateway(he.db, 'gw-chosen', 1); // "pw-gw-chosen": not an issued secret
    const login = (id: string, password: string, n: number) => connected(s.url, { username: id, password, clientId: `amr-gw-${id}:${n}` });

    (await login('gw-upgrade', secret, 1)).end(true);
    (await login(chosen.gatewayId, chosen.password, 1)).end(true);
    expect(await s.hashes()).toBe(2);
    expect(await stored('gw-upgrade')).toMatch(/^sha256\$/);
    expect(await stored(chosen.gatewayId)).toMatch(/^scrypt\$/);

    // 10 min + 1 ms later neither is accepted from the cache: the rewritten one costs no scrypt, the other one does.
    s.clock.t += 10 * MIN + 1;
    (await login('gw-upgrade', secret, 2)).end(true);
    expect(await s.hashes()).toBe(2);
    (await login(chosen.gatewayId, chosen.password, 2)).end(true);
    expect(await s.hashes()).toBe(3);
    // The rewritten hash holds the same secret only: a wrong one is refused with 4.
    expect((await attempt(s.url, { username: 'gw-upgrade', password: randomSecret(), clientId: 'amr-gw-gw-upgrade:3' })).code).toBe(4);
    // A restarted head-end (fresh broker, cold cache) checks it without scrypt.
    const s2 = await broker();
    (await connected(s2.url, { username: 'gw-upgrade', password: secret, clientId: 'amr-gw-gw-upgrade:4' })).end(true);
    expect([await s2.hashes(), await s2.outcome('verified')]).toEqual([0, 1]);
  });

  it('an unknown gateway id is refused with 4 like a wrong secret, and a flood of them costs no scrypt while a real gateway connects', async () => {
    const s = await broker();
    const [real] = await issuedGateways('gw-known', 1);
    const wrong = await attempt(s.url, { username: real.id, password: randomSecret(), clientId: `amr-gw-${real.id}` });
    const unknown = await attempt(s.url, { username: 'gw-nobody', password: randomSecret(), clientId: 'amr-gw-gw-nobody' });
    expect([wrong.code, unknown.code]).toEqual([4, 4]);
    expect(unknown.error).toBe(wrong.error);
    expect([await s.outcome('bad_password'), await s.outcome('unknown_gateway')]).toEqual([1, 1]);

    // 300 made-up ids from this address: all refused (4 until the address waits, then 5), no scrypt.
    const flood = Array.from({ length: 300 }, (_, i) =>
      attempt(s.url, { username: `gw-made-up-${i}`, password: randomSecret(), clientId: `amr-gw-gw-made-up-${i}` }));
    const c = await guard(connected(s.url, { username: real.id, password: real.password, clientId: `amr-gw-${real.id}`, connectTimeout: 10_000 }), 'the real gateway during the flood');
    const refused = await guard(Promise.all(flood), '300 unknown ids to be answered');
    expect(refused.filter((a) => a.client)).toHaveLength(0);
    expect(refused.every((a) => a.code === 4 || a.code === 5)).toBe(true);
    // The address had 2 failures before; the flood's first made it wait 1 s: the next made-up id gets 5, no lookup needed to say so.
    expect((await attempt(s.url, { username: 'gw-made-up-301', password: randomSecret(), clientId: 'amr-gw-gw-made-up-301' })).code).toBe(5);
    expect(await s.hashes()).toBe(0);
    expect(await s.outcome('verified')).toBe(1);
    await c.endAsync(true);
  });

  it("a disabled gateway's id answers a wrong secret with 4, like any other: only its own secret learns it is disabled (5)", async () => {
    const s = await broker();
    const [g] = await issuedGateways('gw-off', 1);
    await he.db.query(`UPDATE gateways SET status = 'disabled' WHERE id = $1`, [g.id]);
    expect((await attempt(s.url, { username: g.id, password: randomSecret(), clientId: `amr-gw-${g.id}:1` })).code).toBe(4);
    expect((await attempt(s.url, { username: g.id, password: g.password, clientId: `amr-gw-${g.id}:2` })).code).toBe(5);
    expect([await s.outcome('bad_password'), await s.outcome('disabled')]).toEqual([1, 1]);
  });
});

describe('secret rotation', () => {
  it('closes the live session at once; the old secret is refused, the new one connects, another gateway is untouched', async () => {
    const s = await broker();
    const g = await registerGateway(he.db, 'gw-rot-live', 1);
    const other = await registerGateway(he.db, 'gw-rot-other', 1);
    // Like a gateway (gateway/src/mqtt/connection.ts): reconnects on its own, retries refused CONNACKs.
    const live = mqtt.connect(s.url, { username: g.gatewayId, password: g.password, clientId: `amr-gw-${g.gatewayId}`, reconnectPeriod: 50, reconnectOnConnackError: true, connectTimeout: 10_000 });
    clients.open.push(live);
    await guard(new Promise((r) => live.once('connect', r)), 'the first CONNECT');
    const bystander = await connected(s.url, { username: other.gatewayId, password: other.password, clientId: `amr-gw-${other.gatewayId}` });
    let bystanderDrops = 0;
    bystander.on('close', () => bystanderDrops++);
    const hashesBefore = await s.hashes();

    // What POST /gateways/:id/credentials does: commit the new hash, then call the hook.
    const fresh = randomSecret();
    await he.db.query('UPDATE gateways SET credential_hash = $2 WHERE id = $1', [g.gatewayId, await hashSecret(fresh)]);
    const closed = new Promise<void>((r) => live.once('close', () => r()));
    const refusedCode = new Promise<number | undefined>((r) => live.once('error', (e: Error & { code?: number }) => r(e.code)));
    expect(s.b.secretRotated(g.gatewayId)).toBe(1);
    await guard(closed, 'the session with the old secret to be closed');
    // It reconnects with what it has, the old secret: refused as a bad password (4).
    expect(await guard(refusedCode, 'the reconnect with the old secret to be refused')).toBe(4);
    expect(live.connected).toBe(false);
    // It is given the new secret (as the installer would configure it) and gets back in on its own.
    live.options.password = fresh;
    const back = new Promise((r) => live.once('connect', r));
    await guard(back, 'the reconnect with the new secret');
    await guard(live.publishAsync(topics.readings(g.gatewayId), JSON.stringify(readings(g.gatewayId, [{ seq: 1, address: '1', value: 44 }])), { qos: 1 }), 'PUBACK after the rotation');
    expect((await he.db.query<{ n: number }>('SELECT count(*)::int AS n FROM readings WHERE meter_id = $1 AND value = 44', [g.meterIds[0]])).rows[0].n).toBe(1);
    // The new hash is the fast form: refusing the old secret and accepting the new one cost no scrypt.
    expect(await s.hashes()).toBe(hashesBefore);
    expect(bystanderDrops).toBe(0);
    expect(bystander.connected).toBe(true);
    // Rotating a gateway with no session here closes nothing.
    expect(s.b.secretRotated('gw-rot-nobody')).toBe(0);
    live.end(true);
    await bystander.endAsync(true);
  });
});
