// The harness of the SIGKILL back-fill tests (archive-sigkill*.test.ts): the gateway as a child process
// (the built package, test/archive-sigkill-child.mjs) against the ТВ7 simulator on a paced 9600 Bd
// Modbus RTU line over TCP and an embedded broker, and a head-end database (both engines) with the
// meter bound to the gateway. The simulator's clock runs at real speed from 08:00 local on 15 January;
// a test moves it on while the gateway is off, and a child started again gets the clock's reading.
import { afterAll, beforeAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { ReadingsMessage, topics, type MeterReading } from '@amr/protocols';
import { ConsumerSeries, HeatVolumeSeries, SimClock, Tv7Simulator, circuitTemps, startModbusBus, type ModbusBus } from '@amr/simulators';
import type { OpenedDb } from '../headend/src/db/index.js';
import { hashSecret } from '../headend/src/broker/index.js';
import { openTestDb } from '../headend/test/engine.js';
import { startBroker, type TestBroker } from '../gateway/test/helpers/broker.js';
import { local, startMs } from '../gateway/test/archive-clock.js';

const repo = fileURLToPath(new URL('../', import.meta.url));
const child = join(repo, 'test/archive-sigkill-child.mjs');
const built = join(repo, 'gateway/dist/index.js');

/** One rig per describe: `name` keeps its gateway, meter serial and directory apart from another's. */
export function sigkillRig(name: string) {
  const clock = new SimClock(new Date(local(8)), 1);
  const heat = new ConsumerSeries('heat', startMs, 7, 1, 40);
  const volume = new HeatVolumeSeries((t) => heat.cumulative(t), startMs, 0.01);
  const truth = { energyKwh: (t: number) => heat.cumulative(t), returnVolumeM3: (t: number) => volume.cumulative(t), temps: circuitTemps };
  const calc = new Tv7Simulator({ clock, truth, startMs, utcOffsetMinutes: 180 });
  const children: ChildProcess[] = [];
  const r = {
    clock, truth, calc,
    gwId: `gw-archive-${name}-${process.pid}`,
    sim: undefined as unknown as ModbusBus,
    broker: undefined as unknown as TestBroker,
    opened: undefined as unknown as OpenedDb,
    dir: '',
    meterId: 0,
    /** The children's last stderr, for the failure messages. */
    stderr: '',
    /** Writes the child's gateway.yaml: meter `tv7` at slave 5, polled every 2 s, with `backfill` and `mqtt` as given. */
    configure(backfill: Record<string, unknown>, mqtt: Record<string, unknown> = {}) {
      if (r.sim.endpoint.kind !== 'tcp') throw new Error('expected tcp');
      writeFileSync(
        join(r.dir, 'gateway.yaml'),
        stringify({
          gateway: { id: r.gwId, bufferDir: join(r.dir, 'buf') },
          mqtt: { url: r.broker.url, reconnectMin: '100ms', reconnectMax: '500ms', ...mqtt },
          buses: [{ name: 'rs485', protocol: 'modbus', port: `tcp://127.0.0.1:${r.sim.endpoint.port}`, timeout: '1s', retries: 1 }],
          meters: [{ id: 'tv7', bus: 'rs485', slave: 5, registerMap: 'tv7', interval: '2s', backfill: { utcOffsetMinutes: 180, ...backfill } }],
        }),
      );
    },
    /** A gateway process on the simulator's clock as it reads now. */
    start(): ChildProcess {
      const c = spawn(process.execPath, [child, join(r.dir, 'gateway.yaml'), String(clock.nowMs())], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, AMR_LOG_LEVEL: 'warn' } });
      c.stderr?.on('data', (d: Buffer) => (r.stderr = (r.stderr + d.toString()).slice(-4000)));
      children.push(c);
      return c;
    },
    async kill(c: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
      const gone = new Promise((res) => (c.exitCode !== null || c.signalCode !== null ? res(null) : c.once('exit', res)));
      c.kill(signal);
      await gone;
    },
    /** Every readings message the broker got from the gateway, in order, duplicates included. */
    messages(): ReadingsMessage[] {
      return r.broker.published.filter((p) => p.topic === topics.readings(r.gwId)).map((p) => ReadingsMessage.parse(JSON.parse(p.payload.toString())));
    },
    archived(): MeterReading[] {
      return r.messages().flatMap((m) => m.readings).filter((x) => x.archive);
    },
    /** The cursor (`next`) of a back-fill job in the gateway's backfill.json. */
    cursor(key: string): string | undefined {
      return (JSON.parse(readFileSync(join(r.dir, 'buf', 'backfill.json'), 'utf8')) as { jobs: Record<string, { next: string }> }).jobs[key]?.next;
    },
  };

  beforeAll(async () => {
    if (!existsSync(built)) throw new Error(`${built} missing: run \`npx tsc -b\` first`);
    r.dir = mkdtempSync(join(tmpdir(), `amr-archive-${name}-`));
    r.broker = await startBroker();
    // Paced at 9600 Bd: a record (select + 90 words) takes about a quarter of a second, so a
    // back-fill of a few dozen records lasts long enough to be killed in the middle.
    r.sim = await startModbusBus({ transport: { kind: 'tcp', port: 0 }, framing: 'rtu', timing: { pacing: true, baud: 9600, bitsPerChar: 10 }, slaves: [calc.slave(5)] });
    r.opened = await openTestDb();
    r.meterId = await r.opened.db.tx(async (q) => {
      const org = (await q.query<{ id: number }>(`INSERT INTO organisations (name) VALUES ($1) RETURNING id`, [`org archive ${name}`])).rows[0].id;
      const b = (await q.query<{ id: number }>(`INSERT INTO buildings (org_id, address) VALUES ($1, 'ТП-9') RETURNING id`, [org])).rows[0].id;
      await q.query(`INSERT INTO gateways (id, name, building_id, credential_hash) VALUES ($1, $1, $2, $3)`, [r.gwId, b, await hashSecret(`pw-archive-${name}`)]);
      const m = (await q.query<{ id: number }>(`INSERT INTO meters (placement, building_id, resource, make, serial_number) VALUES ('building', $1, 'heat', 'ТВ7', $2) RETURNING id`, [b, `tv7-${name}`])).rows[0].id;
      await q.query(`INSERT INTO bindings (gateway_id, bus, address, meter_id) VALUES ($1, 'rs485', '5', $2)`, [r.gwId, m]);
      return m;
    });
  }, 120_000);
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await r.sim?.close();
    await r.broker?.close();
    await r.opened?.close();
    if (r.dir) rmSync(r.dir, { recursive: true, force: true });
  });
  return r;
}
