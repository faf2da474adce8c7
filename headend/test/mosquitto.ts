/**
 * A Mosquitto 2 of the tests' own: a config in a temporary directory, a free port on 127.0.0.1,
 * stopped and removed afterwards. Never the machine's broker on 1883 (other projects' tests share it,
 * and it enforces nothing). Optionally with the dynamic-security plugin and one admin client (the
 * head-end's), whose password file entry is written here in the plugin's own format (PBKDF2-SHA512),
 * so no interactive `mosquitto_ctrl dynsec init` is needed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

export const MOSQUITTO_BIN = '/usr/sbin/mosquitto';
export const DYNSEC_PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';

export interface MosquittoOptions {
  /** Load the dynamic-security plugin with this admin client (otherwise anonymous clients are allowed). */
  dynsec?: { username: string; password: string };
}

export interface Mosquitto {
  port: number;
  url: string;
  dir: string;
  /** What the broker logged so far (for failure messages). */
  log(): string;
  /** Kills the broker and removes its directory; safe to call twice. */
  stop(): Promise<void>;
}

/** Why our own Mosquitto cannot start here, or null when it can. */
export function mosquittoMissing(opts: MosquittoOptions = {}): string | null {
  if (!existsSync(MOSQUITTO_BIN)) return `Mosquitto 2 is missing (${MOSQUITTO_BIN}): apt-get install mosquitto`;
  if (opts.dynsec && !existsSync(DYNSEC_PLUGIN)) return `Mosquitto's dynamic-security plugin is missing (${DYNSEC_PLUGIN}): apt-get install mosquitto`;
  return null;
}

/** The dynamic-security file with the admin client: its role may drive `$CONTROL/dynamic-security/v1`, nothing else. */
function dynsecFile(adminUsername: string, adminPassword: string): string {
  const salt = randomBytes(12);
  const iterations = 101;
  const hash = pbkdf2Sync(adminPassword, salt, iterations, 64, 'sha512');
  const control = '$CONTROL/dynamic-security/#';
  return JSON.stringify({
    // As `mosquitto_ctrl dynsec init` writes it: nobody may publish or subscribe unless a role says so.
    defaultACLAccess: { publishClientSend: false, publishClientReceive: true, subscribe: false, unsubscribe: true },
    clients: [{ username: adminUsername, roles: [{ rolename: 'admin' }], password: hash.toString('base64'), salt: salt.toString('base64'), iterations }],
    groups: [],
    roles: [{
      rolename: 'admin',
      acls: [
        { acltype: 'publishClientSend', topic: control, allow: true },
        { acltype: 'publishClientReceive', topic: control, allow: true },
        { acltype: 'subscribePattern', topic: control, allow: true },
      ],
    }],
  }, null, 1);
}

async function waitForPort(port: number, child: ChildProcess, log: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`our Mosquitto exited with status ${child.exitCode} before listening on ${port}:\n${log()}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > deadline) throw new Error(`our Mosquitto did not listen on 127.0.0.1:${port} within ${timeoutMs} ms:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const missing = mosquittoMissing(opts);
  if (missing) throw new Error(missing);
  const dir = await mkdtemp(join(tmpdir(), 'amr-mosquitto-'));
  const port = await freePort();
  const lines = [
    `listener ${port} 127.0.0.1`,
    'persistence false',
    // As root Mosquitto would switch to the `mosquitto` user, who cannot read this private directory.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    'log_dest stdout',
    'log_type error', 'log_type warning', 'log_type notice', 'log_type information',
    // A test's stream may have thousands of QoS 1 messages in flight to a replica that was killed.
    'max_queued_messages 100000',
  ];
  if (opts.dynsec) {
    const file = join(dir, 'dynamic-security.json');
    await writeFile(file, dynsecFile(opts.dynsec.username, opts.dynsec.password));
    lines.push(`plugin ${DYNSEC_PLUGIN}`, `plugin_opt_config_file ${file}`);
  } else {
    lines.push('allow_anonymous true');
  }
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(conf, `${lines.join('\n')}\n`);
  const logFile = join(dir, 'mosquitto.log');
  const fd = openSync(logFile, 'a');
  const child = spawn(MOSQUITTO_BIN, ['-c', conf], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n') : '');
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, child, log, 10_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, url: `mqtt://127.0.0.1:${port}`, dir, log, stop };
}
