// Operation without a broker: the outbox fills up, the documented policy applies (low priority
// refused first, then everything; nothing stored is dropped), events are raised, /health turns
// 503, /metrics shows the depth, and the raw telegram log records every transaction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startPulseBus, type PulseBus } from '@amr/simulators';
import type { GatewayEvent } from '@amr/protocols';
import { Gateway, validateConfig } from '../src/index.js';
import { replayLog } from '../src/cli/replay.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('gateway operation with the broker unreachable', () => {
  let sim: PulseBus;
  let dir: string;
  let deadPort: number;
  let pulses = 1000;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'amr-op-'));
    sim = await startPulseBus({ timing: { pacing: false }, devices: [{ deviceId: 1, read: () => [(pulses += 10), 5, 0, 0] }] });
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    deadPort = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r())); // nobody listens there now
  });
  afterAll(async () => {
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies the size policy, raises events, reports health and metrics, logs telegrams', async () => {
    const config = validateConfig({
      gateway: { id: 'gw-op', bufferDir: join(dir, 'buf'), outboxMaxBytes: 3000, outboxNearFull: 0.5 },
      mqtt: { url: `mqtt://127.0.0.1:${deadPort}`, reconnectMin: '5s' },
      health: { host: '127.0.0.1', port: 0 },
      rawLog: { dir: join(dir, 'raw'), maxBytes: 2000, files: 3 },
      buses: [{ name: 'p', protocol: 'pulse', port: (sim.endpoint as { path: string }).path, timeout: '200ms' }],
      meters: [
        { id: 'hot-water', bus: 'p', device: 1, channel: 0, channels: 4, weight: 0.01, quantity: 'volume_m3', interval: '1h' },
        { id: 'cold-water', bus: 'p', device: 1, channel: 1, channels: 4, weight: 0.01, quantity: 'volume_m3', interval: '1h', priority: 'low' },
      ],
    });
    const gw = new Gateway({ config, logger: pino({ level: 'silent' }), scheduler: false });
    const events: GatewayEvent[] = [];
    gw.on('event', (e) => events.push(e));
    await gw.start();
    try {
      const [hot, cold] = gw.cfg.meters;
      let lowStored = 0;
      const first = await gw.poll(hot);
      expect(first && "error" in first ? first.error.message : "ok").toBe("ok");
      while (gw.outbox.level === "ok") {
        await gw.poll(hot);
        if ((await gw.poll(cold))?.ok) lowStored++;
      }
      expect(gw.outbox.level).toBe('near_full');
      expect(events.map((e) => e.kind)).toContain('outbox_near_full');
      const depthAtNearFull = gw.outbox.depth;
      const missedBefore = gw.missedPolls.get('cold-water') ?? 0;
      expect(await gw.poll(cold)).toBeNull(); // low priority refused
      expect(gw.missedPolls.get('cold-water')).toBe(missedBefore + 1);
      while (gw.outbox.level !== 'full') await gw.poll(hot);
      expect(events.map((e) => e.kind)).toContain('outbox_full');
      expect(await gw.poll(hot)).toBeNull();
      expect(gw.missedPolls.get('hot-water')).toBe(1);
      // nothing stored was dropped
      expect(gw.outbox.depth).toBeGreaterThan(depthAtNearFull);
      expect(gw.outbox.peek(1000).filter((r) => r.meter.meterKey === 'cold-water').length).toBe(lowStored);

      const base = `http://127.0.0.1:${gw.healthPort}`;
      const h = await fetch(`${base}/health`);
      expect(h.status).toBe(503);
      expect(await h.json()).toMatchObject({ ok: false, outboxLevel: 'full', mqttConnected: false });
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`amr_gateway_outbox_depth ${gw.outbox.depth}\\b`));
      expect(metrics).toMatch(/amr_gateway_missed_polls_total\{meter="cold-water",reason="outbox_near_full"\} [1-9]/);
      expect(metrics).toMatch(/amr_gateway_polls_total\{meter="hot-water",bus="p",result="ok"\}/);

      // raw log: rotated by size, and replayable
      const rawFile = join(dir, 'raw', 'telegrams.jsonl');
      expect(existsSync(`${rawFile}.1`)).toBe(true);
      const replay = replayLog(readFileSync(rawFile, 'utf8'));
      expect(replay.length).toBeGreaterThan(0);
      expect(replay.every((r) => r.ok)).toBe(true);
      expect((replay[0].decoded as { deviceId: number }[])[0].deviceId).toBe(1);
    } finally {
      await gw.stop();
    }
    await sleep(10);
  });
});
