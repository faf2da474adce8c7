/**
 * A readings import stages its rows hidden in short chunks and makes them visible with one switch
 * (readings/import-staging.ts, migrations/028). On a real head-end (either engine), nothing timed:
 *   - a file of 2 400 rows (several judge chunks: at least 500 rows each) is stored once, all rows of one import;
 *     re-importing it adds nothing;
 *   - one bad row in the last chunk: nothing visible, and no hidden row is left behind;
 *   - another organisation's meter serial: named as unknown, nothing stored for either organisation;
 *   - a crash between staging and the switch: the rows were never visible and are deleted on start;
 *     a crash after the switch: the start queues the instants for validation.
 *
 * Data, worked by hand: 600 flats of the "stage" organisation, account ST<i>, cold-water meter SS<i>;
 * four readings each on the 1st of Sep–Dec 2026 (Moscow), 10, 13, 16, 19 m³: 3 m³ a month, no query.
 * 600 × 4 = 2 400 rows, file rows 2..2 401; meter i's month k on row 2 + 4·(i − 1) + k.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, dbEnv, type TestDatabase } from '../engine.js';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/index.js';
import { startHeadend, fixedClock, type Headend } from '../../src/server/index.js';
import { importReadingRows, type ReadingsImportOptions } from '../../src/exchange/index.js';
import { finishImports, openImport, stageVersions, switchImport } from '../../src/readings/import-staging.js';
import type { SourceRow } from '../../src/import/index.js';

const FLATS = 600;
const MONTHS = ['2026-09-01', '2026-10-01', '2026-11-01', '2026-12-01'];
let he: Headend;
let database: TestDatabase | undefined;
let orgId = 0;
let otherOrgId = 0;
const meterIds: number[] = [];

function rows(bad?: { row: number; value: string }): SourceRow[] {
  const out: SourceRow[] = [];
  for (let i = 1; i <= FLATS; i++) {
    for (const [k, date] of MONTHS.entries()) {
      const row = out.length + 2;
      out.push({ row, values: { account: `ST${i}`, serial: `SS${i}`, date, value: bad?.row === row ? bad.value : String(10 + 3 * k) } });
    }
  }
  return out;
}

const options = (fileName: string): ReadingsImportOptions => ({
  orgId, dryRun: false, fileName, buildingIds: null, now: new Date('2027-01-15T09:00:00Z'),
  actor: { kind: 'system', id: null, name: 'staging-test' }, rights: { write: true, outsideWindow: true, correct: true },
});
const COLUMNS = ['account', 'serial', 'date', 'value'];

const count = async (sql: string, params: unknown[] = []) => Number((await he.db.query<{ n: string }>(sql, params)).rows[0].n);
const visible = () => count(`SELECT count(*) AS n FROM readings WHERE meter_id = ANY($1::bigint[])`, [meterIds]);
const stored = () => count(`SELECT count(*) AS n FROM reading_rows WHERE meter_id = ANY($1::bigint[])`, [meterIds]);

beforeAll(async () => {
  database = await testDatabase();
  const config = loadConfig({ DATA_DIR: 'memory://', ...dbEnv(database), DB_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_PORT: '0', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent' });
  he = await startHeadend({ config, logger: pino({ level: 'silent' }), jobs: false, clock: fixedClock('2027-01-15T12:00:00+03:00') });
  await he.db.tx(async (q) => {
    orgId = Number((await q.query(`INSERT INTO organisations (name) VALUES ('stage org') RETURNING id`)).rows[0].id);
    otherOrgId = Number((await q.query(`INSERT INTO organisations (name) VALUES ('stage other org') RETURNING id`)).rows[0].id);
    const b = Number((await q.query(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, 'stage 1', 'Europe/Moscow') RETURNING id`, [orgId])).rows[0].id);
    await q.query(`INSERT INTO premises (building_id, number) SELECT $1, i::text FROM generate_series(1, $2::int) i`, [b, FLATS]);
    await q.query(`INSERT INTO personal_accounts (org_id, number, premise_id) SELECT $1, 'ST' || number, id FROM premises WHERE building_id = $2`, [orgId, b]);
    const ids = (await q.query<{ id: string }>(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number)
      SELECT 'apartment', $1, id, 'cold_water', 'SS' || number FROM premises WHERE building_id = $1 ORDER BY number::int RETURNING id`, [b])).rows;
    meterIds.push(...ids.map((r) => Number(r.id)));
    // The other organisation: one flat with a meter of its own.
    const ob = Number((await q.query(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, 'other 1', 'Europe/Moscow') RETURNING id`, [otherOrgId])).rows[0].id);
    const op = Number((await q.query(`INSERT INTO premises (building_id, number) VALUES ($1, '1') RETURNING id`, [ob])).rows[0].id);
    await q.query(`INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, 'OT1', $2)`, [otherOrgId, op]);
    await q.query(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number) VALUES ('apartment', $1, $2, 'cold_water', 'OS1')`, [ob, op]);
  });
}, 120_000);

afterAll(async () => {
  await he?.close();
  await database?.drop();
});

describe('a readings import staged hidden and switched at once', () => {
  it('one bad row in the last chunk: nothing visible, no hidden row left, the row and column named', async () => {
    // Row 2 401 is meter 600's December reading; "12,x" is not a number.
    const report = await importReadingRows(he.db, 'readings', COLUMNS, rows({ row: 2401, value: '12,x' }), options('bad.csv'));
    expect(report).toMatchObject({ ok: false, applied: false, changes: [] });
    expect(report.errors).toEqual([{ sheet: 'readings', row: 2401, column: 'value', message: 'not a number: "12,x"' }]);
    expect(await visible()).toBe(0);
    expect(await stored()).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM reading_imports WHERE file_name = 'bad.csv'`)).toBe(0);
  });

  it('a value the core refuses in the last chunk (below the previous): the chunks staged before it are deleted too', async () => {
    // Meter 600's months: 10, 13, 16, then 5 on row 2 401: below 16.
    const report = await importReadingRows(he.db, 'readings', COLUMNS, rows({ row: 2401, value: '5' }), options('below.csv'));
    expect(report.ok).toBe(false);
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]).toMatchObject({ row: 2401, column: 'value' });
    expect(report.errors[0].message).toContain('less than the previous reading 16');
    expect(await visible()).toBe(0);
    expect(await stored()).toBe(0);
  });

  it('another organisation\'s meter in the file: named as unknown, nothing stored for either organisation', async () => {
    const file = [...rows(), { row: 2402, values: { account: 'OT1', serial: 'OS1', date: '2026-12-01', value: '7' } }];
    const report = await importReadingRows(he.db, 'readings', COLUMNS, file, options('foreign.csv'));
    expect(report.ok).toBe(false);
    expect(report.errors).toEqual([{ sheet: 'readings', row: 2402, column: 'serial', message: `unknown meter "OS1" in organisation ${orgId}` }]);
    expect(await stored()).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM reading_rows r JOIN meters m ON m.id = r.meter_id WHERE m.serial_number = 'OS1'`)).toBe(0);
  });

  it('a good file of 2 400 rows is stored once, by one import; re-importing it adds nothing', async () => {
    const report = await importReadingRows(he.db, 'readings', COLUMNS, rows(), options('good.csv'));
    expect(report).toMatchObject({ ok: true, applied: true, summary: { insert: 2400, unchanged: 0 }, errors: [] });
    expect(await visible()).toBe(2400);
    expect(await count(`SELECT count(DISTINCT (meter_id, time)) AS n FROM readings WHERE meter_id = ANY($1::bigint[])`, [meterIds])).toBe(2400);
    const imports = (await he.db.query<{ id: string; state: string; rows: number; settled: boolean }>(
      `SELECT id, state, rows, settled_at IS NOT NULL AS settled FROM reading_imports WHERE file_name = 'good.csv'`)).rows;
    expect(imports).toEqual([{ id: imports[0].id, state: 'switched', rows: 2400, settled: true }]);
    expect(await count(`SELECT count(*) AS n FROM reading_rows WHERE import_id = $1 AND meter_id = ANY($2::bigint[])`, [imports[0].id, meterIds])).toBe(2400);
    // Settled: every instant queued for validation (or validated already), and the import no longer lists its meters.
    expect(await count(`SELECT count(*) AS n FROM (SELECT meter_id, time FROM vee_queue UNION SELECT meter_id, time FROM reading_validations) v
      WHERE meter_id = ANY($1::bigint[])`, [meterIds])).toBe(2400);
    expect(await count(`SELECT count(*) AS n FROM reading_import_meters WHERE import_id = $1`, [imports[0].id])).toBe(0);

    const again = await importReadingRows(he.db, 'readings', COLUMNS, rows(), options('good-again.csv'));
    expect(again).toMatchObject({ ok: true, applied: true, summary: { insert: 0, unchanged: 2400 } });
    expect(await stored()).toBe(2400);
    expect(await count(`SELECT count(*) AS n FROM reading_imports WHERE file_name = 'good-again.csv'`)).toBe(0);
  });

  it('a crash between staging and the switch: the rows were never visible, and the start deletes them', async () => {
    const meter = meterIds[0];
    // Staged by hand as a chunk would be, then "the process dies": no switch, no discard.
    const id = await he.db.tx(async (q) => {
      const importId = await openImport(q, { orgId, fileName: 'crash.csv', createdBy: 'staging-test' });
      await stageVersions(q, importId, [{ meterId: meter, time: new Date('2027-01-01T00:00:00+03:00'), quantity: 'volume_m3', value: 22, source: 'import', createdBy: 'staging-test', reason: 'crash.csv', version: 1 }]);
      return importId;
    });
    expect(await count(`SELECT count(*) AS n FROM readings WHERE meter_id = $1 AND time = '2027-01-01T00:00:00+03:00'`, [meter])).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM reading_rows WHERE import_id = $1`, [id])).toBe(1);
    // What the start does (server/headend.ts): the import still staging is discarded.
    expect(await finishImports(he.db)).toEqual({ discarded: 1, settled: 0 });
    expect(await count(`SELECT count(*) AS n FROM reading_rows WHERE import_id = $1`, [id])).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM reading_imports WHERE id = $1`, [id])).toBe(0);
    expect(await visible()).toBe(2400);
  });

  it('a crash after the switch: the rows are visible, and the start queues them for validation', async () => {
    const meter = meterIds[1];
    const id = await he.db.tx(async (q) => {
      const importId = await openImport(q, { orgId, fileName: 'switched.csv', createdBy: 'staging-test' });
      await stageVersions(q, importId, [{ meterId: meter, time: new Date('2027-01-01T00:00:00+03:00'), quantity: 'volume_m3', value: 22, source: 'import', createdBy: 'staging-test', reason: 'switched.csv', version: 1 }]);
      return importId;
    });
    expect(await he.db.tx((q) => switchImport(q, id, 1))).toEqual({ ok: true });
    expect(await count(`SELECT count(*) AS n FROM readings WHERE meter_id = $1 AND time = '2027-01-01T00:00:00+03:00'`, [meter])).toBe(1);
    expect(await finishImports(he.db)).toEqual({ discarded: 0, settled: 1 });
    expect(await count(`SELECT count(*) AS n FROM (SELECT meter_id, time FROM vee_queue UNION SELECT meter_id, time FROM reading_validations) v
      WHERE meter_id = $1 AND time = '2027-01-01T00:00:00+03:00'`, [meter])).toBe(1);
    expect(await finishImports(he.db)).toEqual({ discarded: 0, settled: 0 });
  });
});
