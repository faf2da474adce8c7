/**
 * Commands from the head-end's API to a gateway, end to end: a whole head-end (embedded broker and
 * database, API over real HTTP) and a real in-process Gateway connected to its broker with the
 * credentials the API issued, polling a Modbus simulator. Covers each command's reply, set_config's
 * validation, in-place application and rollback (wrong broker password), an unknown command, a gateway
 * that never answers, and who may send: another organisation's engineer gets the 404 of a missing id
 * and nothing is published; billing and residents get 403; every command is audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, dbEnv, type TestDatabase } from '../headend/test/engine.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import mqtt, { type MqttClient } from 'mqtt';
import { parse, stringify } from 'yaml';
import { Gateway, validateConfig } from '@amr/gateway';
import { startModbusBus, type ModbusBus } from '@amr/simulators';
import { loadConfig, startHeadend, fixedClock, type Headend } from '@amr/headend';
import { createUser } from '../headend/src/auth/index.js';

const GW = 'gw-cmd-a';
const OFFLINE = 'gw-cmd-quiet';
const GW_B = 'gw-cmd-b';

let he: Headend;
let database: TestDatabase | undefined;
let sim: ModbusBus;
let gw: Gateway;
let dir: string;
let configFile: string;
let probe: MqttClient;
/** The gateway's MQTT password, as the API issued it. */
let secret = '';
let secretB = '';
const probed: { topic: string; id: string }[] = [];
const restarts: string[] = [];
const tokens: Record<'admin' | 'engA' | 'engB' | 'billing' | 'resident', string> = { admin: '', engA: '', engB: '', billing: '', resident: '' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(get: () => Promise<T | undefined | false> | T | undefined | false, what: string, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

async function call<T = unknown>(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${he.httpUrl}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}
async function ok<T>(token: string, method: string, path: string, body?: unknown): Promise<T> {
  const r = await call<T>(token, method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path} → ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}
const login = async (username: string, password: string) => (await ok<{ token: string }>('', 'POST', '/auth/login', { username, password })).token;

interface Command {
  id: string; gateway_id: string; name: string; args: Record<string, unknown>; status: 'sent' | 'ok' | 'error' | 'timed_out';
  requested_by: { kind: string; id: number | null; name: string }; replied_at: string | null; late: boolean; result: unknown; error: string | null;
}

/** Sends a command as `token` and waits (bounded) until it is no longer "sent". */
async function command(name: string, args: Record<string, unknown> = {}, o: { token?: string; gateway?: string; timeout_seconds?: number } = {}): Promise<Command> {
  const gateway = o.gateway ?? GW;
  const sent = await call<Command>(o.token ?? tokens.engA, 'POST', `/gateways/${gateway}/commands`, { name, args, timeout_seconds: o.timeout_seconds });
  if (sent.status !== 202) throw new Error(`POST ${name} → ${sent.status}: ${JSON.stringify(sent.body)}`);
  expect(sent.body.status).toBe('sent');
  return until(async () => {
    const c = await ok<Command>(o.token ?? tokens.engA, 'GET', `/gateways/${gateway}/commands/${sent.body.id}`);
    return c.status === 'sent' ? undefined : c;
  }, `the outcome of ${name} ${sent.body.id}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'amr-gw-commands-'));
  database = await testDatabase();
  const config = loadConfig({
    DATA_DIR: 'memory://', ...dbEnv(database), DB_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_PORT: '0', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0',
    LOG_LEVEL: 'silent', COMMAND_TIMEOUT_SECONDS: '10', INGEST_LINGER_MS: '10',
  });
  he = await startHeadend({ config, logger: pino({ level: 'silent' }), jobs: false, clock: fixedClock('2027-03-10T12:00:00+03:00') });
  await createUser(he.db, { username: 'admin', password: 'admin-password-1', role: 'admin' });
  tokens.admin = await login('admin', 'admin-password-1');
  const orgA = (await ok<{ id: number }>(tokens.admin, 'POST', '/organisations', { name: 'УК А' })).id;
  const orgB = (await ok<{ id: number }>(tokens.admin, 'POST', '/organisations', { name: 'УК Б' })).id;
  const bA = (await ok<{ id: number }>(tokens.admin, 'POST', '/buildings', { org_id: orgA, address: 'ул. Первая, 1', timezone: 'Europe/Moscow' })).id;
  const bB = (await ok<{ id: number }>(tokens.admin, 'POST', '/buildings', { org_id: orgB, address: 'ул. Вторая, 2', timezone: 'Europe/Moscow' })).id;
  const created = await ok<{ mqtt: { username: string; password: string } }>(tokens.admin, 'POST', '/gateways', { id: GW, building_id: bA });
  secret = created.mqtt.password;
  await ok(tokens.admin, 'POST', '/gateways', { id: OFFLINE, building_id: bA });
  secretB = (await ok<{ mqtt: { password: string } }>(tokens.admin, 'POST', '/gateways', { id: GW_B, building_id: bB })).mqtt.password;
  // The meter behind Modbus unit 1 on the gateway's bus, so a poll's reading lands on it.
  const meter = (await he.db.query<{ id: string }>(
    `INSERT INTO meters (placement, building_id, resource, make, serial_number) VALUES ('building', $1, 'electricity', 'SDM', 'cmd-test-1') RETURNING id`, [bA])).rows[0].id;
  await he.db.query(`INSERT INTO bindings (gateway_id, bus, address, meter_id) VALUES ($1, 'rs485', '1', $2)`, [GW, meter]);
  const user = async (key: keyof typeof tokens, role: string, buildings: number[]) => {
    const id = (await ok<{ id: number }>(tokens.admin, 'POST', '/users', { username: key, password: `${key}-password-123`, role })).id;
    for (const b of buildings) await ok(tokens.admin, 'POST', `/users/${id}/grants`, { building_id: b });
    tokens[key] = await login(key, `${key}-password-123`);
  };
  await user('engA', 'engineer', [bA]);
  await user('engB', 'engineer', [bB]);
  await user('billing', 'billing', [bA]);
  await user('resident', 'resident', []);

  sim = await startModbusBus({ timing: { pacing: false }, slaves: [{ unitId: 1, map: 'sdm630', read: () => ({ energy_kwh: 42 }) }] });
  configFile = join(dir, 'gateway.yaml');
  const raw = {
    gateway: { id: GW, bufferDir: join(dir, 'buf') },
    mqtt: { url: `mqtt://127.0.0.1:${he.mqttPort}`, username: GW, password: created.mqtt.password, reconnectMin: '100ms', reconnectMax: '500ms' },
    buses: [{ name: 'rs485', protocol: 'modbus', port: (sim.endpoint as { path: string }).path, timeout: '300ms', retries: 2 }],
    meters: [{ id: 'el-1', bus: 'rs485', slave: 1, registerMap: 'sdm630', interval: '1h' }],
  };
  writeFileSync(configFile, stringify(raw));
  gw = new Gateway({
    config: validateConfig(raw), configFile, logger: pino({ level: 'silent' }), scheduler: false,
    now: () => Date.parse('2027-03-10T08:00:00Z'), configConfirmMs: 1500, onRestartRequested: (why) => restarts.push(why),
  });
  await gw.start();
  await until(() => gw.health().mqttConnected === true, 'the gateway connected to the head-end broker');

  // Sees every command published to the gateways under test (the head-end's internal user may subscribe anywhere).
  probe = await mqtt.connectAsync(`mqtt://127.0.0.1:${he.mqttPort}`, { ...he.internalMqtt, clientId: 'probe-commands' });
  probe.on('message', (topic, payload) => {
    let id = '(not JSON)';
    try {
      id = (JSON.parse(payload.toString()) as { id: string }).id;
    } catch {
      /* a request sent by hand on purpose malformed */
    }
    probed.push({ topic, id });
  });
  await probe.subscribeAsync(['amr/v1/+/cmd/+'], { qos: 1 });
}, 120_000);

afterAll(async () => {
  await probe?.endAsync();
  await gw?.stop();
  await sim?.close();
  await he?.close();
  await database?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('commands from the head-end to a gateway', () => {
  it('poll_now: the reply lists the meter polled and its reading arrives', async () => {
    const c = await command('poll_now', { meter: 'el-1' });
    expect(c).toMatchObject({ status: 'ok', result: [{ meter: 'el-1', ok: true }], requested_by: { name: 'engA' }, late: false });
    const row = await until(async () => (await he.db.query<{ value: number }>(
      `SELECT value FROM readings WHERE gateway_id = $1 AND quantity = 'energy_kwh'`, [GW])).rows[0], 'the polled reading in readings');
    expect(Number(row.value)).toBe(42);
  });

  it('get_config: the password is shown as *** and never stored in clear', async () => {
    const c = await command('get_config');
    expect(c.status).toBe('ok');
    expect((c.result as { mqtt: { password: string; username: string } }).mqtt).toMatchObject({ password: '***', username: GW });
    const stored = await he.db.query('SELECT * FROM gateway_commands');
    expect(JSON.stringify(stored.rows)).not.toContain(secret);
  });

  it('set_config: a config the gateway check refuses is an error naming the key; missing arguments are a 400', async () => {
    const before = readFileSync(configFile, 'utf8');
    const bad = parse(before) as { buses: { baud?: number }[] };
    bad.buses[0].baud = -1;
    const c = await command('set_config', { config: bad });
    expect(c.status).toBe('error');
    expect(c.error).toMatch(/buses\[0\]\.baud: expected a positive integer/);
    expect(readFileSync(configFile, 'utf8')).toBe(before);

    // Valid, but it would make the gateway someone else on the broker.
    const other = parse(before) as { gateway: { id: string } };
    other.gateway.id = GW_B;
    const renamed = await command('set_config', { config: other });
    expect(renamed).toMatchObject({ status: 'error', error: expect.stringMatching(/^gateway\.id cannot be changed remotely/) });
    expect(readFileSync(configFile, 'utf8')).toBe(before);

    const noConfig = await call<{ message: string }>(tokens.engA, 'POST', `/gateways/${GW}/commands`, { name: 'set_config', args: { conf: {} } });
    expect(noConfig.status).toBe(400);
    expect(noConfig.body.message).toMatch(/args\.config: .*; args: unknown key\(s\) conf|args: unknown key\(s\) conf.*args\.config/);
  });

  it('set_config: a good config (edited from get_config, password still ***) is applied in place; the gateway reconnects with it', async () => {
    const current = (await command('get_config')).result as { mqtt: Record<string, unknown> };
    current.mqtt.keepalive = 33;
    const c = await command('set_config', { config: current });
    expect(c).toMatchObject({ status: 'ok', result: { applied: true, rolledBack: false, restarting: false } });
    // The stored arguments keep the marker, not a password.
    expect((c.args.config as { mqtt: { password: string } }).mqtt.password).toBe('***');
    const written = parse(readFileSync(configFile, 'utf8')) as { mqtt: { keepalive: number; password: string } };
    expect(written.mqtt.keepalive).toBe(33);
    expect(written.mqtt.password).toBe(secret);
    expect(written.mqtt.password).not.toBe('***');
    expect(gw.health().mqttConnected).toBe(true);
    expect(restarts).toEqual([]);
  });

  it('set_config: wrong broker credentials are rolled back; the gateway is connected again with the old config and says so', async () => {
    const before = readFileSync(configFile, 'utf8');
    const wrong = parse(before) as { mqtt: { password: string } };
    wrong.mqtt.password = 'not-the-password';
    const c = await command('set_config', { config: wrong });
    expect(c.status).toBe('error');
    expect(c.error).toMatch(/rolled back: no broker connection within 1500 ms with the new config: Connection refused/);
    expect(c.result).toMatchObject({ applied: false, rolledBack: true });
    expect(readFileSync(configFile, 'utf8')).toBe(before);
    await until(() => gw.health().mqttConnected === true, 'the gateway connected again with the old config');
    const event = await until(async () => (await he.db.query<{ severity: string; message: string }>(
      `SELECT severity, message FROM gateway_events WHERE gateway_id = $1 AND kind = 'config_rolled_back'`, [GW])).rows[0], 'the config_rolled_back event');
    expect(event.severity).toBe('error');
    // And it still takes commands on the restored session.
    expect((await command('poll_now')).status).toBe('ok');
  });

  it('an unknown command gets an error reply naming the known ones; scan replies with the devices found', async () => {
    const c = await command('self_destruct', { now: true });
    expect(c.status).toBe('error');
    expect(c.error).toMatch(/unknown command "self_destruct"; this gateway knows: poll_now, get_config, set_config, scan, scan_bus, restart/);

    const scan = await command('scan', { bus: 'rs485', mode: 'ids', from: 1, to: 2 });
    expect(scan.status).toBe('ok');
    expect((scan.result as { hits: { address: string }[] }).hits.map((h) => h.address)).toEqual(['1']);
  });

  it('by hand (mosquitto_pub): malformed requests, wrong arguments and expired requests are answered with what was wrong', async () => {
    const replies: { topic: string; body: { id?: string; ok: boolean; error?: string } }[] = [];
    const hand = await mqtt.connectAsync(`mqtt://127.0.0.1:${he.mqttPort}`, { ...he.internalMqtt, clientId: 'by-hand' });
    try {
      hand.on('message', (topic, payload) => replies.push({ topic, body: JSON.parse(payload.toString()) as { id?: string; ok: boolean; error?: string } }));
      await hand.subscribeAsync(`amr/v1/${GW}/reply/+`, { qos: 1 });
      const send = (name: string, payload: string) => hand.publishAsync(`amr/v1/${GW}/cmd/${name}`, payload, { qos: 1 });
      const reply = (pred: (r: (typeof replies)[number]) => boolean, what: string) => until(() => replies.find(pred), what);

      await send('poll_now', 'poll now please');
      expect((await reply((r) => r.topic.endsWith('/poll_now') && r.body.id === undefined, 'the reply to a non-JSON request')).body)
        .toMatchObject({ ok: false, error: expect.stringMatching(/^malformed command request: not JSON/) });
      await send('get_config', JSON.stringify({ v: 1, args: {} }));
      expect((await reply((r) => r.topic.endsWith('/get_config') && r.body.id === undefined, 'the reply to a request without id')).body.error).toMatch(/id: /);
      await send('poll_now', JSON.stringify({ v: 1, id: 'h-args', args: { meter_id: 'el-1' } }));
      expect((await reply((r) => r.body.id === 'h-args', 'the reply to wrong arguments')).body)
        .toMatchObject({ ok: false, error: 'invalid arguments of poll_now: args: unknown key(s) meter_id' });
      await send('scan', JSON.stringify({ v: 1, id: 'h-range', args: { bus: 'rs485', from: 9, to: 3 } }));
      expect((await reply((r) => r.body.id === 'h-range', 'the reply to an inverted range')).body.error).toMatch(/args\.from: from must not be above to/);
      const asked = restarts.length;
      await send('restart', JSON.stringify({ v: 1, id: 'h-old', args: {}, expiresAt: '2020-01-01T00:00:00Z' }));
      expect((await reply((r) => r.body.id === 'h-old', 'the reply to an expired restart')).body)
        .toMatchObject({ ok: false, error: expect.stringMatching(/^command expired at 2020-01-01T00:00:00Z .*not carried out/) });
      expect(restarts.length).toBe(asked);
    } finally {
      await hand.endAsync();
    }
  });

  it('a reply from another gateway does not answer this one\'s command', async () => {
    const sent = await ok<Command>(tokens.engA, 'POST', `/gateways/${OFFLINE}/commands`, { name: 'poll_now', args: {}, timeout_seconds: 20 });
    // Gateway B knows the id (say it sniffed it) and answers on its own reply topic, the only one its ACL
    // lets it publish replies on (the ACL itself: test/faults/hostile-clients.test.ts).
    const b = await mqtt.connectAsync(`mqtt://127.0.0.1:${he.mqttPort}`, { clientId: `amr-gw-${GW_B}`, username: GW_B, password: secretB, reconnectPeriod: 0 });
    await b.publishAsync(`amr/v1/${GW_B}/reply/poll_now`, JSON.stringify({ v: 1, id: sent.id, ok: true, result: 'spoofed', ts: new Date().toISOString() }), { qos: 1 });
    await b.endAsync();
    // Then the right gateway's reply (sent here through the head-end's own client): the head-end takes
    // replies one at a time in order, so had B's been stored, this one would find the command answered.
    await probe.publishAsync(`amr/v1/${OFFLINE}/reply/poll_now`, JSON.stringify({ v: 1, id: sent.id, ok: true, result: 'genuine', ts: new Date().toISOString() }), { qos: 1 });
    const c = await until(async () => {
      const r = await ok<Command>(tokens.engA, 'GET', `/gateways/${OFFLINE}/commands/${sent.id}`);
      return r.status === 'sent' ? undefined : r;
    }, 'the genuine reply stored');
    expect(c).toMatchObject({ status: 'ok', result: 'genuine' });
  });

  it('restart: replied, then the service is asked to restart', async () => {
    const c = await command('restart');
    expect(c).toMatchObject({ status: 'ok', result: { restarting: true } });
    await until(() => restarts.includes('remote restart command'), 'the restart request');
  });

  it('a gateway that never answers: the command times out', async () => {
    const c = await command('poll_now', {}, { gateway: OFFLINE, timeout_seconds: 0.3 });
    expect(c).toMatchObject({ status: 'timed_out', replied_at: null, result: null });
    const list = await ok<Command[]>(tokens.engA, 'GET', `/gateways/${OFFLINE}/commands?status=timed_out`);
    expect(list.map((x) => x.id)).toContain(c.id);
    expect(list.every((x) => x.status === 'timed_out')).toBe(true);
  });

  it('rights: another organisation\'s gateway is 404 and nothing is published; billing and residents 403; commands are audited', async () => {
    const cross = await call<{ message: string }>(tokens.engB, 'POST', `/gateways/${GW}/commands`, { name: 'restart', args: {} });
    const missing = await call<{ message: string }>(tokens.engB, 'POST', '/gateways/gw-no-such/commands', { name: 'restart', args: {} });
    expect(cross.status).toBe(404);
    expect(cross.body).toEqual(missing.body);
    expect((await call(tokens.engB, 'GET', `/gateways/${GW}/commands`)).status).toBe(404);
    expect((await call(tokens.billing, 'POST', `/gateways/${GW}/commands`, { name: 'poll_now', args: {} })).status).toBe(403);
    expect((await call(tokens.billing, 'GET', `/gateways/${GW}/commands`)).status).toBe(403);
    expect((await call(tokens.resident, 'POST', `/gateways/${GW}/commands`, { name: 'poll_now', args: {} })).status).toBe(403);

    // B's own gateway works for B (proves the 404 above is scope, not a broken route) — and is the next
    // command the probe sees: the refused ones before it were never published.
    const seen = probed.length;
    const own = await call<Command>(tokens.engB, 'POST', `/gateways/${GW_B}/commands`, { name: 'get_config', args: {}, timeout_seconds: 0.2 });
    expect(own.status).toBe(202);
    await until(() => probed.length > seen, 'the probe to see B\'s command');
    expect(probed.slice(seen)).toEqual([{ topic: `amr/v1/${GW_B}/cmd/get_config`, id: own.body.id }]);

    const audit = await ok<{ actor_name: string; action: string; after: { name: string } }[]>(tokens.admin, 'GET', `/audit?entity=gateway&entity_id=${GW}`);
    const commands = audit.filter((a) => a.action === 'command');
    expect(commands.map((a) => a.after.name)).toContain('set_config');
    expect(commands.every((a) => a.actor_name === 'engA')).toBe(true);
    const list = await ok<Command[]>(tokens.engA, 'GET', `/gateways/${GW}/commands`);
    expect(list.length).toBe(commands.length);
  });
});
