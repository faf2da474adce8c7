/**
 * Meters (ИПУ in a premise, ОДПУ on a building) and meter replacements.
 * Serial numbers are unique per make: a duplicate is a 409 that names the existing meter.
 * Replacement rules and SQL live in registry/replacement.ts; these routes only translate.
 */
import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Resource } from '@amr/protocols';
import { requireBodyRef, requireBuilding, requireOwned, requirePermission } from '../auth/index.js';
import type { Queryable } from '../db/types.js';
import { badRequest, conflict } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { actorOf, DateInput, DateOnly, errors, Id, IdParams, Timestamp, type RouteDeps } from '../http/context.js';
import { registerCrud, type Row } from './crud-routes.js';
import { CRUD_TABLES } from './crud-store.js';
import { meterWithSerial, premiseOfMeter } from './meter-store.js';
import { correctReplacement, listReplacements, replaceMeter, replacementVersions, undoLastReplacement, type Caller } from './replacement.js';
import { enqueueBillingRecalc } from '../billing/store/jobs.js';

const Placement = z.enum(['apartment', 'non_residential', 'building', 'common_area']);
const PREMISE_PLACEMENTS = new Set(['apartment', 'non_residential']);

export const MeterBody = z.object({
  placement: Placement,
  /** Required for building / common_area meters; derived from the premise for the others. */
  building_id: z.number().int().positive().optional(),
  /** Required for apartment / non_residential meters. */
  premise_id: z.number().int().positive().optional(),
  resource: Resource,
  identifier: z.string().trim().min(1).max(64).optional(),
  make: z.string().trim().max(100).default(''),
  model: z.string().trim().max(100).optional(),
  serial_number: z.string().trim().min(1).max(64),
  register_digits: z.number().int().min(1).max(15).optional(),
  register_decimals: z.number().int().min(0).max(6).optional(),
  zones: z.number().int().min(1).max(4).optional(),
  unit: z.string().max(16).optional(),
  commissioned_on: DateInput.optional(),
  verification_interval_years: z.number().int().positive().max(30).optional(),
  last_verified_on: DateInput.optional(),
  next_verification_on: DateInput.optional(),
  status: z.enum(['active', 'failed', 'removed']).optional(),
  /** The day the meter failed: billing counts it as "no reading" from then on (migration 023). */
  failed_on: DateInput.optional(),
  decommissioned_on: DateInput.optional(),
  place: z.string().max(200).optional(),
  installed_on: DateInput.optional(),
  sealed_on: DateInput.optional(),
  antimagnetic_seal: z.boolean().optional(),
  has_temperature_sensors: z.boolean().optional(),
  has_pressure_sensors: z.boolean().optional(),
  remote_reading: z.boolean().optional(),
  notes: z.string().max(2000).optional(),
});
export type MeterBody = z.infer<typeof MeterBody>;

const D = DateOnly.nullable();
export const MeterRow = z.object({
  id: Id, placement: Placement, building_id: Id, premise_id: Id.nullable(), resource: Resource, identifier: z.string().nullable(),
  make: z.string(), model: z.string().nullable(), serial_number: z.string(), register_digits: z.number().nullable(),
  register_decimals: z.number().nullable(), zones: z.number(), unit: z.string().nullable(), commissioned_on: D,
  verification_interval_years: z.number().nullable(), last_verified_on: D, next_verification_on: D, status: z.string(),
  failed_on: D, decommissioned_on: D, place: z.string().nullable(), installed_on: D, sealed_on: D, antimagnetic_seal: z.boolean().nullable(),
  has_temperature_sensors: z.boolean().nullable(), has_pressure_sensors: z.boolean().nullable(), remote_reading: z.boolean(),
  notes: z.string().nullable(), last_seen_at: Timestamp.nullable(), created_at: Timestamp, updated_at: Timestamp,
});

