/**
 * The gateway's MQTT session: QoS 1, persistent (clean: false under a fixed client id, so the broker
 * keeps our subscriptions and un-acked messages across reconnects), retained birth status and an LWT
 * saying "offline", TLS from files, and reconnect with exponential back-off (mqtt.js only has a fixed
 * `reconnectPeriod`; it re-reads the option before each attempt, so we grow it there).
 */
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { CONTRACT_VERSION, topics, type GatewayStatus } from '@amr/protocols';
import type { GatewayConfig } from '../config/schema.js';
import type { Logger } from '../ops/logger.js';

export const SOFTWARE = 'amr-gateway/0.1.0';

export function statusPayload(gatewayId: string, state: 'online' | 'offline', extra: Partial<GatewayStatus> = {}): string {
  const s: GatewayStatus = { v: CONTRACT_VERSION, gatewayId, state, ...extra };
  return JSON.stringify(s);
}

export function buildClientOptions(cfg: GatewayConfig): IClientOptions {
  const m = cfg.mqtt;
  const gw = cfg.gateway.id;
  const opts: IClientOptions = {
    clientId: m.clientId ?? `amr-gw-${gw}`,
    clean: false,
    protocolVersion: 4,
    keepalive: m.keepalive,
    reconnectPeriod: m.reconnectMin,
    connectTimeout: 10_000,
    // Readings are published only while connected (the outbox is our queue); anything else
    // (events, replies) may wait in mqtt.js's queue during a short outage.
    queueQoSZero: false,
    resubscribe: true,
    // A refused CONNACK ("server unavailable" while the head-end's database is down, or "not
    // authorised" until an engineer fixes the credential) is temporary for a device in the field:
    // keep retrying with the back-off instead of giving up until the process is restarted.
    reconnectOnConnackError: true,
    will: { topic: topics.status(gw), payload: Buffer.from(statusPayload(gw, 'offline', { reason: 'lwt' })), qos: 1, retain: true },
  };
  if (m.username !== undefined) opts.username = m.username;
  if (m.password !== undefined) opts.password = m.password;
  if (m.passwordFile !== undefined) opts.password = readFileSync(m.passwordFile, 'utf8').trim();
  if (m.tls) {
    if (m.tls.ca) opts.ca = readFileSync(m.tls.ca);
    if (m.tls.cert) opts.cert = readFileSync(m.tls.cert);
    if (m.tls.key) opts.key = readFileSync(m.tls.key);
    opts.rejectUnauthorized = m.tls.rejectUnauthorized;
  }
  return opts;
}

/** MQTT 3.1.1 CONNACK return codes (the broker's reason for refusing us). */
export const CONNACK_CODES: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

export interface BrokerStatus {
  connected: boolean;
  /** Since when connected, or disconnected (the process start until the first CONNACK). */
  since: number;
  lastError: { message: string; code: string | number | null; at: number } | null;
  /** Connections lost after having been up, and CONNACK refusals, since start. */
  losses: number;
  refusals: number;
}

export interface Connection {
  client: MqttClient;
  status(): BrokerStatus;
  close(reason?: 'shutdown'): Promise<void>;
}

/** Connects (without waiting for the first CONNACK: the gateway polls and buffers meanwhile). */
export function connect(cfg: GatewayConfig, startedAt: string, depth: () => number, onConnect: () => void, log?: Logger): Connection {
  const gw = cfg.gateway.id;
  const client = mqtt.connect(cfg.mqtt.url, buildClientOptions(cfg));
  const min = cfg.mqtt.reconnectMin;
  const max = cfg.mqtt.reconnectMax;
  const st: BrokerStatus = { connected: false, since: Date.now(), lastError: null, losses: 0, refusals: 0 };
  let attempt = 0;
  let closing = false;
  const url = cfg.mqtt.url;
  client.on('reconnect', () => {
    attempt++;
    log?.warn({ broker: url, attempt, offlineS: Math.round((Date.now() - st.since) / 1000), lastError: st.lastError?.message }, 'broker: reconnecting');
    client.options.reconnectPeriod = Math.min(max, Math.max(min, (client.options.reconnectPeriod ?? min) * 2));
  });
  client.on('close', () => {
    if (!st.connected) return;
    st.connected = false;
    st.since = Date.now();
    if (closing) return;
    st.losses++;
    log?.warn({ broker: url, lastError: st.lastError?.message }, 'broker: connection lost; readings stay in the outbox until it is back');
  });
  client.on('connect', () => {
    const offlineMs = Date.now() - st.since;
    if (attempt > 0 || st.losses > 0) log?.info({ broker: url, attempts: attempt, offlineS: Math.round(offlineMs / 1000) }, 'broker: reconnected');
    st.connected = true;
    st.since = Date.now();
    attempt = 0;
    client.options.reconnectPeriod = min;
    client.publish(
      topics.status(gw),
      statusPayload(gw, 'online', { ts: new Date().toISOString(), reason: 'birth', software: SOFTWARE, startedAt, outboxDepth: depth() }),
      { qos: 1, retain: true },
    );
    client.subscribe(topics.command(gw, '+'), { qos: 1 });
    onConnect();
  });
  // Also keeps an 'error' from being unhandled (which would crash the process).
  client.on('error', (e: Error & { code?: unknown }) => {
    const code = typeof e.code === 'number' || typeof e.code === 'string' ? e.code : null;
    st.lastError = { message: e.message, code, at: Date.now() };
    if (typeof code === 'number') {
      st.refusals++;
      log?.error(
        { broker: url, connack: code, reason: CONNACK_CODES[code] ?? 'unknown' },
        `broker refused the connection: CONNACK ${code} (${CONNACK_CODES[code] ?? 'unknown'})${code === 4 || code === 5 ? ': check mqtt.username and the password (file) against the head-end' : ''}; retrying`,
      );
    } else log?.warn({ broker: url, code, err: e.message }, 'broker: connection error');
  });
  return {
    client,
    status: () => ({ ...st }),
    async close(reason) {
      closing = true;
      if (reason === 'shutdown' && client.connected) {
        // Bounded: a broker that stopped answering would otherwise hold the shutdown (and systemd's
        // stop) forever waiting for this PUBACK; the status is best effort, the readings are not.
        const said = client
          .publishAsync(topics.status(gw), statusPayload(gw, 'offline', { ts: new Date().toISOString(), reason: 'shutdown' }), { qos: 1, retain: true })
          .catch(() => undefined);
        await Promise.race([said, new Promise((r) => setTimeout(r, 3000))]);
      }
      // Not connected: nothing to flush, and a graceful end would wait for a connection that may never come.
      const ending = client.endAsync(!client.connected).catch(() => undefined);
      await Promise.race([ending, new Promise((r) => setTimeout(r, 3000))]);
    },
  };
}
