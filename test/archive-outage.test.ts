// A gateway outage of three days, end to end: the building simulator (three flats with M-Bus heat
// meters, a ТВ7 calculator on the ОДПУ heat on Modbus RTU) → a gateway on the simulated clock, polling
// hourly, stopped at local midnight and started again three days later (it back-fills the 72 hours from
// the ТВ7's hourly archive, then the three days from its daily archive; the day before the outage it
// read routinely at its midnight) → an MQTT broker → the head-end's ingest writer on a real database → the
// head-end's imbalance service. Checked against the simulator's truth: every hour of the gap stored
// once, as meter_archive, with the true hour's heat; and the imbalance over the three days within
// 0.5 percentage points of the truth. Both engines (the database is the test's engine).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Gateway, resolveConfig, validateConfig } from '@amr/gateway';
import { ARCHIVE_DAILY_NAMES, ReadingsMessage, topics } from '@amr/protocols';
import { SimClock, startBuilding, type Building } from '@amr/simulators';
import type { OpenedDb } from '../headend/src/db/index.js';
import { writeReadings } from '../headend/src/ingest/index.js';
import { hashSecret } from '../headend/src/broker/index.js';
import { computeBuildingImbalance } from '../headend/src/imbalance/index.js';
import { openTestDb } from '../headend/test/engine.js';
import { startBroker, type TestBroker } from '../gateway/test/helpers/broker.js';
import { until } from '../gateway/test/archive-clock.js';

const HOUR = 3_600_000;
/** Local midnight (Moscow, UTC+3) of 12 January 2026: the simulation's start. */
const S = Date.UTC(2026, 0, 11, 21);
/** The gateway's last poll before the outage (13 January 00:00 local) and its first after (16 January 00:00). */
const GAP_FROM = S + 24 * HOUR;
const GAP_TO = S + 96 * HOUR;
const TV7 = 'odpu-heat-tv7';
const FLATS = 3;

