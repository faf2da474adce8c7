/**
 * Meter life events in billing, on a real embedded database: a meter replaced mid-month is one
 * metering point charged once — (removal − old's start) + (new's end − installation), never a fake
 * rollover; a failed meter counts as "no reading" from its failure date (failed_on, or the earlier
 * verification expiry), the rest of the month charged by the fallback.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { OpenedDb } from '../../../src/db/index.js';
import { openTestDb } from '../../engine.js';
import { computePeriod, LINE_COLUMNS, rowToLine } from '../../../src/billing/store/index.js';

let opened: OpenedDb;
let org = 0;

async function one<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T> {
  return (await opened.db.query(sql, params)).rows[0] as T;
}
async function reading(meterId: number, iso: string, value: number, source = 'telemetry') {
  await opened.db.query(`INSERT INTO readings (meter_id, time, quantity, value, unit, source) VALUES ($1, $2, 'volume_m3', $3, 'm3', $4)`, [meterId, iso, value, source]);
}
async function lines(period: string, buildingId: number) {
  const { rows } = await opened.db.query(`SELECT ${LINE_COLUMNS}, sources FROM accrual_lines WHERE period = $1 AND building_id = $2 ORDER BY id`, [period, buildingId]);
  return rows.map((r) => ({ ...rowToLine(r), sources: r.sources as Array<{ meterId: number; time: string }> }));
}
/** A building (UTC) with one flat of 2 residents and its cold-water meter. */
async function flat(name: string, meter: { digits?: number } = {}) {
  const b = Number((await one(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, $2, 'UTC') RETURNING id`, [org, name])).id);
  const p = Number((await one(`INSERT INTO premises (building_id, number, residents, area_m2) VALUES ($1, '1', 2, 50) RETURNING id`, [b])).id);
  const a = Number((await one(`INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, $2, $3) RETURNING id`, [org, `LS-${name}`, p])).id);
  const m = Number((await one(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number, register_digits) VALUES ('apartment', $1, $2, 'cold_water', $3, $4) RETURNING id`,
    [b, p, `CW-${name}`, meter.digits ?? null])).id);
  return { b, p, a, m };
}
/** What the replacement route does (registry/meter-routes.ts): old removed, new active, both readings, the record. */
async function replace(old: number, b: number, p: number, at: string, removal: number, installation: number, readingRows = true) {
  const n = Number((await one(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number, register_digits) VALUES ('apartment', $1, $2, 'cold_water', $3, 5) RETURNING id`,
    [b, p, `CW-new-${old}`])).id);
  await opened.db.query(`UPDATE meters SET status = 'removed', decommissioned_on = $2::timestamptz::date WHERE id = $1`, [old, at]);
  if (readingRows) {
    await reading(old, at, removal, 'staff');
    await reading(n, at, installation, 'staff');
  }
  await opened.db.query(`INSERT INTO meter_replacements (old_meter_id, new_meter_id, replaced_at, removal_reading, installation_reading, work_order) VALUES ($1, $2, $3, $4, $5, 'WO-1')`,
    [old, n, at, removal, installation]);
  return n;
}

beforeAll(async () => {
  opened = await openTestDb();
  org = Number((await one(`INSERT INTO organisations (name) VALUES ('УК Восток') RETURNING id`)).id);
  await opened.db.query(`INSERT INTO billing_tariffs (org_id, resource, valid_from, tariff) VALUES ($1, 'cold_water', '2025-01-01', '{"kind":"single","price":50}')`, [org]);
  await opened.db.query(`INSERT INTO billing_norms (org_id, resource, valid_from, per_resident) VALUES ($1, 'cold_water', '2025-01-01', 4.5)`, [org]);
}, 120_000);
afterAll(async () => { await opened?.close(); });

describe('meter replaced mid-month', () => {
  it('one charge for the metering point: (removal − old start) + (new end − installation), no rollover', async () => {
    // Old meter, 5 digits: 99 990 on 1 Jan, removed on 15 Jan at 99 996; the new one installed at 0, 8 on 1 Feb.
    // Read as one register this would be a drop 99 996 → 0, i.e. a rollover of ~100 000 m³.
    const { b, p, a, m } = await flat('Rep-1', { digits: 5 });
    await reading(m, '2025-12-01T00:00:00Z', 99_980);
    await reading(m, '2026-01-01T00:00:00Z', 99_990);
    const n = await replace(m, b, p, '2026-01-15T12:00:00Z', 99_996, 0);
    await reading(n, '2026-02-01T00:00:00Z', 8);
    await reading(n, '2026-03-01T00:00:00Z', 15);
    await computePeriod(opened.db, b, '2026-01-01');
    const jan = await lines('2026-01-01', b);
    // (99 996 − 99 990) + (8 − 0) = 14 m³ × 50 ₽ = 700 ₽, one line named by the new meter.
    expect(jan.map((l) => [Number(l.accountId), l.meterId, l.method, l.quantity, l.amount])).toEqual([[a, String(n), 'measured', 14, 70000]]);
    // Provenance names the readings of both meters.
    expect(new Set(jan[0].sources.map((s) => s.meterId))).toEqual(new Set([m, n]));
    // December (before the replacement): only the old meter, 10 m³; the new one did not stand there yet.
    await computePeriod(opened.db, b, '2025-12-01');
    expect((await lines('2025-12-01', b)).map((l) => [l.meterId, l.quantity])).toEqual([[String(m), 10]]);
    // February: only the new meter, 15 − 8 = 7 m³.
    await computePeriod(opened.db, b, '2026-02-01');
    expect((await lines('2026-02-01', b)).map((l) => [l.meterId, l.quantity])).toEqual([[String(n), 7]]);
  });

  it('takes the removal and installation readings from the replacement record when no reading rows exist', async () => {
    const { b, p, m } = await flat('Rep-2');
    await reading(m, '2026-01-01T00:00:00Z', 500);
    const n = await replace(m, b, p, '2026-01-20T00:00:00Z', 512.5, 3, false);
    await reading(n, '2026-02-01T00:00:00Z', 6);
    await computePeriod(opened.db, b, '2026-01-01');
    // (512.5 − 500) + (6 − 3) = 15.5 m³ × 50 = 775 ₽.
    expect((await lines('2026-01-01', b)).map((l) => [l.meterId, l.method, l.quantity, l.amount])).toEqual([[String(n), 'measured', 15.5, 77500]]);
  });

  it('two replacements in one month (A → B → C): three stretches, one charge', async () => {
    const { b, p, m } = await flat('Rep-4');
    await reading(m, '2026-01-01T00:00:00Z', 40);
    const b2 = await replace(m, b, p, '2026-01-10T00:00:00Z', 44, 0);
    const c = await replace(b2, b, p, '2026-01-20T00:00:00Z', 2.5, 1);
    await reading(c, '2026-02-01T00:00:00Z', 4);
    await computePeriod(opened.db, b, '2026-01-01');
    // (44 − 40) + (2.5 − 0) + (4 − 1) = 9.5 m³ × 50 = 475 ₽.
    expect((await lines('2026-01-01', b)).map((l) => [l.meterId, l.method, l.quantity, l.amount])).toEqual([[String(c), 'measured', 9.5, 47500]]);
  });

  it('the new meter not read by the month end: the point has no reading and the fallback charges it (once)', async () => {
    const { b, p, m } = await flat('Rep-3');
    await reading(m, '2026-01-01T00:00:00Z', 100);
    const n = await replace(m, b, p, '2026-01-10T00:00:00Z', 103, 0);
    await computePeriod(opened.db, b, '2026-01-01');
    const jan = await lines('2026-01-01', b);
    // No history: norm 4.5 × 2 residents = 9 m³ × 50 = 450 ₽, one line for the point.
    expect(jan.map((l) => [l.meterId, l.method, l.quantity, l.amount])).toEqual([[String(n), 'norm', 9, 45000]]);
  });
});

describe('failed meter', () => {
  it('counts as no reading from failed_on: measured up to it, the rest of the month by the fallback', async () => {
    const { b, m } = await flat('Fail-1');
    await reading(m, '2026-01-01T00:00:00Z', 0);
    await reading(m, '2026-01-11T00:00:00Z', 5);
    // After the failure the register ran wild: 40 m³ must not be charged.
    await reading(m, '2026-02-01T00:00:00Z', 45);
    // Failed on 11 Jan; its verification would expire later (20 Jan): the earlier date counts.
    await opened.db.query(`UPDATE meters SET status = 'failed', failed_on = '2026-01-11', next_verification_on = '2026-01-20' WHERE id = $1`, [m]);
    await computePeriod(opened.db, b, '2026-01-01');
    const jan = await lines('2026-01-01', b);
    // Measured 1–11 Jan: 5 m³ = 250 ₽. Norm for the 21 days of 31 left: 4.5 × 2 × 21/31 = 6.096774… m³ × 50 = 304.84 ₽.
    expect(jan.map((l) => [l.method, l.amount])).toEqual([['measured', 25000], ['norm', 30484]]);
    expect(jan[0].quantity).toBe(5);
    // The line shows (and bills) 6 decimals: 189 / 31 = 6.0967741… → 6.096774 m³.
    expect(jan[1].quantity).toBe(6.096774);
    expect(jan[1].note).toMatch(/unusable since 2026-01-11/);
  });

  it('failed before the month: the whole month by the fallback', async () => {
    const { b, m } = await flat('Fail-2');
    await reading(m, '2026-01-01T00:00:00Z', 0);
    await reading(m, '2026-02-01T00:00:00Z', 30);
    await opened.db.query(`UPDATE meters SET status = 'failed', failed_on = '2025-12-20' WHERE id = $1`, [m]);
    await computePeriod(opened.db, b, '2026-01-01');
    expect((await lines('2026-01-01', b)).map((l) => [l.method, l.quantity, l.amount])).toEqual([['norm', 9, 45000]]);
  });
});
