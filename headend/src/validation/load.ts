/**
 * The validator's reads and writes. Each function is one statement for the whole batch (unnest +
 * LATERAL), never one per reading: at ingest rates the queue holds thousands of rows per second.
 * All take the transaction's handle.
 */
import type { Resource } from '@amr/protocols';
import type { Queryable } from '../db/index.js';
import type { RegisterPoint } from '../vee/index.js';
import { CONTEXT_QUANTITIES, type InstantValues, type MeterRow, type TargetRow, type Verdict, instantKey } from './judge.js';

export interface QueueEntry { meterId: number; timeKey: string }

/** Recent telemetry points the poll interval is the median spacing of. */
const POLL_SAMPLE = 25;

/** The oldest queue entries, skipping meters in back-off; locked so a second head-end skips them. */
export async function takeQueue(q: Queryable, limit: number, skipMeters: readonly number[], onlyMeters?: readonly number[]): Promise<QueueEntry[]> {
  const { rows } = await q.query<{ meter_id: string; tkey: string }>(
    `SELECT meter_id, time::text AS tkey FROM vee_queue
      WHERE NOT (meter_id = ANY($2::bigint[])) AND ($3::bigint[] IS NULL OR meter_id = ANY($3::bigint[]))
      ORDER BY enqueued_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
    [limit, skipMeters, onlyMeters ?? null],
  );
  return rows.map((r) => ({ meterId: Number(r.meter_id), timeKey: r.tkey }));
}

/** Meters at the head of the queue (no lock): to retry a failed batch one meter at a time. */
export async function queuedMeters(q: Queryable, limit: number, skipMeters: readonly number[]): Promise<number[]> {
  const { rows } = await q.query<{ meter_id: string }>(
    `SELECT DISTINCT meter_id FROM (SELECT meter_id FROM vee_queue WHERE NOT (meter_id = ANY($2::bigint[])) ORDER BY enqueued_at LIMIT $1) x`,
    [limit, skipMeters],
  );
  return rows.map((r) => Number(r.meter_id));
}

export async function deleteQueue(q: Queryable, entries: readonly QueueEntry[]): Promise<void> {
  if (!entries.length) return;
  await q.query(
    `DELETE FROM vee_queue v USING unnest($1::bigint[], $2::timestamptz[]) AS k(m, t) WHERE v.meter_id = k.m AND v.time = k.t`,
    [entries.map((e) => e.meterId), entries.map((e) => e.timeKey)],
  );
}

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

/**
 * The first register reading after each queued instant, when it is not queued itself: its gap, spike
 * and decrease verdicts depend on its predecessor, which a late reading or a review just changed.
 * Only the next one: the one after it still has the same predecessor.
 */
export async function loadSuccessors(q: Queryable, entries: readonly QueueEntry[], quantityOf: (meterId: number) => string): Promise<QueueEntry[]> {
  if (!entries.length) return [];
  const { rows } = await q.query<{ meter_id: string; tkey: string }>(
    `SELECT DISTINCT k.m AS meter_id, s.time::text AS tkey
       FROM unnest($1::bigint[], $2::timestamptz[], $3::text[]) AS k(m, t, qn)
       CROSS JOIN LATERAL (SELECT r.time FROM readings r WHERE r.meter_id = k.m AND r.quantity = k.qn AND r.time > k.t ORDER BY r.time LIMIT 1) s`,
    [entries.map((e) => e.meterId), entries.map((e) => e.timeKey), entries.map((e) => quantityOf(e.meterId))],
  );
  return rows.map((r) => ({ meterId: Number(r.meter_id), timeKey: r.tkey }));
}

/** Every version of the register quantity at the given instants. */
export async function loadTargets(q: Queryable, entries: readonly QueueEntry[], quantityOf: (meterId: number) => string): Promise<TargetRow[]> {
  if (!entries.length) return [];
  const { rows } = await q.query(
    `SELECT r.meter_id, r.quantity, r.time, r.time::text AS tkey, r.version, r.value, r.quality
       FROM unnest($1::bigint[], $2::timestamptz[], $3::text[]) AS k(m, t, qn)
       CROSS JOIN LATERAL (SELECT * FROM readings r WHERE r.meter_id = k.m AND r.time = k.t AND r.quantity = k.qn OFFSET 0) r`,
    [entries.map((e) => e.meterId), entries.map((e) => e.timeKey), entries.map((e) => quantityOf(e.meterId))],
  );
  return rows.map((r) => ({
    meterId: Number(r.meter_id), quantity: r.quantity, time: r.time, timeKey: r.tkey, version: r.version, value: r.value, quality: r.quality ?? [],
  }));
}

/**
 * Per meter, the current version of each register instant in [t0, t1) plus `depth` instants before
 * t0, leaving out instants whose current version an engineer rejected (latest review) and NULL values.
 */
export async function loadHistory(
  q: Queryable,
  ranges: ReadonlyArray<{ meterId: number; quantity: string; t0: string; t1: string }>,
  depth: number,
): Promise<Map<number, RegisterPoint[]>> {
  const out = new Map<number, RegisterPoint[]>();
  if (!ranges.length) return out;
  const { rows } = await q.query(
    `SELECT k.m AS meter_id, c.time, c.value, c.quality
       FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::timestamptz[]) AS k(m, qn, t0, t1)
       CROSS JOIN LATERAL (
         SELECT u.* FROM (
           (SELECT DISTINCT ON (r.time) r.time, r.value, r.quality, r.version FROM readings r
             WHERE r.meter_id = k.m AND r.quantity = k.qn AND r.time < k.t0 ORDER BY r.time DESC, r.version DESC LIMIT $5)
           UNION ALL
           (SELECT DISTINCT ON (r.time) r.time, r.value, r.quality, r.version FROM readings r
             WHERE r.meter_id = k.m AND r.quantity = k.qn AND r.time >= k.t0 AND r.time < k.t1 ORDER BY r.time, r.version DESC)
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
    list.push({ time: r.time, value: r.value, quality: r.quality ?? [] });
  }
  return out;
}

/** Current values of the context quantities at each (meter, instant), keyed by instantKey. */
export async function loadContext(q: Queryable, instants: ReadonlyArray<{ meterId: number; time: Date }>): Promise<Map<string, InstantValues>> {
  const out = new Map<string, InstantValues>();
  if (!instants.length) return out;
  const { rows } = await q.query(
    `SELECT k.m AS meter_id, c.time, c.quantity, c.value
       FROM unnest($1::bigint[], $2::timestamptz[]) AS k(m, t)
       CROSS JOIN LATERAL (SELECT DISTINCT ON (r.quantity) r.time, r.quantity, r.value FROM readings r
                            WHERE r.meter_id = k.m AND r.time = k.t AND r.quantity = ANY($3::text[])
                            ORDER BY r.quantity, r.version DESC) c`,
    [instants.map((i) => i.meterId), instants.map((i) => i.time), [...CONTEXT_QUANTITIES]],
  );
  for (const r of rows) {
    const key = instantKey(Number(r.meter_id), r.time);
    let v = out.get(key);
    if (!v) out.set(key, (v = {}));
    (v as Record<string, number | null>)[r.quantity] = r.value;
  }
  return out;
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
