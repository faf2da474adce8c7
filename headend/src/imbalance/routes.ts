/**
 * Imbalance (небаланс) reports and thresholds. Reports are read as stored (the recompute job keeps
 * them current); a synchronous recompute for a bounded range is available to engineers. Thresholds:
 * a default row per resource (building_id null, only for callers who see every building) and
 * building overrides; a change re-judges the stored reports it governs in the same transaction.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Resource } from '@amr/protocols';
import { buildingScopeSql, requireBuilding, requirePermission, type Principal } from '../auth/index.js';
import { audit } from '../audit/index.js';
import { HttpError, badRequest } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import type { Queryable } from '../db/types.js';
import {
  computeBuildingImbalance, ImbalanceError, imbalanceDepsOf, listThresholds, localPeriodLiteral, periodsBetween, rejudgeReports,
  REPORT_COLUMNS, rowToReport, upsertThreshold, type StoredImbalanceReport,
} from './index.js';
import { actorOf, errors, Id, IdParams, Timestamp, type RouteDeps } from '../http/context.js';

/** Most periods one synchronous recompute may cover (two months of days). */
export const MAX_RECOMPUTE_PERIODS = 62;

const Kind = z.enum(['month', 'day', 'hour']);
const Method = z.enum(['measured', 'interpolated', 'estimated', 'substituted']).nullable();
const MeterValue = z.object({
  meterId: z.number(), placement: z.string(), consumption: z.number().nullable(), method: Method, flagged: z.boolean(),
  replacedMeterIds: z.array(z.number()).optional(), startMethod: Method.optional(), endMethod: Method.optional(), readings: z.number().optional(),
});
const Thresholds = z.object({ highLossPct: z.number(), negativePct: z.number(), minCoverage: z.number() });
const Report = z.object({
  buildingId: z.number(), resource: z.string(), periodKind: Kind, periodStart: Timestamp, periodEnd: Timestamp,
  buildingConsumption: z.number().nullable(), apartmentsConsumption: z.number(), otherConsumption: z.number(),
  imbalance: z.number().nullable(), imbalancePct: z.number().nullable(), coverage: z.number(),
  apartmentsTotal: z.number(), apartmentsActual: z.number(), status: z.enum(['ok', 'high_loss', 'negative_imbalance', 'insufficient_data', 'not_applicable'])
    .describe('not_applicable: the resource is billed by area (heat without apartment heat meters), no apartment side; no imbalance, no percentage, no alert'),
  thresholds: Thresholds, meters: z.array(MeterValue), computedAt: Timestamp,
});
const ThresholdRow = z.object({
  id: Id, building_id: Id.nullable(), resource: z.string(), high_loss_pct: z.number(), negative_pct: z.number(), min_coverage: z.number(),
  updated_by: z.string().nullable(), updated_at: Timestamp,
});
/** An instant with offset, or a local date / month in the building's time zone. */
const Bound = z.union([z.iso.datetime({ offset: true }), z.iso.date(), z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/)]);

/** Imbalance is building-level data: residents (scoped to premises) do not see it. */
function requireStaff(p: Principal): void {
  requirePermission(p, 'readings:read');
  if (p.premiseIds !== null) throw new HttpError(403, 'forbidden', 'imbalance reports are building data, not available to residents');
}

/** A bound as an instant: ISO instants as given, dates and months at local midnight of the building. */
async function instant(q: Queryable, buildingId: number, b: string): Promise<Date> {
  if (b.includes('T')) return new Date(b);
  const lit = b.length === 7 ? `${b}-01` : b;
  const { rows } = await q.query('SELECT ($2::timestamp AT TIME ZONE timezone) AS t FROM buildings WHERE id = $1', [buildingId, lit]);
  if (!rows[0]) throw new HttpError(404, 'not_found', 'building not found');
  return new Date(rows[0].t);
}

const imbalanceRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, jobs }) => {
  app.get('/buildings/:id/imbalance', {
    schema: {
      tags: ['imbalance'], summary: 'Stored imbalance reports of a building (with per-meter values), periods starting in [from, to)', params: IdParams,
      querystring: z.object({ resource: Resource.optional(), kind: Kind.default('month'), from: Bound.optional(), to: Bound.optional() }),
      response: { 200: z.object({ building_id: Id, timezone: z.string(), reports: z.array(Report) }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requireStaff(p);
    requireBuilding(p, req.params.id);
    const b = (await db.query('SELECT id, timezone FROM buildings WHERE id = $1', [req.params.id])).rows[0];
    if (!b) throw new HttpError(404, 'not_found', 'building not found');
    const { resource, kind, from, to } = req.query;
    const lo = from ? await instant(db, b.id, from) : null;
    const hi = to ? await instant(db, b.id, to) : null;
    const { rows } = await db.query(
      `SELECT ${REPORT_COLUMNS} FROM imbalance_reports
        WHERE building_id = $1 AND period_kind = $2 AND ($3::text IS NULL OR resource = $3)
          AND ($4::timestamptz IS NULL OR period_start >= $4) AND ($5::timestamptz IS NULL OR period_start < $5)
        ORDER BY resource, period_start LIMIT 5000`,
      [b.id, kind, resource ?? null, lo, hi]);
    return { building_id: b.id, timezone: b.timezone, reports: rows.map(rowToReport) };
  });

  app.get('/imbalance', {
    schema: {
      tags: ['imbalance'], summary: 'Every visible building with its stored reports per resource for one period (local to each building)',
      querystring: z.object({ kind: z.enum(['month', 'day']).default('month'), period: z.string().max(10) }),
      response: {
        200: z.object({
          kind: z.string(), period: z.string(),
          buildings: z.array(z.object({ id: Id, address: z.string(), city: z.string().nullable(), timezone: z.string(), reports: z.record(z.string(), Report) })),
        }),
        ...errors,
      },
    },
  }, async (req) => {
    const p = principal(req);
    requireStaff(p);
    const { kind, period } = req.query;
    const lit = localPeriodLiteral(kind, period);
    if (!lit) throw badRequest(`period must be ${kind === 'month' ? 'YYYY-MM' : 'YYYY-MM-DD'}`, [{ path: 'querystring.period', message: 'bad format' }]);
    const params: unknown[] = [kind, lit];
    const scope = buildingScopeSql(p, 'b.id', params);
    const cols = REPORT_COLUMNS.split(',').map((c) => `r.${c.trim()}`).join(', ');
    const { rows } = await db.query(
      `SELECT b.id AS b_id, b.address, b.city, b.timezone AS b_timezone, ${cols}
         FROM buildings b
         LEFT JOIN imbalance_reports r ON r.building_id = b.id AND r.period_kind = $1 AND r.period_start = ($2::timestamp AT TIME ZONE b.timezone)
        WHERE ${scope}
        ORDER BY b.id, r.resource`, params);
    const out = new Map<number, { id: number; address: string; city: string | null; timezone: string; reports: Record<string, StoredImbalanceReport> }>();
    for (const r of rows) {
      const id = Number(r.b_id);
      let b = out.get(id);
      if (!b) out.set(id, (b = { id, address: r.address, city: r.city, timezone: r.b_timezone, reports: {} }));
      if (r.resource) b.reports[r.resource] = rowToReport(r);
    }
    return { kind, period, buildings: [...out.values()] };
  });

  app.get('/imbalance-thresholds', {
    schema: {
      tags: ['imbalance'], summary: 'Threshold rows: defaults (building_id null) and those of visible buildings',
      response: { 200: z.array(ThresholdRow), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requireStaff(p);
    const params: unknown[] = [];
    return listThresholds(db, buildingScopeSql(p, 'building_id', params), params);
  });

  app.put('/imbalance-thresholds', {
    schema: {
      tags: ['imbalance'], summary: 'Set the thresholds of a building (or the default, building_id null) for a resource; re-judges stored reports',
      body: z.object({
        building_id: z.number().int().positive().nullable(),
        resource: Resource,
        high_loss_pct: z.number().finite().min(0).max(100),
        negative_pct: z.number().finite().min(0).max(100),
        min_coverage: z.number().min(0).max(1),
      }),
      response: { 200: z.object({ threshold: ThresholdRow, rejudged: z.number() }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'imbalance:configure');
    const b = req.body;
    // A default governs every building: only a caller who sees every building may set it.
    if (b.building_id === null && p.buildingIds !== null) throw new HttpError(403, 'forbidden', 'default thresholds (building_id null) can be set only by a user who sees every building');
    if (b.building_id !== null) {
      requireBuilding(p, b.building_id);
      const exists = await db.query('SELECT 1 FROM buildings WHERE id = $1', [b.building_id]);
      if (!exists.rows[0]) throw new HttpError(404, 'not_found', 'building not found');
    }
    const th = { highLossPct: b.high_loss_pct, negativePct: b.negative_pct, minCoverage: b.min_coverage };
    const actor = actorOf(req);
    const out = await db.tx(async (q) => {
      const { row, before } = await upsertThreshold(q, { buildingId: b.building_id, resource: b.resource, thresholds: th, updatedBy: actor.name });
      await audit(q, actor, { action: before ? 'update' : 'create', entity: 'imbalance_threshold', entityId: row.id, buildingId: b.building_id, before, after: row, requestId: req.id });
      const changed = await rejudgeReports(q, b.building_id, b.resource, th);
      return { row, changed };
    });
    // Alerts follow the re-judged statuses (after commit, like every report change).
    const onReport = imbalanceDepsOf(jobs)?.onReport;
    if (onReport) for (const c of out.changed) await onReport(c.report, c.previous);
    return { threshold: out.row, rejudged: out.changed.length };
  });

  app.post('/buildings/:id/imbalance/recompute', {
    schema: {
      tags: ['imbalance'], summary: `Recompute and store the reports of periods overlapping [from, to) now (at most ${MAX_RECOMPUTE_PERIODS} periods)`, params: IdParams,
      body: z.object({ resource: Resource.optional(), kind: Kind.default('month'), from: Bound, to: Bound }),
      response: { 200: z.object({ reports: z.array(Report) }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'imbalance:configure');
    requireBuilding(p, req.params.id);
    const id = req.params.id;
    const { kind } = req.body;
    const from = await instant(db, id, req.body.from);
    const to = await instant(db, id, req.body.to);
    if (from >= to) throw badRequest('from must be before to', [{ path: 'body.from', message: 'not before "to"' }]);
    const resources: string[] = req.body.resource ? [req.body.resource]
      : (await db.query(`SELECT DISTINCT resource FROM meters WHERE building_id = $1 AND placement = 'building' ORDER BY resource`, [id])).rows.map((r) => r.resource);
    const periods = (await periodsBetween(db, id, kind, from, new Date(to.getTime() - 1), MAX_RECOMPUTE_PERIODS)) ?? [];
    if (periods.length * resources.length > MAX_RECOMPUTE_PERIODS) {
      throw badRequest(`at most ${MAX_RECOMPUTE_PERIODS} periods per call (asked ${periods.length > MAX_RECOMPUTE_PERIODS ? `more than ${MAX_RECOMPUTE_PERIODS}` : periods.length} × ${resources.length} resources)`,
        [{ path: 'body.to', message: 'range too long' }]);
    }
    const onReport = imbalanceDepsOf(jobs)?.onReport;
    const reports: StoredImbalanceReport[] = [];
    try {
      for (const r of resources) {
        for (const per of periods) reports.push((await computeBuildingImbalance(db, id, r as Resource, kind, per.start, { onReport })).report);
      }
    } catch (e) {
      if (e instanceof ImbalanceError) throw new HttpError(e.code === 'building_not_found' ? 404 : 400, e.code, e.message);
      throw e;
    }
    return { reports };
  });
};

export default imbalanceRoutes;
