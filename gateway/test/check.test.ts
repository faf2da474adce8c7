// Commissioning: `amr-gateway check` refuses what `run` could not use — unknown register maps and
// meter profiles, odd baud rates, doubled addresses and ids, serial devices that are missing or are
// not devices, a broker that is unreachable or refuses the credentials — each message naming the
// config path, the mistake and the fix; `run` refuses the same at start. The shipped sample passes
// `check --offline` and `run` polls a simulated building with it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Aedes } from 'aedes';
import { createPtyPair, startBuilding, type Building, type PtyPair } from '@amr/simulators';
import { brokerProblem, closestName, parseConfigText, portProblems, type GatewayConfig } from '../src/config/index.js';
import { issuesOf } from './helpers/config.js';
import { startBroker, type TestBroker } from './helpers/broker.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(repo, 'gateway/bin/amr-gateway.js');
const sample = readFileSync(join(repo, 'gateway/config/gateway.sample.yaml'), 'utf8');

async function cli(args: string[], timeout = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [bin, ...args], { timeout });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

/** A small valid config; `edit` changes the YAML text the way an installer would. */
const base = (port: string, url = 'mqtt://127.0.0.1:1') => `gateway: { id: gw-check, bufferDir: /tmp/amr-check-buffer }
mqtt: { url: "${url}" }
buses:
  - { name: mb, protocol: mbus, port: ${port}, baud: 2400 }
  - { name: rs485, protocol: modbus, port: tcp://127.0.0.1:5020, baud: 9600 }
meters:
  - { id: heat-1, bus: mb, primary: 1, profile: heat-meter }
  - { id: elec-1, bus: rs485, slave: 1, registerMap: sdm630 }
  - { id: elec-2, bus: rs485, slave: 2, registerMap: sdm120 }
`;


describe('check: what the gateway knows', () => {
  const ok = base('tcp://127.0.0.1:5021');
  it('the base config is clean', () => expect(issuesOf(ok)).toEqual([]));

  it.each<[string, string, string]>([
    [
      'unknown register map',
      ok.replace('registerMap: sdm630', 'registerMap: generic-energy-meter'),
      'meters[1].registerMap: unknown register map "generic-energy-meter"; known: sdm630, sdm120, amr-heat-calc, tv7',
    ],
    ['register map typo', ok.replace('registerMap: sdm630', 'registerMap: sdm360'), 'meters[1].registerMap: unknown register map "sdm360"; known: sdm630, sdm120, amr-heat-calc, tv7 — did you mean "sdm630"?'],
    [
      'unknown meter profile',
      ok.replace('profile: heat-meter', 'profile: heat-metre'),
      'meters[0].profile: unknown meter profile "heat-metre"; known: auto, heat-meter, kamstrup-multical, kamstrup-multical-v8, engelmann-sensostar, engelmann-waterstar, minol-minocal-c2, diehl-hydrometer-water, siemens-wfh21, sim-heat-history, water-meter, electricity-meter, generic — did you mean "heat-meter"?',
    ],
    ['baud 9601', ok.replace('baud: 9600', 'baud: 9601'), 'buses[1].baud: 9601 is not a standard baud rate; use one of 300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200 (closest: 9600)'],
    [
      'M-Bus at 115200',
      ok.replace('baud: 2400', 'baud: 115200'),
      'buses[0].baud: 115200 is not an M-Bus baud rate (EN 13757-2; meters usually run at 300, 2400 or 9600); use one of 300, 600, 1200, 2400, 4800, 9600, 19200, 38400 (closest: 38400)',
    ],
    [
      'two meters at one address',
      ok.replace('slave: 2', 'slave: 1'),
      'meters[2].slave: address 1 on bus rs485 is already used by meters[1] (elec-1); two meters cannot answer at one address: give each its own',
    ],
    ['duplicate meter id', ok.replace('id: elec-2', 'id: elec-1'), 'meters[2].id: duplicate meter id "elec-1" (also meters[1]); every meter needs its own id: rename one'],
    [
      'two buses on one line',
      ok.replace('port: tcp://127.0.0.1:5020', 'port: tcp://127.0.0.1:5021'),
      'buses[1].port: tcp://127.0.0.1:5021 is already the port of buses[0] (mb); one bus per line: put both buses\' meters on one bus',
    ],
  ])('%s', (_name, text, message) => {
    expect(text).not.toBe(ok);
    expect(issuesOf(text)).toContain(message);
  });

  it('suggests only plausible names', () => {
    expect(closestName('generic-energy-meter', ['sdm630', 'sdm120', 'amr-heat-calc'])).toBeNull();
    expect(closestName('SDM630', ['sdm630', 'sdm120'])).toBe('sdm630');
    expect(closestName('water', ['heat-meter', 'water-meter'])).toBe('water-meter');
  });
});

