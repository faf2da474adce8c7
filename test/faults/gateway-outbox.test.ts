// The gateway's storage: (1) its outbox ends in a torn record (power cut mid-write) and the
// built gateway CLI starts on it; (2) its outbox reaches the size limit while the head-end is away
// (the "disk near full" case: `outboxMaxBytes` is the gateway's own bound on its disk use); (3) the
// disk under the outbox fills up for real (a 256 KiB tmpfs that a filler file fills) while the
// gateway polls and delivers. All run against a real head-end (in process: the process restart that
// matters here is the gateway's); (1) and (3) share one head-end (in memory, or a
// database of its own on the server engine).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import type { ModbusBus } from '@amr/simulators';
import type { GatewayEvent } from '@amr/protocols';
import { Gateway, appendRawForTest, encodeRecord, validateConfig } from '@amr/gateway';
import { loadConfig, startHeadend, type Headend } from '@amr/headend';
import { registerGateway } from '../../headend/test/ingest/fixtures.js';
import { fillDisk, mountTmpfs } from '../../gateway/test/helpers/tmpfs.js';
import { build, countsOf, everySecond, freePort, gatewayBin, headendStore, killAll, meterBus, prepareDataDir, range, seedOutbox, startEnergyMeters, tempDir, until, type HeadendStore } from './harness.js';

const SEEDED = 40;

