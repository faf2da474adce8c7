// Malformed and oversized MQTT payloads, topic spoofing, wrong credentials, a forbidden
// subscription and bytes that are not MQTT at all, sent to the head-end CLI (embedded broker) while a
// normal gateway publishes. Each is refused (broker) or dead-lettered (ingestion), counted on
// /metrics, and the normal gateway is not disturbed: its session never drops and all it sends lands.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import type { ModbusBus } from '@amr/simulators';
import { MAX_PAYLOAD_BYTES, topics } from '@amr/protocols';
import { Gateway, validateConfig } from '@amr/gateway';
import { DEAD_LETTER_KEEP_BYTES } from '@amr/headend';
import { readings } from '../../headend/test/ingest/fixtures.js';
import { build, countsOf, dropRedisPrefix, everySecond, killAll, meterBus, headendStore, prepareDataDir, range, spawnHeadend, startEnergyMeters, tempDir, until, withDataDir, type HeadendStore } from './harness.js';

/** Value of one sample line of a Prometheus text exposition, 0 when absent. */
function sample(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('hostile and broken MQTT clients beside a normal gateway', () => {
  const dir = tempDir('hostile');
  const children: ChildProcess[] = [];
  let store: HeadendStore | undefined;
  const clients: MqttClient[] = [];
  const prefix = `amr-fault-hostile-${process.pid}`;
  let sim: ModbusBus;
  let gw: Gateway | undefined;
  beforeAll(async () => {
    build();
    sim = await startEnergyMeters(2, 1, 1);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await gw?.stop().catch(() => undefined);
    await killAll(children);
    await sim?.close();
    await dropRedisPrefix(prefix);
    await store?.drop();
    dir.remove();
  });

  it('refuses and counts every bad attempt; the normal gateway loses nothing and keeps its session', async () => {
    const pid = process.pid;
    const ids = { good: `gw-good-${pid}`, mallory: `gw-mallory-${pid}`, victim: `gw-victim-${pid}` };
    store = await headendStore(join(dir.path, 'data'));
    const [good, mallory, victim] = await prepareDataDir(store, [
      { id: ids.good, meters: 2 },
      { id: ids.mallory, meters: 1 },
      { id: ids.victim, meters: 1 },
    ]);
    const he = await spawnHeadend({ ...store.env, MQTT_PORT: '0', REDIS_PREFIX: prefix }, children);
    const url = `mqtt://127.0.0.1:${he.mqttPort}`;
    const metrics = async () => (await fetch(`${he.httpUrl}/metrics`)).text();
    const before = await metrics();

    // The normal gateway: two meters every second.
    gw = new Gateway({
      config: validateConfig({
        gateway: { id: ids.good, bufferDir: join(dir.path, 'gw') },
        mqtt: { url, username: ids.good, password: good.password, batchSize: 2, reconnectMin: '200ms', reconnectMax: '1s' },
        buses: [meterBus(sim)],
        meters: everySecond(2),
      }),
      logger: pino({ level: 'silent' }),
    });
    await gw.start();
    let goodDrops = 0;
    const session = (gw as unknown as { conn: { client: MqttClient } }).conn.client;
    await until(() => session.connected && gw!.outbox.ackedSeq >= 2, 'the normal gateway delivering');
    session.on('close', () => goodDrops++);

    const connect = (username: string, password: string, clientId: string) => {
      const c = mqtt.connect(url, { username, password, clientId, reconnectPeriod: 0 });
      clients.push(c);
      return new Promise<MqttClient>((resolve, reject) => {
        c.once('connect', () => resolve(c));
        c.once('error', reject);
      });
    };
    const m = await connect(ids.mallory, mallory.password, `${ids.mallory}:1`);
    const own = topics.readings(ids.mallory);

    // 1. Not JSON, 2. over the contract's size limit, 3. another gateway's id in the payload on its
    // own topic: acknowledged (stored as dead letters, so never re-sent), nothing else happens.
    const garbage = Buffer.from([0x7b, 0x6f, 0x6f, 0x70, 0x73, 0x00, 0xff]);
    await m.publishAsync(own, garbage, { qos: 1 });
    const big = JSON.stringify({ ...readings(ids.mallory, [{ seq: 1, address: '1', value: 1 }]), pad: 'x'.repeat(MAX_PAYLOAD_BYTES) });
    await m.publishAsync(own, big, { qos: 1 });
    await m.publishAsync(own, JSON.stringify(readings(ids.victim, [{ seq: 1, address: '1', value: 66 }])), { qos: 1 });
    // 4. A forbidden subscription (another gateway's commands): refused with SUBACK 0x80 — the connection stays — and counted.
    await expect(m.subscribeAsync(topics.command(ids.good, '+'), { qos: 1 })).rejects.toThrow(/Subscribe error/);
    expect(m.connected).toBe(true);
    // 5. Topic spoofing: a valid message on another gateway's topic. The broker drops the connection.
    const m2 = await connect(ids.mallory, mallory.password, `${ids.mallory}:2`);
    const dropped = new Promise<void>((r) => m2.once('close', () => r()));
    m2.publish(topics.readings(ids.victim), JSON.stringify(readings(ids.victim, [{ seq: 2, address: '1', value: 77 }])), { qos: 1 });
    await dropped;
    // 6. Wrong password — under the normal gateway's own name and client id — and 7. an unknown gateway.
    await expect(connect(ids.good, 'not-the-password', `amr-gw-${ids.good}`)).rejects.toThrow(/Bad username or password/i);
    await expect(connect(`gw-nobody-${pid}`, 'x', `gw-nobody-${pid}`)).rejects.toThrow(/Bad username or password/i);
    // 8. Its own valid credentials under the normal gateway's client id (which would kick it offline).
    await expect(connect(ids.mallory, mallory.password, `amr-gw-${ids.good}`)).rejects.toThrow(/Identifier rejected/i);
    // 9. Bytes that are not MQTT at all.
    await new Promise<void>((resolve) => {
      const s = net.connect(he.mqttPort, '127.0.0.1', () => s.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')));
      s.on('error', () => resolve());
      s.on('close', () => resolve());
    });

    // Everything refused is counted on /metrics.
    const after = await metrics();
    const delta = (name: string, labels: string) => sample(after, name, labels) - sample(before, name, labels);
    expect(delta('amr_broker_rejected_total', 'action="connect"')).toBe(3);
    expect(delta('amr_broker_rejected_total', 'action="publish"')).toBe(1);
    expect(delta('amr_broker_rejected_total', 'action="subscribe"')).toBe(1);
    expect(delta('amr_ingest_dead_letters_total', 'kind="readings"')).toBe(3);

    // The normal gateway keeps going on the same session and delivers what it polls after the attack.
    const seqAfterAttack = gw.outbox.nextSeq - 1;
    await until(() => gw!.outbox.ackedSeq >= seqAfterAttack + 4, 'the normal gateway delivering after the attack');
    expect(goodDrops).toBe(0);
    await gw.stop();
    const last = gw.outbox.nextSeq - 1;
    expect(gw.outbox.depth).toBe(0);
    gw = undefined;
    expect((await he.stop('SIGTERM')).code).toBe(0);

    await withDataDir(store, async (db) => {
      const g = await countsOf(db, ids.good);
      expect(g.logged).toEqual(range(1, last));
      expect(g.seqs).toEqual(range(1, last));
      expect(g.duplicates).toBe(0);
      expect(g.deadLetters + g.quarantined).toBe(0);
      expect((await countsOf(db, ids.victim)).rows).toBe(0); // nothing landed under the spoofed gateway
      const dl = (await db.query<{ reason: string; payload_b64: string }>('SELECT reason, payload_b64 FROM dead_letters WHERE gateway_id = $1 ORDER BY id', [ids.mallory])).rows;
      expect(dl.map((d) => d.reason)).toEqual([
        expect.stringMatching(/^not JSON/),
        expect.stringMatching(/^payload too large/),
        expect.stringMatching(/differs from topic/),
      ]);
      expect(Buffer.from(dl[0].payload_b64, 'base64')).toEqual(garbage); // the exact bytes, for an engineer
      // An oversized payload keeps only its head (a client must not fill the database through dead letters).
      expect(dl[1].reason).toMatch(new RegExp(`payload ${Buffer.byteLength(big)} bytes; first ${DEAD_LETTER_KEEP_BYTES} kept`));
      expect(Buffer.from(dl[1].payload_b64, 'base64')).toEqual(Buffer.from(big).subarray(0, DEAD_LETTER_KEEP_BYTES));
      expect((await countsOf(db, ids.mallory)).rows).toBe(0);
      void victim;
    });
  }, 90_000);
});
