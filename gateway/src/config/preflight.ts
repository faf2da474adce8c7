/**
 * Commissioning checks that need the machine: serial devices, secret and buffer files, the broker.
 * `amr-gateway check` and `amr-gateway run` both call `checkConfigFile`, so what `check` passes is
 * what `run` starts with (run skips only the broker: a gateway in a basement with no signal must
 * still start, poll and buffer). Every problem names the config path, what is wrong and the fix.
 */
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import net from 'node:net';
import mqtt from 'mqtt';
import { buildClientOptions } from '../mqtt/connection.js';
import { closestName } from './knowledge.js';
import { ConfigError, loadConfigFile } from './load.js';
import { parseTcp } from './resolve.js';
import type { GatewayConfig } from './schema.js';

export interface PreflightOptions {
  /** Also connect to the broker with the configured credentials (check without --offline). */
  broker: boolean;
  /** Bound of the broker check (TCP connect + MQTT CONNECT/CONNACK). */
  brokerTimeoutMs?: number;
}

/** Where serial adapters show up on a Pi (udev's stable names first). */
const DEVICE_DIRS: [string, RegExp][] = [
  ['/dev/serial/by-id', /./],
  ['/dev/amr', /./],
  ['/dev', /^tty(USB|ACM|AMA|S)\d+$|^serial\d+$/],
];

function listSerialDevices(): string[] {
  const out: string[] = [];
  for (const [dir, re] of DEVICE_DIRS) {
    try {
      for (const n of readdirSync(dir)) if (re.test(n)) out.push(join(dir, n));
    } catch {
      /* directory absent: no such devices */
    }
  }
  return out;
}

function kind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFile()) return 'a regular file';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'not a character device';
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

/** Problems with the serial devices the buses name (tcp:// converters are reached only when polled). */
export function portProblems(cfg: { buses: readonly { port: string }[] }): string[] {
  const out: string[] = [];
  cfg.buses.forEach((b, i) => {
    if (parseTcp(b.port) || !b.port.startsWith('/')) return;
    const at = `buses[${i}].port`;
    let st: Stats;
    try {
      st = statSync(b.port); // follows symlinks: a dangling /dev/serial/by-id link is "does not exist"
    } catch (e) {
      const devices = listSerialDevices();
      const near = closestName(b.port, devices);
      const seen = devices.length ? `serial devices on this machine: ${devices.slice(0, 12).join(', ')}` : 'no serial devices on this machine';
      out.push(
        `${at}: ${b.port} does not exist (${errCode(e)}); plug in the adapter or name an existing device — ${seen}${near ? ` — did you mean ${near}?` : ''}`,
      );
      return;
    }
    if (!st.isCharacterDevice()) {
      out.push(`${at}: ${b.port} is ${kind(st)}, not a serial device; name the adapter's character device (e.g. /dev/ttyUSB0 or /dev/serial/by-id/…)`);
      return;
    }
    try {
      accessSync(b.port, constants.R_OK | constants.W_OK);
    } catch (e) {
      out.push(`${at}: ${b.port} cannot be opened for reading and writing (${errCode(e)}); add the service user to group dialout (usermod -aG dialout amr-gateway) or fix the udev rule's MODE/GROUP`);
    }
  });
  return out;
}

function readable(path: string): string | null {
  try {
    const st = statSync(path);
    if (!st.isFile()) return `is ${kind(st)}, not a file`;
    accessSync(path, constants.R_OK);
    return null;
  } catch (e) {
    return `cannot be read (${errCode(e)})`;
  }
}

/** Nearest existing ancestor of a path (where a missing directory would be created). */
function existingAncestor(path: string): string {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}

function writableDir(path: string): string | null {
  if (existsSync(path)) {
    const st = statSync(path);
    if (!st.isDirectory()) return `is ${kind(st)}, not a directory`;
    try {
      accessSync(path, constants.W_OK);
      return null;
    } catch (e) {
      return `is not writable (${errCode(e)})`;
    }
  }
  const anc = existingAncestor(path);
  try {
    accessSync(anc, constants.W_OK);
    return null;
  } catch (e) {
    return `does not exist and cannot be created in ${anc} (${errCode(e)})`;
  }
}

