/**
 * The validator's reads and writes. Each function is one statement for the whole batch (unnest +
 * LATERAL), never one per reading: at ingest rates the queue holds thousands of rows per second.
 * All take the transaction's handle.
 */
import { archiveQuantity, type Resource } from '@amr/protocols';
import type { Queryable } from '../db/index.js';
import type { RegisterPoint } from '../vee/index.js';
import { ByMeter } from './by-meter.js';
import { CONTEXT_QUANTITIES, type ArchiveTarget, type Context, type MeterRow, type TargetRow, type Verdict } from './judge.js';

const IS_CONTEXT: ReadonlySet<string> = new Set(CONTEXT_QUANTITIES);

export interface QueueEntry {
  meterId: number;
  time: Date;
  /** The instant as the database printed it: the exact key for writing back (µs precision). */
  timeKey: string;
}

/** Recent telemetry points the poll interval is the median spacing of. */
const POLL_SAMPLE = 25;

/**
 * Up to `limit` queue entries in (meter, time) order, starting after meter `after` and wrapping round
 * to the lowest meters: a sweep over the meters, each batch going on where the last one stopped, so a
 * meter with a deep queue (an import) holds at most one batch per sweep and every meter is reached
 * within one sweep. A batch takes a meter's instants in time order, so the successor it leaves behind
 * is still queued (judged once, by its own entry). Skips meters in back-off; locked (SKIP LOCKED) so a
 * second worker or head-end takes other entries. Walks the primary key: no sort and no index of its
 * own, however deep the queue.
 */
export async function takeQueue(q: Queryable, limit: number, skipMeters: readonly number[], onlyMeters?: readonly number[], after = 0): Promise<QueueEntry[]> {
  const pick = `SELECT meter_id, time, time::text AS tkey FROM vee_queue
      WHERE NOT (meter_id = ANY($2::bigint[])) AND ($3::bigint[] IS NULL OR meter_id = ANY($3::bigint[]))`;
  const { rows } = await q.query<{ meter_id: string; time: Date; tkey: string }>(
    `WITH a AS (${pick} AND meter_id > $4 ORDER BY meter_id, time LIMIT $1 FOR UPDATE SKIP LOCKED),
          b AS (${pick} AND meter_id <= $4 ORDER BY meter_id, time LIMIT greatest(0, $1 - (SELECT count(*) FROM a)) FOR UPDATE SKIP LOCKED)
     SELECT * FROM a UNION ALL SELECT * FROM b`,
    [limit, skipMeters, onlyMeters ?? null, after],
  );
  return rows.map((r) => ({ meterId: Number(r.meter_id), time: r.time, timeKey: r.tkey }));
}

/** Queued meters in id order (no lock): to retry a failed batch one meter at a time. */
export async function queuedMeters(q: Queryable, limit: number, skipMeters: readonly number[]): Promise<number[]> {
  const { rows } = await q.query<{ meter_id: string }>(
    `SELECT DISTINCT meter_id FROM vee_queue WHERE NOT (meter_id = ANY($2::bigint[])) ORDER BY meter_id LIMIT $1`,
    [limit, skipMeters],
  );
  return rows.map((r) => Number(r.meter_id));
}

/**
 * Which of these instants are still waiting in the queue (not taken by this batch): a batch leaves
 * such a successor to its own queue entry, so an instant is judged once, whatever the batch seams.
 */
export async function stillQueued(q: Queryable, keys: readonly { meterId: number; timeKey: string }[]): Promise<ByMeter<string, true>> {
  const out = new ByMeter<string, true>();
  if (!keys.length) return out;
  const { rows } = await q.query<{ meter_id: string; tkey: string }>(
    `SELECT v.meter_id, k.t AS tkey FROM unnest($1::bigint[], $2::text[]) AS k(m, t) JOIN vee_queue v ON v.meter_id = k.m AND v.time = k.t::timestamptz`,
    [keys.map((k) => k.meterId), keys.map((k) => k.timeKey)],
  );
  for (const r of rows) out.set(Number(r.meter_id), r.tkey, true);
  return out;
}

/** How many instants wait for a verdict and since when the oldest: one scan of the queue for both. */
export async function queueBacklog(q: Queryable): Promise<{ queued: number; oldest: Date | null }> {
  const { rows } = await q.query<{ n: number; oldest: Date | null }>('SELECT count(*)::int AS n, min(enqueued_at) AS oldest FROM vee_queue');
  return { queued: rows[0].n, oldest: rows[0].oldest };
}

export async function deleteQueue(q: Queryable, entries: readonly QueueEntry[]): Promise<void> {
  if (!entries.length) return;
  await q.query(
    `DELETE FROM vee_queue v USING unnest($1::bigint[], $2::timestamptz[]) AS k(m, t) WHERE v.meter_id = k.m AND v.time = k.t`,
    [entries.map((e) => e.meterId), entries.map((e) => e.timeKey)],
  );
}

