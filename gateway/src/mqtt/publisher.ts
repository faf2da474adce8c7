/**
 * Drains the outbox to `amr/v1/<gw>/readings` in order: one ReadingsMessage in flight at a time,
 * each holding up to `batchSize` readings (and under the contract's payload limit); the readings
 * are acknowledged in the outbox only when the broker's PUBACK arrives. If the connection drops
 * with a batch in flight, mqtt.js resends it (DUP) on the persistent session; if the process dies,
 * the outbox replays it: at-least-once, and the head-end dedupes by (gateway, seq).
 */
import type { MqttClient } from 'mqtt';
import { CONTRACT_VERSION, MAX_PAYLOAD_BYTES, topics, type MeterReading, type ReadingsMessage } from '@amr/protocols';
import type { Outbox } from '../outbox/outbox.js';

export interface PublisherHooks {
  onPublished?(count: number, latencyMs: number, lastSeq: number): void;
  onError?(err: Error): void;
}

/** Builds one message from the head of `pending`, staying under the contract's payload limit. */
export function buildBatch(gatewayId: string, pending: MeterReading[], budget = MAX_PAYLOAD_BYTES - 1024): { payload: string; count: number } {
  const head = JSON.stringify({ v: CONTRACT_VERSION, gatewayId, sentAt: new Date().toISOString(), readings: [] });
  let size = head.length;
  let count = 0;
  for (const r of pending) {
    const len = JSON.stringify(r).length + 1;
    if (count > 0 && size + len > budget) break;
    size += len;
    count++;
  }
  const msg: ReadingsMessage = { v: CONTRACT_VERSION, gatewayId, sentAt: new Date().toISOString(), readings: pending.slice(0, count) };
  return { payload: JSON.stringify(msg), count };
}

export class Publisher {
  private running = false;
  private stopped = false;
  private again = false;

  constructor(
    private readonly client: MqttClient,
    private readonly outbox: Outbox,
    private readonly gatewayId: string,
    private readonly batchSize: number,
    private readonly hooks: PublisherHooks = {},
  ) {}

  /** Starts a drain if none is running; safe to call on every append and every (re)connect. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.drain().finally(() => {
      this.running = false;
      if (this.again && !this.stopped) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async drain(): Promise<void> {
    while (!this.stopped && this.client.connected && this.outbox.depth > 0) {
      const pending = this.outbox.peek(this.batchSize);
      if (pending.length === 0) return; // the disk cannot be read now; the outbox kicks again when it can
      const { payload, count } = buildBatch(this.gatewayId, pending);
      const lastSeq = pending[count - 1].seq;
      const t0 = performance.now();
      try {
        await this.client.publishAsync(topics.readings(this.gatewayId), payload, { qos: 1 });
      } catch (e) {
        this.hooks.onError?.(e as Error);
        return; // the next 'connect' kicks again
      }
      this.outbox.ack(lastSeq);
      this.hooks.onPublished?.(count, performance.now() - t0, lastSeq);
    }
  }

  /** Waits until no batch is in flight (for a clean shutdown). */
  async idle(timeoutMs = 5000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.running && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }

  stop(): void {
    this.stopped = true;
  }
}
