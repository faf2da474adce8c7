#!/usr/bin/env node
/**
 * Imbalance benchmark (not a test): embedded PGlite-TimescaleDB on disk (a temporary directory), N
 * buildings, each with a building meter per resource (heat, cold water) carrying a YEAR of 15-minute
 * telemetry and M apartment meters per resource with monthly manual readings. Measures
 * computeBuildingImbalance (read, compute, upsert) for one building-month, p50/p95 over repetitions,
 * and computing one month for every building and resource, per run and per call. Runs from dist/:
 * `npx tsc -b` first (npm run bench does).
 *
 * Knobs (env): BENCH_BUILDINGS (100), BENCH_APARTMENTS (40 per building per resource), BENCH_REPS (30),
 * BENCH_ALL_RUNS (3), BENCH_MONTH (2025-06). Data load bypasses the validation queue trigger (bulk load).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, migrate } from '../dist/db/index.js';
import { computeBuildingImbalance } from '../dist/imbalance/index.js';

const env = (k, d) => process.env[k] ?? d;
const BUILDINGS = Number(env('BENCH_BUILDINGS', 100));
const APARTMENTS = Number(env('BENCH_APARTMENTS', 40));
const REPS = Number(env('BENCH_REPS', 30));
const ALL_RUNS = Number(env('BENCH_ALL_RUNS', 3));
const MONTH = env('BENCH_MONTH', '2025-06');
const RESOURCES = ['heat', 'cold_water'];
const QUANTITY = { heat: 'energy_kwh', cold_water: 'volume_m3' };

const dir = mkdtempSync(join(tmpdir(), 'amr-imbalance-bench-'));
const opened = await openDb({ dataDir: dir, dbPort: 0, poolMax: 1 });
const db = opened.db;
const cleanup = async () => {
  await opened.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
};

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const ms = (x) => `${x.toFixed(1)} ms`;

try {
  await migrate(db);
  // Bulk load: the validation queue trigger would double every insert and is not what is measured
  // (ALTER TABLE … DISABLE TRIGGER is refused on a hypertable with compression; this session setting skips it).
  await db.query('SET session_replication_role = replica');

  const t0 = performance.now();
  const org = (await db.query(`INSERT INTO organisations (name) VALUES ('bench') RETURNING id`)).rows[0].id;
  await db.query(`INSERT INTO buildings (org_id, address, timezone) SELECT $1, 'bench ' || i, 'Europe/Moscow' FROM generate_series(1, $2) i`, [org, BUILDINGS]);
  await db.query(`INSERT INTO premises (building_id, number) SELECT b.id, 'f' || i FROM buildings b, generate_series(1, $1) i`, [APARTMENTS]);
  await db.query(
    `INSERT INTO meters (placement, building_id, resource, make, serial_number, remote_reading)
     SELECT 'building', b.id, r, 'BENCH', 'odpu-' || b.id || '-' || r, true FROM buildings b, unnest($1::text[]) r`, [RESOURCES]);
  await db.query(
    `INSERT INTO meters (placement, building_id, premise_id, resource, make, serial_number, register_digits)
     SELECT 'apartment', p.building_id, p.id, r, 'BENCH', 'ipu-' || p.id || '-' || r, 6 FROM premises p, unnest($1::text[]) r`, [RESOURCES]);

  // A year (plus a week each side) of 15-minute telemetry per building meter, one statement per building.
  // Register = rate × hours + a daily wave (still increasing), rate per meter.
  const buildingMeters = (await db.query(`SELECT id, resource FROM meters WHERE placement = 'building' ORDER BY id`)).rows;
  let telemetryRows = 0;
  for (let i = 0; i < buildingMeters.length; i += 2) {
    const ids = buildingMeters.slice(i, i + 2).map((m) => m.id);
    const r = await db.query(
      `INSERT INTO readings (meter_id, time, quantity, value, unit, source)
       SELECT m.id, t, CASE WHEN m.resource = 'heat' THEN 'energy_kwh' ELSE 'volume_m3' END,
              h * rate + 0.3 * rate * sin(h * pi() / 12) * 12 / pi() / 4, CASE WHEN m.resource = 'heat' THEN 'kWh' ELSE 'm3' END, 'telemetry'
         FROM meters m
         -- Σ of the apartments' mean rates (heat 22 kWh/day, cold water 0.34 m³/day each) plus a loss of 3–14 % per building.
         CROSS JOIN LATERAL (SELECT $2::int * CASE WHEN m.resource = 'heat' THEN 22 ELSE 0.34 END / 24 * (1.03 + (m.building_id % 12) * 0.01) AS rate) k
         CROSS JOIN generate_series(timestamptz '2024-12-24 00:00Z', timestamptz '2026-01-07 00:00Z', interval '15 minutes') t
         CROSS JOIN LATERAL (SELECT extract(epoch FROM t - timestamptz '2024-12-24 00:00Z') / 3600 AS h) e
        WHERE m.id = ANY($1::bigint[])`, [ids, APARTMENTS]);
    telemetryRows += r.rowCount ?? 0;
    if ((i / 2) % 20 === 19) process.stderr.write(`  telemetry: ${i + 2}/${buildingMeters.length} building meters\n`);
  }
  // Monthly manual readings on a per-meter day (15th–25th, 09:00 Moscow), 14 months.
  const manual = await db.query(
    `INSERT INTO readings (meter_id, time, quantity, value, unit, source)
     SELECT m.id, t, CASE WHEN m.resource = 'heat' THEN 'energy_kwh' ELSE 'volume_m3' END,
            extract(epoch FROM t - timestamptz '2024-12-01 00:00Z') / 86400 * CASE WHEN m.resource = 'heat' THEN 20 + (m.id % 5) ELSE 0.30 + (m.id % 9) * 0.01 END,
            CASE WHEN m.resource = 'heat' THEN 'kWh' ELSE 'm3' END, 'resident'
       FROM meters m
       CROSS JOIN generate_series(0, 13) mo
       CROSS JOIN LATERAL (SELECT ((date '2024-12-01' + make_interval(months => mo) + make_interval(days => 14 + (m.id % 11)::int)) + time '09:00')::timestamp AT TIME ZONE 'Europe/Moscow' AS t) x
      WHERE m.placement = 'apartment'`);
  await db.query('SET session_replication_role = DEFAULT');
  const queued = Number((await db.query('SELECT count(*) AS n FROM vee_queue')).rows[0].n);
  if (queued > 0) throw new Error(`bulk load queued ${queued} readings for validation`);
  await db.query('ANALYZE');
  const loadS = (performance.now() - t0) / 1000;
  console.log(`data: ${BUILDINGS} buildings × ${RESOURCES.length} resources; ${buildingMeters.length} building meters with ${telemetryRows.toLocaleString('en')} telemetry rows (15 min, 1 year); ` +
    `${BUILDINGS * APARTMENTS * RESOURCES.length} apartment meters with ${(manual.rowCount ?? 0).toLocaleString('en')} monthly readings; loaded in ${loadS.toFixed(1)} s`);

  const at = new Date(`${MONTH}-15T00:00:00Z`);
  const firstBuilding = Number((await db.query('SELECT min(id) AS id FROM buildings')).rows[0].id);

  // One building-month, repeated (each call reads, computes and upserts).
  for (const resource of RESOURCES) {
    const times = [];
    let last;
    for (let i = 0; i < REPS + 2; i++) {
      const s = performance.now();
      last = await computeBuildingImbalance(db, firstBuilding, resource, 'month', at);
      if (i >= 2) times.push(performance.now() - s); // two warm-up calls
    }
    const r = last.report;
    console.log(`one building-month (${resource}, ${r.meters.length} meters, ${MONTH}): p50 ${ms(pct(times, 50))}, p95 ${ms(pct(times, 95))} over ${times.length} calls` +
      ` — ОДПУ ${r.buildingConsumption?.toFixed(1)} ${QUANTITY[resource]}, imbalance ${r.imbalancePct?.toFixed(2)} %, ${r.status}`);
  }

  // Every building and resource for the month, sequentially (one embedded connection).
  const ids = (await db.query('SELECT id FROM buildings ORDER BY id')).rows.map((r) => Number(r.id));
  const runs = [];
  const perCall = [];
  for (let run = 0; run < ALL_RUNS; run++) {
    const s = performance.now();
    for (const id of ids) {
      for (const resource of RESOURCES) {
        const c = performance.now();
        await computeBuildingImbalance(db, id, resource, 'month', at);
        perCall.push(performance.now() - c);
      }
    }
    runs.push(performance.now() - s);
  }
  const statuses = (await db.query(`SELECT status, count(*)::int AS n FROM imbalance_reports GROUP BY status ORDER BY status`)).rows.map((r) => `${r.status} ${r.n}`).join(', ');
  console.log(`all ${ids.length} buildings × ${RESOURCES.length} resources for ${MONTH}: p50 ${(pct(runs, 50) / 1000).toFixed(2)} s, p95 ${(pct(runs, 95) / 1000).toFixed(2)} s per run over ${runs.length} runs` +
    ` (per call p50 ${ms(pct(perCall, 50))}, p95 ${ms(pct(perCall, 95))}); reports: ${statuses}`);
} finally {
  await cleanup();
}
