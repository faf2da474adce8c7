/**
 * Validation verdicts and engineers' review: the verdicts of a meter's register readings, a
 * building's flagged readings waiting for review, accept/reject decisions (append-only, audited,
 * re-queued so the validator reruns and imbalance is recomputed) and gap estimation.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { QuantityName, registerQuantity } from '@amr/protocols';
import { premiseScopeSql, requireBuilding, requirePermission } from '../auth/index.js';
import { audit } from '../audit/index.js';
import { badRequest, conflict, notFound } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { insertEstimates, lockMeter } from '../readings/write-store.js';
import { visibleMeter } from '../registry/visible-meter.js';
import { refuseReplacementReading } from '../registry/replacement.js';
import { consumptionBetween, estimateGap, type RegisterPoint } from '../vee/index.js';
import { actorOf, errors, Id, IdParams, Timestamp, type RouteDeps } from '../http/context.js';

const IsoTime = z.iso.datetime({ offset: true });
const Reason = z.object({ code: z.string(), status: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() });
const Verdict = z.object({ status: z.enum(['valid', 'suspect', 'invalid']), reasons: z.array(Reason), validated_at: Timestamp }).nullable();
const Review = z.object({ decision: z.enum(['accept', 'reject']), reason: z.string(), by: z.string(), at: Timestamp }).nullable();
const ValidatedRow = z.object({
  time: Timestamp, quantity: z.string(), value: z.number().nullable(), unit: z.string(), version: z.number(), source: z.string(),
  quality: z.array(z.string()), created_by: z.string().nullable(), reason: z.string().nullable(), verdict: Verdict, review: Review,
});
const FlaggedRow = z.object({
  meter_id: Id, serial_number: z.string(), placement: z.string(), resource: z.string(), premise_number: z.string().nullable(),
  time: Timestamp, quantity: z.string(), version: z.number(), value: z.number().nullable(), status: z.enum(['suspect', 'invalid']), reasons: z.array(Reason),
});
const ReviewRow = z.object({
  id: Id, meter_id: Id, quantity: z.string(), time: Timestamp, version: z.number(), decision: z.enum(['accept', 'reject']),
  reason: z.string(), reviewed_by: z.string(), reviewed_at: Timestamp,
});
const EstimateRow = z.object({
  time: Timestamp, quantity: z.string(), value: z.number(), unit: z.string(), source: z.string(), quality: z.array(z.string()),
  version: z.number(), created_by: z.string().nullable(), reason: z.string().nullable(),
});


function orderedRange(from: string, to: string): void {
  if (new Date(from) >= new Date(to)) throw badRequest('from must be before to', [{ path: 'querystring.from', message: 'not before "to"' }]);
}

/** Latest review of a reading row, as a LATERAL over reading_reviews aliased `rv`. */
const LATEST_REVIEW = `LEFT JOIN LATERAL (
    SELECT decision, reason, reviewed_by, reviewed_at FROM reading_reviews x
     WHERE x.meter_id = r.meter_id AND x.quantity = r.quantity AND x.time = r.time AND x.version = r.version
     ORDER BY x.reviewed_at DESC, x.id DESC LIMIT 1) rv ON true`;

/** Most estimated points one request may write (a year of 15-minute readings). */
const MAX_ESTIMATES = 35_040;
const MIN_STEP_MS = 60_000;

const validationRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db }) => {
  app.get('/meters/:id/validations', {
    schema: {
      tags: ['validation'], summary: "Verdicts of a meter's register readings in [from, to), with the latest review", params: IdParams,
      querystring: z.object({
        from: IsoTime, to: IsoTime,
        /** flagged = suspect or invalid; pending = not validated yet. */
        status: z.enum(['valid', 'suspect', 'invalid', 'flagged', 'pending']).optional(),
        versions: z.enum(['current', 'all']).default('current'),
        limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
      }),
      response: { 200: z.object({ meter_id: Id, quantity: z.string(), rows: z.array(ValidatedRow) }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'readings:read');
    const m = await visibleMeter(db, p, req.params.id);
    const { from, to, status, versions, limit } = req.query;
    orderedRange(from, to);
    const quantity = registerQuantity(m.resource);
    const rowsSql = versions === 'current'
      ? 'SELECT DISTINCT ON (time) * FROM readings WHERE meter_id = $1 AND quantity = $2 AND time >= $3 AND time < $4 ORDER BY time, version DESC'
      : 'SELECT * FROM readings WHERE meter_id = $1 AND quantity = $2 AND time >= $3 AND time < $4';
    const { rows } = await db.query(
      `SELECT r.time, r.quantity, r.value, r.unit, r.version, r.source, r.quality, r.created_by, r.reason,
              v.status, v.reasons, v.validated_at, rv.decision, rv.reason AS review_reason, rv.reviewed_by, rv.reviewed_at
         FROM (${rowsSql}) r
         LEFT JOIN reading_validations v ON v.meter_id = r.meter_id AND v.quantity = r.quantity AND v.time = r.time AND v.version = r.version
         ${LATEST_REVIEW}
        WHERE ($5::text IS NULL OR v.status = $5 OR ($5 = 'flagged' AND v.status IN ('suspect', 'invalid')) OR ($5 = 'pending' AND v.status IS NULL))
        ORDER BY r.time, r.version LIMIT $6`,
      [m.id, quantity, from, to, status ?? null, limit],
    );
    return {
      meter_id: m.id, quantity,
      rows: rows.map((r) => ({
        time: r.time, quantity: r.quantity, value: r.value, unit: r.unit, version: r.version, source: r.source, quality: r.quality,
        created_by: r.created_by, reason: r.reason,
        verdict: r.status ? { status: r.status, reasons: r.reasons, validated_at: r.validated_at } : null,
        review: r.decision ? { decision: r.decision, reason: r.review_reason, by: r.reviewed_by, at: r.reviewed_at } : null,
      })),
    };
  });

  app.get('/buildings/:id/flagged', {
    schema: {
      tags: ['validation'], summary: "Suspect or invalid current readings of a building's meters that no engineer has reviewed", params: IdParams,
      querystring: z.object({ from: IsoTime, to: IsoTime, limit: z.coerce.number().int().min(1).max(100_000).default(10_000) }),
      response: { 200: z.object({ building_id: Id, rows: z.array(FlaggedRow) }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'readings:read');
    const b = (await db.query('SELECT id FROM buildings WHERE id = $1', [req.params.id])).rows[0];
    requireBuilding(p, b ? Number(b.id) : null);
    const { from, to, limit } = req.query;
    orderedRange(from, to);
    const params: unknown[] = [req.params.id, from, to, limit];
    // Residents see only their own premises' meters.
    const scope = premiseScopeSql(p, 'm.premise_id', params);
    const { rows } = await db.query(
      `SELECT m.id AS meter_id, m.serial_number, m.placement, m.resource, pr.number AS premise_number,
              r.time, r.quantity, r.version, r.value, v.status, v.reasons
         FROM meters m
         LEFT JOIN premises pr ON pr.id = m.premise_id
         JOIN reading_validations v ON v.meter_id = m.id AND v.status <> 'valid' AND v.time >= $2 AND v.time < $3
              AND v.quantity = CASE WHEN m.resource IN ('heat', 'electricity') THEN 'energy_kwh' ELSE 'volume_m3' END
         JOIN readings r ON r.meter_id = v.meter_id AND r.quantity = v.quantity AND r.time = v.time AND r.version = v.version
        WHERE m.building_id = $1 AND ${scope}
          AND NOT EXISTS (SELECT 1 FROM readings n WHERE n.meter_id = r.meter_id AND n.quantity = r.quantity AND n.time = r.time AND n.version > r.version)
          AND NOT EXISTS (SELECT 1 FROM reading_reviews x WHERE x.meter_id = r.meter_id AND x.quantity = r.quantity AND x.time = r.time AND x.version = r.version)
        ORDER BY r.time, m.id LIMIT $4`,
      params,
    );
    return { building_id: req.params.id, rows };
  });

  app.post('/meters/:id/readings/review', {
    schema: {
      tags: ['validation'], summary: 'Accept or reject a reading row (default: the current version); append-only, audited, re-validated', params: IdParams,
      body: z.object({
        time: IsoTime, quantity: QuantityName.optional(), version: z.number().int().min(1).optional(),
        decision: z.enum(['accept', 'reject']), reason: z.string().trim().min(3).max(500),
      }),
      response: { 201: ReviewRow, ...errors },
    },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'readings:review');
    const b = req.body;
    const row = await db.tx(async (q) => {
      const m = await visibleMeter(q, p, req.params.id);
      const quantity = b.quantity ?? registerQuantity(m.resource);
      const reading = (await q.query(
        `SELECT version, value FROM readings WHERE meter_id = $1 AND quantity = $2 AND time = $3 AND ($4::int IS NULL OR version = $4)
          ORDER BY version DESC LIMIT 1`, [m.id, quantity, b.time, b.version ?? null])).rows[0];
      if (!reading) throw notFound(b.version ? `version ${b.version} of the ${quantity} reading at ${b.time}` : `reading of ${quantity} at ${b.time}`);
      if (b.decision === 'reject') await refuseReplacementReading(q, m.id, quantity, b.time);
      const actor = actorOf(req);
      const r = (await q.query(
        `INSERT INTO reading_reviews (meter_id, quantity, time, version, decision, reason, reviewed_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
        [m.id, quantity, b.time, reading.version, b.decision, b.reason, actor.name])).rows[0];
      // The verdicts of this instant and of the next reading depend on the decision; imbalance too.
      await q.query('INSERT INTO vee_queue (meter_id, time) VALUES ($1, $2) ON CONFLICT DO NOTHING', [m.id, b.time]);
      await audit(q, actor, {
        action: b.decision, entity: 'reading', entityId: `${m.id}/${quantity}/${b.time}/v${reading.version}`, buildingId: m.building_id,
        after: r, reason: b.reason, requestId: req.id,
      });
      return r;
    });
    return reply.code(201).send(row);
  });

  app.post('/meters/:id/estimates', {
    schema: {
      tags: ['validation'], summary: 'Fill a gap in the register with estimated readings (source "estimate") between the readings around it', params: IdParams,
      body: z.object({
        from: IsoTime, to: IsoTime, reason: z.string().trim().min(3).max(500),
        /** Spacing of the estimated points; default the meter's telemetry interval, else one day. */
        interval_minutes: z.number().int().min(1).max(44_640).optional(),
      }),
      response: { 201: z.object({ meter_id: Id, method: z.enum(['linear', 'profile']).nullable(), from: Timestamp, to: Timestamp, rows: z.array(EstimateRow) }), ...errors },
    },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'readings:correct');
    const b = req.body;
    if (new Date(b.from) >= new Date(b.to)) throw badRequest('from must be before to', [{ path: 'body.from', message: 'not before "to"' }]);
    const out = await db.tx(async (q) => {
      const m = await visibleMeter(q, p, req.params.id);
      const quantity = registerQuantity(m.resource);
      // Serialise with other writers of this meter (the write path's lock).
      await lockMeter(q, m.id);
      const current = `SELECT * FROM (SELECT DISTINCT ON (time) time, value, version FROM readings WHERE meter_id = $1 AND quantity = $2 AND %W ORDER BY time %O, version DESC) c
                        WHERE value IS NOT NULL AND (SELECT decision FROM reading_reviews x WHERE x.meter_id = $1 AND x.quantity = $2 AND x.time = c.time AND x.version = c.version
                                                      ORDER BY reviewed_at DESC, id DESC LIMIT 1) IS DISTINCT FROM 'reject' ORDER BY time %O LIMIT %L`;
      const sql = (w: string, o: 'ASC' | 'DESC', l: number) => current.replace('%W', w).replaceAll('%O', o).replace('%L', String(l));
      const before = (await q.query(sql('time <= $3', 'DESC', 1), [m.id, quantity, b.from])).rows[0];
      const after = (await q.query(sql('time >= $3', 'ASC', 1), [m.id, quantity, b.to])).rows[0];
      if (!before) throw notFound(`a ${quantity} reading at or before ${b.from} to start the estimate from`);
      if (!after) throw notFound(`a ${quantity} reading at or after ${b.to} to end the estimate on`);
      const inside = (await q.query(
        'SELECT time FROM readings WHERE meter_id = $1 AND quantity = $2 AND time > $3 AND time < $4 ORDER BY time LIMIT 5', [m.id, quantity, before.time, after.time])).rows;
      if (inside.length) {
        throw conflict(`readings exist between ${before.time.toISOString()} and ${after.time.toISOString()}; estimates never replace them — estimate each missing stretch on its own`,
          inside.map((r) => ({ path: 'body', message: `reading at ${(r.time as Date).toISOString()}` })));
      }
      const a: RegisterPoint = { time: before.time, value: before.value };
      const z1: RegisterPoint = { time: after.time, value: after.value };
      const facts = { registerDigits: (await q.query('SELECT register_digits FROM meters WHERE id = $1', [m.id])).rows[0].register_digits };
      if (consumptionBetween(a, z1, facts).via !== 'plain' || consumptionBetween(a, z1, facts).decreased) {
        throw conflict(`the register went down between ${a.time.toISOString()} (${a.value}) and ${z1.time.toISOString()} (${z1.value}); estimate by hand after review`);
      }
      let stepMs = b.interval_minutes ? b.interval_minutes * 60_000 : null;
      if (!stepMs) {
        const poll = (await q.query(
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
      const history = (await q.query(
        sql(`time <= $3 AND time > $3::timestamptz - interval '35 days'`, 'DESC', 5000), [m.id, quantity, a.time])).rows
        .reverse().map((r): RegisterPoint => ({ time: r.time, value: r.value }));
      const from = new Date(b.from).getTime();
      const to = new Date(b.to).getTime();
      const points = estimateGap(a, z1, stepMs, history, undefined, facts).filter((e) => e.time.getTime() >= from && e.time.getTime() <= to);
      const actor = actorOf(req);
      const rows = await insertEstimates(q, m.id, quantity, points, actor.name, b.reason);
      rows.sort((x, y) => x.time.getTime() - y.time.getTime());
      const method = points[0]?.method ?? null;
      await audit(q, actor, {
        action: 'estimate', entity: 'reading', entityId: `${m.id}/${quantity}/${b.from}..${b.to}`, buildingId: m.building_id,
        after: { count: rows.length, method, stepMs, from: a, to: z1 }, reason: b.reason, requestId: req.id,
      });
      return { meter_id: m.id, method, from: a.time, to: z1.time, rows };
    });
    return reply.code(201).send(out);
  });
};

export default validationRoutes;
