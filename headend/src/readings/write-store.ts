/**
 * SQL of the readings write path: the meters and facts the judge needs, and the one INSERT of a
 * non-telemetry reading version. Together with bulk-write.ts (the ingest batch) this folder is
 * the only place that writes the readings table (test/readings/only-writer.test.ts checks it).
 * Callers pass the transaction handle.
 */
import type { Queryable } from '../db/types.js';
import { QUANTITIES, type ReadingSource, type Resource } from '@amr/protocols';
import type { PriorReading } from '../collection/rules.js';
import { preferredReading, sourceRankSql } from '../billing/provenance.js';
import { NOT_REJECTED_SQL } from './consumption-store.js';
import type { MeterForWrite, NeighbourFacts } from './judge.js';
import { replacementReadingsAt } from '../registry/replacement.js';
import { markStatementDays } from './statement-marks.js';

export interface MeterRowForWrite extends MeterForWrite {
  buildingId: number;
  premiseId: number | null;
  orgId: number;
  resource: Resource;
  /** The premise's plausible use a month (plausibleFrom), for a first reading's plausibility. */
  plausibleMonthly: number;
  /** The meter is the old or new meter of a replacement not undone: its facts include the replacement's readings. */
  inReplacement: boolean;
}

/**
 * The meters a batch writes, with what the judge needs of each beyond the meter itself (its premise's
 * plausible use, whether a replacement concerns it), in ONE query: a file import asks this once per
 * chunk, and every statement a chunk holds the embedded engine's one connection for counts. The
 * premise is a probe per meter, not a join: joined, the planner merge-joined the premises' index from
 * its start up to the chunk's highest premise, a scan that grew with the organisation (an import's
 * last chunks of 25 000 flats read every premise).
 */
