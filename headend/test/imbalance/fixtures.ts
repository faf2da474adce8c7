/**
 * Registry and readings for imbalance tests, written straight into the embedded database: buildings
 * with a building meter (15-minute telemetry generated in SQL) and apartment meters with a few manual
 * readings each.
 */
import type { Queryable } from '../../src/db/index.js';

let serial = 0;

export async function org(q: Queryable): Promise<number> {
  return Number((await q.query(`INSERT INTO organisations (name) VALUES ('imbalance test') RETURNING id`)).rows[0].id);
}

export async function building(q: Queryable, orgId: number, timezone = 'Europe/Moscow'): Promise<number> {
  return Number((await q.query('INSERT INTO buildings (org_id, address, timezone) VALUES ($1, $2, $3) RETURNING id', [orgId, `street ${++serial}`, timezone])).rows[0].id);
}

export interface MeterOpts {
  placement: 'building' | 'apartment' | 'common_area' | 'non_residential';
  resource?: string;
  registerDigits?: number | null;
  remote?: boolean;
  status?: 'active' | 'removed';
  installedOn?: string;
  decommissionedOn?: string;
}

export async function meter(q: Queryable, buildingId: number, o: MeterOpts): Promise<number> {
  let premise: number | null = null;
  if (o.placement === 'apartment' || o.placement === 'non_residential') {
    premise = Number((await q.query('INSERT INTO premises (building_id, number, kind) VALUES ($1, $2, $3) RETURNING id',
      [buildingId, `p${++serial}`, o.placement === 'apartment' ? 'residential' : 'non_residential'])).rows[0].id);
  }
  const { rows } = await q.query(
    `INSERT INTO meters (placement, building_id, premise_id, resource, make, serial_number, register_digits, remote_reading, status, installed_on, decommissioned_on)
     VALUES ($1, $2, $3, $4, 'TEST', $5, $6, $7, $8, $9, $10) RETURNING id`,
    [o.placement, buildingId, premise, o.resource ?? 'cold_water', `s${++serial}`, o.registerDigits ?? null, o.remote ?? o.placement === 'building',
      o.status ?? 'active', o.installedOn ?? null, o.decommissionedOn ?? null]);
  return Number(rows[0].id);
}

/** Telemetry every 15 min from `from` to `to` (inclusive): value = base + step × index. */
export async function telemetry(q: Queryable, meterId: number, from: string, to: string, base: number, step: number, quantity = 'volume_m3'): Promise<void> {
  await q.query(
    `INSERT INTO readings (meter_id, time, quantity, value, unit, source)
     SELECT $1, t, $4, $5::float8 + $6::float8 * (extract(epoch FROM t - $2::timestamptz) / 900), 'm3', 'telemetry'
       FROM generate_series($2::timestamptz, $3::timestamptz, interval '15 minutes') t`,
    [meterId, from, to, quantity, base, step]);
}

/** Manual readings (version 1 unless given), [time, value] pairs. */
export async function readings(q: Queryable, meterId: number, pts: Array<[string, number]>, opts: { version?: number; quantity?: string } = {}): Promise<void> {
  for (const [t, v] of pts) {
    await q.query(`INSERT INTO readings (meter_id, time, quantity, value, unit, source, version) VALUES ($1, $2, $3, $4, 'm3', 'staff', $5)`,
      [meterId, t, opts.quantity ?? 'volume_m3', v, opts.version ?? 1]);
  }
}

export async function verdict(q: Queryable, meterId: number, time: string, status: 'valid' | 'suspect' | 'invalid', version = 1): Promise<void> {
  await q.query(`INSERT INTO reading_validations (meter_id, quantity, time, version, status) VALUES ($1, 'volume_m3', $2, $3, $4)
                 ON CONFLICT (meter_id, quantity, time, version) DO UPDATE SET status = EXCLUDED.status`, [meterId, time, version, status]);
}

export async function review(q: Queryable, meterId: number, time: string, decision: 'accept' | 'reject', at: string, version = 1): Promise<void> {
  await q.query(`INSERT INTO reading_reviews (meter_id, quantity, time, version, decision, reason, reviewed_by, reviewed_at)
                 VALUES ($1, 'volume_m3', $2, $3, $4, 'test', 'tester', $5)`, [meterId, time, version, decision, at]);
}

/** Moscow January 2026: [2025-12-31 21:00Z, 2026-01-31 21:00Z), 744 h. */
export const JAN_START = '2025-12-31T21:00:00Z';
export const JAN_END = '2026-01-31T21:00:00Z';
export const JAN_HOURS = 744;

/**
 * The three apartments of the hand-computed example:
 *   A1 read exactly at both bounds: 100 → 110 = 10 (measured)
 *   A2 read on the 16th (21:00Z): Dec 16 200, Jan 15 206, Feb 14 212; start = 200 + 6 × 15/30 = 203,
 *      end = 206 + 6 × 16/30 = 209.2 → 6.2 (interpolated)
 *   A3 read at both bounds: 300 → 308 = 8
 *   Σ ИПУ = 24.2
 */
export async function threeApartments(q: Queryable, b: number): Promise<number[]> {
  const a1 = await meter(q, b, { placement: 'apartment' });
  await readings(q, a1, [[JAN_START, 100], [JAN_END, 110]]);
  const a2 = await meter(q, b, { placement: 'apartment' });
  await readings(q, a2, [['2025-12-16T21:00:00Z', 200], ['2026-01-15T21:00:00Z', 206], ['2026-02-14T21:00:00Z', 212]]);
  const a3 = await meter(q, b, { placement: 'apartment' });
  await readings(q, a3, [[JAN_START, 300], [JAN_END, 308]]);
  return [a1, a2, a3];
}

export const SUM_IPU = 10 + 6.2 + 8;

/** A building with an ОДПУ whose register grows by `stepPer15` every 15 min from Dec 25 to Feb 5. */
export async function buildingWithOdpu(q: Queryable, orgId: number, stepPer15: number, timezone = 'Europe/Moscow'): Promise<{ b: number; odpu: number }> {
  const b = await building(q, orgId, timezone);
  const odpu = await meter(q, b, { placement: 'building' });
  await telemetry(q, odpu, '2025-12-25T00:00:00Z', '2026-02-05T00:00:00Z', 1000, stepPer15);
  return { b, odpu };
}
