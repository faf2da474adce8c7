/**
 * Engineers' side of validation in the database: a meter's verdicts with their latest review, a
 * building's flagged readings nobody has reviewed, accept/reject decisions (append-only, audited,
 * re-queued so the validator reruns) and estimates filling a gap. Every meter and building id is
 * resolved for the caller through tenancy (another organisation's = 404 like a missing one).
 */
import { archiveQuantity, registerQuantity, type Resource } from '@amr/protocols';
import { premiseScopeSql, requireOwned, type Principal } from '../auth/index.js';
import { audit, type Actor } from '../audit/index.js';
import type { Database, Queryable } from '../db/types.js';
import { badRequest, conflict, notFound } from '../http/errors.js';
import { insertEstimates, lockMeter } from '../readings/write-store.js';
import { refuseReplacementReading } from '../registry/replacement.js';
import { markStatementDays } from '../readings/statement-marks.js';
import { consumptionBetween, estimateGap, type RegisterPoint, type ValidationReason } from '../vee/index.js';

export interface RegisterMeter { id: number; buildingId: number; resource: Resource; quantity: string; registerDigits: number | null }

/** A meter the caller sees, with its register quantity. */
export async function visibleRegisterMeter(q: Queryable, p: Principal, id: number): Promise<RegisterMeter> {
  await requireOwned(q, p, 'meter', id);
  const m = (await q.query<{ id: string; building_id: string; resource: Resource; register_digits: number | null }>(
    'SELECT id, building_id, resource, register_digits FROM meters WHERE id = $1', [id])).rows[0];
  if (!m) throw notFound('meter');
  return { id: Number(m.id), buildingId: Number(m.building_id), resource: m.resource, quantity: registerQuantity(m.resource), registerDigits: m.register_digits };
}

type Status = 'valid' | 'suspect' | 'invalid';
export interface ValidatedReading {
  time: Date; quantity: string; value: number | null; unit: string; version: number; source: string; quality: string[];
  created_by: string | null; reason: string | null;
  verdict: { status: Status; reasons: ValidationReason[]; validated_at: Date } | null;
  review: { decision: 'accept' | 'reject'; reason: string; by: string; at: Date } | null;
}
export interface ValidationFilter {
  from: string; to: string;
  /** flagged = suspect or invalid; pending = not validated yet. */
  status?: Status | 'flagged' | 'pending';
  versions: 'current' | 'all';
  limit: number;
}

/** Latest review of a reading row, as a LATERAL over reading_reviews aliased `rv`. */
const LATEST_REVIEW = `LEFT JOIN LATERAL (
    SELECT decision, reason, reviewed_by, reviewed_at FROM reading_reviews x
     WHERE x.meter_id = r.meter_id AND x.quantity = r.quantity AND x.time = r.time AND x.version = r.version
     ORDER BY x.reviewed_at DESC, x.id DESC LIMIT 1) rv ON true`;

/** Verdicts of a meter's register readings in [from, to), with the latest review of each. */
export async function meterValidations(q: Queryable, m: RegisterMeter, f: ValidationFilter): Promise<ValidatedReading[]> {
  const rowsSql = f.versions === 'current'
    ? 'SELECT DISTINCT ON (time) * FROM readings WHERE meter_id = $1 AND quantity = $2 AND time >= $3 AND time < $4 ORDER BY time, version DESC'
    : 'SELECT * FROM readings WHERE meter_id = $1 AND quantity = $2 AND time >= $3 AND time < $4';
  const { rows } = await q.query<{
    time: Date; quantity: string; value: number | null; unit: string; version: number; source: string; quality: string[]; created_by: string | null;
    reason: string | null; status: Status | null; reasons: ValidationReason[]; validated_at: Date;
    decision: 'accept' | 'reject' | null; review_reason: string; reviewed_by: string; reviewed_at: Date;
  }>(
    `SELECT r.time, r.quantity, r.value, r.unit, r.version, r.source, r.quality, r.created_by, r.reason,
            v.status, v.reasons, v.validated_at, rv.decision, rv.reason AS review_reason, rv.reviewed_by, rv.reviewed_at
       FROM (${rowsSql}) r
       LEFT JOIN reading_validations v ON v.meter_id = r.meter_id AND v.quantity = r.quantity AND v.time = r.time AND v.version = r.version
       ${LATEST_REVIEW}
      WHERE ($5::text IS NULL OR v.status = $5 OR ($5 = 'flagged' AND v.status IN ('suspect', 'invalid')) OR ($5 = 'pending' AND v.status IS NULL))
      ORDER BY r.time, r.version LIMIT $6`,
    [m.id, m.quantity, f.from, f.to, f.status ?? null, f.limit],
  );
  return rows.map((r) => ({
    time: r.time, quantity: r.quantity, value: r.value, unit: r.unit, version: r.version, source: r.source, quality: r.quality,
    created_by: r.created_by, reason: r.reason,
    verdict: r.status ? { status: r.status, reasons: r.reasons, validated_at: r.validated_at } : null,
    review: r.decision ? { decision: r.decision, reason: r.review_reason, by: r.reviewed_by, at: r.reviewed_at } : null,
  }));
}