/**
 * Meter facts. The poll interval is the median spacing of the meter's last telemetry rows of its
 * register: a meter that sends telemetry is read remotely whether or not `remote_reading` was ticked
 * in the registry (bindings don't set it), and a manually read meter has none, so no gap rule.
 */
export async function loadMeters(q: Queryable, ids: readonly number[]): Promise<Map<number, MeterRow>> {
  const { rows } = await q.query(
    `SELECT m.id, m.building_id, m.resource, m.placement, m.register_digits, m.remote_reading,
            to_char(m.next_verification_on, 'YYYY-MM-DD') AS next_verification_on,
            (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d.ms)
               FROM (SELECT extract(epoch FROM t.time - lag(t.time) OVER (ORDER BY t.time)) * 1000 AS ms
                       FROM (SELECT r.time FROM readings r
                              WHERE r.meter_id = m.id AND r.source = 'telemetry' AND r.version = 1
                                AND r.quantity = CASE WHEN m.resource IN ('heat', 'electricity') THEN 'energy_kwh' ELSE 'volume_m3' END
                              ORDER BY r.time DESC LIMIT ${POLL_SAMPLE}) t) d
              WHERE d.ms > 0) AS poll_ms
       FROM meters m WHERE m.id = ANY($1::bigint[])`,
    [ids],
  );
  return new Map(rows.map((r) => [Number(r.id), {
    id: Number(r.id), buildingId: Number(r.building_id), resource: r.resource as Resource, placement: r.placement,
    registerDigits: r.register_digits, nextVerificationOn: r.next_verification_on, remoteReading: r.remote_reading,
    pollMs: r.poll_ms == null ? null : Number(r.poll_ms),
  } satisfies MeterRow]));
}

/** A register point as loaded, with the database's exact text of its instant. */
export interface HistPoint extends RegisterPoint { timeKey: string }

/**
 * Per meter, the current version of each register instant in [t0, t1], `depth` instants before t0
 * and the first one after t1 (the successor of the latest queued instant), leaving out instants whose
 * current version an engineer rejected (latest review) and NULL values.
 */
export async function loadHistory(
  q: Queryable,
  ranges: ReadonlyArray<{ meterId: number; quantity: string; t0: string; t1: string }>,
  depth: number,
): Promise<Map<number, HistPoint[]>> {
  const out = new Map<number, HistPoint[]>();
  if (!ranges.length) return out;
  const pick = 'SELECT DISTINCT ON (r.time) r.time, r.value, r.quality, r.version FROM readings r WHERE r.meter_id = k.m AND r.quantity = k.qn';
  const { rows } = await q.query(
    `SELECT k.m AS meter_id, c.time, c.time::text AS tkey, c.value, c.quality
       FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::timestamptz[]) AS k(m, qn, t0, t1)
       CROSS JOIN LATERAL (
         SELECT u.* FROM (
           (${pick} AND r.time < k.t0 ORDER BY r.time DESC, r.version DESC LIMIT $5)
           UNION ALL
           (${pick} AND r.time >= k.t0 AND r.time <= k.t1 ORDER BY r.time, r.version DESC)
           UNION ALL
           (${pick} AND r.time > k.t1 ORDER BY r.time, r.version DESC LIMIT 1)
         ) u
         WHERE u.value IS NOT NULL
           AND (SELECT rv.decision FROM reading_reviews rv
                 WHERE rv.meter_id = k.m AND rv.quantity = k.qn AND rv.time = u.time AND rv.version = u.version
                 ORDER BY rv.reviewed_at DESC, rv.id DESC LIMIT 1) IS DISTINCT FROM 'reject'
       ) c
      ORDER BY k.m, c.time`,
    [ranges.map((r) => r.meterId), ranges.map((r) => r.quantity), ranges.map((r) => r.t0), ranges.map((r) => r.t1), depth],
  );
  for (const r of rows) {
    const id = Number(r.meter_id);
    let list = out.get(id);
    if (!list) out.set(id, (list = []));
    list.push({ time: r.time, timeKey: r.tkey, value: r.value, quality: r.quality ?? [] });
  }
  return out;
}

/**
 * Every version of the register and the context quantities at the given (meter, instant) pairs:
 * the rows to judge and, beside them, what the meter measured at the same instants.
 */
