/**
 * Gateway credentials enforced by Mosquitto itself (its dynamic-security plugin, managed by the head-end
 * over $CONTROL/dynamic-security/v1): a Mosquitto of this test's own, a head-end on this run's engine
 * taking readings through a shared subscription, the API creating, rotating and disabling gateways.
 * Mosquitto refuses a wrong password, another gateway's topic, an old secret after rotation and a
 * disabled gateway; start-up reconciles the broker's clients with the registry, and again changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { topics } from '@amr/protocols';
import { loadConfig } from '../../src/config/index.js';
import { startHeadend, type Headend } from '../../src/server/index.js';
import { createUser } from '../../src/auth/index.js';
import { openDynsecControl, reconcileDynsec, type DynsecControl } from '../../src/broker/dynsec.js';
import { GATEWAY_TEXTNAME } from '../../src/broker/dynsec-plan.js';
import { registryGateways } from '../../src/broker/store.js';
import { startMosquitto, type Mosquitto } from '../mosquitto.js';
import { dbEnv, testDatabase, type TestDatabase } from '../engine.js';
import { registerGateway, readings, type Fixture } from '../ingest/fixtures.js';

const ADMIN = { username: 'amr-admin', password: 'admin-secret-for-this-test-only' };
const HEADEND = { username: 'amr-headend', password: 'headend-secret-for-this-test', shareGroup: 'dynsec' };
const silent = pino({ level: 'silent' });
let broker: Mosquitto;
let database: TestDatabase;
let he: Headend;
let control: DynsecControl;
let token: string;
let gwA: Fixture;
let gwB: Fixture;
const open: MqttClient[] = [];

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${he.httpUrl}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

/** Connects as a gateway; resolves with the client or rejects with Mosquitto's refusal. */
function connectGateway(username: string, password: string, extra: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(broker.url, { clientId: `amr-gw-${username}`, username, password, reconnectPeriod: 0, connectTimeout: 10_000, ...extra });
    c.once('connect', () => { open.push(c); resolve(c); });
    c.once('error', (e: Error & { code?: number }) => { c.end(true); reject(Object.assign(new Error(`CONNECT refused: ${e.message}`), { code: e.code })); });
  });
}

const readingsOf = async (meterIds: number[]) =>
  (await he.db.query<{ n: number }>('SELECT count(*)::int AS n FROM readings WHERE meter_id = ANY($1)', [meterIds])).rows[0].n;

beforeAll(async () => {
  broker = await startMosquitto({ dynsec: ADMIN });
  // Left by an earlier installation: a gateway the registry no longer has, and a client the operator made.
  const pre = await openDynsecControl({ url: broker.url, ...ADMIN, clientId: 'test-pre', logger: silent });
  await pre.send([
    { command: 'createClient', username: 'gw-gone', password: 'x', textname: GATEWAY_TEXTNAME },
    { command: 'createClient', username: 'monitoring', password: 'y' },
  ]);
  await pre.close();
  database = await testDatabase();
  const config = loadConfig({
    DATA_DIR: 'memory://', ...dbEnv(database), MQTT_URL: broker.url, MQTT_BROKER_AUTH: 'mosquitto-dynsec',
    MQTT_ADMIN_USERNAME: ADMIN.username, MQTT_ADMIN_PASSWORD: ADMIN.password,
    // The head-end's own user: start-up creates it on Mosquitto with the head-end's role.
    MQTT_USERNAME: HEADEND.username, MQTT_PASSWORD: HEADEND.password,
    MQTT_SHARE_GROUP: 'dynsec', MQTT_CLIENT_ID: 'he-dynsec', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', INGEST_LINGER_MS: '5', LOG_LEVEL: 'silent',
  });
  he = await startHeadend({ config, logger: silent, jobs: false });
  await he.subscriber!.ready;
  control = await openDynsecControl({ url: broker.url, ...ADMIN, clientId: 'test-control', logger: silent });
  await createUser(he.db, { username: 'admin', password: 'admin-password-1', role: 'admin' });
  token = ((await call('POST', '/auth/login', { username: 'admin', password: 'admin-password-1' })).body as { token: string }).token;
  gwA = await registerGateway(he.db, 'gw-ds-a', 2);
  gwB = await registerGateway(he.db, 'gw-ds-b', 1);
}, 120_000);

afterAll(async () => {
  for (const c of open) await c.endAsync(true);
  await control?.close();
  await he?.close();
  await broker?.stop();
  await database?.drop();
});

async function clients(): Promise<Map<string, { disabled?: boolean; clientid?: string }>> {
  const [r] = await control.send([{ command: 'listClients', verbose: true }]);
  return new Map((r.data!.clients as { username: string; disabled?: boolean; clientid?: string }[]).map((c) => [c.username, c]));
}

