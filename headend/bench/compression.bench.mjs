#!/usr/bin/env node
/**
 * Compression benchmark (not a test): a month (June 2025, 30 days × 96) of 15-minute heat-meter
 * telemetry for N meters, compressed by the readings' compression policy (CALL run_job, as the
 * head-end's own round does), sizes before/after from hypertable_detailed_size and
 * chunk_compression_stats, printed as "% smaller" and a ratio. Goal: at least 90 % smaller.
 * The same data as headend/test/policy-jobs/compression.test.ts, which asserts the goal with fewer meters.
 * Embedded PGlite-TimescaleDB on disk by default; BENCH_DATABASE_URL=postgres://… measures a server
 * (a database that may be written to: the bench creates its tables there). Runs from dist/.
 *
 * Knobs (env): BENCH_METERS (200), BENCH_DATABASE_URL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, migrate } from '../dist/db/index.js';
import { listPolicyJobs, runJob } from '../dist/policy-jobs/index.js';

const METERS = Number(process.env.BENCH_METERS ?? 200);
const PER_METER = 2880;
const url = process.env.BENCH_DATABASE_URL;
const dir = url ? null : mkdtempSync(join(tmpdir(), 'amr-compression-bench-'));
const opened = await openDb({ databaseUrl: url, dataDir: dir ?? '', dbPort: 0, poolMax: 1 });
const db = opened.db;
const mib = (b) => `${(b / 2 ** 20).toFixed(2)} MiB`;
const sizes = async () => (await db.query(`SELECT table_bytes, index_bytes, toast_bytes, total_bytes FROM hypertable_detailed_size('reading_rows')`)).rows[0];

try {
  await migrate(db);
  const t0 = performance.now();
  await db.tx(async (q) => {
    // Bulk load: the per-row validation queue trigger is not what is measured.
    await q.query('SET LOCAL session_replication_role = replica');
    await q.query('SELECT setseed(0.42)');
    const org = (await q.query(`INSERT INTO organisations (name) VALUES ('compression bench') RETURNING id`)).rows[0].id;
    const b = (await q.query(`INSERT INTO buildings (org_id, address) VALUES ($1, 'bench') RETURNING id`, [org])).rows[0].id;
    await q.query(
      `INSERT INTO meters (placement, building_id, resource, make, serial_number, remote_reading)
       SELECT 'building', $1, 'heat', 'BENCH', 'cmp-' || i, true FROM generate_series(1, $2) i`, [b, METERS]);
    // A register (kWh, 3 decimals) rising with a daily wave around each meter's rate, received 2–10 s
    // late, with the gateway's sequence number: what telemetry stores.
    await q.query(
      `INSERT INTO reading_rows (meter_id, time, quantity, value, unit, source, quality, version, received_at, gateway_id, seq)
       SELECT m.id, timestamptz '2025-06-01T00:00:00Z' + n * interval '15 minutes', 'energy_kwh',
              round((1000 * m.k + m.rate * n + 0.3 * m.rate * 96 / (2 * pi()) * (1 - cos(2 * pi() * n / 96)))::numeric, 3),
              'kWh', 'telemetry', '{}', 1,
              timestamptz '2025-06-01T00:00:00Z' + n * interval '15 minutes' + (2 + random() * 8) * interval '1 second',
              'gw-' || (m.k % 5), n * 4 + m.k % 4
         FROM (SELECT id, row_number() OVER (ORDER BY id) AS k, 0.5 + random() AS rate FROM meters WHERE serial_number LIKE 'cmp-%') m,
              generate_series(0, $1 - 1) n`, [PER_METER]);
  });
  const loaded = performance.now() - t0;
  const before = await sizes();
  const job = (await listPolicyJobs(db)).find((j) => j.proc === 'policy_compression' && j.table === 'reading_rows');
  if (!job) throw new Error('no compression policy on reading_rows (migration 002 adds it)');
  const t1 = performance.now();
  await runJob(db, job.jobId);
  const compressMs = performance.now() - t1;
  const after = await sizes();
  const stats = (await db.query(
    `SELECT count(*) AS chunks, count(*) FILTER (WHERE compression_status = 'Compressed') AS compressed,
            sum(before_compression_total_bytes) AS before, sum(after_compression_total_bytes) AS after FROM chunk_compression_stats('reading_rows')`)).rows[0];
  const rows = Number((await db.query(`SELECT count(*) AS n FROM readings`)).rows[0].n);
  const smaller = 1 - Number(after.total_bytes) / Number(before.total_bytes);
  console.log(`engine: ${url ? 'server' : 'embedded PGlite'}; ${METERS} meters × ${PER_METER} readings = ${rows} rows loaded in ${(loaded / 1000).toFixed(1)} s`);
  console.log(`before: ${mib(Number(before.total_bytes))} (table ${mib(Number(before.table_bytes))}, indexes ${mib(Number(before.index_bytes))})`);
  console.log(`after:  ${mib(Number(after.total_bytes))} (table ${mib(Number(after.table_bytes))}, indexes ${mib(Number(after.index_bytes))}, toast ${mib(Number(after.toast_bytes))}); compressed in ${(compressMs / 1000).toFixed(1)} s`);
  console.log(`chunk_compression_stats: ${stats.compressed} of ${stats.chunks} chunks compressed, ${mib(Number(stats.before))} → ${mib(Number(stats.after))}`);
  console.log(`month of readings compressed: ${(smaller * 100).toFixed(1)} % smaller, ratio ${(Number(before.total_bytes) / Number(after.total_bytes)).toFixed(1)}:1 (goal: at least 90 % smaller)`);
} finally {
  await opened.close().catch(() => {});
  if (dir) rmSync(dir, { recursive: true, force: true });
}
