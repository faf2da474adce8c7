/**
 * Imbalance (небаланс) reports and thresholds. Reports are read as stored (the recompute job keeps
 * them current); a synchronous recompute for a bounded range is available to engineers. Thresholds:
 * a default row per resource (building_id null, only for callers who see every building) and
 * building overrides; a change re-judges the stored reports it governs in the same transaction.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Resource } from '@amr/protocols';
import { requireOwned, requirePermission, type Principal } from '../auth/index.js';
import { HttpError, badRequest, notFound } from '../http/errors.js';
import { fromWire, toWire } from '../http/casing.js';
import { principal } from '../http/plugins/auth.js';
import type { Queryable } from '../db/types.js';
import {
  buildingMeterResources, buildingReports, buildingTimezone, computeBuildingImbalance, ImbalanceError, imbalanceDepsOf, listThresholds,
  localInstant, localPeriodLiteral, periodsBetween, reportsOfPeriod, setThresholds, type StoredImbalanceReport,
} from './index.js';
import { actorOf, errors, Id, IdParams, Timestamp, type RouteDeps } from '../http/context.js';

/** Most periods one synchronous recompute may cover (two months of days). */
export const MAX_RECOMPUTE_PERIODS = 62;

const Kind = z.enum(['month', 'day', 'hour']);
const Method = z.enum(['measured', 'interpolated', 'estimated', 'substituted']).nullable();
const MeterValue = z.object({
  meter_id: z.number(), placement: z.string(), consumption: z.number().nullable(), method: Method, flagged: z.boolean(),
  replaced_meter_ids: z.array(z.number()).optional(), start_method: Method.optional(), end_method: Method.optional(), readings: z.number().optional(),
});
const Thresholds = z.object({ high_loss_pct: z.number(), negative_pct: z.number(), min_coverage: z.number() });
const Report = z.object({
  building_id: z.number(), resource: z.string(), period_kind: Kind, period_start: Timestamp, period_end: Timestamp,
  building_consumption: z.number().nullable(), apartments_consumption: z.number(), other_consumption: z.number(),
  imbalance: z.number().nullable(), imbalance_pct: z.number().nullable(), coverage: z.number(),
  apartments_total: z.number(), apartments_actual: z.number(), status: z.enum(['ok', 'high_loss', 'negative_imbalance', 'insufficient_data', 'not_applicable'])
    .describe('not_applicable: the resource is billed by area (heat without apartment heat meters), no apartment side; no imbalance, no percentage, no alert'),
  thresholds: Thresholds, meters: z.array(MeterValue), computed_at: Timestamp,
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

/** A bound as an instant of the building (local dates and months at its midnight); the building was resolved before. */
async function instant(q: Queryable, buildingId: number, b: string): Promise<Date> {
  const t = await localInstant(q, buildingId, b);
  if (!t) throw notFound('building');
  return t;
}

/** Reports on the wire; the response schema checks the shape on the way out. */
const wireReports = (reports: StoredImbalanceReport[]) => toWire(reports) as z.input<typeof Report>[];

const ThresholdBody = z.object({
  building_id: z.number().int().positive().nullable(),
  resource: Resource,
  high_loss_pct: z.number().finite().min(0).max(100),
  negative_pct: z.number().finite().min(0).max(100),
  min_coverage: z.number().min(0).max(1),
});
const PeriodList = z.object({
  kind: z.string(), period: z.string(),
  buildings: z.array(z.object({ id: Id, address: z.string(), city: z.string().nullable(), timezone: z.string(), reports: z.record(z.string(), Report) })),
});

const imbalanceRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, jobs }) => {
  app.get('/buildings/:id/imbalance', {
    schema: {
      tags: ['imbalance'], summary: 'Stored imbalance reports of a building (with per-meter values), periods starting in [from, to)', params: IdParams,
      description: 'Imbalance of the building `id`: building meter (ОДПУ) vs the sum of its apartment meters (ИПУ) per resource and period, as stored by the recompute jobs, with each meter\'s value so a gap can be traced to a meter. Periods are the building\'s local calendar (`timezone`).',
      querystring: z.object({
        resource: Resource.optional().describe('Only this resource; default all'),
        kind: Kind.default('month').describe('Length of the periods'),
        from: Bound.optional().describe('Periods starting at or after this (date or instant)'),
        to: Bound.optional().describe('Periods starting before this (date or instant)'),
      }),
      response: { 200: z.object({ building_id: Id, timezone: z.string(), reports: z.array(Report) }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requireStaff(p);
    const id = req.params.id;
    await requireOwned(db, p, 'building', id);
    const timezone = await buildingTimezone(db, id);
    if (timezone === null) throw notFound('building');
    const { resource, kind, from, to } = req.query;
    const reports = await buildingReports(db, id, {
      kind, resource: resource ?? null, from: from ? await instant(db, id, from) : null, to: to ? await instant(db, id, to) : null,
    });
    return { building_id: id, timezone, reports: wireReports(reports) };
  });

  app.get('/imbalance', {
    schema: {
      tags: ['imbalance'], summary: 'Every visible building with its stored reports per resource for one period (local to each building)',
      description: 'One row per building the caller sees, with the stored imbalance report of each resource for the period (building meter vs Σ apartment meters, status against the thresholds).',
      querystring: z.object({ kind: z.enum(['month', 'day']).default('month').describe('Length of the period'), period: z.string().max(10).describe('The period: YYYY-MM (month) or YYYY-MM-DD (day), in each building\'s local calendar') }),
      response: { 200: PeriodList, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requireStaff(p);
    const { kind, period } = req.query;
    const lit = localPeriodLiteral(kind, period);
    if (!lit) throw badRequest(`period must be ${kind === 'month' ? 'YYYY-MM' : 'YYYY-MM-DD'}`, [{ path: 'querystring.period', message: 'bad format' }]);
    // Resource names key the reports and are already snake_case.
    return toWire({ kind, period, buildings: await reportsOfPeriod(db, p, kind, lit) }) as z.input<typeof PeriodList>;
  });

  app.get('/imbalance-thresholds', {
    schema: {
      tags: ['imbalance'], summary: 'Threshold rows: defaults (building_id null) and those of visible buildings',
      description: 'Per resource: the loss above which a report is flagged, the negative imbalance that points to a metering error, and the share of apartment meters that must have readings for a report to be judged at all. A building row wins over the default.',
      response: { 200: z.array(ThresholdRow), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requireStaff(p);
    return listThresholds(db, p);
  });

  app.put('/imbalance-thresholds', {
    schema: {
      tags: ['imbalance'], summary: 'Set the thresholds of a building (or the default, building_id null) for a resource; re-judges stored reports',
      description: 'The body is snake_case; the camelCase keys of earlier versions (buildingId, highLossPct, negativePct, minCoverage) are still understood.',
      body: fromWire(ThresholdBody),
      response: { 200: z.object({ threshold: ThresholdRow, rejudged: z.number() }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'imbalance:configure');
    const b = req.body;
    // A default governs every building: only a caller who sees every building may set it.
    if (b.building_id === null && p.buildingIds !== null) throw new HttpError(403, 'forbidden', 'default thresholds (building_id null) can be set only by a user who sees every building');
    // The building is what is configured, not a link: another organisation's answers like a missing one.
    if (b.building_id !== null) await requireOwned(db, p, 'building', b.building_id);
    const out = await setThresholds(db, actorOf(req), {
      buildingId: b.building_id, resource: b.resource,
      thresholds: { highLossPct: b.high_loss_pct, negativePct: b.negative_pct, minCoverage: b.min_coverage },
    }, req.id);
    // Alerts follow the re-judged statuses (after commit, like every report change).
    const onReport = imbalanceDepsOf(jobs)?.onReport;
    if (onReport) for (const c of out.changed) await onReport(c.report, c.previous);
    return { threshold: out.row, rejudged: out.changed.length };
  });

  app.post('/buildings/:id/imbalance/recompute', {
    schema: {
      tags: ['imbalance'], summary: `Recompute and store the reports of periods overlapping [from, to) now (at most ${MAX_RECOMPUTE_PERIODS} periods)`, params: IdParams,
      description: 'Computes the imbalance reports of the building `id` again now, instead of waiting for the jobs (after a correction, say), and stores them; the answer holds the new reports.',
      body: z.object({ resource: Resource.optional(), kind: Kind.default('month'), from: Bound, to: Bound }),
      response: { 200: z.object({ reports: z.array(Report) }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'imbalance:configure');
    const id = req.params.id;
    await requireOwned(db, p, 'building', id);
    const { kind } = req.body;
    const from = await instant(db, id, req.body.from);
    const to = await instant(db, id, req.body.to);
    if (from >= to) throw badRequest('from must be before to', [{ path: 'body.from', message: 'not before "to"' }]);
    const resources = req.body.resource ? [req.body.resource] : await buildingMeterResources(db, id);
    const periods = (await periodsBetween(db, id, kind, from, new Date(to.getTime() - 1), MAX_RECOMPUTE_PERIODS)) ?? [];
    if (periods.length * resources.length > MAX_RECOMPUTE_PERIODS) {
      throw badRequest(`at most ${MAX_RECOMPUTE_PERIODS} periods per call (asked ${periods.length > MAX_RECOMPUTE_PERIODS ? `more than ${MAX_RECOMPUTE_PERIODS}` : periods.length} × ${resources.length} resources)`,
        [{ path: 'body.to', message: 'range too long' }]);
    }
    const onReport = imbalanceDepsOf(jobs)?.onReport;
    const reports: StoredImbalanceReport[] = [];
    try {
      for (const r of resources) {
        for (const per of periods) reports.push((await computeBuildingImbalance(db, id, r, kind, per.start, { onReport })).report);
      }
    } catch (e) {
      if (e instanceof ImbalanceError) throw new HttpError(e.code === 'building_not_found' ? 404 : 400, e.code, e.message);
      throw e;
    }
    return { reports: wireReports(reports) };
  });
};

export default imbalanceRoutes;
