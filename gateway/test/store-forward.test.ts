// End to end in one process: Modbus simulator on a pty → gateway (scheduler, outbox, publisher) →
// embedded aedes. The broker goes down for a while and comes back: every reading arrives, in
// order, none lost; a dead meter is counted and reported as an event while the others keep their schedule.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startModbusBus, type ModbusBus } from '@amr/simulators';
import { ReadingsMessage, GatewayEvent, GatewayStatus, topics } from '@amr/protocols';
import { Gateway, validateConfig } from '../src/index.js';
import { startBroker, type TestBroker } from './helpers/broker.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('store and forward through a broker outage', () => {
  let sim: ModbusBus;
  let broker: TestBroker;
  let dir: string;
  let energy = 1000;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'amr-sf-'));
    broker = await startBroker();
    sim = await startModbusBus({
      timing: { pacing: false },
      slaves: [
        { unitId: 1, map: 'sdm630', read: () => ({ energy_kwh: (energy += 1), power_w: 100 }) },
        { unitId: 2, map: 'amr-heat-calc', read: () => ({ energy_kwh: 5, volume_m3: 1 }) },
        { unitId: 5, map: 'sdm120', read: () => ({}), faults: { silent: true } },
      ],
    });
  });
  afterAll(async () => {
    await sim?.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every reading exactly in seq order after the outage; dead meter evented, others on schedule', async () => {
    const gwId = `gw-sf-${process.pid}`;
    const config = validateConfig({
      gateway: { id: gwId, bufferDir: dir, silentAfter: 2 },
      mqtt: { url: broker.url, batchSize: 3, reconnectMin: '200ms', reconnectMax: '1s' },
      buses: [{ name: 'rs485', protocol: 'modbus', port: (sim.endpoint as { path: string }).path, timeout: '150ms', retries: 1 }],
      meters: [
        { id: 'el-1', bus: 'rs485', slave: 1, registerMap: 'sdm630', interval: '1s' },
        { id: 'heat-2', bus: 'rs485', slave: 2, registerMap: 'amr-heat-calc', interval: '1s' },
        { id: 'dead-5', bus: 'rs485', slave: 5, registerMap: 'sdm120', interval: '1s' },
      ],
    });
    const gw = new Gateway({ config, logger: pino({ level: 'silent' }) });
    await gw.start();
    try {
      const readingsOf = () =>
        broker.published
          .filter((p) => p.topic === topics.readings(gwId))
          .flatMap((p) => ReadingsMessage.parse(JSON.parse(p.payload.toString())).readings);
      await until(() => readingsOf().length >= 2, 'first readings');
      await broker.down();
      const before = gw.outbox.nextSeq;
      await until(() => gw.outbox.depth >= 6, 'readings buffered during the outage');
      expect(gw.outbox.nextSeq).toBeGreaterThan(before);
      await broker.up();
      await until(() => gw.outbox.depth === 0 && readingsOf().length > 0 && readingsOf().at(-1)!.seq >= gw.outbox.nextSeq - 1, 'drain after reconnect');
      await gw.stop();

      const got = readingsOf();
      const seqs = got.map((r) => r.seq);
      const unique = [...new Set(seqs)];
      // every seq from 1 to the last appended, each delivered, first deliveries in order
      expect(unique).toEqual(Array.from({ length: gw.outbox.nextSeq - 1 }, (_, i) => i + 1));
      // QoS 1 may resend only the batch that was in flight when the broker went away
      expect(seqs.length - unique.length).toBeLessThanOrEqual(3);
      expect(got.every((r) => r.meter.meterKey !== 'dead-5')).toBe(true);
      // the live meters kept their schedule: several readings each
      expect(got.filter((r) => r.meter.meterKey === 'el-1').length).toBeGreaterThanOrEqual(3);
      expect(got.filter((r) => r.meter.meterKey === 'heat-2').length).toBeGreaterThanOrEqual(3);
      const el = got.filter((r) => r.meter.meterKey === 'el-1').map((r) => r.values.find((v) => v.quantity === 'energy_kwh')!.value!);
      expect([...el].sort((a, b) => a - b)).toEqual(el); // register never goes back in seq order

      const events = broker.published.filter((p) => p.topic === topics.events(gwId)).map((p) => GatewayEvent.parse(JSON.parse(p.payload.toString())));
      expect(events.some((e) => e.kind === 'poll_failed' && e.meterKey === 'dead-5')).toBe(true);
      expect(events.some((e) => e.kind === 'meter_silent' && e.meterKey === 'dead-5')).toBe(true);
      const metrics = await gw.metrics.registry.getSingleMetricAsString('amr_gateway_polls_total');
      expect(metrics).toMatch(/meter="dead-5".*result="failed"/);

      const status = broker.published.filter((p) => p.topic === topics.status(gwId)).map((p) => ({ retain: p.retain, s: GatewayStatus.parse(JSON.parse(p.payload.toString())) }));
      expect(status[0]).toMatchObject({ retain: true, s: { state: 'online', reason: 'birth' } });
      expect(status.at(-1)).toMatchObject({ retain: true, s: { state: 'offline', reason: 'shutdown' } });
    } finally {
      await gw.stop().catch(() => undefined);
    }
  });
});
