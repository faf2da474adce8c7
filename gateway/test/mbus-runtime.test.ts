// The runtime with an M-Bus segment and aedes: readings published with meter identity, meter time
// and flags; a meter swapped behind the same address and a far-off meter clock raise events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startMbusSegment, waterMeterRecords, type MbusSegment } from '@amr/simulators';
import { ReadingsMessage, topics, type GatewayEvent } from '@amr/protocols';
import { Gateway, validateConfig } from '../src/index.js';
import { startBroker, type TestBroker } from './helpers/broker.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('gateway runtime on M-Bus', () => {
  let seg: MbusSegment;
  let broker: TestBroker;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'amr-mbrt-'));
    broker = await startBroker();
    seg = await startMbusSegment({
      timing: { pacing: false },
      slaves: [{ primaryAddress: 8, id: '80000001', manufacturer: 'ZRI', version: 1, medium: 0x16, records: () => waterMeterRecords({ time: new Date('2026-03-15T10:30:00Z'), volumeM3: 12.5, flowM3h: 0, errorFlags: 0, history: [] }) }],
    });
  });
  afterAll(async () => {
    await seg?.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes identity, meter time and flags; raises meter_swapped and clock_far_off', async () => {
    const gw = new Gateway({
      config: validateConfig({
        gateway: { id: 'gw-mbrt', bufferDir: dir, clockTolerance: '5m' },
        mqtt: { url: broker.url },
        buses: [{ name: 'mbus1', protocol: 'mbus', port: (seg.endpoint as { path: string }).path, timeout: '300ms' }],
        meters: [{ id: 'cold-1', bus: 'mbus1', primary: 8, interval: '1h' }],
      }),
      logger: pino({ level: 'silent' }),
      scheduler: false,
    });
    const events: GatewayEvent[] = [];
    gw.on('event', (e) => events.push(e));
    await gw.start();
    try {
      await gw.pollNow('cold-1');
      seg.slaves[0].id = '80000002'; // the meter is replaced; the new one got the same primary address
      await gw.pollNow('cold-1');
      for (let i = 0; i < 100 && gw.outbox.depth > 0; i++) await sleep(50);
      const readings = broker.published.filter((p) => p.topic === topics.readings('gw-mbrt')).flatMap((p) => ReadingsMessage.parse(JSON.parse(p.payload.toString())).readings);
      expect(readings.map((r) => r.meter.serial)).toEqual(['80000001', '80000002']);
      expect(readings[0]).toMatchObject({ meter: { meterKey: 'cold-1', bus: 'mbus1', protocol: 'mbus', address: '8', manufacturer: 'ZRI' }, meterTime: '2026-03-15T10:30:00.000Z' });
      expect(readings[0].quality).toContain('clock_far_off');
      expect(readings[0].values.find((v) => v.quantity === 'volume_m3')).toMatchObject({ value: 12.5, unit: 'm3' });
      expect(events.filter((e) => e.kind === 'clock_far_off')).toHaveLength(1); // once, not every poll
      expect(events.find((e) => e.kind === 'meter_swapped')).toMatchObject({ meterKey: 'cold-1', data: { before: 'ZRI:80000001', after: 'ZRI:80000002' } });
    } finally {
      await gw.stop();
    }
  });

  it('a meter that stalls longer than the inter-byte timeout fails as a timeout; the late rest of its answer is drained, counted in a metric, and the next poll reads clean', async () => {
    const gw = new Gateway({
      config: validateConfig({
        gateway: { id: 'gw-mbrt2', bufferDir: join(dir, 'stall') },
        mqtt: { url: broker.url },
        buses: [{ name: 'mbus1', protocol: 'mbus', port: (seg.endpoint as { path: string }).path, timeout: '300ms', interByteTimeout: '100ms' }],
        meters: [{ id: 'cold-1', bus: 'mbus1', primary: 8, interval: '1h', retries: 0 }],
      }),
      logger: pino({ level: 'silent' }),
      scheduler: false,
    });
    const faults = seg.slaves[0].faults!;
    await gw.start();
    try {
      // 250 ms stall, 100 ms tolerated: the rest comes 150 ms after the master gave up — after one
      // more inter-byte timeout of quiet; the drain waits for the bytes the frame's length still owed.
      faults.pauseMidAnswerMs = 250;
      await gw.pollNow('cold-1');
      faults.pauseMidAnswerMs = undefined;
      await gw.pollNow('cold-1');
      const polls = await gw.metrics.registry.getSingleMetricAsString('amr_gateway_polls_total');
      expect(polls).toMatch(/amr_gateway_polls_total\{meter="cold-1",bus="mbus1",result="failed"\} 1/);
      expect(polls).toMatch(/amr_gateway_polls_total\{meter="cold-1",bus="mbus1",result="ok"\} 1/);
      const drained = await gw.metrics.registry.getSingleMetricAsString('amr_gateway_line_drained_bytes_total');
      // The rest of a long frame: at least half of 6 + 3 (C, A, CI) + 12 (fixed header) bytes.
      const n = Number(/amr_gateway_line_drained_bytes_total\{bus="mbus1"\} (\d+)/.exec(drained)?.[1]);
      expect(n).toBeGreaterThanOrEqual(11);
    } finally {
      faults.pauseMidAnswerMs = undefined;
      await gw.stop();
    }
  });
});