describe('check: the machine and the broker', () => {
  let dir: string;
  let pty: PtyPair;
  let broker: TestBroker;
  let authBroker: { url: string; close(): Promise<void> };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'amr-check-'));
    pty = await createPtyPair();
    broker = await startBroker();
    // A broker that knows one gateway: gw-check / right-password (CONNACK 4 otherwise, as Mosquitto).
    const aedes = await Aedes.createBroker({
      authenticate: (_c, user, pass, done) => {
        if (user === 'gw-check' && pass?.toString() === 'right-password') return done(null, true);
        done(Object.assign(new Error('bad credentials'), { returnCode: 4 as const }), false);
      },
    });
    const server = net.createServer((s) => aedes.handle(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    authBroker = {
      url: `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
      close: async () => {
        await new Promise<void>((r) => server.close(() => r()));
        await new Promise<void>((r) => aedes.close(() => r()));
      },
    };
  });
  afterAll(async () => {
    await pty?.close();
    await broker?.close();
    await authBroker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cfg = (port: string, url = broker.url, extra = ''): GatewayConfig =>
    parseConfigText(base(port, url).replace('mqtt: { url: ', `mqtt: { ${extra}url: `).replace('/tmp/amr-check-buffer', join(dir, 'buf'))).config;

  it('a pty is a serial device: no problem', () => expect(portProblems(cfg(pty.clientPath))).toEqual([]));

  it('a serial port that does not exist', () => {
    const [p] = portProblems(cfg('/dev/ttyUSB97'));
    expect(p).toMatch(/^buses\[0\]\.port: \/dev\/ttyUSB97 does not exist \(ENOENT\); plug in the adapter or name an existing device — /);
    expect(p).toMatch(/serial devices on this machine: |no serial devices on this machine/);
  });

  it('a port that is a file, not a device', () => {
    const f = join(dir, 'ttyUSB0');
    writeFileSync(f, '');
    expect(portProblems(cfg(f))).toEqual([`buses[0].port: ${f} is a regular file, not a serial device; name the adapter's character device (e.g. /dev/ttyUSB0 or /dev/serial/by-id/…)`]);
  });

  it('broker: accepts (the local aedes) / nothing listens / wrong password', async () => {
    expect(await brokerProblem(cfg(pty.clientPath), 2000)).toBeNull();
    const closed = await new Promise<number>((r) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => r(p));
      });
    });
    expect(await brokerProblem(cfg(pty.clientPath, `mqtt://127.0.0.1:${closed}`), 2000)).toBe(
      `mqtt.url: nothing accepts connections at 127.0.0.1:${closed} (ECONNREFUSED); check the host and port in mqtt.url and that the broker runs`,
    );
    const port = new URL(authBroker.url).port;
    expect(await brokerProblem(cfg(pty.clientPath, authBroker.url, 'username: gw-check, password: wrong, '), 2000)).toBe(
      `mqtt.username: 127.0.0.1:${port} refused the connection: bad user name or password; check mqtt.username and mqtt.password/passwordFile (the one-time password the head-end issued for this gateway)`,
    );
    expect(await brokerProblem(cfg(pty.clientPath, authBroker.url, 'username: gw-check, password: right-password, '), 2000)).toBeNull();
  });

  it('CLI: exit 0 with the broker, 1 naming every problem, 2 for a wrong command line; run refuses the same', async () => {
    const good = join(dir, 'good.yaml');
    writeFileSync(good, base(pty.clientPath, broker.url).replace('/tmp/amr-check-buffer', join(dir, 'buf')));
    const r0 = await cli(['check', '--config', good]);
    expect(r0.code, r0.stderr).toBe(0);
    expect(JSON.parse(r0.stdout)).toMatchObject({ ok: true, broker: 'accepted the connection' });

    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(good, 'utf8').replace(pty.clientPath, '/dev/ttyUSB97').replace('registerMap: sdm630', 'registerMap: generic-energy-meter'));
    const r1 = await cli(['check', '--config', bad, '--offline']);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toContain('meters[1].registerMap: unknown register map "generic-energy-meter"; known: sdm630, sdm120, amr-heat-calc, tv7');
    expect(r1.stderr, 'the device is looked at even when the schema refused the file').toContain('buses[0].port: /dev/ttyUSB97 does not exist (ENOENT)');

    const run = await cli(['run', '--config', bad]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('meters[1].registerMap: unknown register map "generic-energy-meter"; known: sdm630, sdm120, amr-heat-calc, tv7');
    expect(existsSync(join(dir, 'buf')), 'run refused before it opened its outbox').toBe(false);

    const baud = await cli(['scan', '--bus', pty.clientPath, '--protocol', 'modbus', '--baud', '9601']);
    expect(baud.code).toBe(2);
    expect(baud.stderr).toContain('--baud: 9601 is not a standard baud rate; use one of 300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200 (closest: 9600)');

    const usage = await cli(['check', '--config', good, '--ofline']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/Unknown option '--ofline'[\s\S]*usage:/);
  });
});

