/**
 * SQL of the readings write path: the meters and facts the judge needs, and the one INSERT of a
 * non-telemetry reading version. Together with telemetry-store.ts (the ingest batch) this folder is
 * the only place that writes the readings table (test/readings/only-writer.test.ts checks it).
 * Callers pass the transaction handle.
 */
import type { Queryable } from '../db/types.js';
import { QUANTITIES, type Resource } from '@amr/protocols';
import { sourceRankSql } from '../billing/provenance.js';
import { NOT_REJECTED_SQL } from './consumption-store.js';
import type { MeterForWrite, NeighbourFacts } from './judge.js';
import { replacementReadingAt } from '../registry/replacement.js';

export interface MeterRowForWrite extends MeterForWrite {
  buildingId: number;
  premiseId: number | null;
  orgId: number;
  resource: Resource;
}

export async function loadMetersForWrite(q: Queryable, ids: readonly number[]): Promise<Map<number, MeterRowForWrite>> {
  const { rows } = await q.query<{
    id: string; building_id: string; premise_id: string | null; org_id: string; resource: Resource; placement: string; status: string; zones: number;
    register_digits: number | null; installed_on: string | null; decommissioned_on: string | null; next_verification_on: string | null; timezone: string;
  }>(
    `SELECT m.id, m.building_id, m.premise_id, b.org_id, m.resource, m.placement, m.status, m.zones, m.register_digits,
            to_char(COALESCE(m.installed_on, m.commissioned_on), 'YYYY-MM-DD') AS installed_on,
            to_char(m.decommissioned_on, 'YYYY-MM-DD') AS decommissioned_on,
            to_char(m.next_verification_on, 'YYYY-MM-DD') AS next_verification_on, b.timezone
       FROM meters m JOIN buildings b ON b.id = m.building_id WHERE m.id = ANY($1::bigint[])`, [[...ids]]);
  return new Map(rows.map((r) => [Number(r.id), {
    id: Number(r.id), buildingId: Number(r.building_id), premiseId: r.premise_id === null ? null : Number(r.premise_id), orgId: Number(r.org_id),
    resource: r.resource, placement: r.placement, status: r.status, zones: Number(r.zones ?? 1), registerDigits: r.register_digits === null ? null : Number(r.register_digits),
    installedOn: r.installed_on, decommissionedOn: r.decommissioned_on, nextVerificationOn: r.next_verification_on, timezone: r.timezone,
  }]));
}

/** A year of a typical flat, per resource, for a first reading's plausibility where no norm is set. */
const FLAT_MONTHLY_DEFAULT: Record<Resource, number> = {
  cold_water: 12, hot_water: 8, wastewater: 20, electricity: 400, heat: 1500, gas: 80,
};

/**
 * The counting reading of each instant `where` selects, as billing counts it (consumption-store.ts):
 * versions rejected on review and estimates left out, then staff/import > telemetry > resident and the
 * latest version; a NULL staff version that counts withdraws its instant (an undone replacement), so
 * the instant is skipped. The first `order` row wins.
 */
const countingSql = (where: string, order: 'DESC' | 'ASC') =>
  `SELECT time, value FROM (
     SELECT DISTINCT ON (time) time, value FROM readings r WHERE meter_id = $1 AND quantity = $2 AND ${where} AND source <> 'estimate'
        AND (value IS NOT NULL OR source = 'staff') AND ${NOT_REJECTED_SQL('r')}
      ORDER BY time ${order}, ${sourceRankSql('r')} DESC, version DESC) c
    WHERE value IS NOT NULL ORDER BY time ${order} LIMIT 1`;

/** The counting reading before/after an instant. */
const neighbourSql = (cmp: '<' | '>', order: 'DESC' | 'ASC') => countingSql(`time ${cmp} $3`, order);

export async function loadNeighbourFacts(q: Queryable, m: MeterRowForWrite, quantity: string, time: Date): Promise<NeighbourFacts> {
  const prevRow = (await q.query<{ time: Date; value: number }>(neighbourSql('<', 'DESC'), [m.id, quantity, time])).rows[0];
  let previous = prevRow ? { time: new Date(prevRow.time), value: Number(prevRow.value) } : null;
  if (!previous) {
    // A new meter's first reading is compared with its installation reading (an undone replacement has none).
    const inst = (await q.query<{ replaced_at: Date; installation_reading: number | null }>(
      `SELECT replaced_at, installation_reading FROM meter_replacements WHERE new_meter_id = $1 AND replaced_at < $2 AND undone_at IS NULL
        ORDER BY replaced_at DESC LIMIT 1`, [m.id, time])).rows[0];
    if (inst?.installation_reading != null) previous = { time: new Date(inst.replaced_at), value: Number(inst.installation_reading) };
  }
  const nextRow = (await q.query<{ time: Date; value: number }>(neighbourSql('>', 'ASC'), [m.id, quantity, time])).rows[0];
  let earliest = null;
  if (prevRow) {
    const e = (await q.query<{ time: Date; value: number }>(
      countingSql(`time >= $3::timestamptz - interval '3 months 5 days' AND time <= $3`, 'ASC'), [m.id, quantity, prevRow.time])).rows[0];
    if (e) earliest = { time: new Date(e.time), value: Number(e.value) };
  }
  const at = (await q.query<{ value: number | null; source: string; version: number }>(
    'SELECT value, source, version FROM readings WHERE meter_id = $1 AND quantity = $2 AND time = $3 ORDER BY version DESC LIMIT 1', [m.id, quantity, time])).rows[0];
  // The reading at the instant is any version, rejected too: a correction is what a rejected reading needs.
  // Staff's reading there refuses a resident's only while it counts: one rejected on review does not.
  const staff = (await q.query<{ value: number }>(
    `SELECT value FROM readings r WHERE meter_id = $1 AND quantity = $2 AND time = $3 AND source IN ('staff', 'import') AND value IS NOT NULL
        AND ${NOT_REJECTED_SQL('r')}
      ORDER BY version DESC LIMIT 1`, [m.id, quantity, time])).rows[0];
  // The replacement rule is the registry's (undone replacements and other registers do not count).
  const rep = await replacementReadingAt(q, m.id, quantity, time);
  return {
    previous, next: nextRow ? { time: new Date(nextRow.time), value: Number(nextRow.value) } : null, earliestInThreeMonths: earliest,
    atInstant: at ? { value: at.value === null ? null : Number(at.value), source: at.source, version: Number(at.version) } : null,
    staffAtInstant: staff ? { value: Number(staff.value) } : null,
    replacementAtInstant: rep ? { id: Number(rep.id), which: Number(rep.old_meter_id) === m.id ? 'removal' : 'installation' } : null,
    plausibleMonthly: await plausibleMonthly(q, m),
  };
}

