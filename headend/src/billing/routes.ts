/**
 * Billing: tariffs, norms and rules (versioned by date, billing:manage, audited), accrual
 * runs and period close, accrual lines (JSON or CSV) and the billing feed for the billing
 * department. Organisation-level data: an API key acts for its own organisation only; a user names
 * the organisation and must see one of its buildings (admins see all).
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Resource } from '@amr/protocols';
import { requirePermission, type Principal, requireOwned, type OwnedKind } from '../auth/index.js';
import { audit } from '../audit/index.js';
import { Tariff, BillingRules, formatRoubles, MonthStart } from './index.js';
import {
  accountLabels, addSetting, billingFeed, BillingError, closePeriod, computePeriod, getSetting, invoicesPdf, lineTotals, linesXlsx, listLines, listSettings, organisationName, periodDate, periodState, periodStatus,
  recalculateClosed, type SettingKind, type SettingVersion, type StoredLine,
} from './store/index.js';
import { HttpError, badRequest } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { fromWire, toDomain, toWire } from '../http/casing.js';
import type { Queryable } from '../db/types.js';
import { actorOf, errors, Id, IdParams, type RouteDeps } from '../http/context.js';
import { safeCell } from '../util/spreadsheet-cell.js';

const Period = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'period must be YYYY-MM');
const PeriodParams = z.object({ period: Period.describe('The billing month, YYYY-MM') });
const OrgQuery = z.object({ org_id: z.coerce.number().int().positive().optional().describe('The organisation (staff of one organisation and API keys: their own, the default)') });

function staff(p: Principal, perm: 'billing:read' | 'billing:manage'): void {
  requirePermission(p, perm);
  if (p.premiseIds !== null) throw new HttpError(403, 'forbidden', 'billing is organisation data, not available to residents');
}

/**
 * The organisation a call acts for: an API key's own (another one answers 404, as one that does not
 * exist); a user's named one, which they must see (the tenancy resolver).
 */
async function orgOf(q: Queryable, p: Principal, orgId: number | undefined): Promise<number> {
  if (orgId === undefined) {
    if (p.organisationId !== null) return p.organisationId;
    throw badRequest('org_id is required: name the organisation whose billing this is', [{ path: 'querystring.org_id', message: 'required' }]);
  }
  await requireOwned(q, p, 'organisation', orgId);
  return orgId;
}

/** The organisation of a building the caller sees (404 alike for missing and not theirs). */
async function buildingOrg(q: Queryable, p: Principal, buildingId: number): Promise<number> {
  const o = await requireOwned(q, p, 'building', buildingId);
  return o.orgId!;
}

function billingHttp(e: unknown): never {
  if (e instanceof BillingError) throw new HttpError(e.code === 'not_found' ? 404 : e.code === 'closed' ? 409 : 400, e.code === 'closed' ? 'conflict' : e.code, e.message);
  throw e;
}

const camelWord = /\b[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+\b/g;
const snakeName = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
/**
 * A document (a tariff, an edition of the rules) on the wire: snake_case keys, checked by the
 * domain's own schema after toDomain, so its rules (defaults, limits, shares adding up to 1) are
 * written once; a refusal names the field as the client spells it.
 */
function wireDocument<T>(domain: z.ZodType<T>, what: string) {
  return z.record(z.string(), z.unknown()).describe(what).transform((v, ctx) => {
    const r = domain.safeParse(toDomain(v));
    if (r.success) return r.data;
    for (const i of r.error.issues) {
      ctx.addIssue({ code: 'custom', message: i.message.replace(camelWord, snakeName), path: i.path.map((k) => (typeof k === 'string' ? snakeName(k) : typeof k === 'number' ? k : String(k))) });
    }
    return z.NEVER;
  });
}
const TariffDoc = wireDocument(Tariff, 'tariff: {kind: "single", price} | {kind: "zones", prices: [T1, T2(, T3)]} | {kind: "block", blocks: [{up_to, price}, …, {up_to: null, price}]}');
const RulesDoc = wireDocument(BillingRules.omit({ effectiveFrom: true }),
  'billing rules (every field optional, defaults of the regulations): average_max_months, average_min_months, average_mode (monthly|daily), average_max_periods, '
  + 'norm_multiplier, negative_common_house (zero|credit), heating {method, season_months, correction_month, average_max_periods}, zone_shares {two, three}');

const Line = z.object({
  id: z.number(), period: z.string(), building_id: z.number(), account_id: z.string(), resource: z.string(), meter_id: z.string().nullable(),
  method: z.enum(['measured', 'average', 'norm', 'common_house', 'heating']), quantity: z.number(), amount: z.number().describe('kopecks'),
  heating_method: z.enum(['monthly_actual', 'even_over_year', 'heating_season', 'building_average', 'norm', 'annual_correction']).optional()
    .describe('heating by area: how the volume was found (building_average / norm: the building meter had no reading for the month)'),
  parts: z.array(z.object({ label: z.string(), quantity: z.number(), price: z.number(), amount: z.number() })),
  note: z.string().optional(), kind: z.enum(['regular', 'adjustment']), adjustment_kind: z.enum(['reversal', 'recalculated']).nullable(),
  adjusts_period: z.string().nullable(), export_id: z.string(),
});

const csvCell = (v: string | number | null | undefined) => {
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
  total_area: z.number().describe('S_total: m² of all premises with an area, residential and non-residential'),
  residential_area: z.number(), non_residential_area: z.number(),
  without_area: z.array(z.object({ premise_id: z.string(), number: z.string(), kind: z.string() })).describe('premises without an area: no share until it is entered'),
  without_account: z.array(z.object({ premise_id: z.string(), number: z.string(), kind: z.string() })).describe('premises sharing without an account of the organisation: their share is not billed'),
});