describe('gateway outbox faults', () => {
  const dir = tempDir('outbox');
  const children: ChildProcess[] = [];
  const headends: Headend[] = [];
  let sim: ModbusBus;
  let shared: Headend | null = null;
  const stores: HeadendStore[] = [];
  /** One head-end for the tests that need no restart of it (started on first use; memory:// embedded). */
  const memoryHeadend = async (): Promise<Headend> => {
    if (!shared) {
      const store = await headendStore('memory://');
      stores.push(store);
      shared = await startHeadend({
        config: loadConfig({ ...store.env, MQTT_HOST: '127.0.0.1', MQTT_PORT: '0', INGEST_LINGER_MS: '10', LOG_LEVEL: 'silent' }),
        logger: pino({ level: 'silent' }),
        api: false,
        jobs: false,
      });
      headends.push(shared);
    }
    return shared;
  };
  beforeAll(async () => {
    build();
    sim = await startEnergyMeters(2, 500, 1);
  }, 120_000);
  afterAll(async () => {
    await killAll(children);
    for (const he of headends) await he.close().catch(() => undefined);
    for (const store of stores) await store.drop();
    await sim?.close();
    dir.remove();
  });

  it('a torn last record: the CLI truncates it, delivers every whole record once, and continues the seqs', async () => {
    const he = await memoryHeadend();
    const gatewayId = `gw-torn-${process.pid}`;
    const fx = await registerGateway(he.db, gatewayId, 2);

    // The outbox as a power cut leaves it: 40 whole records, then half of record 41.
    const bufferDir = join(dir.path, 'torn');
    expect(seedOutbox(bufferDir, SEEDED, 2)).toEqual(range(1, SEEDED));
    const torn = { seq: SEEDED + 1, meter: { meterKey: 'm-1', bus: 'm1', protocol: 'mbus', address: '1' }, gatewayTime: '2026-10-02T00:00:00.000Z', quality: [], values: [{ quantity: 'energy_kwh', value: 999_999, unit: 'kWh', quality: [] }] };
    const seqHead = Buffer.alloc(8);
    seqHead.writeBigUInt64LE(BigInt(SEEDED + 1));
    const whole = encodeRecord(Buffer.concat([seqHead, Buffer.from(JSON.stringify(torn))]));
    appendRawForTest(join(bufferDir, 'outbox'), whole.subarray(0, Math.floor(whole.length / 2)));

    const file = join(dir.path, 'torn.yaml');
    writeFileSync(
      file,
      stringify({
        gateway: { id: gatewayId, bufferDir },
        mqtt: { url: `mqtt://127.0.0.1:${he.mqttPort}`, username: gatewayId, password: fx.password, batchSize: 7, reconnectMin: '200ms', reconnectMax: '1s' },
        buses: [meterBus(sim)],
        meters: everySecond(2),
      }),
    );
    const child = spawn(process.execPath, [gatewayBin, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AMR_LOG_LEVEL: 'info' } });
    children.push(child);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));

    const logged = async () => (await countsOf(he.db, gatewayId)).logged;
    await until(async () => (await logged()).length >= SEEDED + 4, 'the backlog and fresh polls ingested');
    child.kill('SIGTERM');
    const exit = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(exit, out.slice(-2000)).toBe(0);
    await he.ingest.drain();

    const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; bytes?: number; outbox?: { tornTailBytes: number; corruptRecords: number } });
    const warned = lines.find((l) => l.msg.includes('torn last record'));
    expect(warned?.bytes).toBe(Math.floor(whole.length / 2));
    expect(lines.find((l) => l.msg === 'outbox opened')?.outbox).toMatchObject({ tornTailBytes: Math.floor(whole.length / 2), corruptRecords: 0 });

    const c = await countsOf(he.db, gatewayId);
    expect(c.duplicates).toBe(0);
    expect(c.logged).toEqual(range(1, c.logged.length)); // no gap: seq 41 went to the first fresh poll
    expect(c.seqs).toEqual(c.logged);
    expect(c.deadLetters + c.quarantined).toBe(0);
    const seeded = await he.db.query<{ seq: number; value: number }>('SELECT seq, value FROM readings WHERE gateway_id = $1 AND seq <= $2 ORDER BY seq', [gatewayId, SEEDED]);
    expect(seeded.rows).toEqual(range(1, SEEDED).map((seq) => ({ seq, value: 1000 + seq - 1 })));
    // the torn record's half never became a reading
    const ghost = await he.db.query('SELECT 1 FROM readings WHERE gateway_id = $1 AND value = 999999', [gatewayId]);
    expect(ghost.rows).toHaveLength(0);
  }, 60_000);

  it('outbox full while the head-end is away: documented policy, alarms, nothing stored is dropped, all lands after', async () => {
    const gatewayId = `gw-full-${process.pid}`;
    const store = await headendStore(join(dir.path, 'full-data'));
    stores.push(store);
    const [fx] = await prepareDataDir(store, [{ id: gatewayId, meters: 2 }]);
    const mqttPort = await freePort();

    const gw = new Gateway({
      config: validateConfig({
        gateway: { id: gatewayId, bufferDir: join(dir.path, 'full'), outboxMaxBytes: 4000, outboxNearFull: 0.5 },
        mqtt: { url: `mqtt://127.0.0.1:${mqttPort}`, username: gatewayId, password: fx.password, batchSize: 4, reconnectMin: '200ms', reconnectMax: '1s' },
        health: { host: '127.0.0.1', port: 0 },
        buses: [meterBus(sim)],
        meters: [
          { id: 'el-1', bus: 'm1', slave: 1, registerMap: 'sdm120', interval: '1s' },
          { id: 'el-2', bus: 'm1', slave: 2, registerMap: 'sdm120', interval: '1s', priority: 'low' },
        ],
      }),
      logger: pino({ level: 'silent' }),
    });
    const events: GatewayEvent[] = [];
    gw.on('event', (e) => events.push(e));
    await gw.start();
    try {
      const base = `http://127.0.0.1:${gw.healthPort}`;
      const metrics = async () => (await fetch(`${base}/metrics`)).text();

      // 1. Near full: the alarm, and the low-priority meter's polls refused (counted), the other goes on.
      await until(() => gw.outbox.level === 'near_full' || gw.outbox.level === 'full', 'the outbox near full');
      expect(events.map((e) => e.kind)).toContain('outbox_near_full');
      // 2. Full: the second alarm, every poll refused, /health 503.
      await until(() => gw.outbox.level === 'full', 'the outbox full');
      expect(events.map((e) => e.kind)).toContain('outbox_full');
      await until(async () => /reason="outbox_full"\} [1-9]/.test(await metrics()), 'a poll refused because the outbox is full');
      const m = await metrics();
      expect(m).toMatch(/amr_gateway_missed_polls_total\{meter="el-2",reason="outbox_near_full"\} [1-9]/);
      expect(m).toMatch(/amr_gateway_outbox_near_full 2\b/);
      expect(m).toMatch(/amr_gateway_events_total\{kind="outbox_full"\} 1\b/);
      const h = await fetch(`${base}/health`);
      expect(h.status).toBe(503);
      expect(await h.json()).toMatchObject({ ok: false, outboxLevel: 'full', mqttConnected: false });
      const storedWhileAway = gw.outbox.nextSeq - 1;
      expect(gw.outbox.depth).toBe(storedWhileAway); // nothing stored was dropped

      // 3. The head-end comes up on the port the gateway dials: everything drains, polling resumes.
      const he = await startHeadend({
        config: loadConfig({ ...store.env, MQTT_HOST: '127.0.0.1', MQTT_PORT: String(mqttPort), INGEST_LINGER_MS: '10', LOG_LEVEL: 'silent' }),
        logger: pino({ level: 'silent' }),
        api: false,
        jobs: false,
      });
      headends.push(he);
      await until(() => gw.outbox.ackedSeq >= storedWhileAway, 'the stored readings acknowledged');
      await until(() => gw.outbox.level === 'ok', 'the outbox back to ok');
      expect((await fetch(`${base}/health`)).status).toBe(200);
      await until(() => gw.outbox.ackedSeq >= storedWhileAway + 2, 'polling resumed and delivered');

      // 4. The alarms reached the head-end (queued by the MQTT session while offline).
      await until(async () => (await he.db.query('SELECT 1 FROM gateway_events WHERE gateway_id = $1 AND kind = $2', [gatewayId, 'outbox_full'])).rows.length > 0, 'outbox_full stored at the head-end');
      const kinds = (await he.db.query<{ kind: string; severity: string }>('SELECT kind, severity FROM gateway_events WHERE gateway_id = $1 ORDER BY id', [gatewayId])).rows;
      expect(kinds).toEqual(expect.arrayContaining([{ kind: 'outbox_near_full', severity: 'warning' }, { kind: 'outbox_full', severity: 'error' }]));

      await gw.stop();
      const last = gw.outbox.nextSeq - 1;
      await he.ingest.drain();
      const c = await countsOf(he.db, gatewayId);
      expect(c.duplicates).toBe(0);
      expect(c.logged).toEqual(range(1, last));
      expect(c.seqs).toEqual(range(1, last));
      expect(c.deadLetters + c.quarantined).toBe(0);
    } finally {
      await gw.stop().catch(() => undefined);
    }
  }, 60_000);

  it('the disk fills up: polls go on into memory, outbox_full raised and stored, /health 503; space returns → everything delivered once', async (ctx) => {
    // Mounted here, not at load: a file whose tests are all filtered out runs no afterAll to unmount.
    const disk = mountTmpfs('gw-disk-full');
    if (!disk.ok) {
      console.warn(`gateway disk-full test skipped: ${disk.why}`);
      ctx.skip();
      return;
    }
    ctx.onTestFinished(() => disk.unmount());
    const root = disk.path;
    const he = await memoryHeadend();
    const gatewayId = `gw-disk-${process.pid}`;
    const fx = await registerGateway(he.db, gatewayId, 2);
    const gw = new Gateway({
      config: validateConfig({
        gateway: { id: gatewayId, bufferDir: join(root, 'buf'), outboxMemoryReadings: 6, outboxRetry: '100ms' },
        mqtt: { url: `mqtt://127.0.0.1:${he.mqttPort}`, username: gatewayId, password: fx.password, batchSize: 4, reconnectMin: '200ms', reconnectMax: '1s' },
        health: { host: '127.0.0.1', port: 0 },
        buses: [meterBus(sim)],
        meters: everySecond(2),
      }),
      logger: pino({ level: 'silent' }),
    });
    const events: GatewayEvent[] = [];
    gw.on('event', (e) => events.push(e));
    await gw.start();
    try {
      const base = `http://127.0.0.1:${gw.healthPort}`;
      const metrics = async () => (await fetch(`${base}/metrics`)).text();
      await until(() => gw.outbox.ackedSeq >= 4, 'the first readings delivered');
      expect((await fetch(`${base}/health`)).status).toBe(200);

      // 1. Another program fills the disk.
      const filler = join(root, 'filler');
      expect(fillDisk(filler)).toBeGreaterThan(100_000);
      await until(() => gw.outbox.storageFault !== null, 'the outbox noticing the full disk');
      expect(gw.outbox.storageFault?.code).toBe('ENOSPC');
      await until(() => events.some((e) => e.kind === 'outbox_full'), 'the outbox_full event');
      expect(events.find((e) => e.kind === 'outbox_full')).toMatchObject({ severity: 'error', data: { cause: 'storage', code: 'ENOSPC' } });
      const h = await fetch(`${base}/health`);
      expect(h.status).toBe(503);
      const body = (await h.json()) as { ok: boolean; outboxProblem: string; outboxHeld: number };
      expect(body.ok).toBe(false);
      expect(body.outboxProblem).toMatch(/ENOSPC/);

      // 2. Polls go on into memory, up to 6 readings; then they are refused and counted.
      await until(() => gw.outbox.held >= 6, 'six readings held in memory');
      await until(async () => /amr_gateway_missed_polls_total\{meter="el-\d",reason="outbox_memory_full"\} [1-9]/.test(await metrics()), 'a poll refused with reason outbox_memory_full');
      const m = await metrics();
      expect(m).toMatch(/amr_gateway_outbox_storage_failed 1\b/);
      expect(m).toMatch(/amr_gateway_outbox_held [6-9]\b/); // 6, plus a poll that was already running
      expect(m).toMatch(/amr_gateway_outbox_storage_errors_total\{op="append",code="ENOSPC"\} [1-9]/);
      await until(async () => (await he.db.query('SELECT 1 FROM gateway_events WHERE gateway_id = $1 AND kind = $2', [gatewayId, 'outbox_full'])).rows.length > 0, 'outbox_full stored at the head-end');

      // 3. Space returns: held readings journaled and delivered, health back, polling resumes.
      rmSync(filler);
      await until(() => gw.outbox.storageFault === null && gw.outbox.held === 0, 'the outbox writing again');
      expect((await fetch(`${base}/health`)).status).toBe(200);
      const afterRecovery = gw.outbox.nextSeq - 1;
      await until(() => gw.outbox.ackedSeq >= afterRecovery + 2, 'held readings and fresh polls delivered');
      await gw.stop();

      const last = gw.outbox.nextSeq - 1;
      expect(gw.outbox.ackedSeq).toBe(last);
      // every reading was published exactly once: no resend within the process
      expect(await gw.metrics.published.get().then((v) => v.values[0]?.value)).toBe(last);
      await he.ingest.drain();
      const c = await countsOf(he.db, gatewayId);
      expect(c.duplicates).toBe(0);
      expect(c.logged).toEqual(range(1, last));
      expect(c.seqs).toEqual(range(1, last));
      expect(c.deadLetters + c.quarantined).toBe(0);
      expect(events.filter((e) => e.kind === 'outbox_full')).toHaveLength(1);
    } finally {
      await gw.stop().catch(() => undefined);
    }
  }, 90_000);
});
