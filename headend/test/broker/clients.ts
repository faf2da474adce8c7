/**
 * What the broker's authentication tests share: real mqtt.js CONNECTs without retry (a refusal comes
 * back as its CONNACK code), a guard that names what a stuck wait was for, and a metric's value by labels.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Registry } from 'prom-client';

export type Attempt = { client?: MqttClient; code?: number; error?: string };

/** Connections opened through `attempt`, ended by `endAll` (afterAll). */
export function mqttClients() {
  const open: MqttClient[] = [];
  /** One CONNECT, no retry: resolves with the client, or with the CONNACK's refusal code. */
  const attempt = (url: string, o: IClientOptions): Promise<Attempt> => new Promise((resolve) => {
    const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 120_000, ...o });
    open.push(c);
    c.once('connect', () => resolve({ client: c }));
    c.once('error', (e: Error & { code?: number }) => {
      c.end(true);
      resolve({ code: e.code, error: e.message });
    });
  });
  const connected = async (url: string, o: IClientOptions): Promise<MqttClient> => {
    const a = await attempt(url, o);
    if (!a.client) throw new Error(`expected ${o.clientId} to connect, got: ${a.error}`);
    return a.client;
  };
  return { open, attempt, connected, endAll: () => Promise.all(open.map((c) => c.endAsync(true).catch(() => undefined))) };
}

/** Fails with what it waited for instead of hanging the suite. */
export const guard = <T>(p: Promise<T>, what: string, ms = 120_000) =>
  Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`still waiting for ${what} after ${ms / 1000} s`)), ms).unref())]);

/** A metric's value for the series whose labels include `labels` (0 when there is none yet). */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await registry.getSingleMetric(name)!.get();
  return m.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}
