/**
 * Overview for the engineers' dashboard: one call per page instead of dozens. It reads the tables
 * (imbalance_reports, reading_validations, reading_reviews, alerts, gateways, meters) directly, so the
 * dashboard's first screen works whether or not the imbalance, validation and alert routes are loaded.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { registerQuantitySql } from '@amr/protocols';
import { buildingScopeSql, requireBuilding, requirePermission, requirePremise, type Principal } from '../auth/index.js';
import { badRequest, notFound } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { errors, Id, IdParams, Timestamp, type RouteDeps } from '../http/context.js';

/** A calendar month, YYYY-MM. */
const Period = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'period must be a month as YYYY-MM');

/** The calendar month before the current one (UTC): the last month that can have a complete report. */
export function previousMonth(now: Date = new Date()): string {
  return shiftMonth(`${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`, -1);
}

/** YYYY-MM plus n months (n may be negative). */
export function shiftMonth(period: string, n: number): string {
  const [y, m] = period.split('-').map(Number);
  const d = new Date(Date.UTC(y, m - 1 + n, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/**
 * A month report is matched by the midpoint of its period, not its start: the imbalance service may
 * start months at local midnight (Europe/Moscow 1st 00:00 = the 31st 21:00 UTC) or at UTC midnight,
 * and the midpoint lies inside the month either way.
 */
const MONTH_OF_REPORT = "to_char((r.period_start + (r.period_end - r.period_start) / 2) AT TIME ZONE 'UTC', 'YYYY-MM')";

/** The register a meter's consumption is read from (the one rule: protocols' registerQuantity). */
const REGISTER_QUANTITY = registerQuantitySql('m');

/** Remote meters not heard from for this long count as silent. */
const SILENT_AFTER = "interval '24 hours'";

/**
 * A verdict still needs an engineer when it flags the reading, nobody has reviewed that reading row,
 * and no later version (a correction) replaced it.
 */
const UNREVIEWED_FLAG = `v.status IN ('suspect', 'invalid')
  AND NOT EXISTS (SELECT 1 FROM reading_reviews rv WHERE rv.meter_id = v.meter_id AND rv.quantity = v.quantity AND rv.time = v.time AND rv.version = v.version)
  AND NOT EXISTS (SELECT 1 FROM readings nr WHERE nr.meter_id = v.meter_id AND nr.quantity = v.quantity AND nr.time = v.time AND nr.version > v.version)`;

const Num = z.number().nullable();
const ResourceSummary = z.object({
  imbalancePct: Num, status: z.string(), buildingConsumption: Num, apartmentsConsumption: z.number(),
  coverage: z.number(), periodStart: Timestamp, periodEnd: Timestamp,
});
const BuildingSummary = z.object({
  id: Id, address: z.string(), city: z.string().nullable(),
  resources: z.record(z.string(), ResourceSummary),
  gateways: z.object({ total: z.number(), online: z.number(), lastSeenAt: Timestamp.nullable() }),
  meters: z.object({ total: z.number(), remote: z.number(), silent: z.number() }),
  openAlerts: z.number(),
  flaggedReadings: z.number(),
});

const Reason = z.object({ code: z.string(), status: z.string().optional(), message: z.string().optional() }).passthrough();
const ZoneReading = z.object({ zone: z.number(), time: Timestamp, value: z.number().nullable(), unit: z.string(), version: z.number(), source: z.string() });
type ZoneReading = z.infer<typeof ZoneReading>;
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
  resource: z.string(), period: z.string(), periodStart: Timestamp, periodEnd: Timestamp,
  buildingConsumption: Num, apartmentsConsumption: z.number(), otherConsumption: z.number(), imbalance: Num, imbalancePct: Num,
  coverage: z.number(), apartmentsTotal: z.number(), apartmentsActual: z.number(), status: z.string(), computedAt: Timestamp,
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

/** The gateway reports its outbox depth in its birth/status payload; older firmware may not. */
export function outboxDepth(lastStatus: unknown): number | null {
  if (!lastStatus || typeof lastStatus !== 'object') return null;
  const s = lastStatus as Record<string, unknown>;
  const v = s.outboxDepth ?? s.outbox_depth ?? (s.outbox && typeof s.outbox === 'object' ? (s.outbox as Record<string, unknown>).depth : undefined);
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function requireOverviewRead(p: Principal): void {
  requirePermission(p, 'registry:read');
  requirePermission(p, 'readings:read');
}

interface ReportRow {
  building_id: string; resource: string; imbalance_pct: number | null; status: string; building_consumption: number | null;
  apartments_consumption: number; coverage: number; period_start: Date; period_end: Date;
}

const overviewRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, deps) => {
  // Read-only and allowed to lag a little: a replica when DATABASE_READ_URL is set.
  const db = deps.readDb ?? deps.db;
  app.get('/overview/buildings', {
    schema: {
      tags: ['overview'], summary: 'Every visible building: month imbalance per resource, communication health, open alerts, unreviewed flagged readings',
      querystring: z.object({ period: Period.optional() }),
      response: { 200: z.object({ period: z.string(), buildings: z.array(BuildingSummary) }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requireOverviewRead(p);
    const period = req.query.period ?? previousMonth(app.clock());
    const params: unknown[] = [];
    const scope = buildingScopeSql(p, 'b.id', params);
    const buildings = (await db.query(
      `SELECT b.id, b.address, b.city,
              (SELECT count(*) FROM gateways g WHERE g.building_id = b.id AND g.status = 'active')::int AS gw_total,
              (SELECT count(*) FROM gateways g WHERE g.building_id = b.id AND g.status = 'active' AND g.online)::int AS gw_online,
              (SELECT max(g.last_seen_at) FROM gateways g WHERE g.building_id = b.id) AS gw_last_seen,
              (SELECT count(*) FROM meters m WHERE m.building_id = b.id AND m.status <> 'removed')::int AS m_total,
              (SELECT count(*) FROM meters m WHERE m.building_id = b.id AND m.status <> 'removed' AND m.remote_reading)::int AS m_remote,
              (SELECT count(*) FROM meters m WHERE m.building_id = b.id AND m.status <> 'removed' AND m.remote_reading
                  AND (m.last_seen_at IS NULL OR m.last_seen_at < now() - ${SILENT_AFTER}))::int AS m_silent,
              (SELECT count(*) FROM alerts a WHERE a.building_id = b.id AND a.cleared_at IS NULL)::int AS open_alerts,
              (SELECT count(*) FROM reading_validations v JOIN meters vm ON vm.id = v.meter_id
                WHERE vm.building_id = b.id AND ${UNREVIEWED_FLAG})::int AS flagged
         FROM buildings b WHERE ${scope} ORDER BY b.address, b.id`, params)).rows;
    const ids = buildings.map((b) => Number(b.id));
    const reports = ids.length === 0 ? [] : (await db.query<ReportRow>(
      `SELECT r.building_id, r.resource, r.imbalance_pct, r.status, r.building_consumption, r.apartments_consumption, r.coverage, r.period_start, r.period_end
         FROM imbalance_reports r
        WHERE r.period_kind = 'month' AND r.building_id = ANY($1::bigint[]) AND ${MONTH_OF_REPORT} = $2
        ORDER BY r.building_id, r.resource, r.period_start`, [ids, period])).rows;
    const byBuilding = new Map<number, Record<string, z.input<typeof ResourceSummary>>>();
    for (const r of reports) {
      const m = byBuilding.get(Number(r.building_id)) ?? {};
      m[r.resource] = {
        imbalancePct: r.imbalance_pct, status: r.status, buildingConsumption: r.building_consumption,
        apartmentsConsumption: r.apartments_consumption, coverage: r.coverage, periodStart: r.period_start, periodEnd: r.period_end,
      };
      byBuilding.set(Number(r.building_id), m);
    }
    return {
      period,
      buildings: buildings.map((b) => ({
        id: b.id, address: b.address, city: b.city,
        resources: byBuilding.get(Number(b.id)) ?? {},
        gateways: { total: b.gw_total, online: b.gw_online, lastSeenAt: b.gw_last_seen },
        meters: { total: b.m_total, remote: b.m_remote, silent: b.m_silent },
        openAlerts: b.open_alerts,
        flaggedReadings: b.flagged,
      })),
    };
  });

  app.get('/buildings/:id/overview', {
    schema: {
      tags: ['overview'], summary: 'One building: month imbalance reports, meters with last reading and last verdict, gateways, open alerts',
      params: IdParams,
      querystring: z.object({ from: Period.optional(), to: Period.optional() }),
      response: { 200: BuildingOverview, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requireOverviewRead(p);
    requireBuilding(p, req.params.id);
    const building = (await db.query('SELECT id, address, city, timezone, org_id FROM buildings WHERE id = $1', [req.params.id])).rows[0];
    if (!building) throw notFound('building');
    const to = req.query.to ?? previousMonth(app.clock());
    const from = req.query.from ?? shiftMonth(to, -11);
    if (from > to) throw badRequest('from must not be after to', [{ path: 'querystring.from', message: 'after "to"' }]);
    const imbalance = (await db.query(
      `SELECT r.resource, ${MONTH_OF_REPORT} AS period, r.period_start AS "periodStart", r.period_end AS "periodEnd",
              r.building_consumption AS "buildingConsumption", r.apartments_consumption AS "apartmentsConsumption",
              r.other_consumption AS "otherConsumption", r.imbalance, r.imbalance_pct AS "imbalancePct", r.coverage,
              r.apartments_total AS "apartmentsTotal", r.apartments_actual AS "apartmentsActual", r.status, r.computed_at AS "computedAt"
         FROM imbalance_reports r
        WHERE r.building_id = $1 AND r.period_kind = 'month' AND ${MONTH_OF_REPORT} BETWEEN $2 AND $3
        ORDER BY r.resource, r.period_start`, [building.id, from, to])).rows;
    const meters = (await db.query(
      `SELECT m.id, m.placement, m.resource, m.make, m.model, m.serial_number, m.identifier, m.status, m.remote_reading, m.last_seen_at,
              m.premise_id, pr.number AS premise_number, ${REGISTER_QUANTITY} AS register_quantity, m.zones,
              lr.time AS lr_time, lr.value AS lr_value, lr.unit AS lr_unit, lr.version AS lr_version, lr.source AS lr_source,
              lv.time AS lv_time, lv.version AS lv_version, lv.status AS lv_status, lv.reasons AS lv_reasons, lv.validated_at AS lv_validated_at,
              rv.decision AS rv_decision, rv.reason AS rv_reason, rv.reviewed_by AS rv_reviewed_by, rv.reviewed_at AS rv_reviewed_at,
              (SELECT count(*) FROM reading_validations v WHERE v.meter_id = m.id AND ${UNREVIEWED_FLAG})::int AS flagged
         FROM meters m
         LEFT JOIN premises pr ON pr.id = m.premise_id
         LEFT JOIN LATERAL (SELECT time, value, unit, version, source FROM readings r
                             WHERE r.meter_id = m.id AND r.quantity = ${REGISTER_QUANTITY}
                             ORDER BY r.time DESC, r.version DESC LIMIT 1) lr ON TRUE
         LEFT JOIN LATERAL (SELECT time, version, status, reasons, validated_at, quantity FROM reading_validations v
                             WHERE v.meter_id = m.id AND v.quantity = ${REGISTER_QUANTITY}
                             ORDER BY v.time DESC, v.version DESC LIMIT 1) lv ON TRUE
         LEFT JOIN LATERAL (SELECT decision, reason, reviewed_by, reviewed_at FROM reading_reviews x
                             WHERE x.meter_id = m.id AND x.quantity = lv.quantity AND x.time = lv.time AND x.version = lv.version
                             ORDER BY x.reviewed_at DESC, x.id DESC LIMIT 1) rv ON TRUE
        WHERE m.building_id = $1
        -- building meters first, then apartments by number (natural order for "2" < "10")
        ORDER BY CASE m.placement WHEN 'building' THEN 0 WHEN 'common_area' THEN 1 WHEN 'non_residential' THEN 2 ELSE 3 END,
                 m.resource, length(coalesce(pr.number, '')), pr.number, m.serial_number`, [building.id])).rows;
    // Zone meters' registers in one query, so a page (the staff entry on a phone) needs no call per zone.
    const zoneRows = (await db.query<ZoneReading & { meter_id: number }>(
      `SELECT m.id AS meter_id, z.zone, zr.time, zr.value, zr.unit, zr.version, zr.source
         FROM meters m CROSS JOIN LATERAL generate_series(1, LEAST(m.zones, 3)) AS z(zone)
         JOIN LATERAL (SELECT time, value, unit, version, source FROM readings r
                        WHERE r.meter_id = m.id AND r.quantity = 'energy_t' || z.zone || '_kwh'
                        ORDER BY r.time DESC, r.version DESC LIMIT 1) zr ON TRUE
        WHERE m.building_id = $1 AND m.zones >= 2
        ORDER BY m.id, z.zone`, [building.id])).rows;
    const zoneReadings = new Map<number, ZoneReading[]>();
    for (const { meter_id, ...zr } of zoneRows) zoneReadings.set(Number(meter_id), [...(zoneReadings.get(Number(meter_id)) ?? []), zr]);
    const gateways = (await db.query(
      'SELECT id, name, status, online, last_seen_at, last_status FROM gateways WHERE building_id = $1 ORDER BY id', [building.id])).rows;
    const alerts = (await db.query(
      `SELECT id, kind, subject, severity, message, resource, meter_id, gateway_id, raised_at, acknowledged_at, acknowledged_by
         FROM alerts WHERE building_id = $1 AND cleared_at IS NULL ORDER BY raised_at DESC, id DESC`, [building.id])).rows;
    return {
      building,
      imbalance,
      meters: meters.map((m) => ({
        id: m.id, placement: m.placement, resource: m.resource, make: m.make, model: m.model, serial_number: m.serial_number,
        identifier: m.identifier, status: m.status, remote_reading: m.remote_reading, last_seen_at: m.last_seen_at,
        premise_id: m.premise_id, premise_number: m.premise_number, register_quantity: m.register_quantity,
        last_reading: m.lr_time ? { time: m.lr_time, value: m.lr_value, unit: m.lr_unit, version: m.lr_version, source: m.lr_source } : null,
        last_verdict: m.lv_time ? {
          time: m.lv_time, version: m.lv_version, status: m.lv_status, reasons: Array.isArray(m.lv_reasons) ? m.lv_reasons : [], validated_at: m.lv_validated_at,
          review: m.rv_decision ? { decision: m.rv_decision, reason: m.rv_reason, reviewed_by: m.rv_reviewed_by, reviewed_at: m.rv_reviewed_at } : null,
        } : null,
        flagged: m.flagged,
        zones: Number(m.zones ?? 1),
        zone_readings: zoneReadings.get(Number(m.id)) ?? [],
      })),
      gateways: gateways.map((g) => ({ ...g, outbox_depth: outboxDepth(g.last_status) })),
      alerts,
    };
  });

  app.get('/meters/:id/overview', {
    schema: {
      tags: ['overview'], summary: 'One meter: its register readings (every version, newest first) with verdict and reviews — who, when, why',
      params: IdParams,
      querystring: z.object({
        /** Only readings before this instant (paging back). */
        before: z.iso.datetime({ offset: true }).optional(),
        limit: z.coerce.number().int().min(1).max(2000).default(200),
      }),
      response: { 200: MeterPage, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requireOverviewRead(p);
    const meter = (await db.query(
      `SELECT m.id, m.placement, m.resource, m.make, m.model, m.serial_number, m.status, m.remote_reading, m.last_seen_at,
              m.building_id, b.address, b.timezone, m.premise_id, pr.number AS premise_number, ${REGISTER_QUANTITY} AS register_quantity
         FROM meters m JOIN buildings b ON b.id = m.building_id LEFT JOIN premises pr ON pr.id = m.premise_id
        WHERE m.id = $1`, [req.params.id])).rows[0];
    if (!meter) throw notFound('meter');
    requirePremise(p, meter.premise_id == null ? null : Number(meter.premise_id), Number(meter.building_id), 'meter');
    // The latest `limit` instants of the register, with all their versions: everything from the oldest of
    // those instants on. Two plain queries and LATERAL lookups on purpose: joins and window functions over
    // the readings hypertable's chunks made TimescaleDB plan a merge join that fails ("mergejoin input
    // data is out of order").
    const params = [meter.id, meter.register_quantity, req.query.before ?? null];
    const oldest = (await db.query(
      `SELECT min(time) AS t FROM (SELECT DISTINCT time FROM readings WHERE meter_id = $1 AND quantity = $2 AND ($3::timestamptz IS NULL OR time < $3)
          ORDER BY time DESC LIMIT $4) i`, [...params, req.query.limit])).rows[0]?.t ?? null;
    const readings = oldest === null ? [] : (await db.query(
      `SELECT r.time, r.quantity, r.version, r.value, r.unit, r.source, r.quality, r.received_at, r.created_by, r.reason,
              v.status AS v_status, v.reasons AS v_reasons, v.validated_at AS v_validated_at,
              COALESCE((SELECT json_agg(json_build_object('id', x.id, 'decision', x.decision, 'reason', x.reason, 'reviewed_by', x.reviewed_by, 'reviewed_at', x.reviewed_at)
                                        ORDER BY x.reviewed_at DESC, x.id DESC)
                          FROM reading_reviews x WHERE x.meter_id = r.meter_id AND x.quantity = r.quantity AND x.time = r.time AND x.version = r.version), '[]') AS reviews
         FROM readings r
         LEFT JOIN LATERAL (SELECT status, reasons, validated_at FROM reading_validations v
                             WHERE v.meter_id = r.meter_id AND v.quantity = r.quantity AND v.time = r.time AND v.version = r.version) v ON TRUE
        WHERE r.meter_id = $1 AND r.quantity = $2 AND ($3::timestamptz IS NULL OR r.time < $3) AND r.time >= $4
        ORDER BY r.time DESC, r.version DESC`, [...params, oldest])).rows;
    // Rows come newest version first per instant: the first row of each instant is the current one.
    const current = (r: { time: Date }, i: number) => i === 0 || readings[i - 1].time.getTime() !== r.time.getTime();
    return {
      meter,
      readings: readings.map((r, i) => ({
        time: r.time, quantity: r.quantity, version: r.version, value: r.value, unit: r.unit, source: r.source, quality: r.quality,
        received_at: r.received_at, created_by: r.created_by, reason: r.reason, current: current(r, i),
        verdict: r.v_status ? { status: r.v_status, reasons: Array.isArray(r.v_reasons) ? r.v_reasons : [], validated_at: r.v_validated_at } : null,
        reviews: r.reviews,
      })),
    };
  });
};

export default overviewRoutes;

