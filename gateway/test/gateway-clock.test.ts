// The optional time source of the Gateway (`now`): readings carry that clock's time as gatewayTime,
// which is how the demo replays a simulated month. Without it, gatewayTime is the wall clock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startMbusSegment, startPulseBus, waterMeterRecords, type MbusSegment, type PulseBus } from '@amr/simulators';
import { Gateway, validateConfig } from '../src/index.js';

describe('gateway time source', () => {
  let sim: PulseBus;
  let seg: MbusSegment;
  let dir: string;
  let deadPort: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'amr-gwclock-'));
    // An M-Bus meter whose clock reads simulated time (2026-01-15 03:00).
    seg = await startMbusSegment({
      timing: { pacing: false },
      slaves: [{ primaryAddress: 5, id: '80000005', manufacturer: 'ZRI', version: 1, medium: 0x16, records: () => waterMeterRecords({ time: new Date('2026-01-15T03:00:00Z'), volumeM3: 1.5, flowM3h: 0, errorFlags: 0, history: [] }) }],
    });
    sim = await startPulseBus({ timing: { pacing: false }, devices: [{ deviceId: 1, read: () => [1000, 0] }] });
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    deadPort = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
  });
  afterAll(async () => {
    await sim?.close();
    await seg?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const configFor = (id: string) =>
    validateConfig({
      gateway: { id, bufferDir: join(dir, id) },
      mqtt: { url: `mqtt://127.0.0.1:${deadPort}`, reconnectMin: '5s' },
      buses: [{ name: 'p', protocol: 'pulse', port: (sim.endpoint as { path: string }).path, timeout: '200ms' }],
      meters: [{ id: 'water', bus: 'p', device: 1, channel: 0, channels: 2, weight: 0.01, quantity: 'volume_m3' }],
    });

  it.each([
    ['injected clock', '2026-01-15T03:00:00.000Z'],
    ['wall clock', null],
  ])('stamps gatewayTime from the %s', async (_name, simulated) => {
    let t = simulated === null ? 0 : Date.parse(simulated);
    const gw = new Gateway({ config: configFor(simulated === null ? 'gw-wall' : 'gw-sim'), logger: pino({ level: 'silent' }), scheduler: false, ...(simulated === null ? {} : { now: () => t }) });
    await gw.start();
    try {
      const before = Date.now();
      await gw.pollNow();
      t += 3 * 3_600_000;
      await gw.pollNow();
      const times = gw.outbox.peek(10).map((r) => Date.parse(r.gatewayTime));
      expect(times).toHaveLength(2);
      if (simulated !== null) expect(times).toEqual([Date.parse(simulated), Date.parse(simulated) + 3 * 3_600_000]);
      else for (const x of times) expect(Math.abs(x - before)).toBeLessThan(60_000);
    } finally {
      await gw.stop();
    }
  });

  it.each([
    ['injected clock at the meter\'s time', () => Date.parse('2026-01-15T03:01:00Z'), false],
    ['wall clock, months after the meter\'s time', undefined, true],
  ])('judges the meter clock against the %s', async (_name, now, farOff) => {
    const id = farOff ? 'gw-mbus-wall' : 'gw-mbus-sim';
    const config = validateConfig({
      gateway: { id, bufferDir: join(dir, id) },
      mqtt: { url: `mqtt://127.0.0.1:${deadPort}`, reconnectMin: '5s' },
      buses: [{ name: 'm', protocol: 'mbus', port: (seg.endpoint as { path: string }).path, timeout: '500ms' }],
      meters: [{ id: 'wm', bus: 'm', primary: 5 }],
    });
    const gw = new Gateway({ config, logger: pino({ level: 'silent' }), scheduler: false, ...(now ? { now } : {}) });
    await gw.start();
    try {
      await gw.pollNow();
      const [r] = gw.outbox.peek(1);
      expect(r.meterTime).toBe('2026-01-15T03:00:00.000Z');
      expect(r.quality.includes('clock_far_off')).toBe(farOff);
    } finally {
      await gw.stop();
    }
  });
});
