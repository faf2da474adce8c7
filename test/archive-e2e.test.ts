// Meter archives end to end: the ТВ7 simulator on a Modbus RTU line → a gateway on simulated time,
// stopped for seven hours and started again (it back-fills the hours from the archive) → an MQTT
// broker → the head-end's ingest writer on a real database. What the gateway published — live polls,
// archive records, and the records a resumed back-fill sends again — is stored once per
// (meter, quantity, time): archive amounts as meter_archive, live values as telemetry, none
// overwritten; the live poll at 08:00 and the 08:00 record both carry temperatures and pressures —
// the instant and the hour's mean, under names of their own — so both are kept and nothing conflicts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Gateway, validateConfig } from '@amr/gateway';
import { ReadingsMessage, topics } from '@amr/protocols';
import { ConsumerSeries, HeatVolumeSeries, SimClock, Tv7Simulator, circuitTemps, startModbusBus, type ModbusBus } from '@amr/simulators';
import type { OpenedDb } from '../headend/src/db/index.js';
import { writeReadings } from '../headend/src/ingest/index.js';
import { hashSecret } from '../headend/src/broker/index.js';
import { openTestDb } from '../headend/test/engine.js';
import { startBroker, type TestBroker } from '../gateway/test/helpers/broker.js';
import { HOUR, local, startMs, until } from '../gateway/test/archive-clock.js';


