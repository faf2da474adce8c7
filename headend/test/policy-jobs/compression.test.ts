/**
 * Compression of a month of 15-minute telemetry by the compression policy makes the readings at least
 * 90 % smaller (a size, not a time, so it is asserted), on both engines. The same data as
 * `npm run bench compression` (headend/bench/compression.bench.mjs), with fewer meters: the ratio is
 * per meter (compress_segmentby = meter_id, quantity), not per meter count.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db, OpenedDb } from '../../src/db/index.js';
import { listPolicyJobs, runJob } from '../../src/policy-jobs/index.js';
import { openTestDb, TEST_ENGINE } from '../engine.js';

const METERS = 20;
/** 30 days × 96 quarter-hours. */
const PER_METER = 2880;

/**
 * A heat meter's energy register (kWh, 3 decimals) every 15 minutes through June 2025: a daily wave
 * around the meter's own rate, always increasing, plus the rest of what telemetry stores — received
 * a few seconds late (ms jitter), the gateway's sequence number, no quality flags, version 1.
 */
async function loadMonth(db: Db, meters: number): Promise<void> {
  await db.tx(async (q) => {
    // Bulk load: the per-row validation queue trigger is not what is measured.
    await q.query('SET LOCAL session_replication_role = replica');
    await q.query(`SELECT setseed(0.42)`);
    const org = (await q.query<{ id: number }>(`INSERT INTO organisations (name) VALUES ('compression') RETURNING id`)).rows[0].id;
    const b = (await q.query<{ id: number }>(`INSERT INTO buildings (org_id, address) VALUES ($1, 'ул. Сжатая, 1') RETURNING id`, [org])).rows[0].id;
    await q.query(
      `INSERT INTO meters (placement, building_id, resource, make, serial_number, remote_reading)
       SELECT 'building', $1, 'heat', 'ТВ7', 'cmp-' || i, true FROM generate_series(1, $2) i`, [b, meters]);
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
}

async function totalBytes(db: Db): Promise<number> {
  return Number((await db.query<{ b: string }>(`SELECT total_bytes AS b FROM hypertable_detailed_size('reading_rows')`)).rows[0].b);
}

describe(`compression of a month of 15-minute readings (${TEST_ENGINE})`, () => {
  let opened: OpenedDb;
  let db: Db;
  beforeAll(async () => {
    opened = await openTestDb();
    db = opened.db;
    await loadMonth(db, METERS);
  }, 120_000);
  afterAll(async () => { await opened?.close(); });

  it('the compression policy makes them at least 90 % smaller, and every reading reads back', async () => {
    const before = await totalBytes(db);
    const job = (await listPolicyJobs(db)).find((j) => j.proc === 'policy_compression' && j.table === 'reading_rows');
    if (!job) throw new Error('no compression policy on reading_rows: migration 002 adds it');
    await runJob(db, job.jobId);

    const chunks = (await db.query<{ c: boolean }>(`SELECT is_compressed AS c FROM timescaledb_information.chunks WHERE hypertable_name = 'reading_rows'`)).rows;
    // June 2025 in Thursday-aligned 7-day chunks: from May 29, Jun 5, 12, 19 and 26.
    expect(chunks.map((c) => c.c)).toEqual([true, true, true, true, true]);
    const after = await totalBytes(db);
    const smaller = 1 - after / before;
    console.log(`compression (${TEST_ENGINE}): ${METERS} meters × ${PER_METER} readings, ${before} → ${after} bytes, ${(smaller * 100).toFixed(1)} % smaller`);
    expect(smaller).toBeGreaterThanOrEqual(0.9);

    const back = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM readings WHERE time >= '2025-06-01' AND time < '2025-07-01'`);
    expect(Number(back.rows[0].n)).toBe(METERS * PER_METER);
  }, 120_000);
});
