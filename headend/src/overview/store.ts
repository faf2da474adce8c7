/**
 * The engineers' overview in the database: one call per dashboard page instead of dozens. It reads the
 * tables (imbalance_reports, reading_validations, reading_reviews, alerts, gateways, meters) directly, so
 * the first screen works whether or not the imbalance, validation and alert routes are loaded. Every
 * function takes the read handle (a replica may lag a little) and returns the domain's camelCase; the
 * route puts it on the wire.
 */
import { registerQuantitySql } from '@amr/protocols';
import { buildingScopeSql, type Principal } from '../auth/index.js';
import type { Queryable } from '../db/types.js';

/** The calendar month before the given instant's (UTC): the last month that can have a complete report. */
export function previousMonth(now: Date = new Date()): string {
  return shiftMonth(`${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`, -1);
}

/** YYYY-MM plus n months (n may be negative). */
export function shiftMonth(period: string, n: number): string {
  const [y, m] = period.split('-').map(Number);
  const d = new Date(Date.UTC(y, m - 1 + n, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** The gateway reports its outbox depth in its birth/status payload; older firmware may not. */
export function outboxDepth(lastStatus: unknown): number | null {
  if (!lastStatus || typeof lastStatus !== 'object') return null;
  const s = lastStatus as Record<string, unknown>;
  const v = s.outboxDepth ?? s.outbox_depth ?? (s.outbox && typeof s.outbox === 'object' ? (s.outbox as Record<string, unknown>).depth : undefined);
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
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

const num = (v: unknown): number | null => (v == null ? null : Number(v));

export interface ResourceSummary {
  imbalancePct: number | null; status: string; buildingConsumption: number | null; apartmentsConsumption: number;
  coverage: number; periodStart: Date; periodEnd: Date;
}
export interface BuildingSummary {
  id: number; address: string; city: string | null;
  /** The building's IANA time zone: its dates are shown in it. */
  timezone: string;
  /** Keyed by resource. */
  resources: Record<string, ResourceSummary>;
  gateways: { total: number; online: number; lastSeenAt: Date | null };
  meters: { total: number; remote: number; silent: number };
  openAlerts: number;
  flaggedReadings: number;
}

/** Every building the caller sees with its month reports of `period` (YYYY-MM) and its health; `now` dates "silent". */
export async function buildingSummaries(db: Queryable, p: Principal, period: string, now: Date): Promise<BuildingSummary[]> {
  const params: unknown[] = [now];
  const scope = buildingScopeSql(p, 'b.id', params);
  const buildings = (await db.query<{
    id: string; address: string; city: string | null; timezone: string; gw_total: number; gw_online: number; gw_last_seen: Date | null;
    m_total: number; m_remote: number; m_silent: number; open_alerts: number; flagged: number;
  }>(
    `SELECT b.id, b.address, b.city, b.timezone,
            (SELECT count(*) FROM gateways g WHERE g.building_id = b.id AND g.status = 'active')::int AS gw_total,
            (SELECT count(*) FROM gateways g WHERE g.building_id = b.id AND g.status = 'active' AND g.online)::int AS gw_online,
            (SELECT max(g.last_seen_at) FROM gateways g WHERE g.building_id = b.id) AS gw_last_seen,
            (SELECT count(*) FROM meters m WHERE m.building_id = b.id AND m.status <> 'removed')::int AS m_total,
            (SELECT count(*) FROM meters m WHERE m.building_id = b.id AND m.status <> 'removed' AND m.remote_reading)::int AS m_remote,
            (SELECT count(*) FROM meters m WHERE m.building_id = b.id AND m.status <> 'removed' AND m.remote_reading
                AND (m.last_seen_at IS NULL OR m.last_seen_at < $1::timestamptz - ${SILENT_AFTER}))::int AS m_silent,
            (SELECT count(*) FROM alerts a WHERE a.building_id = b.id AND a.cleared_at IS NULL)::int AS open_alerts,
            (SELECT count(*) FROM reading_validations v JOIN meters vm ON vm.id = v.meter_id
              WHERE vm.building_id = b.id AND ${UNREVIEWED_FLAG})::int AS flagged
       FROM buildings b WHERE ${scope} ORDER BY b.address, b.id`, params)).rows;
  const ids = buildings.map((b) => Number(b.id));
  const reports = ids.length === 0 ? [] : (await db.query<{
    building_id: string; resource: string; imbalance_pct: number | null; status: string; building_consumption: number | null;
    apartments_consumption: number; coverage: number; period_start: Date; period_end: Date;
  }>(
    `SELECT r.building_id, r.resource, r.imbalance_pct, r.status, r.building_consumption, r.apartments_consumption, r.coverage, r.period_start, r.period_end
       FROM imbalance_reports r
      WHERE r.period_kind = 'month' AND r.building_id = ANY($1::bigint[]) AND ${MONTH_OF_REPORT} = $2
      ORDER BY r.building_id, r.resource, r.period_start`, [ids, period])).rows;
  const byBuilding = new Map<number, Record<string, ResourceSummary>>();
  for (const r of reports) {
    const m = byBuilding.get(Number(r.building_id)) ?? {};
    m[r.resource] = {
      imbalancePct: r.imbalance_pct, status: r.status, buildingConsumption: r.building_consumption,
      apartmentsConsumption: r.apartments_consumption, coverage: r.coverage, periodStart: r.period_start, periodEnd: r.period_end,
    };
    byBuilding.set(Number(r.building_id), m);
  }
  return buildings.map((b) => ({
    id: Number(b.id), address: b.address, city: b.city, timezone: b.timezone,
    resources: byBuilding.get(Number(b.id)) ?? {},
    gateways: { total: b.gw_total, online: b.gw_online, lastSeenAt: b.gw_last_seen },
    meters: { total: b.m_total, remote: b.m_remote, silent: b.m_silent },
    openAlerts: b.open_alerts,
    flaggedReadings: b.flagged,
  }));
}

export interface VerdictReason { code: string; status?: string; message?: string; [k: string]: unknown }
export interface MonthReport {
  resource: string; period: string; periodStart: Date; periodEnd: Date;
  buildingConsumption: number | null; apartmentsConsumption: number; otherConsumption: number; imbalance: number | null; imbalancePct: number | null;
  coverage: number; apartmentsTotal: number; apartmentsActual: number; status: string; computedAt: Date;
}
export interface RegisterReading { time: Date; value: number | null; unit: string; version: number; source: string }
export interface ZoneReading extends RegisterReading { zone: number }
export interface MeterOverview {
  id: number; placement: string; resource: string; make: string; model: string | null; serialNumber: string;
  identifier: string | null; status: string; remoteReading: boolean; lastSeenAt: Date | null;
  premiseId: number | null; premiseNumber: string | null; registerQuantity: string;
  lastReading: RegisterReading | null;
  lastVerdict: {
    time: Date; version: number; status: string; reasons: VerdictReason[]; validatedAt: Date;
    review: { decision: string; reason: string; reviewedBy: string; reviewedAt: Date } | null;
  } | null;
  flagged: number;
  zones: number;
  zoneReadings: ZoneReading[];
}
export interface GatewayOverview {
  id: string; name: string | null; status: string; online: boolean; lastSeenAt: Date | null; lastStatus: unknown; outboxDepth: number | null;
}
export interface AlertOverview {
  id: number; kind: string; subject: string; severity: string; message: string; resource: string | null;
  meterId: number | null; gatewayId: string | null; raisedAt: Date; acknowledgedAt: Date | null; acknowledgedBy: string | null;
}
export interface BuildingOverview {
  building: { id: number; address: string; city: string | null; timezone: string; orgId: number };
  imbalance: MonthReport[];
  meters: MeterOverview[];
  gateways: GatewayOverview[];
  alerts: AlertOverview[];
}

const reasonsOf = (v: unknown): VerdictReason[] => (Array.isArray(v) ? (v as VerdictReason[]) : []);

/** One building's page: month reports in [from, to] (YYYY-MM, inclusive), meters, gateways, open alerts. Null when there is no such building. */
export async function buildingOverview(db: Queryable, buildingId: number, from: string, to: string): Promise<BuildingOverview | null> {
  const b = (await db.query<{ id: string; address: string; city: string | null; timezone: string; org_id: string }>(
    'SELECT id, address, city, timezone, org_id FROM buildings WHERE id = $1', [buildingId])).rows[0];
  if (!b) return null;
  const imbalance = (await db.query<{
    resource: string; period: string; period_start: Date; period_end: Date; building_consumption: number | null; apartments_consumption: number;
    other_consumption: number; imbalance: number | null; imbalance_pct: number | null; coverage: number; apartments_total: number;
    apartments_actual: number; status: string; computed_at: Date;
  }>(
    `SELECT r.resource, ${MONTH_OF_REPORT} AS period, r.period_start, r.period_end, r.building_consumption, r.apartments_consumption,
            r.other_consumption, r.imbalance, r.imbalance_pct, r.coverage, r.apartments_total, r.apartments_actual, r.status, r.computed_at
       FROM imbalance_reports r
      WHERE r.building_id = $1 AND r.period_kind = 'month' AND ${MONTH_OF_REPORT} BETWEEN $2 AND $3
      ORDER BY r.resource, r.period_start`, [buildingId, from, to])).rows;
  const meters = (await db.query<{
    id: string; placement: string; resource: string; make: string; model: string | null; serial_number: string; identifier: string | null;
    status: string; remote_reading: boolean; last_seen_at: Date | null; premise_id: string | null; premise_number: string | null;
    register_quantity: string; zones: number | null;
    lr_time: Date | null; lr_value: number | null; lr_unit: string; lr_version: number; lr_source: string;
    lv_time: Date | null; lv_version: number; lv_status: string; lv_reasons: unknown; lv_validated_at: Date;
    rv_decision: string | null; rv_reason: string; rv_reviewed_by: string; rv_reviewed_at: Date; flagged: number;
  }>(
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
               m.resource, length(coalesce(pr.number, '')), pr.number, m.serial_number`, [buildingId])).rows;
  // Zone meters' registers in one query, so a page (the staff entry on a phone) needs no call per zone.
  const zoneRows = (await db.query<ZoneReading & { meter_id: string }>(
    `SELECT m.id AS meter_id, z.zone, zr.time, zr.value, zr.unit, zr.version, zr.source
       FROM meters m CROSS JOIN LATERAL generate_series(1, LEAST(m.zones, 3)) AS z(zone)
       JOIN LATERAL (SELECT time, value, unit, version, source FROM readings r
                      WHERE r.meter_id = m.id AND r.quantity = 'energy_t' || z.zone || '_kwh'
                      ORDER BY r.time DESC, r.version DESC LIMIT 1) zr ON TRUE
      WHERE m.building_id = $1 AND m.zones >= 2
      ORDER BY m.id, z.zone`, [buildingId])).rows;
  const zoneReadings = new Map<number, ZoneReading[]>();
  for (const { meter_id, ...zr } of zoneRows) zoneReadings.set(Number(meter_id), [...(zoneReadings.get(Number(meter_id)) ?? []), zr]);
  const gateways = (await db.query<{ id: string; name: string | null; status: string; online: boolean; last_seen_at: Date | null; last_status: unknown }>(
    'SELECT id, name, status, online, last_seen_at, last_status FROM gateways WHERE building_id = $1 ORDER BY id', [buildingId])).rows;
  const alerts = (await db.query<{
    id: string; kind: string; subject: string; severity: string; message: string; resource: string | null; meter_id: string | null;
    gateway_id: string | null; raised_at: Date; acknowledged_at: Date | null; acknowledged_by: string | null;
  }>(
    `SELECT id, kind, subject, severity, message, resource, meter_id, gateway_id, raised_at, acknowledged_at, acknowledged_by
       FROM alerts WHERE building_id = $1 AND cleared_at IS NULL ORDER BY raised_at DESC, id DESC`, [buildingId])).rows;
  return {
    building: { id: Number(b.id), address: b.address, city: b.city, timezone: b.timezone, orgId: Number(b.org_id) },
    imbalance: imbalance.map((r) => ({
      resource: r.resource, period: r.period, periodStart: r.period_start, periodEnd: r.period_end,
      buildingConsumption: r.building_consumption, apartmentsConsumption: r.apartments_consumption, otherConsumption: r.other_consumption,
      imbalance: r.imbalance, imbalancePct: r.imbalance_pct, coverage: r.coverage, apartmentsTotal: r.apartments_total,
      apartmentsActual: r.apartments_actual, status: r.status, computedAt: r.computed_at,
    })),
    meters: meters.map((m) => ({
      id: Number(m.id), placement: m.placement, resource: m.resource, make: m.make, model: m.model, serialNumber: m.serial_number,
      identifier: m.identifier, status: m.status, remoteReading: m.remote_reading, lastSeenAt: m.last_seen_at,
      premiseId: num(m.premise_id), premiseNumber: m.premise_number, registerQuantity: m.register_quantity,
      lastReading: m.lr_time ? { time: m.lr_time, value: m.lr_value, unit: m.lr_unit, version: m.lr_version, source: m.lr_source } : null,
      lastVerdict: m.lv_time ? {
        time: m.lv_time, version: m.lv_version, status: m.lv_status, reasons: reasonsOf(m.lv_reasons), validatedAt: m.lv_validated_at,
        review: m.rv_decision ? { decision: m.rv_decision, reason: m.rv_reason, reviewedBy: m.rv_reviewed_by, reviewedAt: m.rv_reviewed_at } : null,
      } : null,
      flagged: m.flagged,
      zones: Number(m.zones ?? 1),
      zoneReadings: zoneReadings.get(Number(m.id)) ?? [],
    })),
    gateways: gateways.map((g) => ({
      id: g.id, name: g.name, status: g.status, online: g.online, lastSeenAt: g.last_seen_at, lastStatus: g.last_status, outboxDepth: outboxDepth(g.last_status),
    })),
    alerts: alerts.map((a) => ({
      id: Number(a.id), kind: a.kind, subject: a.subject, severity: a.severity, message: a.message, resource: a.resource,
      meterId: num(a.meter_id), gatewayId: a.gateway_id, raisedAt: a.raised_at, acknowledgedAt: a.acknowledged_at, acknowledgedBy: a.acknowledged_by,
    })),
  };
}

export interface MeterReadingRow {
  time: Date; quantity: string; version: number; value: number | null; unit: string; source: string;
  quality: string[]; receivedAt: Date; createdBy: string | null; reason: string | null;
  /** false for versions a later correction replaced. */
  current: boolean;
  verdict: { status: string; reasons: VerdictReason[]; validatedAt: Date } | null;
  /** Every decision on this reading row, newest first (the first one counts). */
  reviews: { id: number; decision: string; reason: string; reviewedBy: string; reviewedAt: string }[];
}
export interface MeterPage {
  meter: {
    id: number; placement: string; resource: string; make: string; model: string | null; serialNumber: string;
    status: string; remoteReading: boolean; lastSeenAt: Date | null; buildingId: number; address: string;
    timezone: string; premiseId: number | null; premiseNumber: string | null; registerQuantity: string;
  };
  readings: MeterReadingRow[];
}

/**
 * One meter's register readings, every version, newest first: the latest `limit` instants before
 * `before` (null: up to now). Null when there is no such meter.
 */
export async function meterPage(db: Queryable, meterId: number, before: string | null, limit: number, from: string | null = null): Promise<MeterPage | null> {
  const m = (await db.query<{
    id: string; placement: string; resource: string; make: string; model: string | null; serial_number: string; status: string;
    remote_reading: boolean; last_seen_at: Date | null; building_id: string; address: string; timezone: string;
    premise_id: string | null; premise_number: string | null; register_quantity: string;
  }>(
    `SELECT m.id, m.placement, m.resource, m.make, m.model, m.serial_number, m.status, m.remote_reading, m.last_seen_at,
            m.building_id, b.address, b.timezone, m.premise_id, pr.number AS premise_number, ${REGISTER_QUANTITY} AS register_quantity
       FROM meters m JOIN buildings b ON b.id = m.building_id LEFT JOIN premises pr ON pr.id = m.premise_id
      WHERE m.id = $1`, [meterId])).rows[0];
  if (!m) return null;
  // The latest `limit` instants of the register, with all their versions: everything from the oldest of
  // those instants on. Two plain queries and LATERAL lookups on purpose: joins and window functions over
  // the readings hypertable's chunks made TimescaleDB plan a merge join that fails ("mergejoin input
  // data is out of order").
  const params = [m.id, m.register_quantity, before];
  const oldest = (await db.query<{ t: Date | null }>(
    `SELECT min(time) AS t FROM (SELECT DISTINCT time FROM readings WHERE meter_id = $1 AND quantity = $2 AND ($3::timestamptz IS NULL OR time < $3)
        AND ($5::timestamptz IS NULL OR time >= $5) ORDER BY time DESC LIMIT $4) i`, [...params, limit, from])).rows[0]?.t ?? null;
  const rows = oldest === null ? [] : (await db.query<{
    time: Date; quantity: string; version: number; value: number | null; unit: string; source: string; quality: string[]; received_at: Date;
    created_by: string | null; reason: string | null; v_status: string | null; v_reasons: unknown; v_validated_at: Date;
    reviews: { id: number; decision: string; reason: string; reviewed_by: string; reviewed_at: string }[];
  }>(
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
  const current = (r: { time: Date }, i: number) => i === 0 || rows[i - 1].time.getTime() !== r.time.getTime();
  return {
    meter: {
      id: Number(m.id), placement: m.placement, resource: m.resource, make: m.make, model: m.model, serialNumber: m.serial_number,
      status: m.status, remoteReading: m.remote_reading, lastSeenAt: m.last_seen_at, buildingId: Number(m.building_id), address: m.address,
      timezone: m.timezone, premiseId: num(m.premise_id), premiseNumber: m.premise_number, registerQuantity: m.register_quantity,
    },
    readings: rows.map((r, i) => ({
      time: r.time, quantity: r.quantity, version: r.version, value: r.value, unit: r.unit, source: r.source, quality: r.quality,
      receivedAt: r.received_at, createdBy: r.created_by, reason: r.reason, current: current(r, i),
      verdict: r.v_status ? { status: r.v_status, reasons: reasonsOf(r.v_reasons), validatedAt: r.v_validated_at } : null,
      reviews: r.reviews.map((x) => ({ id: Number(x.id), decision: x.decision, reason: x.reason, reviewedBy: x.reviewed_by, reviewedAt: x.reviewed_at })),
    })),
  };
}
