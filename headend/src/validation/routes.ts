/**
 * Validation verdicts and engineers' review: the verdicts of a meter's register readings, a
 * building's flagged readings waiting for review, accept/reject decisions (append-only, audited,
 * re-queued so the validator reruns and imbalance is recomputed) and gap estimation. The work is in
 * validation/review-store.ts; a verdict's reasons go out snake_case like every other key.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { QuantityName } from '@amr/protocols';
import { requirePermission } from '../auth/index.js';
import { badRequest } from '../http/errors.js';
import { toWire } from '../http/casing.js';
import { principal } from '../http/plugins/auth.js';
import { actorOf, errors, Id, IdParams, Timestamp, type RouteDeps } from '../http/context.js';
import { REASON_CODES } from '../vee/index.js';
import { estimateReadings, flaggedOfBuilding, meterValidations, reviewReading, visibleRegisterMeter } from './review-store.js';

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

/** Reason codes, comma-separated; an unknown one is refused by name with the known ones listed. */
const ReasonList = z.string().transform((raw, ctx) => {
  const codes = [...new Set(raw.split(',').map((x) => x.trim()).filter(Boolean))];
  const unknown = codes.filter((c) => !(REASON_CODES as readonly string[]).includes(c));
  if (unknown.length || !codes.length) {
    ctx.addIssue({ code: 'custom', message: `${unknown.length ? `unknown reason code ${unknown.map((c) => `"${c}"`).join(', ')}` : 'no reason code given'}; use one or more of ${REASON_CODES.join(', ')}, separated by commas` });
    return z.NEVER;
  }
  return codes;
});

function orderedRange(from: string, to: string): void {
  if (new Date(from) >= new Date(to)) throw badRequest('from must be before to', [{ path: 'querystring.from', message: 'not before "to"' }]);
}

const Validations = z.object({ meter_id: Id, quantity: z.string(), rows: z.array(ValidatedRow) });
const Flagged = z.object({ building_id: Id, rows: z.array(FlaggedRow) });
const Estimates = z.object({ meter_id: Id, method: z.enum(['linear', 'profile']).nullable(), from: Timestamp, to: Timestamp, rows: z.array(EstimateRow) });

const validationRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db }) => {
  app.get('/meters/:id/validations', {
    schema: {
      tags: ['validation'], summary: "Verdicts of a meter's register readings in [from, to), with the latest review", params: IdParams,
      description: 'What the validator decided about each reading of the meter `id` (valid, suspect, invalid, with reason codes such as a stuck register or reverse flow) and the latest review by an engineer, if any. Readings not validated yet are `pending`.',
      querystring: z.object({
        from: IsoTime.describe('From, ISO 8601 with offset (inclusive)'), to: IsoTime.describe('To, ISO 8601 with offset (exclusive)'),
        status: z.enum(['valid', 'suspect', 'invalid', 'flagged', 'pending']).optional().describe('Only this verdict; flagged = suspect or invalid, pending = not validated yet'),
        versions: z.enum(['current', 'all']).default('current').describe('all = every version of a corrected reading'),
        limit: z.coerce.number().int().min(1).max(100_000).default(10_000).describe('Most rows in the answer'),
      }),
      response: { 200: Validations, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'readings:read');
    const m = await visibleRegisterMeter(db, p, req.params.id);
    orderedRange(req.query.from, req.query.to);
    const rows = await meterValidations(db, m, req.query);
    return toWire({ meter_id: m.id, quantity: m.quantity, rows }) as z.input<typeof Validations>;
  });

  app.get('/buildings/:id/flagged', {
    schema: {
      tags: ['validation'], summary: "Suspect or invalid current readings of a building's meters that no engineer has reviewed", params: IdParams,
      description: 'The work list of an engineer: current readings of the building `id` the validator marked suspect or invalid in [from, to) with no review yet. Accept or reject each with POST /meters/{id}/readings/review.',
      querystring: z.object({
        from: IsoTime.describe('From, ISO 8601 with offset (inclusive)'), to: IsoTime.describe('To, ISO 8601 with offset (exclusive)'),
        status: z.enum(['suspect', 'invalid']).optional().describe('Only this verdict'),
        reason: ReasonList.optional().describe('Only readings with any of these reason codes, comma-separated (e.g. ns_power_off,ns_time for a heat meter\'s abnormal situations and working-time shortfalls)'),
        limit: z.coerce.number().int().min(1).max(100_000).default(10_000).describe('Most rows in the answer'),
      }),
      response: { 200: Flagged, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'readings:read');
    const { from, to, limit, status, reason } = req.query;
    orderedRange(from, to);
    const rows = await flaggedOfBuilding(db, p, req.params.id, { from, to, limit, status, reasons: reason });
    return toWire({ building_id: req.params.id, rows }) as z.input<typeof Flagged>;
  });

  app.post('/meters/:id/readings/review', {
    schema: {
      tags: ['validation'], summary: 'Accept or reject a reading row (default: the current version); append-only, audited, re-validated', params: IdParams,
      description: 'An engineer\'s decision on a flagged reading of the meter `id`: accept (it counts in billing and imbalance) or reject (it does not), with the reason. Reviews are appended, never edited: a later review overrides an earlier one and both stay in the history.',
      body: z.object({
        time: IsoTime, quantity: QuantityName.optional(), version: z.number().int().min(1).optional(),
        decision: z.enum(['accept', 'reject']), reason: z.string().trim().min(3).max(500),
      }),
      response: { 201: ReviewRow, ...errors },
    },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'readings:review');
    return reply.code(201).send(await reviewReading(db, p, actorOf(req), req.params.id, req.body, req.id));
  });

  app.post('/meters/:id/estimates', {
    schema: {
      tags: ['validation'], summary: 'Fill a gap in the register with estimated readings (source "estimate") between the readings around it', params: IdParams,
      description: 'Interpolates readings of the meter `id` in [from, to) between the last reading before and the first after the gap (linear, or by the building\'s profile when there is one), stored with source "estimate" and the reason, and audited. A real reading that arrives later wins over the estimate.',
      body: z.object({
        from: IsoTime, to: IsoTime, reason: z.string().trim().min(3).max(500),
        /** Spacing of the estimated points; default the meter's telemetry interval, else one day. */
        interval_minutes: z.number().int().min(1).max(44_640).optional(),
      }),
      response: { 201: Estimates, ...errors },
    },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'readings:correct');
    const b = req.body;
    const out = await estimateReadings(db, p, actorOf(req), req.params.id, { from: b.from, to: b.to, reason: b.reason, intervalMinutes: b.interval_minutes }, req.id);
    return reply.code(201).send(toWire(out) as z.input<typeof Estimates>);
  });
};

export default validationRoutes;