const HeatingSchema = z.object({
  method: z.enum(['monthly_actual', 'even_over_year', 'heating_season']).describe('the rules\' method'),
  charged_as: z.enum(['monthly_actual', 'even_over_year', 'heating_season', 'building_average', 'norm']).nullable()
    .describe('what the month was charged by: monthly_actual when even_over_year has no measured previous year; building_average or norm when the building meter has no reading for the month'),
  month_heat: z.number().nullable(), last_year_heat: z.number().nullable(),
  volume: z.number().nullable().describe('Gcal charged for the month'), missing: z.enum(['month', 'last_year']).nullable(),
  fallback: z.union([
    z.object({ kind: z.literal('building_average'), volume: z.number(), months: z.array(z.string()).describe('the measured months averaged (YYYY-MM)'), months_without_reading_before: z.number() }),
    z.object({ kind: z.literal('norm'), volume: z.number(), norm_per_m2: z.number(), total_area: z.number(), months_without_reading_before: z.number() }),
    z.object({ kind: z.literal('none'), reason: z.string(), months_without_reading_before: z.number() }),
  ]).nullable().describe('for a month without a building heat reading (ПП 354 п. 59(1), 60(1)): the fallback used, or why nothing was charged'),
  total_area: z.number(), area_base: AreaBaseSchema,
  correction: z.object({ year: z.number(), actual_heat: z.number(), charged_heat: z.number() }).nullable(),
});

const CommonHouseSchema = z.object({
  resource: z.string(), building_consumption: z.number(), apartments_consumption: z.number(), non_residential_consumption: z.number(),
  volume: z.number(), billed_volume: z.number().describe('Σ of the premises\' capped shares'), excess_over_cap: z.number().describe('Σ over the premises\' caps: the organisation\'s, not billed'),
  negative: z.boolean(), cap_volume: z.number().nullable().describe('norm per m² × common area; null = no cap'),
  area_base: AreaBaseSchema,
  per_premise: z.array(z.object({
    premise_id: z.string(), number: z.string(), kind: z.string(), area: z.number(), account_id: z.string().nullable(),
    share: z.number().describe('volume × Sᵢ / S_total'), cap: z.number().nullable().describe('cap × Sᵢ / S_total'), volume: z.number().describe('billed'), excess: z.number(),
  })),
  without_account_volume: z.number().describe('shares of premises without an account: not billed'),
});

const FeedRowSchema = z.object({
  export_id: z.string(), building_id: z.number(), resource: z.string(), period: z.string(), period_start: z.string(), period_end: z.string(),
  odpu_meter_ids: z.array(z.number()),
  start_reading: z.object({ value: z.number(), time: z.string() }).nullable(), end_reading: z.object({ value: z.number(), time: z.string() }).nullable(),
  consumption: z.number().nullable(), method: z.string().nullable(),
  validation: z.enum(['valid', 'suspect', 'invalid', 'unvalidated', 'no_readings']).describe('worst verdict over the ОДПУ readings of the month'),
  validation_status: z.enum(['validated', 'not_validated']).describe('ОДПУ readings at both bounds valid or accepted, no unreviewed invalid apartment reading, imbalance report stored'),
  reasons: z.array(z.object({ check: z.enum(['odpu_start', 'odpu_end', 'apartment_readings', 'imbalance_report']), message: z.string() })).describe('each failed check'),
  apartments_consumption: z.number().nullable(), imbalance: z.number().nullable(), imbalance_pct: z.number().nullable(),
  imbalance_status: z.string().describe('the stored report\'s status, or report_missing'),
});

