/**
 * Billing: tariffs, norms and rules (versioned by date, billing:manage, audited), accrual
 * runs and period close, accrual lines (JSON or CSV) and the billing feed for the billing
 * department. Organisation-level data: an API key acts for its own organisation only; a user names
 * the organisation and must see one of its buildings (admins see all).
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Resource } from '@amr/protocols';
import { requireBuilding, requirePermission, type Principal, requireOwned } from '../auth/index.js';
import { audit } from '../audit/index.js';
import { Tariff, BillingRules, formatRoubles, MonthStart } from './index.js';
import {
  accountLabels, billingFeed, BillingError, closePeriod, computePeriod, LINE_COLUMNS, linesXlsx, periodDate, recalculateClosed, rowToLine, type StoredLine,
} from './store/index.js';
import { HttpError, badRequest } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import type { Queryable } from '../db/types.js';
import { actorOf, errors, Id, type RouteDeps } from '../http/context.js';
import { safeCell } from '../util/spreadsheet-cell.js';

const Period = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'period must be YYYY-MM');
const PeriodParams = z.object({ period: Period });
const OrgQuery = z.object({ org_id: z.coerce.number().int().positive().optional() });

function staff(p: Principal, perm: 'billing:read' | 'billing:manage'): void {
  requirePermission(p, perm);
  if (p.premiseIds !== null) throw new HttpError(403, 'forbidden', 'billing is organisation data, not available to residents');
}

/** The organisation a call acts for: an API key's own; a user's named one, which they must see. */
async function orgOf(q: Queryable, p: Principal, orgId: number | undefined): Promise<number> {
  if (p.organisationId !== null) {
    if (orgId !== undefined && orgId !== p.organisationId) throw new HttpError(403, 'forbidden', 'an API key acts only for its own organisation');
    return p.organisationId;
  }
  if (orgId === undefined) throw badRequest('org_id is required');
  // Another organisation's id answers as one that does not exist (the tenancy resolver's 404).
  await requireOwned(q, p, 'organisation', orgId);
  return orgId;
}

async function buildingOrg(q: Queryable, p: Principal, buildingId: number): Promise<number> {
  requireBuilding(p, buildingId);
  const { rows } = await q.query<{ org_id: string }>('SELECT org_id FROM buildings WHERE id = $1', [buildingId]);
  if (!rows[0]) throw new HttpError(404, 'not_found', `building ${buildingId} not found`);
  return Number(rows[0].org_id);
}

function billingHttp(e: unknown): never {
  if (e instanceof BillingError) throw new HttpError(e.code === 'not_found' ? 404 : e.code === 'closed' ? 409 : 400, e.code === 'closed' ? 'conflict' : e.code, e.message);
  throw e;
}

const Line = z.object({
  id: z.number(), period: z.string(), buildingId: z.number(), accountId: z.string(), resource: z.string(), meterId: z.string().nullable(),
  method: z.enum(['measured', 'average', 'norm', 'common_house', 'heating']), quantity: z.number(), amount: z.number().describe('kopecks'),
  heatingMethod: z.enum(['monthly_actual', 'even_over_year', 'heating_season', 'building_average', 'norm', 'annual_correction']).optional()
    .describe('heating by area: how the volume was found (building_average / norm: the building meter had no reading for the month)'),
  parts: z.array(z.object({ label: z.string(), quantity: z.number(), price: z.number(), amount: z.number() })),
  note: z.string().optional(), kind: z.enum(['regular', 'adjustment']), adjustmentKind: z.enum(['reversal', 'recalculated']).nullable(),
  adjustsPeriod: z.string().nullable(), exportId: z.string(),
});