export async function loadMetersForWrite(q: Queryable, ids: readonly number[]): Promise<Map<number, MeterRowForWrite>> {
  const { rows } = await q.query<{
    id: string; serial_number: string; building_id: string; premise_id: string | null; org_id: string; resource: Resource; placement: string; status: string; zones: number;
    register_digits: number | null; installed_on: string | null; decommissioned_on: string | null; next_verification_on: string | null; timezone: string;
    per_resident: number | null; residents: number | null; premises: string; in_replacement: boolean;
  }>(
    `SELECT m.id, m.serial_number, m.building_id, m.premise_id, b.org_id, m.resource, m.placement, m.status, m.zones, m.register_digits,
            to_char(COALESCE(m.installed_on, m.commissioned_on), 'YYYY-MM-DD') AS installed_on,
            to_char(m.decommissioned_on, 'YYYY-MM-DD') AS decommissioned_on,
            to_char(m.next_verification_on, 'YYYY-MM-DD') AS next_verification_on, b.timezone,
            (SELECT per_resident FROM billing_norms n WHERE n.org_id = b.org_id AND n.resource = m.resource AND n.basis = 'resident' ORDER BY valid_from DESC LIMIT 1) AS per_resident,
            (SELECT p.residents FROM premises p WHERE p.id = m.premise_id) AS residents,
            CASE WHEN m.premise_id IS NULL THEN (SELECT count(*) FROM premises x WHERE x.building_id = m.building_id) ELSE 0 END AS premises,
            EXISTS (SELECT 1 FROM meter_replacements r WHERE (r.old_meter_id = m.id OR r.new_meter_id = m.id) AND r.undone_at IS NULL) AS in_replacement
       FROM meters m JOIN buildings b ON b.id = m.building_id
      WHERE m.id = ANY($1::bigint[])`, [[...ids]]);
  return new Map(rows.map((r) => {
    const m = {
      id: Number(r.id), serial: r.serial_number, buildingId: Number(r.building_id), premiseId: r.premise_id === null ? null : Number(r.premise_id), orgId: Number(r.org_id),
      resource: r.resource, placement: r.placement, status: r.status, zones: Number(r.zones ?? 1), registerDigits: r.register_digits === null ? null : Number(r.register_digits),
      installedOn: r.installed_on, decommissionedOn: r.decommissioned_on, nextVerificationOn: r.next_verification_on, timezone: r.timezone,
      plausibleMonthly: 0, inReplacement: r.in_replacement === true,
    };
    m.plausibleMonthly = plausibleFrom(m, r.per_resident, r.residents, Number(r.premises ?? 0));
    return [m.id, m];
  }));
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

/**
 * What every version writer here does before its INSERT, in its transaction: serialise the meters'
 * writers (lockMeters), make a file import staging one of them refuse its switch (markImportsStale),
 * and mark the heat statement days the rows change (readings/statement-marks.ts: a correction of an archive value).
 */
async function beforeWrite(q: Queryable, rows: ReadonlyArray<{ meterId: number; quantity: string; time: Date | string }>): Promise<void> {
  const meters = [...new Set(rows.map((r) => r.meterId))];
  await lockMeters(q, meters);
  await markImportsStale(q, meters);
  await markStatementDays(q, rows);
}

/** The next version of a reading at (meter, quantity, time), with who and why. */
export async function insertVersion(q: Queryable, r: NewVersion): Promise<StoredReading> {
  await beforeWrite(q, [r]);
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
  await beforeWrite(q, points.map((p) => ({ meterId, quantity, time: p.time })));
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
/** The earliest counting reading in the 3 months (and 5 days) up to `$3`. */
const earliestSql = countingSql(`time >= $3::timestamptz - interval '3 months 5 days' AND time <= $3`, 'ASC');

/** The start of the 3-month (and 5-day) window before an instant, as the SQL interval '3 months 5 days' (UTC). */
export function threeMonthsFiveDaysBefore(at: Date): Date {
  const d = new Date(at);
  d.setUTCMonth(d.getUTCMonth() - 3);
  d.setUTCDate(d.getUTCDate() - 5);
  return d;
}

interface WindowRow { ri: number; kind: 'w' | 'p' | 'e' | 'n'; time: Date; value: number | null; source: ReadingSource | null; version: number | null; eligible: boolean }

/**
 * The judge's facts (NeighbourFacts) for many keys with a constant number of queries. Per register
 * (meter, quantity) of the batch, not per key: every version in [first instant − 3 months 5 days,
 * last instant] in one range scan, plus the counting readings just outside (the previous one and the
 * earliest in its 3 months, the next one) — a few index probes per register however many of its
 * instants the batch holds. The reading that counts at an instant is picked from the versions as
 * countingSql picks it (provenance.ts preferredReading: rank, then version; a NULL staff version
 * withdraws the instant). One key is a batch of one: there is no single path.
 */
export async function loadNeighbourFactsBatch(q: Queryable, keys: readonly FactKey[]): Promise<BatchFacts[]> {
  if (!keys.length) return [];
  const regIndex = new Map<string, number>();
  const regs: Array<{ m: number; qn: string; lo: Date; hi: Date }> = [];
  const regOf = keys.map((k) => {
    const id = `${k.m.id}|${k.quantity}`;
    let i = regIndex.get(id);
    if (i === undefined) { i = regs.length; regIndex.set(id, i); regs.push({ m: k.m.id, qn: k.quantity, lo: k.time, hi: k.time }); }
    const r = regs[i];
    if (k.time < r.lo) r.lo = k.time;
    if (k.time > r.hi) r.hi = k.time;
    return i;
  });
  const lo = new Date(Math.min(...regs.map((r) => r.lo.getTime())));
  const hi = new Date(Math.max(...regs.map((r) => r.hi.getTime())));
  // 1. Every version of the batch's registers in [first instant − WINDOW_BACK, last instant +
  //    WINDOW_FORWARD]: a probe of the key index (meter, quantity, time) per register and chunk of
  //    the span; the constant bounds let TimescaleDB skip the chunks outside it when it plans. (With
  //    meter_id = ANY over the span, or a plain join, the planner scanned the chunks' time index and
  //    filtered by meter: every row of the span read, so an import's chunk read all the rows staged
  //    before it. OFFSET 0 keeps the lateral a loop of probes.) Reaching 7 months back (not only the 3 months 5 days the judge's average needs) usually
  //    holds the previous reading and the 3 months before it as well, and 2 months forward the next
  //    one, so step 2's probes are only for registers it does not answer.
  const { rows: windowRows } = await q.query<WindowRow>(
    `WITH k AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::timestamptz[]) WITH ORDINALITY AS k(km, kq, lo, hi, ri))
     SELECT k.ri - 1 AS ri, 'w' AS kind, r.time, r.value, r.source, r.version, r.eligible
       FROM k CROSS JOIN LATERAL (
              SELECT r.time, r.value, r.source, r.version,
                     (r.source <> 'estimate' AND (r.value IS NOT NULL OR r.source = 'staff') AND ${NOT_REJECTED_SQL('r')}) AS eligible
                FROM readings r
               WHERE r.meter_id = k.km AND r.quantity = k.kq
                 AND r.time >= $5::timestamptz - interval '${WINDOW_BACK}' AND r.time <= $6::timestamptz + interval '${WINDOW_FORWARD}'
              OFFSET 0) r
      WHERE r.time >= k.lo - interval '${WINDOW_BACK}' AND r.time <= k.hi + interval '${WINDOW_FORWARD}'
      ORDER BY 1, 3, 6`,
    [regs.map((r) => r.m), regs.map((r) => r.qn), regs.map((r) => r.lo), regs.map((r) => r.hi), lo, hi]);
  const perReg = regs.map(() => ({ versions: [] as WindowRow[], p: null as PriorReading | null, e: null as PriorReading | null, n: null as PriorReading | null }));
  for (const r of windowRows) perReg[Number(r.ri)].versions.push({ ...r, time: new Date(r.time), value: r.value === null ? null : Number(r.value), version: Number(r.version) });
  // Per register: the reading that counts at each instant of the window, and the versions at each instant.
  const series = perReg.map((reg) => {
    const byTime = new Map<number, WindowRow[]>();
    for (const v of reg.versions) {
      const list = byTime.get(v.time.getTime());
      if (list) list.push(v); else byTime.set(v.time.getTime(), [v]);
    }
    const counting: PriorReading[] = [];
    for (const [time, vs] of byTime) {
      const best = preferredReading(vs.filter((v) => v.eligible).map((v) => ({ ...v, source: v.source as ReadingSource, version: v.version as number })));
      if (best && best.value !== null) counting.push({ time: new Date(time), value: best.value });
    }
    return { counting, byTime };
  });
  // 2. What the window cannot answer, by index probes of the registers concerned only: the previous
  //    counting reading before the register's first instant when none is in the window, and the next
  //    one after its last instant when none is in the window. A probe runs only where the table has
  //    a chunk beyond the window at all (the chunks' time ranges, from TimescaleDB's catalog: a few
  //    rows, not the data): a young database, or an import of the latest months, probes nothing
  //    (planning the probes over every chunk cost more than the window scan itself).
  //    3. The earliest counting reading in the 3 months before a previous reading the window does
  //    not reach back from.
  const before = regs.map((r, i) => previousIn(series[i].counting, r.lo));
  const after = regs.map((r, i) => series[i].counting.some((c) => c.time > r.hi));
  const probe = async (sql: string, params: unknown[]) => {
    for (const r of (await q.query<WindowRow>(sql, params)).rows) perReg[Number(r.ri)][r.kind as 'p' | 'e' | 'n'] = { time: new Date(r.time), value: Number(r.value) };
  };
  if (before.some((b) => !b) || after.some((a) => !a)) {
    const span = (await q.query<{ lo: Date | null; hi: Date | null }>(CHUNK_SPAN_SQL)).rows[0];
    // A day's margin each way: the SQL interval's months count in the session's zone, these in UTC.
    const needP = regs.map((r, i) => !before[i] && span.lo !== null && new Date(span.lo) < shiftMonths(r.lo, -WINDOW_BACK_MONTHS, 1));
    const needN = regs.map((r, i) => !after[i] && span.hi !== null && new Date(span.hi) > shiftMonths(r.hi, WINDOW_FORWARD_MONTHS, -1));
    if (needP.some(Boolean) || needN.some(Boolean)) {
      await probe(
        `WITH k AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::boolean[], $6::boolean[]) WITH ORDINALITY AS k(km, kq, lo, hi, need_p, need_n, ri))
         SELECT k.ri - 1 AS ri, 'p' AS kind, p.time, p.value FROM k CROSS JOIN LATERAL (${bindK(neighbourSql('<', 'DESC'), 'k.lo')}) p WHERE k.need_p
         UNION ALL
         SELECT k.ri - 1, 'n', n.time, n.value FROM k CROSS JOIN LATERAL (${bindK(neighbourSql('>', 'ASC'), 'k.hi')}) n WHERE k.need_n`,
        [regs.map((r) => r.m), regs.map((r) => r.qn), regs.map((r) => r.lo), regs.map((r) => r.hi), needP, needN]);
    }
  }
  for (const [i, b] of before.entries()) if (b) perReg[i].p = b;
  const needE = regs.flatMap((r, i) => { const p = perReg[i].p; return p && !earliestInWindow(p, r.lo) ? [{ i, p }] : []; });
  if (needE.length) {
    await probe(
      `WITH k AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::int[]) AS k(km, kq, prev, ri))
       SELECT k.ri, 'e' AS kind, e.time, e.value FROM k CROSS JOIN LATERAL (${bindK(earliestSql, 'k.prev')}) e`,
      [needE.map((x) => regs[x.i].m), needE.map((x) => regs[x.i].qn), needE.map((x) => x.p.time), needE.map((x) => x.i)]);
  }
  // Replacements' readings and installations only for meters a replacement concerns (loadMetersForWrite says which).
  const inst = await installationsBefore(q, keys.filter((k, i) => k.m.inReplacement && !previousIn(series[regOf[i]].counting, k.time) && !perReg[regOf[i]].p));
  const replaced = keys.flatMap((k, i) => (k.m.inReplacement ? [i] : []));
  const found = await replacementReadingsAt(q, replaced.map((i) => ({ meterId: keys[i].m.id, quantity: keys[i].quantity, time: keys[i].time })));
  const reps = new Map(replaced.map((i, j) => [i, found[j]]));
  return keys.map((k, idx) => {
    const reg = perReg[regOf[idx]];
    const { counting, byTime } = series[regOf[idx]];
    const t = k.time.getTime();
    const inWindow = previousIn(counting, k.time);
    const p = inWindow ?? reg.p;
    // The 3 months before the previous reading: in the window when the previous is within it, else
    // the database's answer for the register's previous reading.
    const earliestInThreeMonths = !p ? null : earliestInWindow(p, regs[regOf[idx]].lo)
      ? counting.find((c) => c.time >= threeMonthsFiveDaysBefore(p.time) && c.time <= p.time) ?? null
      : reg.e;
    const from = threeMonthsFiveDaysBefore(k.time);
    const at = byTime.get(t) ?? [];
    const latest = at.reduce<WindowRow | null>((a, v) => (!a || (v.version ?? 0) > (a.version ?? 0) ? v : a), null);
    const staff = at.filter((v) => v.eligible && (v.source === 'staff' || v.source === 'import') && v.value !== null)
      .reduce<WindowRow | null>((a, v) => (!a || (v.version ?? 0) > (a.version ?? 0) ? v : a), null);
    const rep = reps.get(idx) ?? null;
    const installed = p ? null : inst.get(`${k.m.id}|${t}`) ?? null;
    return {
      previous: p ?? installed, next: counting.find((c) => c.time.getTime() > t) ?? reg.n,
      earliestInThreeMonths: p ? earliestInThreeMonths : null,
      earliestBeforeInstant: counting.find((c) => c.time >= from && c.time.getTime() < t) ?? null,
      atInstant: latest ? { value: latest.value, source: latest.source as string, version: Number(latest.version) } : null,
      staffAtInstant: staff && staff.value !== null ? { value: staff.value } : null,
      replacementAtInstant: rep ? { id: Number(rep.id), which: Number(rep.old_meter_id) === k.m.id ? 'removal' : 'installation' } : null,
      plausibleMonthly: k.m.plausibleMonthly,
    };
  });
}

/**
 * How far back the facts' window scan reaches from a register's first instant: the judge's 3 months
 * 5 days before it, and the same again before a previous reading found in that span (with room for
 * the month arithmetic of either side).
 */
const WINDOW_BACK_MONTHS = 7;
const WINDOW_BACK = `${WINDOW_BACK_MONTHS} months`;
/**
 * How far forward the window reaches from a register's last instant: far enough to hold the next
 * reading of a meter read monthly, and everything up to now when a file brings the latest months
 * (so no probe looks for a next reading there), short enough for a telemetered meter's history.
 */
const WINDOW_FORWARD_MONTHS = 2;
const WINDOW_FORWARD = `${WINDOW_FORWARD_MONTHS} months`;
/** `at` moved by whole months (UTC calendar) and then by `days`. */
function shiftMonths(at: Date, months: number, days: number): Date {
  const d = new Date(at);
  d.setUTCMonth(d.getUTCMonth() + months);
  d.setUTCDate(d.getUTCDate() + days);
  return d;
}
/**
 * The time span of reading_rows' chunks (TimescaleDB's catalog; dropped chunks left out): no reading
 * lies outside it. Chunk bounds are coarser than the data, so it only ever says "maybe" too often.
 */
const CHUNK_SPAN_SQL = `SELECT _timescaledb_functions.to_timestamp(min(s.range_start)) AS lo, _timescaledb_functions.to_timestamp(max(s.range_end)) AS hi
    FROM _timescaledb_catalog.hypertable h
    JOIN _timescaledb_catalog.chunk c ON c.hypertable_id = h.id AND NOT c.dropped
    JOIN _timescaledb_catalog.chunk_constraint cc ON cc.chunk_id = c.id
    JOIN _timescaledb_catalog.dimension_slice s ON s.id = cc.dimension_slice_id
   WHERE h.schema_name = 'public' AND h.table_name = 'reading_rows'`;
/**
 * Whether the window holds the 3 months (and 5 days) before a previous reading: it does when that
 * reading is no older than 3 months 5 days before the register's first instant (WINDOW_BACK covers
 * twice that span).
 */
function earliestInWindow(previous: PriorReading, lo: Date): boolean {
  return previous.time >= threeMonthsFiveDaysBefore(lo);
}

/** The last counting reading before an instant in a register's window (ascending), if any. */
function previousIn(counting: readonly PriorReading[], at: Date): PriorReading | null {
  let found: PriorReading | null = null;
  for (const c of counting) { if (c.time < at) found = c; else break; }
  return found;
}

/** The installation reading of the replacement that put each meter in before the key's instant (a new meter's previous reading). */
async function installationsBefore(q: Queryable, keys: readonly FactKey[]): Promise<Map<string, PriorReading>> {
  if (!keys.length) return new Map();
  const { rows } = await q.query<{ km: string; kt: Date; replaced_at: Date; installation_reading: number | null }>(
    `SELECT k.km, k.kt, i.replaced_at, i.installation_reading FROM unnest($1::bigint[], $2::timestamptz[]) AS k(km, kt)
       CROSS JOIN LATERAL (SELECT replaced_at, installation_reading FROM meter_replacements WHERE new_meter_id = k.km AND replaced_at < k.kt AND undone_at IS NULL
                            ORDER BY replaced_at DESC LIMIT 1) i`, [keys.map((k) => k.m.id), keys.map((k) => k.time)]);
  return new Map(rows.filter((r) => r.installation_reading !== null)
    .map((r) => [`${Number(r.km)}|${new Date(r.kt).getTime()}`, { time: new Date(r.replaced_at), value: Number(r.installation_reading) }]));
}

/** The plausible-use formula of plausibleMonthly, pure. */
function plausibleFrom(m: Pick<MeterRowForWrite, 'premiseId' | 'resource'>, perResident: number | null, residents: number | null, premises: number): number {
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
  await beforeWrite(q, rs);
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
  await beforeWrite(q, rs);
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
