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
import { replacementReadingsAt } from '../registry/replacement.js';

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
  await markImportsStale(q, [r.meterId]);
  const { rows } = await q.query<StoredReading>(
    // max over reading_rows: a version an import holds hidden is taken too (migrations/028).
    `INSERT INTO readings (meter_id, time, quantity, value, unit, source, version, created_by, reason)
     SELECT $1, $2::timestamptz, $3, $4, $5, $6,
            COALESCE((SELECT max(version) FROM reading_rows WHERE meter_id = $1 AND quantity = $3 AND time = $2::timestamptz), 0) + 1,
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
  await markImportsStale(q, [meterId]);
  return (await q.query<{ time: Date; quantity: string; value: number; unit: string; source: string; quality: string[]; version: number; created_by: string; reason: string }>(
    `INSERT INTO readings (meter_id, time, quantity, value, unit, source, quality, version, created_by, reason)
     SELECT $1, t, $2, v, $3, 'estimate', '{estimated}', 1, $4, $5 FROM unnest($6::timestamptz[], $7::float8[]) AS k(t, v)
     RETURNING time, quantity, value, unit, source, quality, version, created_by, reason`,
    [meterId, quantity, unitOf(quantity), createdBy, reason, points.map((e) => e.time), points.map((e) => e.value)])).rows;
}

// ---------------------------------------------------------------- the batch path (constant queries per batch)

/** One fact request of a batch: a meter's register at an instant. */
export interface FactKey { m: MeterRowForWrite; quantity: string; time: Date }

/**
 * What the batch path knows per key beyond NeighbourFacts: the earliest counting reading in the
 * 3 months before the key's own instant, so that an earlier item of the same batch, used as the
 * previous reading, gets its average window from the database too.
 */
export interface BatchFacts extends NeighbourFacts { earliestBeforeInstant: { time: Date; value: number } | null }

/** A counting-reading query with its parameters bound to the unnest row `k` ($3 = `at`): one rule for every lookup. */
const bindK = (sql: string, at = 'k.kt') => sql.replace(/\$([123])\b/g, (_s, n: string) => ({ 1: 'k.km', 2: 'k.kq', 3: at } as Record<string, string>)[n]);
const neighbourLateral = (cmp: '<' | '>', order: 'DESC' | 'ASC') => bindK(neighbourSql(cmp, order));
/** The earliest counting reading in the 3 months (and 5 days) up to `$3`. */
const earliestSql = countingSql(`time >= $3::timestamptz - interval '3 months 5 days' AND time <= $3`, 'ASC');
const earliestBeforeSql = countingSql(`time >= $3::timestamptz - interval '3 months 5 days' AND time < $3`, 'ASC');

/**
 * The judge's facts (NeighbourFacts) for many keys with a constant number of queries: one for the
 * readings around every instant (LATERAL joins over unnest), one for the replacements at the instants,
 * one for what the premises could plausibly use. One key is a batch of one: there is no single path.
 */
export async function loadNeighbourFactsBatch(q: Queryable, keys: readonly FactKey[]): Promise<BatchFacts[]> {
  if (!keys.length) return [];
  const { rows } = await q.query<{
    i: number; p_time: Date | null; p_value: number | null; n_time: Date | null; n_value: number | null; e_time: Date | null; e_value: number | null;
    ew_time: Date | null; ew_value: number | null; a_value: number | null; a_source: string | null; a_version: number | null; s_value: number | null;
    inst_at: Date | null; inst_value: number | null;
  }>(
    `SELECT k.i, p.time AS p_time, p.value AS p_value, n.time AS n_time, n.value AS n_value, e.time AS e_time, e.value AS e_value,
            ew.time AS ew_time, ew.value AS ew_value, a.value AS a_value, a.source AS a_source, a.version AS a_version, s.value AS s_value,
            inst.replaced_at AS inst_at, inst.installation_reading AS inst_value
       FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) WITH ORDINALITY AS k(km, kq, kt, i)
       LEFT JOIN LATERAL (${neighbourLateral('<', 'DESC')}) p ON true
       LEFT JOIN LATERAL (${neighbourLateral('>', 'ASC')}) n ON true
       LEFT JOIN LATERAL (${bindK(earliestSql, 'p.time')}) e ON p.time IS NOT NULL
       LEFT JOIN LATERAL (${bindK(earliestBeforeSql)}) ew ON true
       LEFT JOIN LATERAL (
         SELECT value, source, version FROM readings WHERE meter_id = k.km AND quantity = k.kq AND time = k.kt ORDER BY version DESC LIMIT 1) a ON true
       LEFT JOIN LATERAL (
         SELECT value FROM readings r WHERE meter_id = k.km AND quantity = k.kq AND time = k.kt AND source IN ('staff', 'import') AND value IS NOT NULL
            AND ${NOT_REJECTED_SQL('r')}
          ORDER BY version DESC LIMIT 1) s ON true
       LEFT JOIN LATERAL (
         SELECT replaced_at, installation_reading FROM meter_replacements WHERE new_meter_id = k.km AND replaced_at < k.kt AND undone_at IS NULL
          ORDER BY replaced_at DESC LIMIT 1) inst ON p.time IS NULL
      ORDER BY k.i`,
    [keys.map((k) => k.m.id), keys.map((k) => k.quantity), keys.map((k) => k.time)]);
  const reps = await replacementReadingsAt(q, keys.map((k) => ({ meterId: k.m.id, quantity: k.quantity, time: k.time })));
  const plausible = await plausibleMonthlyBatch(q, [...new Map(keys.map((k) => [k.m.id, k.m])).values()]);
  const pr = (t: Date | null, v: number | null) => (t !== null && v !== null ? { time: new Date(t), value: Number(v) } : null);
  return rows.map((r, idx) => {
    const k = keys[idx];
    const rep = reps[idx];
    const previous = pr(r.p_time, r.p_value) ?? pr(r.inst_at, r.inst_value);
    return {
      previous, next: pr(r.n_time, r.n_value), earliestInThreeMonths: r.p_time !== null ? pr(r.e_time, r.e_value) : null,
      earliestBeforeInstant: pr(r.ew_time, r.ew_value),
      atInstant: r.a_source !== null ? { value: r.a_value === null ? null : Number(r.a_value), source: r.a_source, version: Number(r.a_version) } : null,
      staffAtInstant: r.s_value !== null ? { value: Number(r.s_value) } : null,
      replacementAtInstant: rep ? { id: Number(rep.id), which: Number(rep.old_meter_id) === k.m.id ? 'removal' : 'installation' } : null,
      plausibleMonthly: plausible.get(k.m.id)!,
    };
  });
}

/** plausibleMonthly for many meters in one query (the same formula: plausibleFrom). */
async function plausibleMonthlyBatch(q: Queryable, ms: readonly MeterRowForWrite[]): Promise<Map<number, number>> {
  const { rows } = await q.query<{ id: string; per_resident: number | null; residents: number | null; premises: string }>(
    `SELECT m.id,
            (SELECT per_resident FROM billing_norms n WHERE n.org_id = b.org_id AND n.resource = m.resource AND n.basis = 'resident' ORDER BY valid_from DESC LIMIT 1) AS per_resident,
            p.residents,
            CASE WHEN m.premise_id IS NULL THEN (SELECT count(*) FROM premises x WHERE x.building_id = m.building_id) ELSE 0 END AS premises
       FROM meters m JOIN buildings b ON b.id = m.building_id LEFT JOIN premises p ON p.id = m.premise_id
      WHERE m.id = ANY($1::bigint[])`, [ms.map((m) => m.id)]);
  const byId = new Map(rows.map((r) => [Number(r.id), r]));
  return new Map(ms.map((m) => {
    const r = byId.get(m.id);
    return [m.id, plausibleFrom(m, r?.per_resident ?? null, r?.residents ?? null, Number(r?.premises ?? 0))];
  }));
}

/** The plausible-use formula of plausibleMonthly, pure. */
function plausibleFrom(m: MeterRowForWrite, perResident: number | null, residents: number | null, premises: number): number {
  const perPerson = Math.max(perResident !== null ? Number(perResident) * 2 : 0, FLAT_MONTHLY_DEFAULT[m.resource] ?? 100);
  if (m.premiseId !== null) return perPerson * Math.max(1, Number(residents ?? 1));
  return perPerson * 4 * Math.max(1, premises || 1);
}

/** Above this many meters a batch takes no advisory locks: each is a lock-table slot (max_locks_per_transaction). */
export const LOCK_METERS_MAX = 1000;

/**
 * Serialise writers of these meters (lockMeter for many, in id order so two batches cannot deadlock).
 * A larger batch (a file import's final write) relies on UNIQUE (meter_id, quantity, time, version)
 * instead: a writer racing it for the same version fails whole, nothing is overwritten, and the import
 * refuses to write when one of its meters got a reading while it was judged.
 */
export async function lockMeters(q: Queryable, meterIds: readonly number[]): Promise<void> {
  if (!meterIds.length || new Set(meterIds).size > LOCK_METERS_MAX) return;
  await q.query('SELECT pg_advisory_xact_lock(7316002, (m % 2147483647)::int) FROM (SELECT DISTINCT m FROM unnest($1::bigint[]) AS u(m) ORDER BY m) d', [[...meterIds]]);
}

/**
 * insertVersion for many readings in one statement: each the next version at its (meter, register,
 * instant). The keys must be distinct (the core refuses an instant given twice).
 */
export async function insertVersions(q: Queryable, rs: readonly NewVersion[]): Promise<StoredReading[]> {
  if (!rs.length) return [];
  await lockMeters(q, rs.map((r) => r.meterId));
  await markImportsStale(q, [...new Set(rs.map((r) => r.meterId))]);
  // Validation's queue in one statement instead of the per-row trigger (migrations/017, as ingest does).
  await q.query(`SELECT set_config('amr.vee_bulk', 'on', true)`);
  const { rows } = await q.query<StoredReading>(
    // The versions there now in one join (bounded by the batch's time span so the hypertable scans
    // only its chunks), not a subquery per row.
    `WITH k AS (SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::float8[], $5::text[], $6::text[], $7::text[], $8::text[]) AS k(m, t, q, v, u, s, by, why)),
          cur AS (SELECT r.meter_id, r.quantity, r.time, max(r.version) AS v FROM reading_rows r
                   WHERE r.meter_id = ANY($1::bigint[]) AND r.time >= (SELECT min(t) FROM k) AND r.time <= (SELECT max(t) FROM k)
                   GROUP BY 1, 2, 3)
     INSERT INTO readings (meter_id, time, quantity, value, unit, source, version, created_by, reason)
     SELECT k.m, k.t, k.q, k.v, k.u, k.s, COALESCE(cur.v, 0) + 1, k.by, k.why
       FROM k LEFT JOIN cur ON cur.meter_id = k.m AND cur.quantity = k.q AND cur.time = k.t
     RETURNING meter_id, time, quantity, value, unit, source, version, created_by, reason, received_at, quality`,
    [rs.map((r) => r.meterId), rs.map((r) => r.time), rs.map((r) => r.quantity), rs.map((r) => r.value), rs.map((r) => r.unit ?? unitOf(r.quantity)),
      rs.map((r) => r.source), rs.map((r) => r.createdBy), rs.map((r) => r.reason ?? null)]);
  await enqueueForValidation(q, rs.map((r) => r.meterId), rs.map((r) => r.time));
  await q.query(`SELECT set_config('amr.vee_bulk', '', true)`);
  // RETURNING's order is not the input's: match by key.
  const key = (m: number | string, qn: string, t: Date | string) => `${Number(m)}|${qn}|${new Date(t).getTime()}`;
  const byKey = new Map(rows.map((r) => [key(r.meter_id, r.quantity, r.time), { ...r, meter_id: Number(r.meter_id), version: Number(r.version) }]));
  return rs.map((r) => byKey.get(key(r.meterId, r.quantity, r.time))!);
}

/**
 * Versions already known (the caller checked, in this transaction, that nothing was written to these
 * meters since it judged them): a plain INSERT FROM unnest, no version lookup, nothing returned. A
 * racing writer of the same version fails on UNIQUE (meter_id, quantity, time, version), never overwrites.
 */
export async function insertKnownVersions(q: Queryable, rs: ReadonlyArray<NewVersion & { version: number }>): Promise<void> {
  if (!rs.length) return;
  await lockMeters(q, rs.map((r) => r.meterId));
  await markImportsStale(q, [...new Set(rs.map((r) => r.meterId))]);
  await q.query(`SELECT set_config('amr.vee_bulk', 'on', true)`);
  await q.query(
    `INSERT INTO readings (meter_id, time, quantity, value, unit, source, version, created_by, reason)
     SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::float8[], $5::text[], $6::text[], $7::int[], $8::text[], $9::text[])`,
    [rs.map((r) => r.meterId), rs.map((r) => r.time), rs.map((r) => r.quantity), rs.map((r) => r.value), rs.map((r) => r.unit ?? unitOf(r.quantity)),
      rs.map((r) => r.source), rs.map((r) => r.version), rs.map((r) => r.createdBy), rs.map((r) => r.reason ?? null)]);
  await enqueueForValidation(q, rs.map((r) => r.meterId), rs.map((r) => r.time));
  await q.query(`SELECT set_config('amr.vee_bulk', '', true)`);
}

/**
 * Queue the written instants for validation in one statement (the per-row trigger is off while
 * `amr.vee_bulk` is set in the transaction). DO UPDATE waits for a validator batch holding the row.
 */
export async function enqueueForValidation(q: Queryable, meterIds: readonly number[], times: ReadonlyArray<Date | string>): Promise<void> {
  await q.query(
    `INSERT INTO vee_queue (meter_id, time)
     SELECT DISTINCT meter_id, time FROM unnest($1::bigint[], $2::timestamptz[]) AS k(meter_id, time)
     ON CONFLICT (meter_id, time) DO UPDATE SET enqueued_at = now() WHERE vee_queue.enqueued_at < now()`,
    [meterIds, times]);
}

/**
 * Every write of readings calls this for its meters: an import still staging any of them judged
 * them before this write, so its switch must refuse (the file is run again). `except`: the import
 * doing the write.
 */
export async function markImportsStale(q: Queryable, meterIds: readonly number[], except: number | null = null): Promise<void> {
  if (!meterIds.length) return;
  await q.query(
    `UPDATE reading_imports i SET conflict = coalesce(i.conflict, 'meters ' || s.ms)
       FROM (SELECT import_id, string_agg(meter_id::text, ', ' ORDER BY meter_id) AS ms FROM reading_import_meters
              WHERE meter_id = ANY($1::bigint[]) AND import_id IS DISTINCT FROM $2::bigint GROUP BY import_id) s
      WHERE i.id = s.import_id AND i.state = 'staging'`, [[...meterIds], except]);
}
