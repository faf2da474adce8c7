// A bus device vanishes and comes back on the same path or port (a USB adapter pulled and plugged
// back: a pty behind a fixed link; a serial-over-TCP converter restarted: the same TCP port), with
// the real scheduler polling every second: /health turns 503 within the short grace set here, the
// line is reopened by itself, every meter answers again by its second poll after the return, each
// with a meter_back event, and /health is 200 again. Then a bus that stays open but on which every
// meter times out (pulse counters muted) is reopened by the same rule, and a meter silent before a
// restart yields meter_back after it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import {
  startMbusSegment, startModbusBus, startPulseBus, waterMeterRecords, type Endpoint, type Pluggable,
} from '@amr/simulators';
import { GatewayEvent, topics } from '@amr/protocols';
import { Gateway, validateConfig } from '../src/index.js';
import { startBroker, type TestBroker } from './helpers/broker.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(40);
  }
}
const portOf = (e: Endpoint) => (e.kind === 'pty' ? e.path : `tcp://${e.host}:${e.port}`);

interface LogLine {
  level: number;
  msg: string;
  bus?: string;
}

let broker: TestBroker;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'amr-link-'));
  broker = await startBroker();
});
afterAll(async () => {
  await broker?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A gateway on one bus, polling every second, reopening after 50 ms doubling to 200 ms, grace 300 ms. */
async function startGateway(id: string, bus: Record<string, unknown>, meters: Record<string, unknown>[], bufferDir = join(dir, id)) {
  const logs: LogLine[] = [];
  const events: GatewayEvent[] = [];
  const readings: { meter: string; at: number }[] = [];
  const failures: { meter: string; at: number }[] = [];
  const gw = new Gateway({
    config: validateConfig({
      gateway: { id, bufferDir, silentAfter: 2, reopenMin: '50ms', reopenMax: '200ms' },
      mqtt: { url: broker.url, reconnectMin: '100ms', reconnectMax: '200ms' },
      health: { host: '127.0.0.1', port: 0, grace: '300ms' },
      buses: [{ name: 'b', timeout: '150ms', retries: 1, ...bus }],
      meters: meters.map((m) => ({ bus: 'b', interval: '1s', ...m })),
    }),
    logger: pino({ level: 'info' }, { write: (s: string) => void logs.push(JSON.parse(s) as LogLine) }),
  });
  gw.on('event', (e) => events.push(e));
  gw.on('reading', (_seq, meter) => readings.push({ meter, at: Date.now() }));
  gw.on('pollFailed', (meter) => failures.push({ meter, at: Date.now() }));
  await gw.start();
  const health = async () => {
    const r = await fetch(`http://127.0.0.1:${gw.healthPort}/health`);
    return { status: r.status, body: (await r.json()) as { ok: boolean; problems: string[]; buses: { state: string; lastError: { code: string } | null; consecutiveFailures: number }[] } };
  };
  return { gw, logs, events, readings, failures, health };
}

/**
 * The whole story on one bus: every meter read; the device vanishes; 503 naming the bus; every
 * meter silent; the device returns; every meter answers by its second poll after that, meter_back
 * for each, 200 again; the close/reopen logged at warn, the recovery at info.
 */
async function vanishAndReturn(id: string, device: Pluggable, bus: Record<string, unknown>, meters: Record<string, unknown>[], lossCode: RegExp) {
  const t = await startGateway(id, bus, meters);
  const ids = meters.map((m) => m.id as string);
  try {
    await until(() => ids.every((m) => t.readings.some((r) => r.meter === m)), 'a first reading of every meter');
    expect((await t.health()).status).toBe(200);

    await device.unplug();
    await until(async () => (await t.health()).status === 503, '/health to turn 503 with the device gone');
    const down = await t.health();
    expect(down.body.ok).toBe(false);
    expect(down.body.problems.join('; ')).toMatch(/bus b( unavailable|: all \d+ meters silent)/);
    await until(() => ids.every((m) => t.events.some((e) => e.kind === 'meter_silent' && e.meterKey === m)), 'meter_silent for every meter');
    expect((await t.health()).body.buses[0].state).toBe('reopening');

    await device.replug();
    const back = Date.now();
    await until(() => ids.every((m) => t.readings.some((r) => r.meter === m && r.at >= back)), 'a reading of every meter after the device returned');
    for (const m of ids) {
      // Polls are every second and the reopen back-off is at most 200 ms: at most one poll can fail
      // between the return and the reopen, so each meter answers by its second poll.
      const firstOk = t.readings.find((r) => r.meter === m && r.at >= back)!.at;
      expect(t.failures.filter((f) => f.meter === m && f.at >= back && f.at <= firstOk).length, `failed polls of ${m} after the return`).toBeLessThanOrEqual(1);
      expect(t.events.some((e) => e.kind === 'meter_back' && e.meterKey === m), `meter_back of ${m}`).toBe(true);
    }
    await until(async () => (await t.health()).status === 200, '/health to be 200 again');
    const up = await t.health();
    expect(up.body.buses[0]).toMatchObject({ state: 'open', consecutiveFailures: 0 });
    const metrics = await (await fetch(`http://127.0.0.1:${t.gw.healthPort}/metrics`)).text();
    // Why the line counted as lost: the driver's typed error (by code), or the every-meter-timed-out rule.
    const codes = [...metrics.matchAll(/amr_gateway_bus_losses_total\{bus="b",code="([A-Z_]+)"\} [1-9]/g)].map((m) => m[1]);
    expect(codes.length).toBeGreaterThan(0);
    for (const c of codes) expect(c).toMatch(lossCode);
    expect(metrics).toMatch(/amr_gateway_bus_up\{bus="b"\} 1\b/);

    const WARN = 40;
    const INFO = 30;
    expect(t.logs.some((l) => l.level === WARN && /bus b closed/.test(l.msg)), 'bus close logged at warn').toBe(true);
    expect(t.logs.some((l) => l.level === WARN && /bus b reopened/.test(l.msg)), 'bus reopen logged at warn').toBe(true);
    expect(t.logs.some((l) => l.level === INFO && /bus b recovered/.test(l.msg)), 'recovery logged at info').toBe(true);
    // The events reached the broker (the head-end's way of knowing), not only the local emitter.
    await until(() => broker.published.some((p) => p.topic === topics.events(id) && GatewayEvent.parse(JSON.parse(p.payload.toString())).kind === 'meter_back'), 'meter_back at the broker');
  } finally {
    await t.gw.stop();
  }
}

describe('a bus device vanishes and returns on the same path or port', () => {
  it('pulse counters on a serial adapter (pty) unplugged and plugged back', async () => {
    const link = join(dir, 'ttyPULSE');
    const sim = await startPulseBus({ transport: { kind: 'pty', link }, timing: { pacing: false }, devices: [{ deviceId: 1, read: () => [100, 200] }, { deviceId: 2, read: () => [300, 400] }] });
    try {
      await vanishAndReturn('gw-link-pulse', sim, { protocol: 'pulse', port: link }, [
        { id: 'p1', device: 1, channel: 0, channels: 2, weight: 0.01, quantity: 'volume_m3' },
        { id: 'p2', device: 1, channel: 1, channels: 2, weight: 0.01, quantity: 'volume_m3' },
        { id: 'p3', device: 2, channel: 0, channels: 2, weight: 0.01, quantity: 'volume_m3' },
      ], /^(PORT_CLOSED|EIO)$/); // the pty hung up: the write fails with EIO and serialport closes the port
    } finally {
      await sim.close();
    }
  });

  it('Modbus RTU through a TCP converter that restarts on the same port', async () => {
    const sim = await startModbusBus({
      transport: { kind: 'tcp', port: 0 },
      framing: 'rtu',
      timing: { pacing: false },
      slaves: [{ unitId: 1, map: 'sdm120', read: () => ({ energy_kwh: 10 }) }, { unitId: 2, map: 'sdm120', read: () => ({ energy_kwh: 20 }) }],
    });
    try {
      await vanishAndReturn('gw-link-modbus', sim, { protocol: 'modbus', port: portOf(sim.endpoint) }, [
        { id: 'e1', slave: 1, registerMap: 'sdm120' },
        { id: 'e2', slave: 2, registerMap: 'sdm120' },
      ], /^(PEER_ENDED|ECONNRESET|EPIPE)$/); // the converter's FIN or reset
    } finally {
      await sim.close();
    }
  });

  it('M-Bus (native driver) on a serial adapter (pty) unplugged and plugged back', async () => {
    const link = join(dir, 'ttyMBUS');
    const water = (volumeM3: number) => () => waterMeterRecords({ time: new Date('2026-03-15T10:30:00Z'), volumeM3, flowM3h: 0, errorFlags: 0, history: [] });
    const sim = await startMbusSegment({
      transport: { kind: 'pty', link },
      timing: { pacing: false },
      slaves: [
        { primaryAddress: 1, id: '10000001', manufacturer: 'ZRI', version: 1, medium: 0x16, records: water(1) },
        { primaryAddress: 2, id: '10000002', manufacturer: 'ZRI', version: 1, medium: 0x16, records: water(2) },
      ],
    });
    try {
      await vanishAndReturn('gw-link-mbus', sim, { protocol: 'mbus', port: link, baud: 9600, timeout: '200ms' }, [
        { id: 'w1', primary: 1 },
        { id: 'w2', primary: 2 },
      ], /^(PORT_CLOSED|EIO)$/);
    } finally {
      await sim.close();
    }
  });
});

describe('M-Bus through libmbus', () => {
  it('a TCP converter that restarts on the same port', async () => {
    const water = (volumeM3: number) => () => waterMeterRecords({ time: new Date('2026-03-15T10:30:00Z'), volumeM3, flowM3h: 0, errorFlags: 0, history: [] });
    const sim = await startMbusSegment({
      transport: { kind: 'tcp', port: 0 },
      timing: { pacing: false },
      slaves: [{ primaryAddress: 3, id: '30000003', manufacturer: 'ZRI', version: 1, medium: 0x16, records: water(3) }],
    });
    try {
      await vanishAndReturn('gw-link-libmbus', sim, { protocol: 'mbus', driver: 'libmbus', sndNke: 'never', port: portOf(sim.endpoint), timeout: '300ms' }, [{ id: 'w3', primary: 3 }], /^ALL_METERS_TIMED_OUT$/); // libmbus reports texts, no codes: the timeout rule
    } finally {
      await sim.close();
    }
  });
});

describe('the same rule when the line stays open but carries nothing', () => {
  it('every pulse counter of the bus timing out closes and reopens the line; they answer again', async () => {
    const devices = [
      { deviceId: 1, read: () => [5, 6], faults: { silent: false } },
      { deviceId: 2, read: () => [7, 8], faults: { silent: false } },
    ];
    const sim = await startPulseBus({ transport: { kind: 'tcp', port: 0 }, timing: { pacing: false }, devices });
    const t = await startGateway('gw-link-mute', { protocol: 'pulse', port: portOf(sim.endpoint) }, [
      { id: 'q1', device: 1, channel: 0, channels: 2, weight: 1, quantity: 'volume_m3' },
      { id: 'q2', device: 2, channel: 1, channels: 2, weight: 1, quantity: 'volume_m3' },
    ]);
    try {
      await until(() => ['q1', 'q2'].every((m) => t.readings.some((r) => r.meter === m)), 'a first reading of both meters');
      // One mute counter among answering ones is that meter's trouble: no reopen.
      devices[0].faults.silent = true;
      await until(() => t.events.some((e) => e.kind === 'meter_silent' && e.meterKey === 'q1'), 'q1 silent');
      expect(t.logs.some((l) => /bus b closed/.test(l.msg)), 'no reopen while q2 answers').toBe(false);
      // Both mute (a converter that accepts connections and forwards nothing): the line is reopened.
      devices[1].faults.silent = true;
      await until(() => t.logs.some((l) => /bus b closed: every meter of the bus \(2\) timed out 2 polls in a row/.test(l.msg)), 'the line closed for timeouts on every meter');
      await until(async () => (await t.health()).status === 503, '/health 503 with every meter of the bus silent');
      expect((await t.health()).body.problems).toContain('bus b: all 2 meters silent');
      devices[0].faults.silent = false;
      devices[1].faults.silent = false;
      const back = Date.now();
      await until(() => ['q1', 'q2'].every((m) => t.readings.some((r) => r.meter === m && r.at >= back)), 'both meters answering again');
      expect(t.events.filter((e) => e.kind === 'meter_back').map((e) => e.meterKey).sort()).toEqual(['q1', 'q2']);
      await until(async () => (await t.health()).status === 200, '/health 200 again');
    } finally {
      await t.gw.stop();
      await sim.close();
    }
  });
});

describe('a device missing when the gateway starts (wrong cable, adapter not yet plugged in)', () => {
  it('reports the bus unavailable with the OS error code, and reads the meter once the device appears', async () => {
    const link = join(dir, 'ttyLATE');
    const t = await startGateway('gw-link-late', { protocol: 'pulse', port: link }, [{ id: 'l1', device: 5, channel: 0, channels: 1, weight: 1, quantity: 'volume_m3' }]);
    let sim: Awaited<ReturnType<typeof startPulseBus>> | null = null;
    try {
      await until(async () => (await t.health()).status === 503, '/health 503 with the device missing');
      const h = await t.health();
      expect(h.body.buses[0]).toMatchObject({ state: 'reopening', lastError: { code: 'ENOENT' } });
      expect(h.body.problems.join('; ')).toMatch(/bus b unavailable for \d+ s \(cannot open b/);
      expect(t.events.filter((e) => e.kind === 'bus_error')).toHaveLength(1); // the retries are log lines, not events
      sim = await startPulseBus({ transport: { kind: 'pty', link }, timing: { pacing: false }, devices: [{ deviceId: 5, read: () => [9] }] });
      await until(() => t.readings.some((r) => r.meter === 'l1'), 'the first reading once the device is there');
      await until(async () => (await t.health()).status === 200, '/health 200');
    } finally {
      await t.gw.stop();
      await sim?.close();
    }
  });
});

describe('meter_back across a gateway restart', () => {
  it('a meter silent before the restart that answers after it yields meter_back, once', async () => {
    const dev = { deviceId: 3, read: () => [42], faults: { silent: true } };
    const sim = await startPulseBus({ timing: { pacing: false }, devices: [dev] });
    const bufferDir = join(dir, 'restart');
    const cfg = (id: string) => ({ id, bus: 'b', device: 3, channel: 0, channels: 1, weight: 1, quantity: 'volume_m3', interval: '1h' });
    const config = validateConfig({
      gateway: { id: 'gw-link-restart', bufferDir, silentAfter: 2 },
      mqtt: { url: broker.url },
      buses: [{ name: 'b', protocol: 'pulse', port: portOf(sim.endpoint), timeout: '100ms', retries: 0 }],
      meters: [cfg('hw-1')],
    });
    try {
      const first = new Gateway({ config, logger: pino({ level: 'silent' }), scheduler: false });
      const before: GatewayEvent[] = [];
      first.on('event', (e) => before.push(e));
      await first.start();
      await first.pollNow('hw-1');
      await first.pollNow('hw-1');
      expect(before.filter((e) => e.kind === 'meter_silent').map((e) => e.meterKey)).toEqual(['hw-1']);
      await first.stop();

      dev.faults.silent = false; // repaired while the gateway was down
      const second = new Gateway({ config, logger: pino({ level: 'silent' }), scheduler: false });
      const after: GatewayEvent[] = [];
      second.on('event', (e) => after.push(e));
      await second.start();
      try {
        expect((second.health().silentMeters as { meter: string }[]).map((s) => s.meter)).toEqual(['hw-1']);
        const r = await second.pollNow('hw-1');
        expect(r).toEqual([{ meter: 'hw-1', ok: true, error: undefined }]);
        expect(after.filter((e) => e.kind === 'meter_back').map((e) => e.meterKey)).toEqual(['hw-1']);
        await second.pollNow('hw-1');
        expect(after.filter((e) => e.kind === 'meter_back')).toHaveLength(1); // once, not every poll
        expect(second.health().silentMeters).toEqual([]);
        await until(
          () => broker.published.some((p) => p.topic === topics.events('gw-link-restart') && GatewayEvent.parse(JSON.parse(p.payload.toString())).kind === 'meter_back'),
          'meter_back of the restarted gateway at the broker',
        );
      } finally {
        await second.stop();
      }
    } finally {
      await sim.close();
    }
  });
});