describe('gateway credentials enforced by Mosquitto (dynamic security)', () => {
  it('reconciles: the stale gateway client was deleted at start, the operator\'s kept; registry gateways missing on the broker are created without a password; a second run changes nothing', async () => {
    let c = await clients();
    expect(c.has('gw-gone')).toBe(false);
    expect(c.has('monitoring')).toBe(true);
    // gw-ds-a and gw-ds-b were registered after start (straight into the database, as an import would).
    const first = await reconcileDynsec(control, await registryGateways(he.db), HEADEND);
    expect(first.withoutPassword).toEqual(['gw-ds-a', 'gw-ds-b']);
    c = await clients();
    expect(c.get('gw-ds-a')).toMatchObject({ clientid: 'amr-gw-gw-ds-a' });
    const again = await reconcileDynsec(control, await registryGateways(he.db), HEADEND);
    expect(again).toEqual({ commands: [], withoutPassword: [], removed: [] });
  });

  it('the right password connects and its readings are stored; a wrong one is refused by Mosquitto', async () => {
    const issued = await call('POST', '/gateways/gw-ds-a/credentials');
    expect(issued.status).toBe(200);
    gwA.password = issued.body.password as string;
    await expect(connectGateway('gw-ds-a', 'not-the-password')).rejects.toThrow(/Not authorized|Bad username or password/);
    const gw = await connectGateway('gw-ds-a', gwA.password);
    await gw.publishAsync(topics.readings('gw-ds-a'), JSON.stringify(readings('gw-ds-a', [{ seq: 1, address: '1', value: 10 }, { seq: 2, address: '2', value: 20 }])), { qos: 1 });
    await expect.poll(() => readingsOf(gwA.meterIds), { timeout: 15_000 }).toBe(2);
    await gw.endAsync();
  });

  it('a gateway may not publish on, nor subscribe to, another gateway\'s topics: Mosquitto refuses', async () => {
    gwB.password = (await call('POST', '/gateways/gw-ds-b/credentials')).body.password as string;
    const a = await connectGateway('gw-ds-a', gwA.password, { protocolVersion: 5 });
    // MQTT 5: Mosquitto answers the PUBACK with 0x87 (not authorized) and does not pass the message on.
    await expect(a.publishAsync(topics.readings('gw-ds-b'), JSON.stringify(readings('gw-ds-b', [{ seq: 1, address: '1', value: 99 }])), { qos: 1 }))
      .rejects.toMatchObject({ code: 135 });
    // SUBACK 0x87, which mqtt.js turns into a rejection naming it.
    await expect(a.subscribeAsync(topics.command('gw-ds-b', '+'), { qos: 1 })).rejects.toThrow(/Not authorized/);
    const own = await a.subscribeAsync(topics.command('gw-ds-a', '+'), { qos: 1 });
    expect(own.map((g) => g.qos)).toEqual([1]);
    // Its own next message is stored, and still nothing of B's.
    await a.publishAsync(topics.readings('gw-ds-a'), JSON.stringify(readings('gw-ds-a', [{ seq: 3, address: '1', value: 11, time: '2026-11-01T11:00:00Z' }])), { qos: 1 });
    await expect.poll(() => readingsOf(gwA.meterIds), { timeout: 15_000 }).toBe(3);
    expect(await readingsOf(gwB.meterIds)).toBe(0);
    await a.endAsync();
  });

  it('after rotation the old password is refused and its live session ended; the new one connects', async () => {
    const live = await connectGateway('gw-ds-a', gwA.password);
    const closed = new Promise<void>((resolve) => live.once('close', () => resolve()));
    const rotated = await call('POST', '/gateways/gw-ds-a/credentials');
    expect(rotated.status).toBe(200);
    await closed;
    await expect(connectGateway('gw-ds-a', gwA.password)).rejects.toThrow(/Not authorized|Bad username or password/);
    gwA.password = rotated.body.password as string;
    await (await connectGateway('gw-ds-a', gwA.password)).endAsync();
  });

  it('a disabled gateway is refused until enabled again; a gateway created through the API connects with the password it was given', async () => {
    expect((await call('PATCH', '/gateways/gw-ds-b', { status: 'disabled' })).status).toBe(200);
    expect((await clients()).get('gw-ds-b')?.disabled).toBe(true);
    await expect(connectGateway('gw-ds-b', gwB.password)).rejects.toThrow(/Not authorized/);
    expect((await call('PATCH', '/gateways/gw-ds-b', { status: 'active' })).status).toBe(200);
    await (await connectGateway('gw-ds-b', gwB.password)).endAsync();

    const created = await call('POST', '/gateways', { id: 'gw-ds-new' });
    expect(created.status).toBe(201);
    const { password } = created.body.mqtt as { password: string };
    await (await connectGateway('gw-ds-new', password)).endAsync();
    // Its client id is pinned: under another gateway's id it is refused (it could otherwise kick that gateway).
    await expect(connectGateway('gw-ds-new', password, { clientId: 'amr-gw-gw-ds-a' })).rejects.toThrow(/Not authorized|Identifier rejected|Bad username/);
  });
  it('replicas reconciling at once (new gateways in the registry, none on the broker yet) all succeed and agree', async () => {
    await registerGateway(he.db, 'gw-ds-c1', 1);
    await registerGateway(he.db, 'gw-ds-c2', 1);
    const controls = await Promise.all([1, 2, 3].map((i) => openDynsecControl({ url: broker.url, ...ADMIN, clientId: `test-replica-${i}`, logger: silent })));
    try {
      const registry = await registryGateways(he.db);
      await Promise.all(controls.map((c) => reconcileDynsec(c, registry, HEADEND)));
      const c = await clients();
      expect([c.get('gw-ds-c1')?.clientid, c.get('gw-ds-c2')?.clientid]).toEqual(['amr-gw-gw-ds-c1', 'amr-gw-gw-ds-c2']);
      expect((await reconcileDynsec(controls[0], registry, HEADEND)).commands).toEqual([]);
    } finally {
      for (const c of controls) await c.close();
    }
  });
});