describe('meter archive: gateway back-fill into the head-end', () => {
  const clock = new SimClock(new Date(local(8)), 0);
  const heat = new ConsumerSeries('heat', startMs, 7, 1, 40);
  const volume = new HeatVolumeSeries((t) => heat.cumulative(t), startMs, 0.01);
  const calc = new Tv7Simulator({ clock, truth: { energyKwh: (t: number) => heat.cumulative(t), returnVolumeM3: (t: number) => volume.cumulative(t), temps: circuitTemps }, startMs, utcOffsetMinutes: 180 });
  calc.inject({ code: 'dt_low', from: new Date(local(10)), to: new Date(local(12)) });
  const gwId = `gw-archive-e2e-${process.pid}`;
  let sim: ModbusBus;
  let broker: TestBroker;
  let dir: string;
  let opened: OpenedDb;
  let meterId: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'amr-archive-e2e-'));
    broker = await startBroker();
    sim = await startModbusBus({ transport: { kind: 'tcp', port: 0 }, framing: 'rtu', timing: { pacing: false }, slaves: [calc.slave(5)] });
    opened = await openTestDb();
    meterId = await opened.db.tx(async (q) => {
      const org = (await q.query<{ id: number }>(`INSERT INTO organisations (name) VALUES ('org archive') RETURNING id`)).rows[0].id;
      const b = (await q.query<{ id: number }>(`INSERT INTO buildings (org_id, address) VALUES ($1, 'ТП-7') RETURNING id`, [org])).rows[0].id;
      await q.query(`INSERT INTO gateways (id, name, building_id, credential_hash) VALUES ($1, $1, $2, $3)`, [gwId, b, await hashSecret('pw-archive-e2e')]);
      const m = (await q.query<{ id: number }>(`INSERT INTO meters (placement, building_id, resource, make, serial_number) VALUES ('building', $1, 'heat', 'ТВ7', 'tv7-e2e') RETURNING id`, [b])).rows[0].id;
      await q.query(`INSERT INTO bindings (gateway_id, bus, address, meter_id) VALUES ($1, 'rs485', '5', $2)`, [gwId, m]);
      return m;
    });
  }, 120_000);
  afterAll(async () => {
    await sim?.close();
    await broker?.close();
    await opened?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function runGateway(at: number[]): Promise<void> {
    if (sim.endpoint.kind !== 'tcp') throw new Error('expected tcp');
    const config = validateConfig({
      gateway: { id: gwId, bufferDir: dir },
      mqtt: { url: broker.url, reconnectMin: '200ms', reconnectMax: '1s' },
      buses: [{ name: 'rs485', protocol: 'modbus', port: `tcp://127.0.0.1:${sim.endpoint.port}`, timeout: '500ms', retries: 1 }],
      meters: [{ id: 'tv7', bus: 'rs485', slave: 5, registerMap: 'tv7', interval: '15m', backfill: { utcOffsetMinutes: 180 } }],
    });
    const gw = new Gateway({ config, logger: pino({ level: 'silent' }), scheduler: false, now: () => clock.nowMs() });
    await gw.start();
    try {
      for (const t of at) {
        clock.setTime(new Date(t));
        expect((await gw.poll(gw.cfg.meters[0]))?.ok).toBe(true);
        await gw.backfillIdle('tv7');
        await until(() => gw.outbox.depth === 0, 'outbox drained');
      }
    } finally {
      await gw.stop();
    }
  }

  it('stores every hour once, live values never overwritten, a resumed back-fill adding nothing', async () => {
    await runGateway([local(8)]);
    await runGateway([local(15, 20), local(16, 5)]);
    // What a crash leaves behind: the cursor back at 14:00. The restarted gateway sends 14:00 and 15:00 again.
    writeFileSync(join(dir, 'backfill.json'), JSON.stringify({ v: 1, jobs: { tv7: { kind: 'hourly', next: new Date(local(14)).toISOString(), until: new Date(local(16)).toISOString() } } }));
    await runGateway([local(16, 20)]);

    const messages = broker.published.filter((p) => p.topic === topics.readings(gwId)).map((p) => ReadingsMessage.parse(JSON.parse(p.payload.toString())));
    const readings = messages.flatMap((m) => m.readings);
    expect(readings.filter((r) => r.archive).map((r) => r.archive!.record.slice(11, 13))).toEqual(['08', '09', '10', '11', '12', '13', '14', '15', '14', '15']);
    const hcClock = () => new Date(local(16, 30));
    for (const m of messages) await writeReadings(opened.db, [m], { clock: hcClock });

    const rows = (await opened.db.query<{ quantity: string; time: Date; value: number; source: string; quality: string[] }>(
      `SELECT quantity, time, value, source, quality FROM reading_rows WHERE meter_id = $1 ORDER BY time, quantity`, [meterId])).rows;
    // One row per (quantity, time): the key is unique, so a count of distinct keys equals the rows.
    const energy = rows.filter((r) => r.quantity === 'energy_delta_kwh');
    expect(energy.map((r) => new Date(r.time).getTime())).toEqual([8, 9, 10, 11, 12, 13, 14, 15].map((h) => local(h)));
    for (const r of energy) {
      const h = (new Date(r.time).getTime() - startMs) / HOUR;
      expect(r.source).toBe('meter_archive');
      expect(r.quality).toContain('archive');
      expect(r.value).toBeCloseTo(calc.record('hourly', local(h)).values.energy_delta_kwh, 3);
    }
    // The Δt-below-minimum hours: nothing counted, the whole hour under НС, flagged by the meter.
    const tns = rows.filter((r) => r.quantity === 'error_time_delta_s');
    expect(tns.map((r) => r.value)).toEqual([0, 0, 3600, 3600, 0, 0, 0, 0]);
    expect(tns[2].quality.sort()).toEqual(['archive', 'meter_error']);
    // Live polls stay telemetry at their instants.
    const live = rows.filter((r) => r.quantity === 'energy_kwh');
    expect(live.map((r) => [new Date(r.time).getTime(), r.source])).toEqual([[local(8), 'telemetry'], [local(15, 20), 'telemetry'], [local(16, 5), 'telemetry'], [local(16, 20), 'telemetry']]);

    // 08:00: the live poll's instant values and the 08:00 record's means are different measurements
    // under different names (flow_temp_c vs flow_temp_mean_c): both stored, nothing quarantined.
    const at8 = rows.filter((r) => new Date(r.time).getTime() === local(8) && /^(flow_temp|return_temp|pressure)_/.test(r.quantity));
    expect(at8.map((r) => [r.quantity, r.source])).toEqual([
      ['flow_temp_c', 'telemetry'], ['flow_temp_mean_c', 'meter_archive'], ['pressure_bar', 'telemetry'], ['pressure_mean_bar', 'meter_archive'],
      ['return_temp_c', 'telemetry'], ['return_temp_mean_c', 'meter_archive'],
    ]);
    // …and the fault words: the live poll's current one and the 08:00 record's НС word, each under its own name.
    const flags8 = rows.filter((r) => new Date(r.time).getTime() === local(8) && r.quantity.startsWith('error_flags'));
    expect(flags8.map((r) => [r.quantity, r.source])).toEqual([['error_flags', 'telemetry'], ['error_flags_interval', 'meter_archive']]);
    const mean8 = at8.find((r) => r.quantity === 'flow_temp_mean_c')!;
    expect(mean8.value).toBeCloseTo(calc.record('hourly', local(8)).values.flow_temp_mean_c, 3);
    const q = (await opened.db.query<{ reason: string; detail: string }>(`SELECT reason, detail FROM quarantine WHERE gateway_id = $1 ORDER BY id`, [gwId])).rows;
    expect(q).toEqual([]);
  });
});
