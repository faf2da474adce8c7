/**
 * Overview for the engineers' dashboard: one call per page instead of dozens (overview/store.ts reads
 * the tables). The route checks the caller, resolves the id through tenancy and puts the domain's
 * answer on the wire in snake_case.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireOwned, requirePermission, type Principal } from '../auth/index.js';
import { badRequest, notFound } from '../http/errors.js';
import { toWire } from '../http/casing.js';
import { principal } from '../http/plugins/auth.js';
import { errors, Id, IdParams, Timestamp, type RouteDeps } from '../http/context.js';
import { buildingOverview, buildingSummaries, meterPage, previousMonth, shiftMonth } from './store.js';

/** A calendar month, YYYY-MM. */
const Period = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'period must be a month as YYYY-MM');

const Num = z.number().nullable();
const ResourceSummary = z.object({
  imbalance_pct: Num, status: z.string(), building_consumption: Num, apartments_consumption: z.number(),
  coverage: z.number(), period_start: Timestamp, period_end: Timestamp,
});
const BuildingSummary = z.object({
  id: Id, address: z.string(), city: z.string().nullable(),
  timezone: z.string().describe('IANA time zone the building counts its days and months in (e.g. Europe/Moscow)'),
  /** Keyed by resource. */
  resources: z.record(z.string(), ResourceSummary),
  gateways: z.object({ total: z.number(), online: z.number(), last_seen_at: Timestamp.nullable() }),
  meters: z.object({ total: z.number(), remote: z.number(), silent: z.number() }),
  open_alerts: z.number(),
  flagged_readings: z.number(),
});
const BuildingList = z.object({ period: z.string(), buildings: z.array(BuildingSummary) });

/** One building in February 2025 as the overview shows it (OpenAPI example). */
const OVERVIEW_EXAMPLE = {
  period: '2025-02',
  buildings: [{
    id: 12, address: 'ул. Ленина, 5', city: 'Казань', timezone: 'Europe/Moscow',
    resources: {
      heat: { imbalance_pct: 6.4, status: 'ok', building_consumption: 182.5, apartments_consumption: 170.8, coverage: 1, period_start: '2025-02-01T00:00:00.000Z', period_end: '2025-03-01T00:00:00.000Z' },
      cold_water: { imbalance_pct: 21.3, status: 'alert', building_consumption: 412, apartments_consumption: 324.2, coverage: 0.95, period_start: '2025-02-01T00:00:00.000Z', period_end: '2025-03-01T00:00:00.000Z' },
    },
    gateways: { total: 1, online: 1, last_seen_at: '2025-03-10T08:59:12.000Z' },
    meters: { total: 52, remote: 52, silent: 1 },
    open_alerts: 2,
    flagged_readings: 3,
  }],
};

const Reason = z.object({ code: z.string(), status: z.string().optional(), message: z.string().optional() }).passthrough();
const ZoneReading = z.object({ zone: z.number(), time: Timestamp, value: z.number().nullable(), unit: z.string(), version: z.number(), source: z.string() });
const MeterOverview = z.object({
  id: Id, placement: z.string(), resource: z.string(), make: z.string(), model: z.string().nullable(), serial_number: z.string(),
  identifier: z.string().nullable(), status: z.string(), remote_reading: z.boolean(), last_seen_at: Timestamp.nullable(),
  premise_id: Id.nullable(), premise_number: z.string().nullable(), register_quantity: z.string(),
  last_reading: z.object({ time: Timestamp, value: z.number().nullable(), unit: z.string(), version: z.number(), source: z.string() }).nullable(),
  last_verdict: z.object({
    time: Timestamp, version: z.number(), status: z.string(), reasons: z.array(Reason), validated_at: Timestamp,
    review: z.object({ decision: z.string(), reason: z.string(), reviewed_by: z.string(), reviewed_at: Timestamp }).nullable(),
  }).nullable(),
  flagged: z.number(),
  /** Tariff zones (1 = one register). A zone meter's last reading of each zone register (energy_tN_kwh), zone order; [] otherwise. */
  zones: z.number(),
  zone_readings: z.array(ZoneReading),
});
const GatewayOverview = z.object({
  id: z.string(), name: z.string().nullable(), status: z.string(), online: z.boolean(), last_seen_at: Timestamp.nullable(),
  last_status: z.unknown(), outbox_depth: z.number().nullable(),
});
const AlertOverview = z.object({
  id: Id, kind: z.string(), subject: z.string(), severity: z.string(), message: z.string(), resource: z.string().nullable(),
  meter_id: Id.nullable(), gateway_id: z.string().nullable(), raised_at: Timestamp, acknowledged_at: Timestamp.nullable(), acknowledged_by: z.string().nullable(),
});
const MonthReport = z.object({
  resource: z.string(), period: z.string(), period_start: Timestamp, period_end: Timestamp,
  building_consumption: Num, apartments_consumption: z.number(), other_consumption: z.number(), imbalance: Num, imbalance_pct: Num,
  coverage: z.number(), apartments_total: z.number(), apartments_actual: z.number(), status: z.string(), computed_at: Timestamp,
});
const BuildingOverview = z.object({
  building: z.object({ id: Id, address: z.string(), city: z.string().nullable(), timezone: z.string(), org_id: Id }),
  /** Month imbalance reports in [from, to] (months, inclusive), every resource. */
  imbalance: z.array(MonthReport),
  meters: z.array(MeterOverview),
  gateways: z.array(GatewayOverview),
  alerts: z.array(AlertOverview),
});