/**
 * What a premise could use in a month: the organisation's norm × registered residents (at least one),
 * else a generous default; a building meter: that times the number of premises.
 */
async function plausibleMonthly(q: Queryable, m: MeterRowForWrite): Promise<number> {
  const norm = (await q.query<{ per_resident: number }>(
    `SELECT per_resident FROM billing_norms WHERE org_id = $1 AND resource = $2 AND basis = 'resident' ORDER BY valid_from DESC LIMIT 1`, [m.orgId, m.resource])).rows[0];
  const perPerson = Math.max(norm ? Number(norm.per_resident) * 2 : 0, FLAT_MONTHLY_DEFAULT[m.resource] ?? 100);
  if (m.premiseId !== null) {
    const p = (await q.query<{ residents: number }>('SELECT residents FROM premises WHERE id = $1', [m.premiseId])).rows[0];
    return perPerson * Math.max(1, Number(p?.residents ?? 1));
  }
  const n = (await q.query<{ n: string }>('SELECT count(*) AS n FROM premises WHERE building_id = $1', [m.buildingId])).rows[0];
  return perPerson * 4 * Math.max(1, Number(n?.n ?? 1));
}

export function unitOf(quantity: string): string {
  return (QUANTITIES as Record<string, { unit: string }>)[quantity]?.unit ?? '';
}

export interface NewVersion {
  meterId: number;
  time: Date | string;
  quantity: string;
  value: number | null;
  unit?: string;
  source: 'staff' | 'resident' | 'import';
  createdBy: string;
  reason?: string | null;
}

export interface StoredReading { meter_id: number; time: Date; quantity: string; value: number | null; unit: string; source: string; version: number; created_by: string | null; reason: string | null; received_at: Date; quality: string[] }

/** Serialise writers of the same meter so two versions cannot both take max+1. */
export async function lockMeter(q: Queryable, meterId: number): Promise<void> {
  await q.query('SELECT pg_advisory_xact_lock(7316002, $1::int)', [meterId % 2147483647]);
}

/** The next version of a reading at (meter, quantity, time), with who and why. */
export async function insertVersion(q: Queryable, r: NewVersion): Promise<StoredReading> {
  await lockMeter(q, r.meterId);
  const { rows } = await q.query<StoredReading>(
    `INSERT INTO readings (meter_id, time, quantity, value, unit, source, version, created_by, reason)
     SELECT $1, $2::timestamptz, $3, $4, $5, $6,
            COALESCE((SELECT max(version) FROM readings WHERE meter_id = $1 AND quantity = $3 AND time = $2::timestamptz), 0) + 1,
            $7, $8
     RETURNING meter_id, time, quantity, value, unit, source, version, created_by, reason, received_at, quality`,
    [r.meterId, r.time, r.quantity, r.value, r.unit ?? unitOf(r.quantity), r.source, r.createdBy, r.reason ?? null],
  );
  return rows[0];
}

/** Estimated points filling a gap (source 'estimate', version 1: an estimate never replaces a reading). */
export async function insertEstimates(q: Queryable, meterId: number, quantity: string, points: ReadonlyArray<{ time: Date; value: number }>, createdBy: string, reason: string) {
  if (!points.length) return [];
  await lockMeter(q, meterId);
  return (await q.query<{ time: Date; quantity: string; value: number; unit: string; source: string; quality: string[]; version: number; created_by: string; reason: string }>(
    `INSERT INTO readings (meter_id, time, quantity, value, unit, source, quality, version, created_by, reason)
     SELECT $1, t, $2, v, $3, 'estimate', '{estimated}', 1, $4, $5 FROM unnest($6::timestamptz[], $7::float8[]) AS k(t, v)
     RETURNING time, quantity, value, unit, source, quality, version, created_by, reason`,
    [meterId, quantity, unitOf(quantity), createdBy, reason, points.map((e) => e.time), points.map((e) => e.value)])).rows;
}
