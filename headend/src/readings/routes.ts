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
      querystring: z.object({
        from: IsoTime, to: IsoTime,
        resolution: z.enum(['raw', 'hour', 'day', 'month']).default('raw'),
        quantity: z.string().max(128).optional(),
        /** raw only: every version instead of the current one per instant. */
        versions: z.enum(['current', 'all']).default('current'),
        limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
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
      body: z.object({
        time: IsoTime, value: z.number().finite().nonnegative(), quantity: QuantityName.optional(),
        zone: z.number().int().min(1).max(3).optional().describe('a multi-zone meter: the zone (1 = day, 2 = night, 3 = peak)'),
        reason: z.string().max(500).optional(), confirm: z.boolean().default(false).describe('confirm a rollover or a high-consumption warning (409)'),
      }),
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
