/**
 * The embedded database on disk survives a restart: data committed before is there after reopening,
 * migrations are not re-run, and readings can still be written. Regression: PGlite lost TimescaleDB's
 * TSL module after a reopen, and every insert into `readings` failed (see src/db/embedded.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, migrate, type Db } from '../../src/db/index.js';
import { applyRetention, runPolicyJobs } from '../../src/server/index.js';
import { TEST_ENGINE } from '../engine.js';

const dir = mkdtempSync(join(tmpdir(), 'amr-db-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function addReading(db: Db, meterId: number, time: string, value: number) {
  await db.query(`INSERT INTO readings (meter_id, time, quantity, value, unit, source) VALUES ($1, $2, 'energy_kwh', $3, 'kWh', 'staff')`, [meterId, time, value]);
}

// PGlite's own files and its reload of TimescaleDB's TSL module: nothing of it exists on a server,
// where surviving a restart is PostgreSQL's write-ahead log, not ours to test.
describe.skipIf(TEST_ENGINE === 'server')('embedded database on disk', () => {
  it('keeps data and accepts readings after a restart', async () => {
    let meterId: number;
    {
      const o = await openDb({ dataDir: dir, dbPort: 0, poolMax: 1 });
      await migrate(o.db);
      meterId = await o.db.tx(async (q) => {
        const org = (await q.query<{ id: number }>(`INSERT INTO organisations (name) VALUES ('p') RETURNING id`)).rows[0].id;
        const b = (await q.query<{ id: number }>(`INSERT INTO buildings (org_id, address) VALUES ($1, 'a') RETURNING id`, [org])).rows[0].id;
        return (await q.query<{ id: number }>(`INSERT INTO meters (placement, building_id, resource, serial_number) VALUES ('building', $1, 'heat', 'S1') RETURNING id`, [b])).rows[0].id;
      });
      await addReading(o.db, meterId, '2026-10-01T00:00:00Z', 1);
      await o.close();
    }
    const o = await openDb({ dataDir: dir, dbPort: 0, poolMax: 1 });
    try {
      const r = await migrate(o.db);
      expect(r.applied).toEqual([]);
      const warnings: string[] = [];
      // TSL functions must work after a reopen too (embedded.ts loads the library first).
      expect(await applyRetention(o.db, 400, (m) => warnings.push(m))).toBe(true);
      expect(warnings).toEqual([]);
      await addReading(o.db, meterId, '2026-10-02T00:00:00Z', 2);
      const { rows } = await o.db.query<{ value: number }>('SELECT value FROM readings WHERE meter_id = $1 ORDER BY time', [meterId]);
      expect(rows.map((x) => x.value)).toEqual([1, 2]);
      // No background workers in PGlite: the head-end runs the policy jobs; the daily aggregate fills.
      const ran = await runPolicyJobs(o.db);
      expect(ran).toEqual(expect.arrayContaining(['policy_refresh_continuous_aggregate:readings_daily', 'policy_compression:reading_rows']));
      const daily = await o.db.query<{ last_value: number }>(
        'SELECT last_value FROM readings_daily WHERE meter_id = $1 ORDER BY bucket', [meterId]);
      expect(daily.rows.map((x) => x.last_value)).toEqual([1, 2]);
    } finally {
      await o.close();
    }
  });
});
