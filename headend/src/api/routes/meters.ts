/**
 * Meters (ИПУ in a premise, ОДПУ on a building) and meter replacements.
 * Serial numbers are unique per make: a duplicate is a 409 that names the existing meter.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Resource } from '@amr/protocols';
import { requireBuilding, requirePermission } from '../../auth/index.js';
import { audit } from '../../audit/index.js';
import type { Queryable } from '../queryable.js';
import { badRequest, conflict, notFound } from '../http-error.js';
import { principal } from '../plugins/auth.js';
import { insertReadingVersion, lastReading, primaryQuantity } from '../services/readings.js';
import { actorOf, DateInput, DateOnly, errors, Id, IdParams, Timestamp, type RouteDeps } from './context.js';
import { registerCrud } from './crud.js';
import { enqueueBillingRecalc } from '../../billing-store/jobs.js';

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
    const p = (await q.query<{ building_id: number; kind: string }>('SELECT building_id, kind FROM premises WHERE id = $1', [b.premise_id])).rows[0];
    if (!p) throw badRequest(`premise ${b.premise_id} does not exist`, [{ path: 'body.premise_id', message: 'unknown premise' }]);
    const want = b.placement === 'apartment' ? 'residential' : 'non_residential';
    if (p.kind !== want) throw badRequest(`premise ${b.premise_id} is ${p.kind}; a ${b.placement} meter belongs in a ${want} premise`, [{ path: 'body.placement', message: `does not match the premise kind (${p.kind})` }]);
    if (b.building_id && b.building_id !== Number(p.building_id)) throw badRequest(`premise ${b.premise_id} is in building ${p.building_id}, not ${b.building_id}`, [{ path: 'body.building_id', message: 'does not match the premise' }]);
    out.building_id = Number(p.building_id);
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
  const dup = (await q.query<{ id: number }>('SELECT id FROM meters WHERE make = $1 AND serial_number = $2', [b.make, b.serial_number])).rows[0];
  if (dup) throw conflict(`a meter of make "${b.make}" with serial number "${b.serial_number}" already exists (meter ${dup.id})`, [{ path: 'body.serial_number', message: `duplicate of meter ${dup.id}` }]);
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
});

/** A failed meter needs the day it failed: billing counts "no reading" from then, and an undated failure would count nothing. */
async function requireFailureDate(_q: Queryable, _before: unknown, after: { status: string; failed_on: unknown }): Promise<void> {
  if (after.status === 'failed' && after.failed_on == null) throw badRequest('failed_on: the day the meter failed is required with status "failed"');
}

const dateKey = (d: unknown) => (d == null ? null : d instanceof Date ? d.toISOString() : String(d));

const meterRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, jobs }) => {
  /**
   * A failure dated (or re-dated, or undone) after a month was closed changes what that month should
   * have charged: the closed months from that day on are recalculated into adjustments. Without a job
   * runner, or when Redis is down, staff recalculate with POST /billing/periods/:period/recalculate.
   */
  const afterCommit = async (before: { status: string; failed_on: unknown }, after: { id: unknown; building_id: unknown; resource: Resource; status: string; failed_on: Date | string | null }) => {
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
    entity: 'meter', tag: 'meters', path: '/meters', table: 'meters', create: MeterBody, row: MeterRow,
    frozen: ['placement', 'building_id', 'premise_id', 'resource'],
    buildingSql: 't.building_id', premiseSql: 't.premise_id', readPermission: 'readings:read',
    filters: { building_id: 't.building_id', premise_id: 't.premise_id', resource: 't.resource', placement: 't.placement', serial_number: 't.serial_number', status: 't.status' },
    buildingOfNew: async (_q, b) => (b.building_id ?? null),
    prepare: async (q, b) => {
      const row = await prepareMeter(q, b);
      await requireFailureDate(q, null, { status: String(row.status ?? 'active'), failed_on: row.failed_on });
      return row;
    },
    afterUpdate: requireFailureDate,
    afterCommit,
  });

  app.get('/meters/:id/replacements', { schema: { tags: ['meters'], params: IdParams, response: { 200: z.array(ReplacementRow), ...errors } } }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'registry:read');
    const m = (await db.query('SELECT building_id FROM meters WHERE id = $1', [req.params.id])).rows[0];
    requireBuilding(p, m?.building_id, 'meter');
    return (await db.query('SELECT * FROM meter_replacements WHERE old_meter_id = $1 OR new_meter_id = $1 ORDER BY replaced_at', [req.params.id])).rows;
  });

  app.post('/meters/:id/replacement', {
    schema: {
      tags: ['meters'], summary: 'Replace a meter: removal reading of this one, installation reading of the new one',
      params: IdParams, body: Replacement, response: { 201: z.object({ replacement: ReplacementRow, new_meter: MeterRow }), ...errors },
    },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'registry:write');
    const b = req.body;
    if ((b.new_meter_id === undefined) === (b.new_meter === undefined)) throw badRequest('give exactly one of new_meter_id or new_meter', [{ path: 'body.new_meter_id', message: 'exactly one of new_meter_id / new_meter' }]);
    const at = new Date(b.replaced_at);
    const out = await db.tx(async (q) => {
      const old = (await q.query('SELECT * FROM meters WHERE id = $1 FOR UPDATE', [req.params.id])).rows[0];
      if (!old) throw notFound('meter');
      requireBuilding(p, old.building_id, 'meter');
      if (old.status === 'removed') throw conflict(`meter ${old.id} was already removed`);
      const quantity = b.quantity ?? primaryQuantity(old.resource);
      // At most one replacement operation per meter per day.
      const sameDay = (await q.query(
        `SELECT id FROM meter_replacements WHERE (old_meter_id = $1 OR new_meter_id = $1) AND replaced_at::date = $2::timestamptz::date`, [old.id, at])).rows[0];
      if (sameDay) throw conflict(`meter ${old.id} already has a replacement on ${b.replaced_at.slice(0, 10)} (replacement ${sameDay.id})`);
      const last = await lastReading(q, old.id, quantity);
      if (last && new Date(last.time) >= at) throw badRequest(`replaced_at must be after the meter's last reading (${new Date(last.time).toISOString()})`, [{ path: 'body.replaced_at', message: 'not after the last reading' }]);
      // A removal reading below the last one would be read as a rollover past zero: refuse rather than guess.
      if (last && last.value !== null && b.removal_reading < last.value) throw badRequest(`removal reading ${b.removal_reading} is lower than the last reading ${last.value}; check the value`, [{ path: 'body.removal_reading', message: 'lower than the last reading' }]);

      let newMeter;
      if (b.new_meter_id !== undefined) {
        newMeter = (await q.query('SELECT * FROM meters WHERE id = $1 FOR UPDATE', [b.new_meter_id])).rows[0];
        if (!newMeter) throw badRequest(`new meter ${b.new_meter_id} does not exist`, [{ path: 'body.new_meter_id', message: 'unknown meter' }]);
        if (Number(newMeter.building_id) !== Number(old.building_id) || newMeter.resource !== old.resource || newMeter.placement !== old.placement || newMeter.premise_id !== old.premise_id) {
          throw badRequest(`new meter ${newMeter.id} must have the same place, resource and owner as meter ${old.id}`, [{ path: 'body.new_meter_id', message: 'different place, resource or owner' }]);
        }
        const newLast = await lastReading(q, newMeter.id, quantity);
        if (newLast && new Date(newLast.time) >= at) throw badRequest(`replaced_at must be after the new meter's last reading (${new Date(newLast.time).toISOString()})`, [{ path: 'body.replaced_at', message: 'not after the new meter\'s last reading' }]);
      } else {
        const body = await prepareMeter(q, { ...b.new_meter!, placement: old.placement, building_id: Number(old.building_id), premise_id: old.premise_id ?? undefined, resource: old.resource });
        const cols = Object.keys(body).filter((k) => body[k] !== undefined);
        newMeter = (await q.query(`INSERT INTO meters (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`, cols.map((c) => body[c]))).rows[0];
        await audit(q, actorOf(req), { action: 'create', entity: 'meter', entityId: newMeter.id, buildingId: newMeter.building_id, after: newMeter, requestId: req.id });
      }
      const day = b.replaced_at.slice(0, 10);
      const oldAfter = (await q.query(`UPDATE meters SET status = 'removed', decommissioned_on = $2::date, updated_at = now() WHERE id = $1 RETURNING *`, [old.id, day])).rows[0];
      await audit(q, actorOf(req), { action: 'remove', entity: 'meter', entityId: old.id, buildingId: old.building_id, before: old, after: oldAfter, requestId: req.id });
      const newBefore = newMeter;
      newMeter = (await q.query(`UPDATE meters SET status = 'active', installed_on = COALESCE(installed_on, $2::date), commissioned_on = COALESCE(commissioned_on, $2::date), updated_at = now() WHERE id = $1 RETURNING *`, [newMeter.id, day])).rows[0];
      await audit(q, actorOf(req), { action: 'install', entity: 'meter', entityId: newMeter.id, buildingId: newMeter.building_id, before: newBefore, after: newMeter, requestId: req.id });
      const who = actorOf(req).name;
      const reason = `replacement${b.work_order ? ` (work order ${b.work_order})` : ''}`;
      await insertReadingVersion(q, { meterId: old.id, time: at, quantity, value: b.removal_reading, source: 'staff', createdBy: who, reason: `removal reading, ${reason}` });
      await insertReadingVersion(q, { meterId: newMeter.id, time: at, quantity, value: b.installation_reading, source: 'staff', createdBy: who, reason: `installation reading, ${reason}` });
      const rep = (await q.query(
        `INSERT INTO meter_replacements (old_meter_id, new_meter_id, replaced_at, removal_reading, installation_reading, work_order, reason, created_by)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING *`,
        [old.id, newMeter.id, at, b.removal_reading, b.installation_reading, b.work_order ?? null, b.reason ?? null, who])).rows[0];
      await audit(q, actorOf(req), { action: 'create', entity: 'meter_replacement', entityId: rep.id, buildingId: old.building_id, after: rep, requestId: req.id });
      return { replacement: rep, new_meter: newMeter };
    });
    return reply.code(201).send(out);
  });
};

export default meterRoutes;
