/**
 * Ingestion from an external broker (Mosquitto, EMQX): mqtt.js clients (MQTT 5) in a shared
 * subscription group (`$share/<group>/amr/v1/+/readings` …) so several head-ends split the load.
 *
 * Ack after commit: mqtt.js sends a subscriber's PUBACK only when `handleMessage` calls back, so the
 * override below calls back after `ingest.handle` resolves. On failure it drops the connection
 * without a PUBACK; the session is persistent (clean: false), so the broker redelivers.
 * mqtt.js handles one incoming packet of a connection at a time, so `connections` clients are opened
 * in the group to let several messages share one database batch.
 */
import mqtt, { type MqttClient, type IClientOptions } from 'mqtt';
import type { Logger } from 'pino';
import { topics } from '@amr/protocols';
import type { Ingest } from '../ingest/index.js';
import { redactUrl } from '../db/index.js';

/** A week: a replica down longer than that has its session (and the messages queued in it) dropped by the broker. */
export const SESSION_EXPIRY_SECONDS = 7 * 24 * 3600;

export interface ExternalSubscriberOptions {
  url: string;
  group: string;
  ingest: Ingest;
  logger: Logger;
  username?: string;
  password?: string;
  /** Stable prefix of the client ids (persistent sessions survive restarts). */
  clientIdPrefix: string;
  connections?: number;
}

export interface ExternalSubscriber {
  clients: MqttClient[];
  /** Resolves when every client has subscribed once. */
  ready: Promise<void>;
  close(): Promise<void>;
}

export function startExternalSubscriber(opts: ExternalSubscriberOptions): ExternalSubscriber {
  const { ingest, logger } = opts;
  const filters = (['readings', 'status', 'events'] as const).map((k) => `$share/${opts.group}/${topics.allGateways(k)}`);
  const clients: MqttClient[] = [];
  const readies: Promise<void>[] = [];
  for (let i = 0; i < (opts.connections ?? 4); i++) {
    const o: IClientOptions = {
      clientId: `${opts.clientIdPrefix}-${i}`,
      clean: false,
      // MQTT 5 shared subscriptions. The session outlives the connection (SESSION_EXPIRY_SECONDS): what the
      // broker had handed this connection and was not acknowledged yet — a replica killed mid-batch — is
      // delivered again when the replica comes back under the same client id (MQTT_CLIENT_ID).
      protocolVersion: 5,
      properties: { sessionExpiryInterval: SESSION_EXPIRY_SECONDS },
      reconnectPeriod: 2000,
      username: opts.username,
      password: opts.password,
    };
    const client = mqtt.connect(opts.url, o);
    client.handleMessage = (packet, callback) => {
      ingest.handle(packet.topic, packet.payload as Buffer).then(
        () => callback(),
        (e: Error) => {
          logger.error({ err: e.message, topic: packet.topic }, 'not stored; dropping connection so the broker redelivers');
          client.stream.destroy();
        },
      );
    };
    readies.push(
      new Promise<void>((resolve) => {
        client.on('connect', (ack) => {
          logger.info({ url: redactUrl(opts.url), clientId: o.clientId }, 'connected to external MQTT broker');
          if (ack.sessionPresent) return resolve();
          client.subscribe(filters, { qos: 1 }, (err) => {
            if (err) logger.error({ err: err.message }, 'subscribe failed');
            else resolve();
          });
        });
      }),
    );
    client.on('error', (e) => logger.warn({ url: redactUrl(opts.url), err: e.message }, 'external MQTT broker error; retrying'));
    client.on('offline', () => logger.warn({ url: redactUrl(opts.url), clientId: o.clientId }, 'connection to the external MQTT broker lost; reconnecting'));
    clients.push(client);
  }
  return {
    clients,
    ready: Promise.all(readies).then(() => {}),
    async close() {
      // Forced: no further message is taken; what was not acknowledged yet the broker keeps in the
      // persistent session and delivers again (a stored reading's key, a quarantined one's claim, make a second delivery harmless).
      await Promise.all(clients.map((c) => c.endAsync(true)));
    },
  };
}