describe('the shipped sample config', () => {
  let dir: string;
  let b: Building;
  let broker: TestBroker;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'amr-sample-'));
    broker = await startBroker();
    b = await startBuilding({ speed: 0, pacing: false, apartments: 1, buses: { mbus: { transport: 'pty', baud: 2400 }, modbus: { transport: 'pty', baud: 9600 }, pulse: { transport: 'pty', baud: 9600 } } });
  });
  afterAll(async () => {
    await b?.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes check --offline and run polls the simulated building with it', async () => {
    if (!existsSync(join(repo, 'gateway/dist/cli/amr-gateway.js'))) throw new Error('gateway/dist missing: run `npx tsc -b gateway` first');
    const path = (bus: 'mbus' | 'modbus' | 'pulse') => (b.endpoints.buses[bus]!.endpoint as { path: string }).path;
    writeFileSync(join(dir, 'mqtt.password'), 'secret\n');
    writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
    // Only what differs from site to site: device paths, directories, secrets' paths, the broker;
    // meters, maps, profiles and addresses stay as shipped.
    const site = sample
      .replace('/dev/serial/by-id/usb-FTDI_M-Bus_Master-if00-port0', path('mbus'))
      .replace('/dev/ttyAMA0', path('modbus'))
      .replace('tcp://192.168.10.20:4001', path('pulse'))
      .replace('/var/lib/amr-gateway', join(dir, 'buf'))
      .replace('/var/log/amr-gateway/telegrams', join(dir, 'raw'))
      .replace('/etc/amr-gateway/mqtt.password', join(dir, 'mqtt.password'))
      .replace('/etc/amr-gateway/ca.pem', join(dir, 'ca.pem'))
      .replace('port: 9102', 'port: 0');
    expect(site.match(/registerMap: .*/g)).toEqual([expect.stringMatching(/^registerMap: sdm630\b/)]);
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, site);
    const r = await cli(['check', '--config', file, '--offline']);
    expect(r.code, r.stderr).toBe(0);

    // run: polls every second instead of every 15 min, against the local broker without TLS.
    writeFileSync(file, site.replace(/interval: (15m|1h)/g, 'interval: 1s').replace('mqtts://headend.example.net:8883', broker.url).replace(/ {2}tls:\n {4}ca: .*\n/, ''));
    const child = spawn(process.execPath, [bin, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const rawFile = join(dir, 'raw', 'telegrams.jsonl');
    try {
      const end = Date.now() + 20_000;
      const modbusLine = () =>
        existsSync(rawFile)
          ? readFileSync(rawFile, 'utf8')
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l) as { protocol: string; meter: string; ok: boolean; frames: { dir: string; hex: string }[] })
              .find((l) => l.protocol === 'modbus' && l.ok)
          : undefined;
      while (!modbusLine()) {
        if (child.exitCode !== null) throw new Error(`run exited ${child.exitCode}: ${err}`);
        if (Date.now() > end) throw new Error(`no Modbus raw log line within 20 s: ${err}`);
        await new Promise((res) => setTimeout(res, 100));
      }
      // electricity-building: slave 1, sdm630 → one request (FC 04) and its answer per block
      const line = modbusLine()!;
      expect(line.meter).toBe('electricity-building');
      expect(line.frames[0]).toMatchObject({ dir: 'tx', hex: expect.stringMatching(/^0104/) });
      expect(line.frames[1]).toMatchObject({ dir: 'rx', hex: expect.stringMatching(/^0104/) });
    } finally {
      child.kill('SIGTERM');
      await new Promise((res) => (child.exitCode !== null ? res(null) : child.once('exit', res)));
    }
  });
});