export interface FlaggedReading {
  meter_id: number; serial_number: string; placement: string; resource: string; premise_number: string | null;
  time: Date; quantity: string; version: number; value: number | null; status: 'suspect' | 'invalid'; reasons: ValidationReason[];
}

/** What a building's work list is narrowed to: a verdict, and reason codes (any of them). */
export interface FlaggedFilter {
  from: string; to: string; limit: number;
  status?: 'suspect' | 'invalid';
  reasons?: readonly string[];
}

/**
 * Suspect or invalid current readings of a building's meters in [from, to) that no engineer has
 * reviewed: register readings (`energy_kwh` of heat and electricity, `volume_m3` of water) and the heat
 * amounts of a heat meter's archive records (`energy_delta_kwh` hourly, `energy_day_kwh` daily: the one
 * row of a record the validator judges for НС and working-time shortfalls), narrowed to a status and
 * to readings with any of the given reason codes.
 */
export async function flaggedOfBuilding(q: Queryable, p: Principal, buildingId: number, f: FlaggedFilter): Promise<FlaggedReading[]> {
  await requireOwned(q, p, 'building', buildingId);
  const params: unknown[] = [buildingId, f.from, f.to, f.limit, f.status ?? null, f.reasons?.length ? f.reasons : null];
  // Residents see only their own premises' meters.
  const scope = premiseScopeSql(p, 'm.premise_id', params);
  const { rows } = await q.query<FlaggedReading & { meter_id: string }>(
    `SELECT m.id AS meter_id, m.serial_number, m.placement, m.resource, pr.number AS premise_number,
            r.time, r.quantity, r.version, r.value, v.status, v.reasons
       FROM meters m
       LEFT JOIN premises pr ON pr.id = m.premise_id
       JOIN reading_validations v ON v.meter_id = m.id AND v.status <> 'valid' AND v.time >= $2 AND v.time < $3
            AND (v.quantity = CASE WHEN m.resource IN ('heat', 'electricity') THEN 'energy_kwh' ELSE 'volume_m3' END
                 OR (m.resource = 'heat' AND v.quantity IN ('${archiveQuantity('energy_delta_kwh', 'hourly')}', '${archiveQuantity('energy_delta_kwh', 'daily')}')))
       JOIN readings r ON r.meter_id = v.meter_id AND r.quantity = v.quantity AND r.time = v.time AND r.version = v.version
      WHERE m.building_id = $1 AND ${scope}
        AND ($5::text IS NULL OR v.status = $5)
        AND ($6::text[] IS NULL OR EXISTS (SELECT 1 FROM jsonb_array_elements(v.reasons) e WHERE e->>'code' = ANY($6::text[])))
        AND NOT EXISTS (SELECT 1 FROM readings n WHERE n.meter_id = r.meter_id AND n.quantity = r.quantity AND n.time = r.time AND n.version > r.version)
        AND NOT EXISTS (SELECT 1 FROM reading_reviews x WHERE x.meter_id = r.meter_id AND x.quantity = r.quantity AND x.time = r.time AND x.version = r.version)
      ORDER BY r.time, m.id, r.quantity LIMIT $4`,
    params,
  );
  return rows.map((r) => ({ ...r, meter_id: Number(r.meter_id) }));
}

