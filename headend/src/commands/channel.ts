/**
 * The head-end's MQTT client for gateway commands: publishes on `amr/v1/<gw>/cmd/<name>` and takes
 * every `amr/v1/+/reply/+`. The same client whichever broker is in use: on the embedded aedes it logs
 * in as the head-end's internal user (allowed everything, server/headend.ts), on an external broker
 * with MQTT_USERNAME/PASSWORD and a shared subscription, so among several head-ends one stores each
 * reply (any of them can: the reply is matched by the command's id in the database, not in memory).
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { topics } from '@amr/protocols';
import { redactUrl } from '../db/index.js';

export interface CommandChannelOptions {
  url: string;
  username?: string;
  password?: string;
  clientId: string;
  /** External brokers: replies through `$share/<group>/…` (one head-end of the group gets each). */
  shareGroup?: string;
  logger: Logger;
  onReply(topic: string, payload: Buffer): Promise<void>;
}

export interface CommandChannel {
  /** Publishes with QoS 1; resolves on the broker's PUBACK, rejects when not connected. */
  publish(topic: string, payload: string): Promise<void>;
  /** Resolves once the reply subscription is in place. */
  ready: Promise<void>;
  close(): Promise<void>;
}

export function openCommandChannel(o: CommandChannelOptions): CommandChannel {
  const filter = o.shareGroup ? `$share/${o.shareGroup}/${topics.allGateways('reply/+')}` : topics.allGateways('reply/+');
  const opts: IClientOptions = { clientId: o.clientId, clean: true, protocolVersion: 4, reconnectPeriod: 1000, username: o.username, password: o.password };
  const client: MqttClient = mqtt.connect(o.url, opts);
  // Replies are stored before the PUBACK (mqtt.js acks when handleMessage calls back): a reply lost
  // to a database outage is redelivered, not dropped.
  client.handleMessage = (packet, callback) => {
    o.onReply(packet.topic, packet.payload as Buffer).then(
      () => callback(),
      (e: Error) => {
        o.logger.error({ err: e.message, topic: packet.topic }, 'command reply not stored; dropping the connection so the broker redelivers');
        client.stream.destroy();
      },
    );
  };
  const ready = new Promise<void>((resolve) => {
    client.on('connect', () => {
      client.subscribe(filter, { qos: 1 }, (err) => {
        if (err) o.logger.error({ err: err.message, filter }, 'command replies: subscribe failed');
        else resolve();
      });
    });
  });
  client.on('error', (e) => o.logger.warn({ url: redactUrl(o.url), err: e.message }, 'command channel: MQTT error; retrying'));
  return {
    ready,
    async publish(topic, payload) {
      if (!client.connected) throw new Error(`the head-end is not connected to the MQTT broker (${redactUrl(o.url)})`);
      await client.publishAsync(topic, payload, { qos: 1 });
    },
    async close() {
      await Promise.race([client.endAsync().catch(() => undefined), new Promise((r) => setTimeout(r, 3000))]);
    },
  };
}