export async function loadInstants(
  q: Queryable,
  instants: ReadonlyArray<{ meterId: number; timeKey: string; register: string }>,
): Promise<{ targets: TargetRow[]; context: Context }> {
  const targets: TargetRow[] = [];
  const context: Context = new ByMeter();
  if (!instants.length) return { targets, context };
  const { rows } = await q.query(
    `SELECT r.meter_id, r.quantity, r.time, r.time::text AS tkey, r.version, r.value, r.quality, k.qn = r.quantity AS is_register
       FROM unnest($1::bigint[], $2::timestamptz[], $3::text[]) AS k(m, t, qn)
       CROSS JOIN LATERAL (SELECT * FROM readings r WHERE r.meter_id = k.m AND r.time = k.t AND (r.quantity = k.qn OR r.quantity = ANY($4::text[])) OFFSET 0) r
      ORDER BY r.meter_id, r.time, r.quantity, r.version`,
    [instants.map((i) => i.meterId), instants.map((i) => i.timeKey), instants.map((i) => i.register), [...CONTEXT_QUANTITIES]],
  );
  for (const r of rows) {
    const meterId = Number(r.meter_id);
    if (r.is_register) targets.push({ meterId, quantity: r.quantity, time: r.time, timeKey: r.tkey, version: r.version, value: r.value, quality: r.quality ?? [] });
    const ms = (r.time as Date).getTime();
    let v = context.get(meterId, ms);
    if (!v) context.set(meterId, ms, (v = {}));
    // Ordered by version: the last one written is the current version.
    if (IS_CONTEXT.has(r.quantity)) (v as Record<string, number | null>)[r.quantity] = r.value;
  }
  return { targets, context };
}

/** A record's heat amount, Тр and Тнс per kind (archiveQuantity: a daily record's are the day names). */
const RECORD_NAMES = (['hourly', 'daily'] as const).map((k) => ({
  energy: archiveQuantity('energy_delta_kwh', k), working: archiveQuantity('operating_time_delta_s', k), ns: archiveQuantity('error_time_delta_s', k),
}));

/**
 * The archive records (meter_archive_ns) at the given instants, both kinds, each with every version of
 * its heat amount row (the rows judged) and the current Тр and Тнс of the record: one statement for
 * the batch. An instant without a record gives nothing.
 */
export async function loadArchiveTargets(q: Queryable, instants: ReadonlyArray<{ meterId: number; timeKey: string }>): Promise<ArchiveTarget[]> {
  if (!instants.length) return [];
  const [h, d] = RECORD_NAMES;
  const byKind = (hourly: number, daily: number) => `CASE n.kind WHEN 'daily' THEN $${daily} ELSE $${hourly} END`;
  const current = (hourly: number, daily: number) =>
    `(SELECT w.value FROM readings w WHERE w.meter_id = n.meter_id AND w.time = n.time AND w.quantity = ${byKind(hourly, daily)} ORDER BY w.version DESC LIMIT 1)`;
  const { rows } = await q.query(
    `SELECT n.meter_id, n.kind, n.seconds, n.codes, r.quantity, r.time, r.time::text AS tkey, r.version, r.value, r.quality,
            ${current(5, 6)} AS working_s, ${current(7, 8)} AS ns_s
       FROM unnest($1::bigint[], $2::timestamptz[]) AS k(m, t)
       JOIN meter_archive_ns n ON n.meter_id = k.m AND n.time = k.t
       JOIN readings r ON r.meter_id = n.meter_id AND r.time = n.time AND r.quantity = ${byKind(3, 4)}
      ORDER BY n.meter_id, n.time, n.kind, r.version`,
    [instants.map((i) => i.meterId), instants.map((i) => i.timeKey), h.energy, d.energy, h.working, d.working, h.ns, d.ns],
  );
  const num = (x: unknown) => (x === null || x === undefined ? null : Number(x));
  return rows.map((r) => ({
    meterId: Number(r.meter_id), quantity: r.quantity, time: r.time, timeKey: r.tkey, version: r.version, value: num(r.value), quality: r.quality ?? [],
    kind: r.kind, seconds: Number(r.seconds), codes: r.codes ?? [], workingSeconds: num(r.working_s), nsSeconds: num(r.ns_s),
  } satisfies ArchiveTarget));
}

export async function upsertVerdicts(q: Queryable, verdicts: readonly Verdict[]): Promise<void> {
  if (!verdicts.length) return;
  await q.query(
    `INSERT INTO reading_validations (meter_id, quantity, time, version, status, reasons)
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::int[], $5::text[], $6::jsonb[])
     ON CONFLICT (meter_id, quantity, time, version)
     DO UPDATE SET status = EXCLUDED.status, reasons = EXCLUDED.reasons, validated_at = now()`,
    [
      verdicts.map((v) => v.meterId), verdicts.map((v) => v.quantity), verdicts.map((v) => v.timeKey), verdicts.map((v) => v.version),
      verdicts.map((v) => v.status), verdicts.map((v) => JSON.stringify(v.reasons)),
    ],
  );
}