/** Secrets and directories `run` opens at start. */
export function fileProblems(cfg: GatewayConfig): string[] {
  const out: string[] = [];
  const m = cfg.mqtt;
  if (m.passwordFile !== undefined) {
    const p = readable(m.passwordFile);
    if (p) out.push(`mqtt.passwordFile: ${m.passwordFile} ${p}; create it with the broker password (owner amr-gateway, mode 0640) or set mqtt.password`);
    else if (readFileSync(m.passwordFile, 'utf8').trim() === '') out.push(`mqtt.passwordFile: ${m.passwordFile} is empty; write the gateway's MQTT password into it`);
  }
  for (const k of ['ca', 'cert', 'key'] as const) {
    const f = m.tls?.[k];
    if (f === undefined) continue;
    const p = readable(f);
    if (p) out.push(`mqtt.tls.${k}: ${f} ${p}; copy the PEM file there or remove the key`);
  }
  if ((m.tls?.cert === undefined) !== (m.tls?.key === undefined)) out.push(`mqtt.tls.${m.tls?.cert === undefined ? 'cert' : 'key'}: a client certificate needs both cert and key`);
  const buf = writableDir(cfg.gateway.bufferDir);
  if (buf) out.push(`gateway.bufferDir: ${cfg.gateway.bufferDir} ${buf}; create it for the service user (install.sh makes /var/lib/amr-gateway)`);
  if (cfg.rawLog) {
    const raw = writableDir(cfg.rawLog.dir);
    if (raw) out.push(`rawLog.dir: ${cfg.rawLog.dir} ${raw}; create it for the service user or remove rawLog`);
  }
  return out;
}

const CONNACK_REASONS: Record<number, string> = {
  1: 'the broker does not accept MQTT 3.1.1',
  2: 'the broker rejected the client id',
  3: 'the broker is unavailable (server unavailable)',
  4: 'bad user name or password',
  5: 'not authorised',
};

/**
 * Connects once as the gateway would (same URL, credentials and TLS) but under its own client id
 * (`<clientId>:check`, clean session, no will) so a running gateway's persistent session and
 * status are left alone. Resolves to a problem, or null when the broker accepted the CONNECT.
 */
export async function brokerProblem(cfg: GatewayConfig, timeoutMs = 5000): Promise<string | null> {
  const url = cfg.mqtt.url;
  let opts: mqtt.IClientOptions;
  try {
    opts = buildClientOptions(cfg);
  } catch (e) {
    return `mqtt: cannot build the connection (${(e as Error).message}); fix the file problems above first`;
  }
  // TCP first: "nothing listens" and "cannot resolve" are told apart from an MQTT-level refusal.
  const tcp = await tcpProblem(url, timeoutMs);
  if (tcp) return tcp;
  const clientId = `${opts.clientId ?? `amr-gw-${cfg.gateway.id}`}:check`;
  const client = mqtt.connect(url, { ...opts, clientId, clean: true, will: undefined, reconnectPeriod: 0, connectTimeout: timeoutMs });
  const where = (() => {
    try {
      const u = new URL(url);
      return `${u.hostname}:${u.port || (u.protocol === 'mqtts:' || u.protocol === 'ssl:' ? 8883 : 1883)}`;
    } catch {
      return url;
    }
  })();
  const result = await new Promise<string | null>((resolve) => {
    const timer = setTimeout(() => resolve(`mqtt.url: no MQTT answer from ${where} within ${timeoutMs} ms; check the address, the firewall and that the broker runs (or check --offline where there is no network yet)`), timeoutMs + 500);
    const done = (r: string | null) => {
      clearTimeout(timer);
      resolve(r);
    };
    client.once('connect', () => done(null));
    client.once('error', (e: Error & { code?: string | number }) => {
      if (typeof e.code === 'number') {
        const why = CONNACK_REASONS[e.code] ?? `CONNACK code ${e.code}`;
        const fix = e.code === 4 || e.code === 5 ? 'check mqtt.username and mqtt.password/passwordFile (the one-time password the head-end issued for this gateway)' : 'check the broker';
        return done(`mqtt.username: ${where} refused the connection: ${why}; ${fix}`);
      }
      const code = e.code ?? '';
      if (code === 'ECONNREFUSED') return done(`mqtt.url: nothing accepts connections at ${where} (ECONNREFUSED); check the host and port in mqtt.url and that the broker runs`);
      if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return done(`mqtt.url: cannot resolve the host of ${url} (${code}); check the name and the DNS settings`);
      if (/certificate|self.signed|SSL|TLS/i.test(`${code} ${e.message}`)) return done(`mqtt.tls: TLS with ${where} failed (${e.message}); check mqtt.tls.ca (the head-end's CA) and the host name in mqtt.url`);
      done(`mqtt.url: cannot connect to ${where} (${code || e.message}); check the address and the network`);
    });
    client.once('close', () => done(`mqtt.url: ${where} closed the connection before answering CONNECT; is it an MQTT broker (TLS: mqtts://)?`));
  });
  await client.endAsync(true).catch(() => undefined);
  return result;
}

