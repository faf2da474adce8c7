// The real built CLI (`node gateway/bin/amr-gateway.js run`) as a child process, SIGKILLed mid-poll
// and mid-publish, restarted each time: afterwards every reading it ever stored was delivered,
// seq numbers were never reused for different readings, and duplicates are only re-sends of
// batches that were in flight at a kill (QoS 1; the head-end dedupes by seq).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { startModbusBus, type ModbusBus } from '@amr/simulators';
import { ReadingsMessage, topics, type MeterReading } from '@amr/protocols';
import { Outbox } from '../src/index.js';
import { startBroker, type TestBroker } from './helpers/broker.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(repo, 'gateway/bin/amr-gateway.js');
const built = join(repo, 'gateway/dist/cli/amr-gateway.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

describe('gateway killed with SIGKILL', () => {
  let sim: ModbusBus;
  let broker: TestBroker;
  let dir: string;
  let e = 0;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    if (!existsSync(built)) throw new Error(`${built} missing: run \`npx tsc -b gateway\` (npm run build) first`);
    dir = mkdtempSync(join(tmpdir(), 'amr-crash-'));
    broker = await startBroker();
    sim = await startModbusBus({
      transport: { kind: 'tcp', port: 0 },
      framing: 'rtu',
      timing: { pacing: false },
      slaves: [
        { unitId: 1, map: 'sdm630', read: () => ({ energy_kwh: (e += 1) }) },
        { unitId: 2, map: 'sdm120', read: () => ({ energy_kwh: 7 }) },
        { unitId: 3, map: 'sdm120', read: () => ({}), faults: { silent: true } }, // keeps the bus busy: kills land mid-poll
      ],
    });
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await sim?.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loses nothing and reuses no seq across kills', async () => {
    const gwId = `gw-crash-${process.pid}`;
    const healthPort = await freePort();
    const ep = sim.endpoint as { host: string; port: number };
    const file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      stringify({
        gateway: { id: gwId, bufferDir: join(dir, 'buf') },
        mqtt: { url: broker.url, batchSize: 1, reconnectMin: '100ms', reconnectMax: '500ms' },
        health: { host: '127.0.0.1', port: healthPort },
        buses: [{ name: 'rs485', protocol: 'modbus', port: `tcp://${ep.host}:${ep.port}`, timeout: '200ms', retries: 2 }],
        meters: [
          { id: 'el-1', bus: 'rs485', slave: 1, registerMap: 'sdm630', interval: '1s' },
          { id: 'el-2', bus: 'rs485', slave: 2, registerMap: 'sdm120', interval: '1s' },
          { id: 'dead-3', bus: 'rs485', slave: 3, registerMap: 'sdm120', interval: '1s' },
        ],
      }),
    );
    const start = () => {
      const c = spawn(process.execPath, [bin, 'run', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, AMR_LOG_LEVEL: 'warn' } });
      children.push(c);
      return c;
    };
    const kill = async (c: ChildProcess) => {
      c.kill('SIGKILL');
      await new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r)));
    };
    const readings = (): MeterReading[] =>
      broker.published.filter((p) => p.topic === topics.readings(gwId)).flatMap((p) => ReadingsMessage.parse(JSON.parse(p.payload.toString())).readings);
    const health = async () => {
      try {
        return (await (await fetch(`http://127.0.0.1:${healthPort}/health`)).json()) as { outboxDepth: number; ackedSeq: number };
      } catch {
        return null;
      }
    };

    let kills = 0;
    // 1) kills while polling (the dead meter's retries keep a transaction open most of the time)
    for (const wait of [1300, 1700, 2100]) {
      const c = start();
      const n = readings().length;
      await until(() => readings().length > n, 'a reading after start');
      await sleep(wait - 1000);
      await kill(c);
      kills++;
    }
    // 2) backlog during a broker outage, then a kill in the middle of the drain
    let c = start();
    await until(async () => (await health()) !== null, 'health endpoint');
    await broker.down();
    await until(async () => ((await health())?.outboxDepth ?? 0) >= 8, 'backlog');
    const n = readings().length;
    await broker.up();
    await until(() => readings().length >= n + 2, 'drain started');
    await kill(c);
    kills++;
    // 3) final run drains everything, then a clean stop
    c = start();
    await until(async () => {
      const h = await health();
      return h !== null && h.outboxDepth === 0 && readings().length > n + 8;
    }, 'final drain');
    c.kill('SIGTERM');
    await new Promise((r) => c.once('exit', r));

    const ob = new Outbox({ dir: join(dir, 'buf', 'outbox'), maxBytes: 1e9, nearFull: 0.9 });
    const report = ob.open();
    const last = ob.nextSeq - 1;
    ob.close();
    expect(report.pending).toBe(0);
    expect(report.corruptRecords).toBe(0);

    const got = readings();
    const bySeq = new Map<number, string>();
    for (const r of got) {
      const key = `${r.meter.meterKey}@${r.gatewayTime}`;
      // a seq is never reused for another reading (it was persisted before any publish)
      expect(bySeq.get(r.seq) ?? key).toBe(key);
      bySeq.set(r.seq, key);
    }
    // nothing lost: every seq the gateway ever assigned was delivered
    expect([...bySeq.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    // first deliveries in order
    const firsts = got.map((r) => r.seq).filter((s, i, a) => a.indexOf(s) === i);
    expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
    // duplicates only from batches in flight at a kill (batchSize 1 → at most one per kill)
    expect(got.length - bySeq.size).toBeLessThanOrEqual(kills);
    expect(got.every((r) => r.meter.meterKey !== 'dead-3')).toBe(true);
  });
});