const Review = z.object({ id: Id, decision: z.string(), reason: z.string(), reviewed_by: z.string(), reviewed_at: Timestamp });
const MeterReadingRow = z.object({
  time: Timestamp, quantity: z.string(), version: z.number(), value: z.number().nullable(), unit: z.string(), source: z.string(),
  quality: z.array(z.string()), received_at: Timestamp, created_by: z.string().nullable(), reason: z.string().nullable(),
  /** false for versions a later correction replaced. */
  current: z.boolean(),
  verdict: z.object({ status: z.string(), reasons: z.array(Reason), validated_at: Timestamp }).nullable(),
  /** Every decision on this reading row, newest first (the first one counts). */
  reviews: z.array(Review),
});
const MeterPage = z.object({
  meter: z.object({
    id: Id, placement: z.string(), resource: z.string(), make: z.string(), model: z.string().nullable(), serial_number: z.string(),
    status: z.string(), remote_reading: z.boolean(), last_seen_at: Timestamp.nullable(), building_id: Id, address: z.string(),
    timezone: z.string(), premise_id: Id.nullable(), premise_number: z.string().nullable(), register_quantity: z.string(),
  }),
  readings: z.array(MeterReadingRow),
});

function requireOverviewRead(p: Principal): void {
  requirePermission(p, 'registry:read');
  requirePermission(p, 'readings:read');
}

const overviewRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, deps) => {
  // Read-only and allowed to lag a little: a replica when DATABASE_READ_URL is set.
  const db = deps.readDb ?? deps.db;
  app.get('/overview/buildings', {
    schema: {
      tags: ['overview'], summary: 'Every visible building: month imbalance per resource, communication health, open alerts, unreviewed flagged readings',
      description: 'The engineers\' first screen: for each building the caller may see, the stored imbalance report of the month per resource (building meter vs Σ apartment meters), how many meters and gateways are silent, open alerts, and readings the validator flagged that nobody reviewed yet. `period` defaults to the previous calendar month by the head-end\'s clock.',
      querystring: z.object({ period: Period.optional().describe('Month as YYYY-MM; default the previous month') }),
      response: { 200: BuildingList.meta({ examples: [OVERVIEW_EXAMPLE] }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requireOverviewRead(p);
    const now = app.clock();
    const period = req.query.period ?? previousMonth(now);
    // The response schema checks the wire shape on the way out.
    return toWire({ period, buildings: await buildingSummaries(db, p, period, now) }) as z.input<typeof BuildingList>;
  });

  app.get('/buildings/:id/overview', {
    schema: {
      tags: ['overview'], summary: 'One building: month imbalance reports, meters with last reading and last verdict, gateways, open alerts',
      description: 'Everything an engineer looks at for the building `id`: the stored monthly imbalance reports in [from, to], each meter with its last reading and last verdict, the gateways with their state, and open alerts.',
      params: IdParams,
      querystring: z.object({ from: Period.optional().describe('First month, YYYY-MM'), to: Period.optional().describe('Last month, YYYY-MM') }),
      response: { 200: BuildingOverview, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requireOverviewRead(p);
    await requireOwned(db, p, 'building', req.params.id);
    const to = req.query.to ?? previousMonth(app.clock());
    const from = req.query.from ?? shiftMonth(to, -11);
    if (from > to) throw badRequest('from must not be after to', [{ path: 'querystring.from', message: 'after "to"' }]);
    const page = await buildingOverview(db, req.params.id, from, to);
    if (!page) throw notFound('building');
    // A gateway's last status is its own message (the MQTT contract's casing), shown as it arrived.
    return toWire(page, { keep: ['lastStatus'] }) as z.input<typeof BuildingOverview>;
  });

  app.get('/meters/:id/overview', {
    schema: {
      tags: ['overview'], summary: 'One meter: its register readings (every version, newest first) with verdict and reviews — who, when, why',
      description: 'The history of the meter `id`: every version of its register readings, newest first, each with its source, the validator\'s verdict and the reviews — who decided, when and why. Page back with `before`; `from` and `before` together give a date range.',
      params: IdParams,
      querystring: z.object({
        before: z.iso.datetime({ offset: true }).optional().describe('Only readings before this instant (the time of the last row of the previous page)'),
        from: z.iso.datetime({ offset: true }).optional().describe('Only readings at or after this instant (the start of a date range; with `before` as its end)'),
        limit: z.coerce.number().int().min(1).max(2000).default(200).describe('Most readings in the answer'),
      }),
      response: { 200: MeterPage, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requireOverviewRead(p);
    await requireOwned(db, p, 'meter', req.params.id);
    const { before, from } = req.query;
    if (before && from && new Date(from) >= new Date(before)) throw badRequest('from must be earlier than before', [{ path: 'querystring.from', message: 'not earlier than "before": give a range whose start comes first' }]);
    const page = await meterPage(db, req.params.id, before ?? null, req.query.limit, from ?? null);
    if (!page) throw notFound('meter');
    return toWire(page) as z.input<typeof MeterPage>;
  });
};

export default overviewRoutes;
