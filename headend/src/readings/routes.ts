/**
 * Readings of one meter over a time range at raw / hour / day / month resolution; minimal staff
 * entry; corrections as new versions. Hour and day come from the continuous aggregates; month is
 * time_bucket over the daily aggregate (month buckets follow the calendar in UTC).
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { QuantityName } from '@amr/protocols';
import { requireOwned, requirePermission, type Principal } from '../auth/index.js';
import type { Queryable } from '../db/types.js';
import { badRequest, notFound } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { rightsFor, writeReadings } from './write.js';
import { bucketedReadings, currentVersion, rawReadings } from './read-store.js';
import { actorOf, errors, Id, IdParams, Timestamp, type RouteDeps } from '../http/context.js';

const IsoTime = z.iso.datetime({ offset: true });
const RawRow = z.object({
  time: Timestamp, quantity: z.string(), value: z.number().nullable(), unit: z.string(), source: z.string(), quality: z.array(z.string()),
  version: z.number(), received_at: Timestamp, created_by: z.string().nullable(), reason: z.string().nullable(),
});
const BucketRow = z.object({
  bucket: Timestamp, quantity: z.string(), first_value: z.number().nullable(), last_value: z.number().nullable(), min_value: z.number().nullable(),
  max_value: z.number().nullable(), avg_value: z.number().nullable(), samples: z.coerce.number(), max_version: z.number().nullable(), last_time: Timestamp.nullable(),
});

/** A meter the caller sees (tenancy: 404 alike for missing and not theirs). */
async function visibleMeter(q: Queryable, p: Principal, id: number): Promise<{ id: number }> {
  await requireOwned(q, p, 'meter', id);
  return { id };
}

const readingRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db }) => {
  app.get('/meters/:id/readings', {
    schema: {
      tags: ['readings'], summary: 'Readings of a meter in [from, to)', params: IdParams,
      description: 'The readings of the meter `id` from `from` (inclusive) to `to` (exclusive), from every channel (telemetry, staff, residents, import). `resolution=raw` gives each stored reading (the current version per instant, or every version with `versions=all`); hour, day and month give the last value and the consumption per bucket from the aggregates.',
      querystring: z.object({
        from: IsoTime.describe('Start, ISO 8601 with offset (inclusive)'), to: IsoTime.describe('End, ISO 8601 with offset (exclusive)'),
        resolution: z.enum(['raw', 'hour', 'day', 'month']).default('raw').describe('raw: each reading; hour/day/month: buckets'),
        quantity: z.string().max(128).optional().describe('Only this quantity (e.g. energy_kwh, volume_m3); default all'),
        versions: z.enum(['current', 'all']).default('current').describe('raw only: all = every version of a corrected reading, not only the current one'),
        limit: z.coerce.number().int().min(1).max(100_000).default(10_000).describe('Most rows in the answer'),
      }),
      response: { 200: z.object({ meter_id: Id, resolution: z.string(), raw: z.array(RawRow).optional(), buckets: z.array(BucketRow).optional() }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'readings:read');
    const m = await visibleMeter(db, p, req.params.id);
    const { from, to, resolution, quantity, versions, limit } = req.query;
    if (new Date(from) >= new Date(to)) throw badRequest('from must be before to', [{ path: 'querystring.from', message: 'not before "to"' }]);
    if (resolution === 'raw') {
      return { meter_id: m.id, resolution, raw: await rawReadings(db, { meterId: m.id, from, to, quantity: quantity ?? null, versions, limit }) };
    }
    return { meter_id: m.id, resolution, buckets: await bucketedReadings(db, { meterId: m.id, from, to, quantity: quantity ?? null, resolution, limit }) };
  });

  app.post('/meters/:id/readings', {
    schema: {
      tags: ['readings'], summary: 'Enter a reading by staff (source "staff"); a second value for the same instant becomes a new version', params: IdParams,
      description: 'Submits one register reading of the meter `id` as staff. The same rules as every other channel apply: the collection window of the building (unless the user may enter outside it), the value not below the previous one (a lower value is refused as a possible rollover unless `confirm` is true), and consumption far above the 3-month average answered with 409 until confirmed. A value for an instant that already has one is stored as a new version; the old one stays in the history.',
      body: z.object({
        time: IsoTime, value: z.number().finite().nonnegative(), quantity: QuantityName.optional(),
        zone: z.number().int().min(1).max(3).optional().describe('a multi-zone meter: the zone (1 = day, 2 = night, 3 = peak)'),
        reason: z.string().max(500).optional(), confirm: z.boolean().default(false).describe('confirm a rollover or a high-consumption warning (409)'),
      }).meta({ examples: [{ time: '2025-03-20T09:30:00Z', value: 1234.5, quantity: 'volume_m3', reason: 'read by the inspector on site' }] }),
      response: { 201: RawRow, ...errors },
    },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'readings:enter');
    const row = await db.tx(async (q) => {
      const m = await visibleMeter(q, p, req.params.id);
      // The same rules as every other entry (src/readings/judge.ts): rights and the window, neighbours, time.
      const [w] = await writeReadings(q, [{ meterId: m.id, value: req.body.value, time: new Date(req.body.time), quantity: req.body.quantity, zone: req.body.zone, path: 'body' }], {
        source: 'staff', actor: actorOf(req), rights: rightsFor(p, 'staff'), scope: { principal: p }, now: app.clock(), confirm: req.body.confirm, reason: req.body.reason ?? null, requestId: req.id,
      });
      return currentVersion(q, m.id, w.quantity, w.time);
    });
    return reply.code(201).send(row);
  });

  app.post('/meters/:id/readings/corrections', {
    schema: {
      tags: ['readings'], summary: 'Correct a reading: a new version with who, when and why; the old one stays', params: IdParams,
      description: 'Replaces the value of the reading of `quantity` at `time` by a new version, audited with the reason; the previous version stays in the history (versions=all). The new value passes the same checks as an entry (rollover, high consumption: 409 until `confirm`). A correction inside a closed billing month books adjustments in the next open one by itself.',
      body: z.object({ time: IsoTime, quantity: QuantityName, value: z.number().finite(), reason: z.string().trim().min(3).max(500), confirm: z.boolean().default(false) }),
      response: { 201: z.object({ previous: RawRow, current: RawRow }), ...errors },
    },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'readings:correct');
    const b = req.body;
    const out = await db.tx(async (q) => {
      const m = await visibleMeter(q, p, req.params.id);
      const prev = await currentVersion(q, m.id, b.quantity, new Date(b.time));
      if (!prev) throw notFound(`reading of ${b.quantity} at ${b.time}`);
      const [w] = await writeReadings(q, [{ meterId: m.id, value: b.value, time: new Date(b.time), quantity: b.quantity, correction: true, reason: b.reason, path: 'body' }], {
        source: 'staff', actor: actorOf(req), rights: rightsFor(p, 'staff'), scope: { principal: p }, now: app.clock(), confirm: b.confirm, requestId: req.id,
      });
      return { previous: prev, current: (await currentVersion(q, m.id, w.quantity, w.time))! };
    });
    return reply.code(201).send(out);
  });
};

export default readingRoutes;