export interface ReviewInput { time: string; quantity?: string; version?: number; decision: 'accept' | 'reject'; reason: string }
export interface ReviewRow {
  id: number; meter_id: number; quantity: string; time: Date; version: number; decision: 'accept' | 'reject'; reason: string; reviewed_by: string; reviewed_at: Date;
}

/**
 * An engineer's decision on a reading row (default: its current version), append-only and audited;
 * the instant is queued again, so the validator reruns it and the next reading, and imbalance follows.
 * A rejection of a replacement's reading is refused: the replacement owns it.
 */
export async function reviewReading(db: Database, p: Principal, actor: Actor, meterId: number, b: ReviewInput, requestId: string | null): Promise<ReviewRow> {
  return db.tx(async (q) => {
    const m = await visibleRegisterMeter(q, p, meterId);
    const quantity = b.quantity ?? m.quantity;
    const reading = (await q.query<{ version: number }>(
      `SELECT version FROM readings WHERE meter_id = $1 AND quantity = $2 AND time = $3 AND ($4::int IS NULL OR version = $4)
        ORDER BY version DESC LIMIT 1`, [m.id, quantity, b.time, b.version ?? null])).rows[0];
    if (!reading) throw notFound(b.version ? `version ${b.version} of the ${quantity} reading at ${b.time}` : `reading of ${quantity} at ${b.time}`);
    if (b.decision === 'reject') await refuseReplacementReading(q, m.id, quantity, b.time);
    const r = (await q.query<ReviewRow & { id: string; meter_id: string }>(
      `INSERT INTO reading_reviews (meter_id, quantity, time, version, decision, reason, reviewed_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, meter_id, quantity, time, version, decision, reason, reviewed_by, reviewed_at`,
      [m.id, quantity, b.time, reading.version, b.decision, b.reason, actor.name])).rows[0];
    const row = { ...r, id: Number(r.id), meter_id: Number(r.meter_id) };
    // The verdicts of this instant and of the next reading depend on the decision; imbalance too.
    // DO UPDATE, not DO NOTHING: a validator batch holding this instant's row (judging the reading as
    // it was) makes the insert wait and queue the instant again after it, instead of skipping the row
    // the batch is about to delete.
    await q.query(
      'INSERT INTO vee_queue (meter_id, time) VALUES ($1, $2) ON CONFLICT (meter_id, time) DO UPDATE SET enqueued_at = now() WHERE vee_queue.enqueued_at < now()',
      [m.id, b.time]);
    // A heat meter's archive record reviewed: its statement day may change (a rejection leaves the record out).
    await markStatementDays(q, [{ meterId: m.id, quantity, time: b.time }]);
    await audit(q, actor, {
      action: b.decision, entity: 'reading', entityId: `${m.id}/${quantity}/${b.time}/v${reading.version}`, buildingId: m.buildingId,
      after: row, reason: b.reason, requestId,
    });
    return row;
  });
}

/** Most estimated points one request may write (a year of 15-minute readings). */
const MAX_ESTIMATES = 35_040;
const MIN_STEP_MS = 60_000;

export interface EstimateInput { from: string; to: string; reason: string; intervalMinutes?: number }
export interface EstimateResult {
  meterId: number; method: 'linear' | 'profile' | null; from: Date; to: Date;
  rows: { time: Date; quantity: string; value: number; unit: string; source: string; quality: string[]; version: number; created_by: string | null; reason: string | null }[];
}

/**
 * Fills a gap in the register with estimated readings (source "estimate") between the current,
 * not rejected readings around it: linear for short gaps, the hour-of-week profile of five weeks
 * before for long ones. Never over a stored reading, never across a register that went down.
 */