const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(safeCell(v)); // no formulas in the file (util/spreadsheet-cell.ts)
  return /[",\n;]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
function linesCsv(lines: StoredLine[]): string {
  const head = ['export_id', 'period', 'building_id', 'account_id', 'resource', 'meter_id', 'method', 'quantity', 'amount_rub', 'kind', 'adjustment_kind', 'adjusts_period', 'note'];
  const body = lines.map((l) => [l.exportId, l.period, l.buildingId, l.accountId, l.resource, l.meterId, l.method, l.quantity, formatRoubles(l.amount),
    l.kind, l.adjustmentKind, l.adjustsPeriod, l.note].map(csvCell).join(','));
  return [head.join(','), ...body].join('\n') + '\n';
}

const AreaBaseSchema = z.object({
  totalArea: z.number().describe('S_total: m² of all premises with an area, residential and non-residential'),
  residentialArea: z.number(), nonResidentialArea: z.number(),
  withoutArea: z.array(z.object({ premiseId: z.string(), number: z.string(), kind: z.string() })).describe('premises without an area: no share until it is entered'),
  withoutAccount: z.array(z.object({ premiseId: z.string(), number: z.string(), kind: z.string() })).describe('premises sharing without an account of the organisation: their share is not billed'),
});

const HeatingSchema = z.object({
  method: z.enum(['monthly_actual', 'even_over_year', 'heating_season']).describe('the rules\' method'),
  chargedAs: z.enum(['monthly_actual', 'even_over_year', 'heating_season', 'building_average', 'norm']).nullable()
    .describe('what the month was charged by: monthly_actual when even_over_year has no measured previous year; building_average or norm when the building meter has no reading for the month'),
  monthHeat: z.number().nullable(), lastYearHeat: z.number().nullable(),
  volume: z.number().nullable().describe('Gcal charged for the month'), missing: z.enum(['month', 'last_year']).nullable(),
  fallback: z.union([
    z.object({ kind: z.literal('building_average'), volume: z.number(), months: z.array(z.string()).describe('the measured months averaged (YYYY-MM)'), monthsWithoutReadingBefore: z.number() }),
    z.object({ kind: z.literal('norm'), volume: z.number(), normPerM2: z.number(), totalArea: z.number(), monthsWithoutReadingBefore: z.number() }),
    z.object({ kind: z.literal('none'), reason: z.string(), monthsWithoutReadingBefore: z.number() }),
  ]).nullable().describe('for a month without a building heat reading (ПП 354 п. 59(1), 60(1)): the fallback used, or why nothing was charged'),
  totalArea: z.number(), areaBase: AreaBaseSchema,
  correction: z.object({ year: z.number(), actualHeat: z.number(), chargedHeat: z.number() }).nullable(),
});

const CommonHouseSchema = z.object({
  resource: z.string(), buildingConsumption: z.number(), apartmentsConsumption: z.number(), nonResidentialConsumption: z.number(),
  volume: z.number(), billedVolume: z.number().describe('Σ of the premises\' capped shares'), excessOverCap: z.number().describe('Σ over the premises\' caps: the organisation\'s, not billed'),
  negative: z.boolean(), capVolume: z.number().nullable().describe('norm per m² × common area; null = no cap'),
  areaBase: AreaBaseSchema,
  perPremise: z.array(z.object({
    premiseId: z.string(), number: z.string(), kind: z.string(), area: z.number(), accountId: z.string().nullable(),
    share: z.number().describe('volume × Sᵢ / S_total'), cap: z.number().nullable().describe('cap × Sᵢ / S_total'), volume: z.number().describe('billed'), excess: z.number(),
  })),
  withoutAccountVolume: z.number().describe('shares of premises without an account: not billed'),
});

const FeedRowSchema = z.object({
  exportId: z.string(), buildingId: z.number(), resource: z.string(), period: z.string(), periodStart: z.string(), periodEnd: z.string(),
  odpuMeterIds: z.array(z.number()),
  startReading: z.object({ value: z.number(), time: z.string() }).nullable(), endReading: z.object({ value: z.number(), time: z.string() }).nullable(),
  consumption: z.number().nullable(), method: z.string().nullable(),
  validation: z.enum(['valid', 'suspect', 'invalid', 'unvalidated', 'no_readings']).describe('worst verdict over the ОДПУ readings of the month'),
  validationStatus: z.enum(['validated', 'not_validated']).describe('ОДПУ readings at both bounds valid or accepted, no unreviewed invalid apartment reading, imbalance report stored'),
  reasons: z.array(z.object({ check: z.enum(['odpu_start', 'odpu_end', 'apartment_readings', 'imbalance_report']), message: z.string() })).describe('each failed check'),
  apartmentsConsumption: z.number().nullable(), imbalance: z.number().nullable(), imbalancePct: z.number().nullable(),
  imbalanceStatus: z.string().describe('the stored report\'s status, or report_missing'),
});

const billingRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, readDb }) => {
  // --- versioned settings: tariffs, norms, rules (a new version is a new row; rows are not edited) ---
  const settings = [
    { path: 'tariffs', table: 'billing_tariffs', entity: 'billing_tariff', date: 'valid_from', key: ['resource', 'valid_from'],
      body: z.object({ org_id: z.number().int().positive().optional(), resource: Resource, valid_from: MonthStart, tariff: Tariff }),
      cols: (b: any) => ({ resource: b.resource, valid_from: b.valid_from, tariff: JSON.stringify(b.tariff) }) },
    { path: 'norms', table: 'billing_norms', entity: 'billing_norm', date: 'valid_from', key: ['resource', 'basis', 'valid_from'],
      // basis 'resident': per registered resident per month; 'common_area_m2': per m² of common property (caps the common-house volume);
      // 'heating_m2': heat (Gcal) per m² of premises per month of the heating season (heating by area when the building meter has no reading).
      body: z.object({ org_id: z.number().int().positive().optional(), resource: Resource, basis: z.enum(['resident', 'common_area_m2', 'heating_m2']).default('resident'), valid_from: MonthStart, per_resident: z.number().finite().nonnegative() })
        .refine((b) => b.basis !== 'heating_m2' || b.resource === 'heat', { message: "basis heating_m2 is heat in Gcal per m² of premises: use resource 'heat'", path: ['basis'] }),
      cols: (b: any) => ({ resource: b.resource, basis: b.basis, valid_from: b.valid_from, per_resident: b.per_resident }) },
    { path: 'rules', table: 'billing_rules', entity: 'billing_rules', date: 'effective_from', key: ['effective_from'],
      body: z.object({ org_id: z.number().int().positive().optional(), effective_from: MonthStart, rules: BillingRules.omit({ effectiveFrom: true }) }),
      cols: (b: any) => ({ effective_from: b.effective_from, rules: JSON.stringify(b.rules) }) },
  ] as const;
  for (const s of settings) {
    app.get(`/billing/${s.path}`, {
      schema: { tags: ['billing'], summary: `All versions of ${s.path} of an organisation`, querystring: OrgQuery, response: { 200: z.object({ items: z.array(z.record(z.string(), z.unknown())) }), ...errors } },
    }, async (req) => {
      const p = principal(req);
      staff(p, 'billing:read');
      const org = await orgOf(db, p, req.query.org_id);
      const { rows } = await (readDb ?? db).query(`SELECT *, to_char(${s.date}, 'YYYY-MM-DD') AS ${s.date} FROM ${s.table} WHERE org_id = $1 ORDER BY ${s.table}.${s.date}, id`, [org]);
      const plain = (v: unknown) => (v instanceof Date ? v.toISOString() : v);
      return { items: rows.map((r) => ({ ...Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)])), id: Number(r.id), org_id: Number(r.org_id) })) };
    });
    app.post(`/billing/${s.path}`, {
      schema: { tags: ['billing'], summary: `Add a version of ${s.path} (in force from its date)`, body: s.body, response: { 201: z.object({ id: Id }), ...errors } },
    }, async (req, reply) => {
      const p = principal(req);
      staff(p, 'billing:manage');
      const b = req.body as { org_id?: number };
      const org = await orgOf(db, p, b.org_id);
      const cols = s.cols(req.body);
      const names = Object.keys(cols);
      const actor = actorOf(req);
      const id = await db.tx(async (q) => {
        // The table's unique key: one version per (resource,) date. A version is never edited: add a new date.
        const keyVals = s.key.map((k) => (cols as Record<string, unknown>)[k]);
        const dup = await q.query(`SELECT id FROM ${s.table} WHERE org_id = $1 AND ${s.key.map((k, i) => `${k} = $${i + 2}`).join(' AND ')}`, [org, ...keyVals]);
        if (dup.rows[0]) throw new HttpError(409, 'conflict', `a version of ${s.path} for ${keyVals.join(' from ')} already exists`);
        const { rows } = await q.query<{ id: string }>(
          `INSERT INTO ${s.table} (org_id, ${names.join(', ')}, created_by) VALUES ($1, ${names.map((_, i) => `$${i + 2}`).join(', ')}, $${names.length + 2}) RETURNING id`,
          [org, ...Object.values(cols), actor.name]);
        await audit(q, actor, { action: 'create', entity: s.entity, entityId: rows[0].id, after: { org_id: org, ...req.body as object }, requestId: req.id });
        return rows[0].id;
      });
      return reply.code(201).send({ id: Number(id) });
    });
  }

  // --- accrual runs and period close ---
  app.post('/billing/periods/:period/compute', {
    schema: {
      tags: ['billing'], summary: 'Compute (or recompute) the accruals of a building for a month. An open month\'s regular lines are replaced; a closed month is recalculated into adjustment lines of the next open one.',
      params: PeriodParams, body: z.object({ building_id: z.number().int().positive() }),
      response: { 200: z.object({
        period: z.string(), status: z.enum(['open', 'closed']), lines: z.number(), amount: z.number(), adjustmentsIn: z.string().nullable(),
        commonHouse: z.array(CommonHouseSchema).optional(),
        heating: HeatingSchema.nullable().optional(),
      }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    staff(p, 'billing:manage');
    const org = await buildingOrg(db, p, req.body.building_id);
    const period = periodDate(req.params.period);
    const st = await db.query<{ status: string }>('SELECT status FROM billing_periods WHERE org_id = $1 AND period = $2', [org, period]);
    const actor = actorOf(req);
    try {
      if (st.rows[0]?.status === 'closed') {
        const r = await recalculateClosed(db, req.body.building_id, period);
        await audit(db, actor, { action: 'recalculate', entity: 'billing_period', entityId: `${org}:${req.params.period}`, buildingId: req.body.building_id, after: r, requestId: req.id });
        return { period: req.params.period, status: 'closed' as const, lines: r.lines, amount: r.amountKop, adjustmentsIn: r.target.slice(0, 7) };
      }
      const r = await computePeriod(db, req.body.building_id, period);
      await audit(db, actor, { action: 'compute', entity: 'billing_period', entityId: `${org}:${req.params.period}`, buildingId: req.body.building_id, after: r, requestId: req.id });
      return { period: req.params.period, status: 'open' as const, lines: r.lines, amount: r.amountKop, adjustmentsIn: null, commonHouse: r.commonHouse, heating: r.heating };
    } catch (e) {
      billingHttp(e);
    }
  });

  app.post('/billing/periods/:period/recalculate', {
    schema: {
      tags: ['billing'], summary: 'Recalculate a CLOSED month of a building now (after late or corrected readings): the difference is booked as reversal + recalculated lines in the next open month; nothing new books nothing. An open month is refused (compute it).',
      params: PeriodParams, body: z.object({ building_id: z.number().int().positive() }),
      response: { 200: z.object({ period: z.string(), adjustmentsIn: z.string(), lines: z.number(), amount: z.number().describe('kopecks') }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    staff(p, 'billing:manage');
    const org = await buildingOrg(db, p, req.body.building_id);
    try {
      const r = await recalculateClosed(db, req.body.building_id, periodDate(req.params.period));
      await audit(db, actorOf(req), { action: 'recalculate', entity: 'billing_period', entityId: `${org}:${req.params.period}`, buildingId: req.body.building_id, after: r, requestId: req.id });
      return { period: req.params.period, adjustmentsIn: r.target.slice(0, 7), lines: r.lines, amount: r.amountKop };
    } catch (e) {
      billingHttp(e);
    }
  });

  app.post('/billing/periods/:period/close', {
    schema: { tags: ['billing'], summary: 'Close a month: its lines are frozen from now on', params: PeriodParams, body: z.object({ org_id: z.number().int().positive().optional() }), response: { 204: z.null(), ...errors } },
  }, async (req, reply) => {
    const p = principal(req);
    staff(p, 'billing:manage');
    const org = await orgOf(db, p, req.body.org_id);
    const actor = actorOf(req);
    try {
      await closePeriod(db, org, periodDate(req.params.period), actor.name);
    } catch (e) {
      billingHttp(e);
    }
    await audit(db, actor, { action: 'close', entity: 'billing_period', entityId: `${org}:${req.params.period}`, requestId: req.id });
    return reply.code(204).send(null);
  });

  // --- lines and feed ---
  app.get('/billing/lines', {
    schema: {
      tags: ['billing'], summary: 'Accrual (invoice) lines of a month, JSON, CSV or Excel (?format=csv|xlsx: one row per line with account, address, unit and price, and a totals row); amounts in kopecks (JSON) or roubles (CSV, Excel)',
      querystring: z.object({ period: Period, building_id: z.coerce.number().int().positive().optional(), org_id: z.coerce.number().int().positive().optional(), format: z.enum(['json', 'csv', 'xlsx']).default('json') }),
      response: { 200: z.union([z.object({ lines: z.array(Line) }), z.string()]), ...errors },
    },
  }, async (req, reply) => {
    const p = principal(req);
    staff(p, 'billing:read');
    const q = req.query;
    const org = q.building_id ? await buildingOrg(db, p, q.building_id) : await orgOf(db, p, q.org_id);
    if (p.organisationId !== null && org !== p.organisationId) throw new HttpError(403, 'forbidden', 'an API key acts only for its own organisation');
    const params: unknown[] = [org, periodDate(q.period)];
    let where = 'org_id = $1 AND period = $2';
    if (q.building_id) { params.push(q.building_id); where += ` AND building_id = $${params.length}`; }
    if (p.buildingIds !== null) { params.push([...p.buildingIds]); where += ` AND building_id = ANY($${params.length}::bigint[])`; }
    const { rows } = await (readDb ?? db).query(`SELECT ${LINE_COLUMNS} FROM accrual_lines WHERE ${where} ORDER BY building_id, account_id, id`, params);
    const lines = rows.map(rowToLine);
    if (q.format === 'csv') {
      reply.header('content-disposition', `attachment; filename="accruals-${q.period}.csv"`);
      return reply.type('text/csv; charset=utf-8').send(linesCsv(lines));
    }
    if (q.format === 'xlsx') {
      const labels = await accountLabels(readDb ?? db, lines.map((l) => l.accountId));
      reply.header('content-disposition', `attachment; filename="accruals-${q.period}.xlsx"`);
      const xlsx = await linesXlsx(lines, labels, `accruals ${q.period}`);
      // A Buffer is sent as is (never serialized); the response schema documents the JSON and CSV shapes only.
      return reply.type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet').send(xlsx as unknown as string);
    }
    return { lines };
  });

  app.get('/billing/feed', {
    schema: {
      tags: ['billing'], summary: 'Billing feed: per building and resource, the ОДПУ at the month bounds, consumption, method, validation status (with the failed checks), Σ ИПУ and imbalance from the stored report. Only validated months (ОДПУ readings at both bounds valid or accepted, no unreviewed invalid apartment reading, imbalance report stored) unless include_unvalidated=true; export ids are stable; reading it writes nothing.',
      querystring: z.object({ period: Period, org_id: z.coerce.number().int().positive().optional(), include_unvalidated: z.enum(['true', 'false']).default('false') }),
      response: { 200: z.object({ period: z.string(), items: z.array(FeedRowSchema) }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    staff(p, 'billing:read');
    const org = await orgOf(db, p, req.query.org_id);
    const items = await billingFeed(db, org, periodDate(req.query.period), { includeUnvalidated: req.query.include_unvalidated === 'true', buildingIds: p.buildingIds });
    return { period: req.query.period, items };
  });
};
export default billingRoutes;