describe('a three-day gateway outage back-filled from the ТВ7 archive', () => {
  const clock = new SimClock(new Date(S), 0);
  const gwId = `gw-outage-${process.pid}`;
  let building: Building;
  let broker: TestBroker;
  let dir: string;
  let opened: OpenedDb;
  let buildingId: number;
  let tv7Id: number;
  let gwConfig: ReturnType<typeof validateConfig>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'amr-outage-'));
    building = await startBuilding({
      seed: 11, start: new Date(S).toISOString(), speed: 0, pacing: false, apartments: FLATS,
      apartmentHeat: true, apartmentWater: 'mbus', odpuHeatCalculator: 'tv7', historyMonths: 0,
      loss: { heat: 0.12, cold_water: 0.03, hot_water: 0.03, electricity: 0.05 },
      common: { heat: 0.05, cold_water: 0.02, hot_water: 0.01, electricity: 0.08 },
      buses: {
        mbus: { transport: 'tcp', port: 0, baud: 2400 },
        modbus: { transport: 'tcp', port: 0, baud: 9600, framing: 'rtu' },
        pulse: { transport: 'tcp', port: 0, baud: 9600 },
      },
    }, { clock });
    broker = await startBroker();
    opened = await openTestDb();

    const ep = building.endpoints;
    const heatMeters = ep.meters.filter((m) => m.resource === 'heat' && (m.role === 'apartment' || m.meterId === TV7));
    expect(heatMeters.map((m) => m.meterId).sort()).toEqual([...Array.from({ length: FLATS }, (_, k) => `apt-${k + 1}-heat`), TV7].sort());
    const port = (name: 'mbus' | 'modbus') => {
      const e = ep.buses[name]!.endpoint;
      if (e.kind !== 'tcp') throw new Error(`expected ${name} on tcp`);
      return `tcp://127.0.0.1:${e.port}`;
    };
    gwConfig = validateConfig({
      gateway: { id: gwId, bufferDir: dir },
      mqtt: { url: broker.url, reconnectMin: '200ms', reconnectMax: '1s' },
      buses: [
        { name: 'mbus', protocol: 'mbus', port: port('mbus'), timeout: '1s' },
        { name: 'rs485', protocol: 'modbus', port: port('modbus'), timeout: '1s', retries: 1 },
      ],
      meters: heatMeters.map((m) => m.bus === 'modbus'
        ? { id: m.meterId, bus: 'rs485', slave: m.modbus!.unitId, registerMap: 'tv7', interval: '1h', backfill: { utcOffsetMinutes: 180 } }
        : { id: m.meterId, bus: 'mbus', primary: m.mbus!.primaryAddress, interval: '1h' }),
    });

    // The head-end's registry: the ТВ7 is the building's heat meter, each flat's heat meter behind it, all read remotely.
    const ids = new Map<string, number>();
    buildingId = await opened.db.tx(async (q) => {
      const org = (await q.query<{ id: number }>(`INSERT INTO organisations (name) VALUES ('org outage') RETURNING id`)).rows[0].id;
      const b = (await q.query<{ id: number }>(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, 'ул. Архивная, 3', 'Europe/Moscow') RETURNING id`, [org])).rows[0].id;
      await q.query(`INSERT INTO gateways (id, name, building_id, credential_hash) VALUES ($1, $1, $2, $3)`, [gwId, b, await hashSecret('pw-outage-e2e')]);
      for (const m of heatMeters) {
        const premise = m.role === 'apartment'
          ? (await q.query<{ id: number }>(`INSERT INTO premises (building_id, number, kind, area_m2) VALUES ($1, $2, 'residential', 50) RETURNING id`, [b, String(m.apartment)])).rows[0].id
          : null;
        ids.set(m.meterId, (await q.query<{ id: number }>(
          `INSERT INTO meters (placement, building_id, premise_id, resource, make, serial_number, remote_reading) VALUES ($1, $2, $3, 'heat', $4, $5, true) RETURNING id`,
          [m.role, b, premise, m.modbus ? 'ТВ7' : m.mbus!.manufacturer, m.serial])).rows[0].id);
      }
      for (const m of resolveConfig(gwConfig).meters) {
        await q.query(`INSERT INTO bindings (gateway_id, bus, address, meter_id) VALUES ($1, $2, $3, $4)`, [gwId, m.bus, m.address, ids.get(m.id)]);
      }
      return b;
    });
    tv7Id = ids.get(TV7)!;
  }, 120_000);

  afterAll(async () => {
    await building?.close();
    await broker?.close();
    await opened?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** One gateway run (a process life): every meter polled at each instant, the back-fill and outbox drained. */
  async function runGateway(at: number[]): Promise<void> {
    const gw = new Gateway({ config: gwConfig, logger: pino({ level: 'silent' }), scheduler: false, now: () => clock.nowMs() });
    await gw.start();
    try {
      for (const t of at) {
        clock.setTime(new Date(t));
        for (const m of gw.cfg.meters) expect((await gw.poll(m))?.ok, `${m.id} at ${new Date(t).toISOString()}`).toBe(true);
        await gw.backfillIdle(TV7);
        await until(() => gw.outbox.depth === 0, 'outbox drained', 30_000);
      }
    } finally {
      await gw.stop();
    }
  }

  it('stores each hour of the gap once from the archive with the true heat, and the head-end\'s imbalance over the gap is the truth\'s', async () => {
    const hours = (from: number, to: number) => Array.from({ length: (to - from) / HOUR + 1 }, (_, i) => from + i * HOUR);
    await runGateway(hours(GAP_FROM - 4 * HOUR, GAP_FROM)); // 12 January 20:00 … 13 January 00:00, hourly
    await runGateway(hours(GAP_TO, GAP_TO + 2 * HOUR)); // three days later: 16 January 00:00 … 02:00

    const messages = broker.published.filter((p) => p.topic === topics.readings(gwId)).map((p) => ReadingsMessage.parse(JSON.parse(p.payload.toString())));
    const hcClock = () => new Date(GAP_TO + 3 * HOUR);
    for (const m of messages) {
      const res = await writeReadings(opened.db, [m], { clock: hcClock });
      expect(res.quarantined).toEqual({});
    }

    // Every hour of the gap: exactly one record, from the archive, and no live value inside the gap.
    const perHour = (await opened.db.query<{ t: Date; n: number; sources: string[] }>(
      `SELECT time AS t, count(*)::int AS n, array_agg(DISTINCT source) AS sources FROM reading_rows
        WHERE meter_id = $1 AND quantity = 'energy_delta_kwh' GROUP BY time ORDER BY time`, [tv7Id])).rows;
    expect(perHour.map((r) => new Date(r.t).getTime())).toEqual(hours(GAP_FROM, GAP_TO - HOUR));
    expect(perHour.every((r) => r.n === 1 && r.sources.length === 1 && r.sources[0] === 'meter_archive')).toBe(true);
    const inside = (await opened.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM reading_rows WHERE meter_id = $1 AND source <> 'meter_archive' AND time > $2 AND time < $3`,
      [tv7Id, new Date(GAP_FROM), new Date(GAP_TO)])).rows[0].n;
    expect(inside).toBe(0);
    // Each record's 13 values (10 of the record, Тр, Тнс, the НС word) once per hour. At 00:00 of the
    // 13th the live poll stored its instant `error_flags`; the record's НС word has a name of its own
    // (`error_flags_interval`), so both are kept and neither is taken for a conflicting value.
    // The three days of the gap (13, 14, 15 January) also have their daily record: its 13 values at
    // the day's midnight under the day names (energy_day_kwh …), beside the 00:00 hour's. And so has
    // 12 January, the day polled before the outage: the daily archive is read routinely, so its record
    // came at the 00:00 poll of the 13th, when that day was over.
    const dayNames = Object.values(ARCHIVE_DAILY_NAMES) as string[];
    const keysPerHour = (await opened.db.query<{ t: Date; n: number }>(
      `SELECT time AS t, count(*)::int AS n FROM reading_rows WHERE meter_id = $1 AND source = 'meter_archive' AND NOT quantity = ANY($2) GROUP BY time ORDER BY time`, [tv7Id, dayNames])).rows;
    expect(keysPerHour.map((r) => r.n)).toEqual(hours(GAP_FROM, GAP_TO - HOUR).map(() => 13));
    const keysPerDay = (await opened.db.query<{ t: Date; n: number }>(
      `SELECT time AS t, count(*)::int AS n FROM reading_rows WHERE meter_id = $1 AND source = 'meter_archive' AND quantity = ANY($2) GROUP BY time ORDER BY time`, [tv7Id, dayNames])).rows;
    expect(keysPerDay.map((r) => [new Date(r.t).getTime(), r.n])).toEqual([-1, 0, 1, 2].map((d) => [GAP_FROM + d * 24 * HOUR, 13]));
    const flags0 = (await opened.db.query<{ quantity: string; source: string }>(
      `SELECT quantity, source FROM reading_rows WHERE meter_id = $1 AND quantity IN ('error_flags', 'error_flags_interval') AND time = $2 ORDER BY quantity`, [tv7Id, new Date(GAP_FROM)])).rows;
    expect(flags0).toEqual([{ quantity: 'error_flags', source: 'telemetry' }, { quantity: 'error_flags_interval', source: 'meter_archive' }]);

    // The record's heat is the true heat of that hour: the circuit's cumulative heat at the hour's end
    // minus at its start (the simulator's ОДПУ truth), to within the float32 register's resolution.
    const odpuTruth = building.meters.find((m) => m.meterId === 'odpu-heat')!;
    const energy = (await opened.db.query<{ t: Date; value: number }>(
      `SELECT time AS t, value FROM reading_rows WHERE meter_id = $1 AND quantity = 'energy_delta_kwh' ORDER BY time`, [tv7Id])).rows;
    let sum = 0;
    for (const r of energy) {
      const t = new Date(r.t).getTime();
      const truth = odpuTruth.trueCumulative(t + HOUR) - odpuTruth.trueCumulative(t);
      expect(truth).toBeGreaterThan(1); // a heating-season hour of three flats: several kWh
      expect(Math.abs(r.value - truth), new Date(t).toISOString()).toBeLessThanOrEqual(Math.max(1e-3, truth * 1e-6));
      sum += r.value;
    }
    // Each day's record of the gap: the sum of its 24 hourly records (the calculator's own day).
    const dayHeat = (await opened.db.query<{ t: Date; value: number }>(
      `SELECT time AS t, value FROM reading_rows WHERE meter_id = $1 AND quantity = 'energy_day_kwh' ORDER BY time`, [tv7Id])).rows;
    expect(dayHeat.map((d) => new Date(d.t).getTime())).toEqual([S, GAP_FROM, GAP_FROM + 24 * HOUR, GAP_FROM + 48 * HOUR]);
    // 12 January, read routinely (its hours were polled live, not back-filled): the circuit's true heat
    // from its midnight to the next.
    const day0Truth = odpuTruth.trueCumulative(GAP_FROM) - odpuTruth.trueCumulative(S);
    expect(Math.abs(dayHeat[0].value - day0Truth)).toBeLessThanOrEqual(Math.max(1e-3, day0Truth * 1e-6));
    for (const d of dayHeat.slice(1)) {
      const t0 = new Date(d.t).getTime();
      const hoursSum = energy.filter((r) => new Date(r.t).getTime() >= t0 && new Date(r.t).getTime() < t0 + 24 * HOUR).reduce((a, r) => a + r.value, 0);
      expect(Math.abs(d.value - hoursSum), new Date(t0).toISOString()).toBeLessThanOrEqual(Math.max(1e-3, hoursSum * 1e-6));
    }
    // And the 72 records add up to what the live register moved across the gap.
    const reg = (await opened.db.query<{ t: Date; value: number }>(
      `SELECT time AS t, value FROM reading_rows WHERE meter_id = $1 AND quantity = 'energy_kwh' AND time IN ($2, $3) ORDER BY time`,
      [tv7Id, new Date(GAP_FROM), new Date(GAP_TO)])).rows;
    expect(reg.length).toBe(2);
    expect(Math.abs(sum - (reg[1].value - reg[0].value))).toBeLessThan(0.01);

    // The records carry interval amounts, which no imbalance report reads: the back-fill marks no period.
    expect((await opened.db.query(`SELECT 1 FROM imbalance_dirty WHERE building_id = $1`, [buildingId])).rows).toEqual([]);

    // The imbalance of the three local days of the gap (13, 14, 15 January), from the head-end's service.
    const days = [0, 1, 2].map((d) => new Date(GAP_FROM + d * 24 * HOUR));
    let odpu = 0;
    let flats = 0;
    for (const d of days) {
      const { report } = await computeBuildingImbalance(opened.db, buildingId, 'heat', 'day', d);
      expect(report.periodStart.toISOString()).toBe(d.toISOString());
      expect(report.apartmentsActual).toBe(FLATS);
      odpu += report.buildingConsumption!;
      flats += report.apartmentsConsumption;
    }
    const measuredPct = ((odpu - flats) / odpu) * 100;
    // The truth: the circuit's heat minus what the flats' meters really counted, over the same span. No
    // common-area meter here, so common-area use counts with the loss: (common + loss) / building.
    const t = building.truth({ from: new Date(GAP_FROM), to: new Date(GAP_TO) }).resources.heat;
    const truthPct = ((t.common + t.loss) / t.building) * 100;
    // By hand from the config: building = apartments × 1.05 / 0.88, so (building − apartments) / building = 1 − 0.88 / 1.05.
    expect(truthPct).toBeCloseTo((1 - 0.88 / 1.05) * 100, 9);
    expect(Math.abs(measuredPct - truthPct), `measured ${measuredPct} % vs truth ${truthPct} %`).toBeLessThanOrEqual(0.5);
    expect(Math.abs(odpu - t.building) / t.building).toBeLessThan(1e-6);
  }, 150_000);
});
