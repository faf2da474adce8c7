/**
 * The facts a readings import judges each row against come from the database set-based per chunk
 * (readings/write-store.ts loadNeighbourFactsBatch: one window query of the chunk's registers, probes
 * only for what it does not hold), and the hidden rows it stages are guarded against every other
 * writer. On a real head-end (either engine), nothing timed. Worked by hand:
 *   - M1 has 100 m³ two years before the file's 1 Dec 2026 (beyond the 7-month window): 90 is
 *     refused as less than the previous reading 100; 130 passes;
 *   - M2 has 100 m³ on 1 Jul 2026 (5 months back, in the window's older part): 95 is refused;
 *   - M3 has 200 m³ on 1 Jan 2027, after the file's last date: 250 on 1 Dec is more than the next
 *     reading 200;
 *   - a chunk boundary inside one meter's rows of the file: X4's Sep–Nov (10, 13, 16 m³) are the first
 *     rows, 1 200 rows of 300 other flats follow (more than the first chunk's 500 rows), its
 *     December comes last: 5 is refused as less than 16 (the meter's rows are judged together), 19 passes;
 *   - a telemetry row (the bulk write, as ingest writes) of a meter an import staged makes the
 *     import's switch refuse as stale; a redelivery that stores nothing does not;
 *   - a version the import judged free but another writer took: the chunk fails as the unique key would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, dbEnv, type TestDatabase } from '../engine.js';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/index.js';
import { startHeadend, fixedClock, type Headend } from '../../src/server/index.js';
import { importReadingRows, type ReadingsImportOptions } from '../../src/exchange/index.js';
import { discardImport, openImport, stageVersions, switchImport } from '../../src/readings/import-staging.js';
import { writeReadingRows } from '../../src/readings/bulk-write.js';
import type { SourceRow } from '../../src/import/index.js';

const FILLER = 300;
const MONTHS = ['2026-09-01', '2026-10-01', '2026-11-01', '2026-12-01'];
const COLUMNS = ['account', 'serial', 'date', 'value'];
let he: Headend;
let database: TestDatabase | undefined;
let orgId = 0;
const meter: Record<string, number> = {};

const options = (dryRun: boolean): ReadingsImportOptions => ({
  orgId, dryRun, fileName: 'facts.csv', buildingIds: null, now: new Date('2027-01-15T09:00:00Z'),
  actor: { kind: 'system', id: null, name: 'facts-test' }, rights: { write: true, outsideWindow: true, correct: true },
});
const one = (n: string, date: string, value: number): SourceRow[] => [{ row: 2, values: { account: `F${n}`, serial: `M${n}`, date, value: String(value) } }];
const count = async (sql: string, params: unknown[] = []) => Number((await he.db.query<{ n: string }>(sql, params)).rows[0].n);

beforeAll(async () => {
  database = await testDatabase();
  const config = loadConfig({ DATA_DIR: 'memory://', ...dbEnv(database), DB_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_PORT: '0', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent' });
  he = await startHeadend({ config, logger: pino({ level: 'silent' }), jobs: false, clock: fixedClock('2027-01-15T12:00:00+03:00') });
  await he.db.tx(async (q) => {
    orgId = Number((await q.query(`INSERT INTO organisations (name) VALUES ('facts org') RETURNING id`)).rows[0].id);
    const b = Number((await q.query(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, 'facts 1', 'Europe/Moscow') RETURNING id`, [orgId])).rows[0].id);
    // Flats 1–5 (meters M1–M5), then the filler flats 1001.. (meters M1001..).
    await q.query(`INSERT INTO premises (building_id, number) SELECT $1::bigint, i::text FROM generate_series(1, 5) i UNION ALL SELECT $1::bigint, i::text FROM generate_series(1001, 1000 + $2::int) i`, [b, FILLER]);
    await q.query(`INSERT INTO personal_accounts (org_id, number, premise_id) SELECT $1, 'F' || number, id FROM premises WHERE building_id = $2`, [orgId, b]);
    for (const r of (await q.query<{ id: string; serial_number: string }>(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number)
      SELECT 'apartment', $1, id, 'cold_water', 'M' || number FROM premises WHERE building_id = $1 RETURNING id, serial_number`, [b])).rows) meter[r.serial_number] = Number(r.id);
    const stored = (m: string, time: string, value: number) => q.query(
      `INSERT INTO readings (meter_id, time, quantity, value, unit, source, version, created_by) VALUES ($1, $2, 'volume_m3', $3, 'm3', 'staff', 1, 'facts-test')`, [meter[m], time, value]);
    await stored('M1', '2024-12-01T00:00:00+03:00', 100);
    await stored('M2', '2026-07-01T00:00:00+03:00', 100);
    await stored('M3', '2027-01-01T00:00:00+03:00', 200);
    await stored('M4', '2026-12-01T00:00:00+03:00', 300);
  });
}, 120_000);

afterAll(async () => {
  await he?.close();
  await database?.drop();
});

describe('a readings import judges every row against the stored readings around it', () => {
  it('a previous reading two years back, beyond the window the chunk scans: a lower value is refused, a higher one passes', async () => {
    const low = await importReadingRows(he.db, 'readings', COLUMNS, one('1', '2026-12-01', 90), options(true));
    expect(low.ok).toBe(false);
    expect(low.errors).toHaveLength(1);
    expect(low.errors[0]).toMatchObject({ row: 2, column: 'value' });
    expect(low.errors[0].message).toContain('90 is less than the previous reading 100');
    const high = await importReadingRows(he.db, 'readings', COLUMNS, one('1', '2026-12-01', 130), options(true));
    expect(high).toMatchObject({ ok: true, summary: { insert: 1, unchanged: 0 } });
    expect(high.changes[0]).toMatchObject({ previous: 100 });
  });

  it('a previous reading 5 months back, in the oldest part of the window: a lower value is refused', async () => {
    const r = await importReadingRows(he.db, 'readings', COLUMNS, one('2', '2026-12-01', 95), options(true));
    expect(r.ok).toBe(false);
    expect(r.errors[0].message).toContain('95 is less than the previous reading 100');
  });

  it('a next reading after the file\'s last date: a value above it is refused', async () => {
    const r = await importReadingRows(he.db, 'readings', COLUMNS, one('3', '2026-12-01', 250), options(true));
    expect(r.ok).toBe(false);
    expect(r.errors[0]).toMatchObject({ row: 2, column: 'value' });
    expect(r.errors[0].message).toContain('250 is more than the next reading 200');
  });

  it('a next reading half a year after the file\'s date, beyond the window\'s reach forward: a value above it is refused, one below passes', async () => {
    const high = await importReadingRows(he.db, 'readings', COLUMNS, one('4', '2026-06-01', 350), options(true));
    expect(high.ok).toBe(false);
    expect(high.errors[0].message).toContain('350 is more than the next reading 300');
    const low = await importReadingRows(he.db, 'readings', COLUMNS, one('4', '2026-06-01', 280), options(true));
    expect(low).toMatchObject({ ok: true, summary: { insert: 1, unchanged: 0 } });
  });

  it('a meter whose rows sit at both ends of a file longer than a chunk: its December is judged against its November', async () => {
    const file = (december: number): SourceRow[] => {
      const out: SourceRow[] = [];
      const push = (n: string, date: string, value: number) => out.push({ row: out.length + 2, values: { account: `F${n}`, serial: `M${n}`, date, value: String(value) } });
      MONTHS.slice(0, 3).forEach((d, k) => push('4', d, 10 + 3 * k));
      for (let i = 1001; i <= 1000 + FILLER; i++) MONTHS.forEach((d, k) => push(String(i), d, 50 + 2 * k));
      push('4', MONTHS[3], december);
      return out;
    };
    const last = 2 + 3 + FILLER * 4;
    const bad = await importReadingRows(he.db, 'readings', COLUMNS, file(5), options(true));
    expect(bad.ok).toBe(false);
    expect(bad.errors).toHaveLength(1);
    expect(bad.errors[0]).toMatchObject({ row: last, column: 'value' });
    expect(bad.errors[0].message).toContain('5 is less than the previous reading 16');
    const good = await importReadingRows(he.db, 'readings', COLUMNS, file(19), options(true));
    expect(good).toMatchObject({ ok: true, summary: { insert: 3 + FILLER * 4 + 1, unchanged: 0 } });
    expect(good.changes.find((c) => c.row === last)).toMatchObject({ value: 19, previous: 16 });
  });
});

describe('the hidden rows of an import against other writers', () => {
  const staged = (importId: number) => he.db.tx((q) => stageVersions(q, importId, [
    { meterId: meter.M5, time: new Date('2026-11-01T00:00:00+03:00'), quantity: 'volume_m3', value: 120, source: 'import', createdBy: 'facts-test', reason: 'facts.csv', version: 1 }]));
  const telemetry = () => he.db.tx((q) => writeReadingRows(q, [
    { meterId: meter.M5, time: '2026-11-15T00:00:00+03:00', quantity: 'volume_m3', value: 121, unit: 'm3', source: 'telemetry', version: 1, quality: [] }]));

  it('a telemetry row of a staged meter makes the switch refuse as stale; a redelivery that stores nothing does not', async () => {
    const first = await he.db.tx((q) => openImport(q, { orgId, fileName: 'stale.csv', createdBy: 'facts-test' }));
    await staged(first);
    expect(await telemetry()).toEqual({ inserted: 1, skipped: [] });
    expect(await he.db.tx((q) => switchImport(q, first, 1))).toEqual({ ok: false, conflict: `meters ${meter.M5}` });
    await discardImport(he.db, first);
    expect(await count('SELECT count(*) AS n FROM reading_rows WHERE meter_id = $1', [meter.M5])).toBe(1);

    const second = await he.db.tx((q) => openImport(q, { orgId, fileName: 'fresh.csv', createdBy: 'facts-test' }));
    await staged(second);
    expect(await telemetry()).toEqual({ inserted: 0, skipped: [0] });
    expect(await he.db.tx((q) => switchImport(q, second, 1))).toEqual({ ok: true });
    expect(await count(`SELECT count(*) AS n FROM readings WHERE meter_id = $1 AND source = 'import'`, [meter.M5])).toBe(1);
  });

  it('a version judged free but taken by another writer: the chunk fails as the unique key would, nothing staged', async () => {
    const id = await he.db.tx((q) => openImport(q, { orgId, fileName: 'taken.csv', createdBy: 'facts-test' }));
    await expect(he.db.tx((q) => stageVersions(q, id, [
      { meterId: meter.M2, time: new Date('2026-07-01T00:00:00+03:00'), quantity: 'volume_m3', value: 101, source: 'import', createdBy: 'facts-test', reason: 'taken.csv', version: 1 }]))).rejects.toMatchObject({ code: '23505' });
    expect(await count('SELECT count(*) AS n FROM reading_rows WHERE import_id = $1', [id])).toBe(0);
    await discardImport(he.db, id);
  });
});