/** Checks placement vs owner, derives building_id, and refuses a duplicate serial with a 409 naming it. */
export async function prepareMeter(q: Queryable, b: MeterBody): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { ...b };
  if (PREMISE_PLACEMENTS.has(b.placement)) {
    if (!b.premise_id) throw badRequest(`a ${b.placement} meter needs premise_id`, [{ path: 'body.premise_id', message: 'required for this placement' }]);
    const p = await premiseOfMeter(q, b.premise_id);
    if (!p) throw badRequest(`premise ${b.premise_id} does not exist`, [{ path: 'body.premise_id', message: 'unknown premise' }]);
    const want = b.placement === 'apartment' ? 'residential' : 'non_residential';
    if (p.kind !== want) throw badRequest(`premise ${b.premise_id} is ${p.kind}; a ${b.placement} meter belongs in a ${want} premise`, [{ path: 'body.placement', message: `does not match the premise kind (${p.kind})` }]);
    if (b.building_id && b.building_id !== Number(p.building_id)) throw badRequest(`premise ${b.premise_id} is in building ${p.building_id}, not ${b.building_id}`, [{ path: 'body.building_id', message: 'does not match the premise' }]);
    out.building_id = p.building_id;
  } else {
    if (b.premise_id) throw badRequest(`a ${b.placement} meter belongs to a building, not a premise`, [{ path: 'body.premise_id', message: 'must be empty for this placement' }]);
    if (!b.building_id) throw badRequest(`a ${b.placement} meter needs building_id`, [{ path: 'body.building_id', message: 'required for this placement' }]);
  }
  // Next verification = last verification + interval, when the user gave those and not the date itself.
  if (!b.next_verification_on && b.last_verified_on && b.verification_interval_years) {
    const d = new Date(`${b.last_verified_on}T00:00:00Z`);
    d.setUTCFullYear(d.getUTCFullYear() + b.verification_interval_years);
    out.next_verification_on = d.toISOString().slice(0, 10);
  }
  const dup = await meterWithSerial(q, b.make, b.serial_number);
  if (dup !== null) throw conflict(`a meter of make "${b.make}" with serial number "${b.serial_number}" already exists (meter ${dup})`, [{ path: 'body.serial_number', message: `duplicate of meter ${dup}` }]);
  return out;
}

const Replacement = z.object({
  replaced_at: z.iso.datetime({ offset: true }),
  /** The new meter: an existing (not yet used) meter id, or a new meter to create. */
  new_meter_id: z.number().int().positive().optional(),
  new_meter: MeterBody.omit({ placement: true, building_id: true, premise_id: true, resource: true }).optional(),
  removal_reading: z.number().nonnegative(),
  installation_reading: z.number().nonnegative(),
  quantity: z.string().max(64).optional(),
  work_order: z.string().max(100).optional(),
  reason: z.string().max(500).optional(),
});
const ReplacementRow = z.object({
  id: Id, old_meter_id: Id, new_meter_id: Id, replaced_at: Timestamp, removal_reading: z.number().nullable(), installation_reading: z.number().nullable(),
  work_order: z.string().nullable(), reason: z.string().nullable(), created_by: z.string().nullable(), created_at: Timestamp,
  /** The register of the two readings; version counts corrections (PATCH /replacements/:id); undone_* set by undo. */
  quantity: z.string(), version: z.number(), undone_at: Timestamp.nullable(), undone_by: z.string().nullable(), undo_reason: z.string().nullable(),
});
const ReplacementVersionRow = z.object({
  version: z.number(), removal_reading: z.number().nullable(), installation_reading: z.number().nullable(), changed_by: z.string().nullable(), changed_at: Timestamp, reason: z.string().nullable(),
});

/** A failed meter needs the day it failed: billing counts "no reading" from then, and an undated failure would count nothing. */
async function requireFailureDate(_q: Queryable, _before: Row | null, after: Row): Promise<void> {
  if (after.status === 'failed' && after.failed_on == null) throw badRequest('failed_on: the day the meter failed is required with status "failed"');
}

/** The columns of a stored meter row the failure hook reads. */
const StoredMeter = z.object({ id: Id, building_id: Id, resource: Resource, status: z.string(), failed_on: z.union([z.date(), z.string()]).nullable() });

const dateKey = (d: Date | string | null) => (d == null ? null : d instanceof Date ? d.toISOString() : d);

const meterRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, jobs }) => {
  /**
   * A failure dated (or re-dated, or undone) after a month was closed changes what that month should
   * have charged: the closed months from that day on are recalculated into adjustments. Without a job
   * runner, or when Redis is down, staff recalculate with POST /billing/periods/:period/recalculate.
   */
  const afterCommit = async (beforeRow: Row, afterRow: Row) => {
    const before = StoredMeter.parse(beforeRow);
    const after = StoredMeter.parse(afterRow);
    if (!jobs || (before.status === after.status && dateKey(before.failed_on) === dateKey(after.failed_on))) return;
    const days = [before.failed_on, after.failed_on].filter((d): d is Date | string => d != null).map((d) => new Date(d));
    if (!days.length) return;
    const from = new Date(Math.min(...days.map((d) => d.getTime())));
    try {
      await enqueueBillingRecalc(jobs, [{ buildingId: Number(after.building_id), resource: after.resource, from, to: app.clock() }]);
    } catch (e) {
      app.log.warn({ err: (e as Error).message, meter: after.id }, 'meter failure date changed: closed months not queued for recalculation');
    }
  };
  registerCrud(app, db, {
    entity: 'meter', kind: 'meter', tag: 'meters', path: '/meters', ...CRUD_TABLES.meter, create: MeterBody, row: MeterRow,
    frozen: ['placement', 'building_id', 'premise_id', 'resource'], readPermission: 'readings:read',
    // A premise meter names its premise, a building meter its building; prepareMeter checks they agree.
    refs: [{ field: 'premise_id', kind: 'premise' }, { field: 'building_id', kind: 'building' }],
    prepare: async (q, b) => {
      const row = await prepareMeter(q, b);
      await requireFailureDate(q, null, { status: b.status ?? 'active', failed_on: row.failed_on });
      return row;
    },
    afterUpdate: requireFailureDate,
    afterCommit,
  });

  const caller = (req: FastifyRequest): Caller => {
    const p = principal(req);
    return { actor: actorOf(req), requestId: req.id, canTouch: (b, what = 'meter') => requireBuilding(p, b, what), now: app.clock() };
  };

  /** The meter (404 unless the caller's) and a named new meter (400 unless the caller's, of the same organisation) resolved, then the caller. */
  const resolved = async (q: Queryable, req: FastifyRequest, meterId: number, newMeterId?: number): Promise<Caller> => {
    const p = principal(req);
    const old = await requireOwned(q, p, 'meter', meterId);
    if (newMeterId !== undefined) await requireBodyRef(q, p, 'meter', newMeterId, 'new_meter_id', old.orgId);
    return caller(req);
  };

  app.get('/meters/:id/replacements', {
    schema: {
      tags: ['meters'], params: IdParams, response: { 200: z.array(ReplacementRow), ...errors },
      summary: 'Replacements of a meter, as old or new meter',
      description: 'Every replacement the meter `id` took part in: the work order, the removal reading of the old meter and the installation reading of the new one, when and by whom.',
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'registry:read');
    await requireOwned(db, p, 'meter', req.params.id);
    return listReplacements(db, req.params.id);
  });

  app.post('/meters/:id/replacement', {
    schema: {
      tags: ['meters'], summary: 'Replace a meter: removal reading of this one, installation reading of the new one (one operation per meter per local day of the building)',
      description: 'Replaces the meter `id` on a work order: its removal reading and the new meter\'s installation reading are stored as readings that cannot be deleted by hand. Both dates must be after the last reading; a removal reading below the last reading is refused (it would be taken as a rollover) rather than guessed. Consumption across the replacement is (removal − last of old) + (current − installation of new).',
      params: IdParams, body: Replacement, response: { 201: z.object({ replacement: ReplacementRow, new_meter: MeterRow }), ...errors },
    },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'registry:write');
    const b = req.body;
    if ((b.new_meter_id === undefined) === (b.new_meter === undefined)) throw badRequest('give exactly one of new_meter_id or new_meter', [{ path: 'body.new_meter_id', message: 'exactly one of new_meter_id / new_meter' }]);
    const out = await db.tx(async (q) => replaceMeter(q, await resolved(q, req, req.params.id, b.new_meter_id), req.params.id, {
      ...b,
      newMeterRow: (old) => prepareMeter(q, { ...b.new_meter!, placement: old.placement as MeterBody['placement'], building_id: Number(old.building_id), premise_id: old.premise_id ?? undefined, resource: old.resource }),
    }));
    // The new meter is read back with SELECT *: the whole row the response schema describes (and checks on the way out).
    return reply.code(201).send({ replacement: out.replacement, new_meter: out.new_meter as z.input<typeof MeterRow> });
  });

  app.delete('/meters/:id/replacement', {
    schema: {
      tags: ['meters'],
      summary: 'Undo the last replacement operation of this meter (as old or new meter)',
      description: 'Allowed only while it is the last replacement of both its meters and no billing line of its month or later exists for either meter (409 otherwise). '
        + 'The old meter returns to its state before, the new one too (a meter the replacement created is taken out of service), the removal and installation '
        + 'readings are withdrawn by NULL-valued versions (never deleted), and the record is marked undone (undone_at, undone_by); all audited.',
      params: IdParams, querystring: z.object({ reason: z.string().trim().max(500).optional().describe('Why it is undone (audit journal)') }),
      response: { 200: ReplacementRow, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'registry:write');
    return db.tx(async (q) => undoLastReplacement(q, await resolved(q, req, req.params.id), req.params.id, req.query.reason ?? null));
  });

  app.patch('/replacements/:id', {
    schema: {
      tags: ['meters'],
      summary: 'Correct a replacement\'s removal and/or installation reading: new versions of the record and of the readings, with who and why',
      description: 'The only way to change those two readings (POST /meters/:id/readings and corrections at that meter and instant are refused with 409). '
        + 'The new reading versions reach billing like any correction: a closed month is recalculated into adjustments by the billing.recalc job (or POST /billing/periods/:period/recalculate), an open one by computing it again.',
      params: IdParams,
      body: z.object({ removal_reading: z.number().finite().nonnegative().optional(), installation_reading: z.number().finite().nonnegative().optional(), reason: z.string().trim().min(3).max(500) }),
      response: { 200: z.object({ replacement: ReplacementRow, versions: z.array(ReplacementVersionRow) }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'readings:correct');
    return db.tx(async (q) => {
      await requireOwned(q, p, 'replacement', req.params.id);
      const replacement = await correctReplacement(q, caller(req), req.params.id, req.body);
      return { replacement, versions: await replacementVersions(q, req.params.id) };
    });
  });
};

export default meterRoutes;
