// Remote commands through the Mosquitto on 127.0.0.1:1883 (unique gateway id per run), against the
// built CLI as a child process: get_config, poll_now, scan_bus, set_config (rejected when invalid;
// rolled back when the new config fails to start), restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { parse, stringify } from 'yaml';
import { startModbusBus, type ModbusBus } from '@amr/simulators';
import { CommandReply, GatewayEvent, GatewayStatus, ReadingsMessage, topics, type CommandName } from '@amr/protocols';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(repo, 'gateway/bin/amr-gateway.js');
const BROKER = 'mqtt://127.0.0.1:1883';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(get: () => T | undefined, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('remote commands over Mosquitto', () => {
  const gwId = `gw-cmd-${process.pid}-${Date.now()}`;
  let dir: string;
  let file: string;
  let sim: ModbusBus;
  let head: MqttClient;
  let child: ChildProcess | null = null;
  let blocker: net.Server;
  const msgs: { topic: string; payload: string; retain: boolean }[] = [];

  const start = () => {
    child = spawn(process.execPath, [bin, 'run', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, AMR_LOG_LEVEL: 'warn' } });
    return child;
  };
  const exited = (c: ChildProcess) => new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));
  let n = 0;
  const command = async (name: CommandName, args: Record<string, unknown> = {}) => {
    const id = `c${++n}`;
    head.publish(topics.command(gwId, name), JSON.stringify({ v: 1, id, args }), { qos: 1 });
    return until(() => {
      const m = msgs.find((x) => x.topic === topics.reply(gwId, name) && JSON.parse(x.payload).id === id);
      return m ? CommandReply.parse(JSON.parse(m.payload)) : undefined;
    }, `reply to ${name}`);
  };
  const online = (after: number) => until(() => msgs.slice(after).some((m) => m.topic === topics.status(gwId) && GatewayStatus.parse(JSON.parse(m.payload)).state === 'online'), 'birth');

  beforeAll(async () => {
    if (!existsSync(join(repo, 'gateway/dist/cli/amr-gateway.js'))) throw new Error('gateway/dist missing: run `npx tsc -b gateway` first');
    dir = mkdtempSync(join(tmpdir(), 'amr-cmd-'));
    sim = await startModbusBus({ timing: { pacing: false }, slaves: [{ unitId: 1, map: 'sdm630', read: () => ({ energy_kwh: 42 }) }, { unitId: 3, map: 'sdm120', read: () => ({ energy_kwh: 3 }) }] });
    blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      stringify({
        gateway: { id: gwId, bufferDir: join(dir, 'buf') },
        mqtt: { url: BROKER, username: gwId, password: 'secret', reconnectMin: '200ms' },
        buses: [{ name: 'rs485', protocol: 'modbus', port: (sim.endpoint as { path: string }).path, timeout: '100ms', retries: 0 }],
        meters: [{ id: 'el-1', bus: 'rs485', slave: 1, registerMap: 'sdm630', interval: '1h' }],
      }),
    );
    head = mqtt.connect(BROKER, { clientId: `head-${gwId}` });
    head.on('message', (topic, payload, packet) => msgs.push({ topic, payload: payload.toString(), retain: packet.retain }));
    await new Promise<void>((r) => head.once('connect', () => r()));
    await head.subscribeAsync(`amr/v1/${gwId}/#`, { qos: 1 });
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    // clear the retained status so the shared broker keeps nothing of this test
    await head?.publishAsync(topics.status(gwId), '', { qos: 1, retain: true });
    await head?.endAsync();
    await new Promise<void>((r) => blocker.close(() => r()));
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers every command; set_config is validated and rolled back when it cannot start', async () => {
    start();
    await online(0);

    const cfg = await command('get_config');
    expect(cfg.ok).toBe(true);
    expect((cfg.result as { mqtt: { password: string } }).mqtt.password).toBe('***');

    const poll = await command('poll_now', { meter: 'el-1' });
    expect(poll).toMatchObject({ ok: true, result: [{ meter: 'el-1', ok: true }] });
    const reading = await until(() => msgs.find((m) => m.topic === topics.readings(gwId)), 'reading');
    expect(ReadingsMessage.parse(JSON.parse(reading.payload)).readings[0].values.find((v) => v.quantity === 'energy_kwh')!.value).toBe(42);

    const scan = await command('scan_bus', { bus: 'rs485', mode: 'ids', from: 1, to: 4 });
    expect(scan.ok).toBe(true);
    expect((scan.result as { hits: { address: string }[] }).hits.map((h) => h.address)).toEqual(['1', '3']);

    const unknown = await command('poll_now', { meter: 'nope' });
    expect(unknown).toMatchObject({ ok: false, error: expect.stringMatching(/no meter "nope"/) });

    const original = readFileSync(file, 'utf8');
    const bad = parse(original);
    bad.buses[0].baud = -1;
    const rejected = await command('set_config', { config: bad });
    expect(rejected.ok).toBe(false);
    expect(rejected.error).toMatch(/buses\[0\]\.baud: expected a positive integer/);
    expect(readFileSync(file, 'utf8')).toBe(original);

    // valid, but cannot start: the health port is taken → the restart fails → rollback
    const broken = parse(original);
    broken.health = { host: '127.0.0.1', port: (blocker.address() as net.AddressInfo).port };
    const first = child!;
    const accepted = await command('set_config', { config: broken });
    expect(accepted.ok).toBe(true);
    expect(await exited(first)).toBe(0); // exits to be restarted (systemd Restart=always)
    const mark = msgs.length;
    start(); // what systemd does
    await online(mark);
    const rb = await until(() => msgs.slice(mark).find((m) => m.topic === topics.events(gwId) && JSON.parse(m.payload).kind === 'config_rolled_back'), 'rollback event');
    expect(GatewayEvent.parse(JSON.parse(rb.payload)).message).toMatch(/EADDRINUSE|address already in use/);
    expect(parse(readFileSync(file, 'utf8')).health).toBeUndefined();

    const restart = await command('restart');
    expect(restart.ok).toBe(true);
    expect(await exited(child!)).toBe(0);
  });
});