const Totals = z.object({
  amount: z.number().describe('kopecks: the sum of the lines\' rounded amounts'), amount_rub: z.string().describe('the same in roubles, exactly two decimals ("375.00")'),
  buildings: z.array(z.object({ building_id: z.number(), lines: z.number(), amount: z.number().describe('kopecks'), amount_rub: z.string() })).describe('per building'),
}).describe('what the lines add up to');
function wireTotals(t: ReturnType<typeof lineTotals>): z.input<typeof Totals> {
  return {
    amount: t.amount, amount_rub: formatRoubles(t.amount),
    buildings: t.buildings.map((b) => ({ building_id: b.buildingId, lines: b.lines, amount: b.amount, amount_rub: formatRoubles(b.amount) })),
  };
}

/** A domain value on the wire: snake_case keys; the response schema checks the shape when it is sent. */
const wire = <S extends z.ZodType>(_schema: S, v: unknown) => toWire(v) as z.input<S>;

const OrgId = z.number().int().positive().optional().describe('the organisation (users); an API key acts for its own');
const TariffBody = fromWire(z.object({ org_id: OrgId, resource: Resource, valid_from: MonthStart, tariff: TariffDoc }));
// basis 'resident': per registered resident per month; 'common_area_m2': per m² of common property (caps the common-house volume);
// 'heating_m2': heat (Gcal) per m² of premises per month of the heating season (heating by area when the building meter has no reading).
const NormBody = fromWire(z.object({
  org_id: OrgId, resource: Resource, basis: z.enum(['resident', 'common_area_m2', 'heating_m2']).default('resident'), valid_from: MonthStart, per_resident: z.number().finite().nonnegative(),
}).refine((b) => b.basis !== 'heating_m2' || b.resource === 'heat', { message: "basis heating_m2 is heat in Gcal per m² of premises: use resource 'heat'", path: ['basis'] }));
const RulesBody = fromWire(z.object({ org_id: OrgId, effective_from: MonthStart, rules: RulesDoc }));
const SettingItem = z.record(z.string(), z.unknown());

const billingRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, readDb }) => {
  // --- versioned settings: tariffs, norms, rules (a new version is a new row; rows are not edited) ---
  function settingRoutes<B extends { org_id?: number }>(kind: SettingKind, owned: OwnedKind, body: z.ZodType<B>, version: (b: B) => SettingVersion): void {
    app.get(`/billing/${kind}`, {
      schema: {
        tags: ['billing'], summary: `All versions of ${kind} of an organisation`, querystring: OrgQuery, response: { 200: z.object({ items: z.array(SettingItem) }), ...errors },
        description: `Every version of the organisation's ${kind}, each in force from its date until the next one. Versions are never edited: a change is a new version, so a closed month keeps being billed by what was in force then.`,
      },
    }, async (req) => {
      const p = principal(req);
      staff(p, 'billing:read');
      const org = await orgOf(db, p, req.query.org_id);
      return { items: wire(z.array(SettingItem), await listSettings(readDb ?? db, kind, org)) };
    });
    app.get(`/billing/${kind}/:id`, {
      schema: {
        tags: ['billing'], summary: `One version of ${kind}`, params: IdParams, response: { 200: SettingItem, ...errors },
        description: `The ${kind} version \`id\`; one of another organisation answers 404.`,
      },
    }, async (req) => {
      const p = principal(req);
      staff(p, 'billing:read');
      await requireOwned(db, p, owned, req.params.id);
      const row = await getSetting(readDb ?? db, kind, req.params.id);
      if (!row) throw new HttpError(404, 'not_found', `${kind} version not found`);
      return wire(SettingItem, row);
    });
    app.post(`/billing/${kind}`, {
      schema: {
        tags: ['billing'], summary: `Add a version of ${kind} (in force from its date; camelCase keys of earlier versions are still understood)`, body, response: { 201: z.object({ id: Id }), ...errors },
        description: `Adds a version of ${kind} in force from the first day of the month it names; audited. A version dated in a closed month does not rewrite it: recalculating that month books the difference in the next open one.`,
      },
    }, async (req, reply) => {
      const p = principal(req);
      staff(p, 'billing:manage');
      const b = req.body as B;
      const org = await orgOf(db, p, b.org_id);
      const id = await addSetting(db, org, version(b), actorOf(req), { after: toWire(b) as object, requestId: req.id });
      return reply.code(201).send({ id });
    });
  }
  settingRoutes('tariffs', 'tariff', TariffBody, (b) => ({ kind: 'tariffs', resource: b.resource, from: b.valid_from, tariff: b.tariff }));
  settingRoutes('norms', 'norm', NormBody, (b) => ({ kind: 'norms', resource: b.resource, basis: b.basis, from: b.valid_from, perResident: b.per_resident }));
  settingRoutes('rules', 'billing_rules', RulesBody, (b) => ({ kind: 'rules', from: b.effective_from, rules: b.rules }));

  // --- accrual runs and period close ---
  const BuildingBody = fromWire(z.object({ building_id: z.number().int().positive().describe('The building to bill') }).meta({ examples: [{ building_id: 12 }] }));
  const ComputeOut = z.object({
    period: z.string(), status: z.enum(['open', 'closed']), lines: z.number(), amount: z.number(), adjustments_in: z.string().nullable(),
    common_house: z.array(CommonHouseSchema).optional(),
    heating: HeatingSchema.nullable().optional(),
  });
  app.post('/billing/periods/:period/compute', {
    schema: {
      tags: ['billing'], summary: 'Compute (or recompute) the accruals of a building for a month',
      description: 'Runs billing for one building and month (`period`, YYYY-MM): consumption × tariff per account, substitutes (average, then norm) where a reading is missing, ОДН shared by area with the cap, heating by area. In an open month the regular lines are replaced; a closed month is never rewritten: it is recalculated into adjustment lines (reversal and correction) of the next open month.',
      params: PeriodParams, body: BuildingBody, response: { 200: ComputeOut, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    staff(p, 'billing:manage');
    const buildingId = req.body.building_id;
    const org = await buildingOrg(db, p, buildingId);
    const period = periodDate(req.params.period);
    const actor = actorOf(req);
    try {
      if (await periodStatus(db, org, period) === 'closed') {
        const r = await recalculateClosed(db, buildingId, period);
        await audit(db, actor, { action: 'recalculate', entity: 'billing_period', entityId: `${org}:${req.params.period}`, buildingId, after: r, requestId: req.id });
        return wire(ComputeOut, { period: req.params.period, status: 'closed', lines: r.lines, amount: r.amountKop, adjustmentsIn: r.target.slice(0, 7) });
      }
      const r = await computePeriod(db, buildingId, period);
      await audit(db, actor, { action: 'compute', entity: 'billing_period', entityId: `${org}:${req.params.period}`, buildingId, after: r, requestId: req.id });
      return wire(ComputeOut, { period: req.params.period, status: 'open', lines: r.lines, amount: r.amountKop, adjustmentsIn: null, commonHouse: r.commonHouse, heating: r.heating });
    } catch (e) {
      billingHttp(e);
    }
  });

  app.post('/billing/periods/:period/recalculate', {
    schema: {
      tags: ['billing'], summary: 'Recalculate a CLOSED month of a building now (after late or corrected readings): the difference is booked as reversal + recalculated lines in the next open month; nothing new books nothing. An open month is refused (compute it).',
      description: 'A closed month is never rewritten: its lines are recomputed with what is known now and the difference is booked in the next open month as a reversal of the old lines plus the recalculated ones, named as a recalculation. Usually this happens by itself when a late or corrected reading arrives; this runs it by hand.',
      params: PeriodParams, body: BuildingBody,
      response: { 200: z.object({ period: z.string(), adjustments_in: z.string(), lines: z.number(), amount: z.number().describe('kopecks') }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    staff(p, 'billing:manage');
    const buildingId = req.body.building_id;
    const org = await buildingOrg(db, p, buildingId);
    try {
      const r = await recalculateClosed(db, buildingId, periodDate(req.params.period));
      await audit(db, actorOf(req), { action: 'recalculate', entity: 'billing_period', entityId: `${org}:${req.params.period}`, buildingId, after: r, requestId: req.id });
      return { period: req.params.period, adjustments_in: r.target.slice(0, 7), lines: r.lines, amount: r.amountKop };
    } catch (e) {
      billingHttp(e);
    }
  });

  app.post('/billing/periods/:period/close', {
    schema: {
      tags: ['billing'], summary: 'Close a month: its lines are frozen from now on', params: PeriodParams, body: fromWire(z.object({ org_id: OrgId })), response: { 204: z.null(), ...errors },
      description: 'Closes the month `period` for the organisation: its lines and reports stay as they are; any later change to that month is booked as adjustments in the next open month. Audited; a month is not reopened.',
    },
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
      description: 'The lines of the month per account and resource: method (reading, average, norm, ОДН, heating by area, adjustment), volume, tariff and amount. With an API key (the billing system) only its organisation\'s lines.',
      querystring: z.object({
        period: Period.describe('The month, YYYY-MM'),
        building_id: z.coerce.number().int().positive().optional().describe('Only this building'),
        resource: Resource.optional().describe('Only this resource'),
        method: Line.shape.method.optional().describe('Only lines charged this way: measured (by meter), average, norm, common_house, heating'),
        org_id: z.coerce.number().int().positive().optional().describe('The organisation (default: the caller\'s own)'),
        format: z.enum(['json', 'csv', 'xlsx', 'pdf']).default('json').describe('json, csv, xlsx, or pdf (invoices: a page per account with its lines and total)'),
      }),
      response: { 200: z.union([z.object({ lines: z.array(Line), totals: Totals }), z.string()]), ...errors },
    },
  }, async (req, reply) => {
    const p = principal(req);
    staff(p, 'billing:read');
    const q = req.query;
    const org = q.building_id ? await buildingOrg(db, p, q.building_id) : await orgOf(db, p, q.org_id);
    const lines = await listLines(readDb ?? db, { orgId: org, period: periodDate(q.period), buildingId: q.building_id, resource: q.resource, method: q.method, buildingIds: p.buildingIds });
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
    if (q.format === 'pdf') {
      const labels = await accountLabels(readDb ?? db, lines.map((l) => l.accountId));
      const pdf = await invoicesPdf(lines, labels, q.period, await organisationName(readDb ?? db, org));
      reply.header('content-disposition', `attachment; filename="invoices-${q.period}.pdf"`);
      return reply.type('application/pdf').send(pdf as unknown as string);
    }
    return { lines: wire(z.array(Line), lines), totals: wireTotals(lineTotals(lines)) };
  });

  app.get('/billing/periods/:period', {
    schema: {
      tags: ['billing'], summary: 'A month of an organisation: open, closed (by whom, when) or not computed yet, and what its lines add up to',
      description: 'The state of the billing month `period` for the organisation, and the total of its lines in the caller\'s buildings (kopecks and roubles): what closing it would freeze. status none: nothing was computed for the month yet.',
      params: PeriodParams, querystring: OrgQuery,
      response: {
        200: z.object({
          period: z.string(), org_id: z.number(), status: z.enum(['none', 'open', 'closed']).describe('none: nothing computed for the month yet'),
          closed_at: z.string().nullable(), closed_by: z.string().nullable().describe('the user who closed it'),
          lines: z.number().describe('lines of the month in the caller\'s buildings'), totals: Totals,
        }),
        ...errors,
      },
    },
  }, async (req) => {
    const p = principal(req);
    staff(p, 'billing:read');
    const org = await orgOf(db, p, req.query.org_id);
    const period = periodDate(req.params.period);
    const state = await periodState(readDb ?? db, org, period);
    const lines = await listLines(readDb ?? db, { orgId: org, period, buildingIds: p.buildingIds });
    return {
      period: req.params.period, org_id: org, status: state?.status ?? ('none' as const), closed_at: state?.closedAt ?? null, closed_by: state?.closedBy ?? null,
      lines: lines.length, totals: wireTotals(lineTotals(lines)),
    };
  });

  app.get('/billing/feed', {
    schema: {
      tags: ['billing'], summary: 'Billing feed: per building and resource, the ОДПУ at the month bounds, consumption, method, validation status (with the failed checks), Σ ИПУ and imbalance from the stored report. Only validated months (ОДПУ readings at both bounds valid or accepted, no unreviewed invalid apartment reading, imbalance report stored) unless include_unvalidated=true; export ids are stable; reading it writes nothing.',
      description: 'What an external billing system takes each month: per building and resource the building meter\'s values at the month bounds, the consumption and how it was obtained, the validation status with the failed checks, and the apartments\' sum and imbalance. Reading it changes nothing.',
      querystring: z.object({
        period: Period.describe('The month, YYYY-MM'),
        org_id: z.coerce.number().int().positive().optional().describe('The organisation (default: the caller\'s own)'),
        include_unvalidated: z.enum(['true', 'false']).default('false').describe('true: also months whose building-meter readings are not validated yet'),
      }),
      response: { 200: z.object({ period: z.string(), items: z.array(FeedRowSchema) }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    staff(p, 'billing:read');
    const org = await orgOf(db, p, req.query.org_id);
    const items = await billingFeed(db, org, periodDate(req.query.period), { includeUnvalidated: req.query.include_unvalidated === 'true', buildingIds: p.buildingIds });
    return { period: req.query.period, items: wire(z.array(FeedRowSchema), items) };
  });
};
export default billingRoutes;