function hostPort(url: string): { host: string; port: number; text: string } | null {
  try {
    const u = new URL(url);
    if (!['mqtt:', 'mqtts:', 'tcp:', 'ssl:'].includes(u.protocol)) return null; // ws(s): leave it to the MQTT client
    const port = Number(u.port || (u.protocol === 'mqtts:' || u.protocol === 'ssl:' ? 8883 : 1883));
    return { host: u.hostname, port, text: `${u.hostname}:${port}` };
  } catch {
    return null;
  }
}

async function tcpProblem(url: string, timeoutMs: number): Promise<string | null> {
  const hp = hostPort(url);
  if (!hp) return null;
  return new Promise((resolve) => {
    const s = net.connect({ host: hp.host, port: hp.port });
    const done = (r: string | null) => {
      s.destroy();
      resolve(r);
    };
    s.setTimeout(timeoutMs, () => done(`mqtt.url: no TCP connection to ${hp.text} within ${timeoutMs} ms; check the address, the firewall and the network (or check --offline where there is no network yet)`));
    s.once('connect', () => done(null));
    s.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') return done(`mqtt.url: nothing accepts connections at ${hp.text} (ECONNREFUSED); check the host and port in mqtt.url and that the broker runs`);
      if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return done(`mqtt.url: cannot resolve ${hp.host} (${e.code}); check the host name in mqtt.url and the DNS settings`);
      done(`mqtt.url: cannot connect to ${hp.text} (${e.code ?? e.message}); check the address and the network`);
    });
  });
}

/** Everything that can be checked about a loaded config on this machine. */
export async function preflight(cfg: GatewayConfig, opts: PreflightOptions): Promise<string[]> {
  const problems = [...portProblems(cfg), ...fileProblems(cfg)];
  if (opts.broker && problems.some((p) => p.startsWith('mqtt.'))) problems.push('mqtt.url: broker not checked: the MQTT files above must be readable first');
  else if (opts.broker) {
    const b = await brokerProblem(cfg, opts.brokerTimeoutMs);
    if (b) problems.push(b);
  }
  return problems;
}

/**
 * Loads, validates (schema + knowledge) and preflights a config file; throws ConfigError with
 * every problem. The one entry both `check` and `run` use.
 */
export async function checkConfigFile(file: string, opts: PreflightOptions): Promise<{ config: GatewayConfig; raw: unknown; text: string }> {
  let loaded: ReturnType<typeof loadConfigFile>;
  try {
    loaded = loadConfigFile(file);
  } catch (e) {
    // The schema refused the file: still look at the devices it names, so an installer fixes a
    // typo and an unplugged adapter in one round instead of two.
    if (!(e instanceof ConfigError) || !e.rawInput) throw e;
    const buses = (e.rawInput as { buses?: unknown }).buses;
    const named = Array.isArray(buses) ? buses.map((b) => ({ port: typeof (b as { port?: unknown })?.port === 'string' ? (b as { port: string }).port : '' })) : [];
    const more = portProblems({ buses: named });
    if (more.length) throw new ConfigError([...e.issues, ...more], e.source);
    throw e;
  }
  const problems = await preflight(loaded.config, opts);
  if (problems.length) throw new ConfigError(problems, file);
  return loaded;
}