export async function estimateReadings(db: Database, p: Principal, actor: Actor, meterId: number, b: EstimateInput, requestId: string | null): Promise<EstimateResult> {
  if (new Date(b.from) >= new Date(b.to)) throw badRequest('from must be before to', [{ path: 'body.from', message: 'not before "to"' }]);
  return db.tx(async (q) => {
    const m = await visibleRegisterMeter(q, p, meterId);
    const quantity = m.quantity;
    // Serialise with other writers of this meter (the write path's lock).
    await lockMeter(q, m.id);
    const current = `SELECT * FROM (SELECT DISTINCT ON (time) time, value, version FROM readings WHERE meter_id = $1 AND quantity = $2 AND %W ORDER BY time %O, version DESC) c
                      WHERE value IS NOT NULL AND (SELECT decision FROM reading_reviews x WHERE x.meter_id = $1 AND x.quantity = $2 AND x.time = c.time AND x.version = c.version
                                                    ORDER BY reviewed_at DESC, id DESC LIMIT 1) IS DISTINCT FROM 'reject' ORDER BY time %O LIMIT %L`;
    const sql = (w: string, o: 'ASC' | 'DESC', l: number) => current.replace('%W', w).replaceAll('%O', o).replace('%L', String(l));
    const before = (await q.query<RegisterPoint>(sql('time <= $3', 'DESC', 1), [m.id, quantity, b.from])).rows[0];
    const after = (await q.query<RegisterPoint>(sql('time >= $3', 'ASC', 1), [m.id, quantity, b.to])).rows[0];
    if (!before) throw notFound(`a ${quantity} reading at or before ${b.from} to start the estimate from`);
    if (!after) throw notFound(`a ${quantity} reading at or after ${b.to} to end the estimate on`);
    const inside = (await q.query<{ time: Date }>(
      'SELECT time FROM readings WHERE meter_id = $1 AND quantity = $2 AND time > $3 AND time < $4 ORDER BY time LIMIT 5', [m.id, quantity, before.time, after.time])).rows;
    if (inside.length) {
      throw conflict(`readings exist between ${before.time.toISOString()} and ${after.time.toISOString()}; estimates never replace them — estimate each missing stretch on its own`,
        inside.map((r) => ({ path: 'body', message: `reading at ${r.time.toISOString()}` })));
    }
    const a: RegisterPoint = { time: before.time, value: before.value };
    const z1: RegisterPoint = { time: after.time, value: after.value };
    const facts = { registerDigits: m.registerDigits };
    const between = consumptionBetween(a, z1, facts);
    if (between.via !== 'plain' || between.decreased) {
      throw conflict(`the register went down between ${a.time.toISOString()} (${a.value}) and ${z1.time.toISOString()} (${z1.value}); estimate by hand after review`);
    }
    let stepMs = b.intervalMinutes ? b.intervalMinutes * 60_000 : null;
    if (!stepMs) {
      const poll = (await q.query<{ ms: number | null }>(
        `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms FROM (
           SELECT extract(epoch FROM time - lag(time) OVER (ORDER BY time)) * 1000 AS ms
             FROM (SELECT time FROM readings WHERE meter_id = $1 AND quantity = $2 AND source = 'telemetry' AND version = 1 AND time <= $3 ORDER BY time DESC LIMIT 25) t) d
          WHERE ms > 0`, [m.id, quantity, a.time])).rows[0];
      stepMs = poll?.ms ? Math.max(MIN_STEP_MS, Number(poll.ms)) : 86_400_000;
    }
    if ((z1.time.getTime() - a.time.getTime()) / stepMs > MAX_ESTIMATES) {
      throw badRequest(`the gap holds more than ${MAX_ESTIMATES} points at ${stepMs / 60_000}-minute spacing`, [{ path: 'body.interval_minutes', message: 'too fine for this gap' }]);
    }
    // Five weeks of history before the gap give the hour-of-week profile for long gaps.
    const history = (await q.query<RegisterPoint>(
      sql(`time <= $3 AND time > $3::timestamptz - interval '35 days'`, 'DESC', 5000), [m.id, quantity, a.time])).rows
      .reverse().map((r): RegisterPoint => ({ time: r.time, value: r.value }));
    const from = new Date(b.from).getTime();
    const to = new Date(b.to).getTime();
    const points = estimateGap(a, z1, stepMs, history, undefined, facts).filter((e) => e.time.getTime() >= from && e.time.getTime() <= to);
    const rows = await insertEstimates(q, m.id, quantity, points, actor.name, b.reason);
    rows.sort((x, y) => x.time.getTime() - y.time.getTime());
    const method = points[0]?.method ?? null;
    await audit(q, actor, {
      action: 'estimate', entity: 'reading', entityId: `${m.id}/${quantity}/${b.from}..${b.to}`, buildingId: m.buildingId,
      after: { count: rows.length, method, stepMs, from: a, to: z1 }, reason: b.reason, requestId,
    });
    return { meterId: m.id, method, from: a.time, to: z1.time, rows };
  });
}
