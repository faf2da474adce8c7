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

export interface Connection {
  client: MqttClient;
  close(reason?: 'shutdown'): Promise<void>;
}

/** Connects (without waiting for the first CONNACK: the gateway polls and buffers meanwhile). */
export function connect(cfg: GatewayConfig, startedAt: string, depth: () => number, onConnect: () => void): Connection {
  const gw = cfg.gateway.id;
  const client = mqtt.connect(cfg.mqtt.url, buildClientOptions(cfg));
  const min = cfg.mqtt.reconnectMin;
  const max = cfg.mqtt.reconnectMax;
  client.on('reconnect', () => {
    client.options.reconnectPeriod = Math.min(max, Math.max(min, (client.options.reconnectPeriod ?? min) * 2));
  });
  client.on('connect', () => {
    client.options.reconnectPeriod = min;
    client.publish(
      topics.status(gw),
      statusPayload(gw, 'online', { ts: new Date().toISOString(), reason: 'birth', software: SOFTWARE, startedAt, outboxDepth: depth() }),
      { qos: 1, retain: true },
    );
    client.subscribe(topics.command(gw, '+'), { qos: 1 });
    onConnect();
  });
  client.on('error', () => {
    /* reported through 'close'/'offline'; an unhandled 'error' would crash the process */
  });
  return {
    client,
    async close(reason) {
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
