/**
 * Registry CRUD: organisations, buildings, premises, personal accounts, residents.
 * Meters and replacements are in meter-routes.ts; gateways and bindings in gateway-routes.ts; the SQL in
 * store.ts and crud-store.ts; every id through auth/tenancy.ts.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireOwned, requirePermission } from '../auth/index.js';
import { audit } from '../audit/index.js';
import { notFound } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { actorOf, DateInput, DateOnly, errors, Id, IdParams, Numeric, Timestamp, type RouteDeps } from '../http/context.js';
import { registerCrud } from './crud-routes.js';
import { CRUD_TABLES } from './crud-store.js';
import { buildingCounts, grantCreatedBuilding, insertOrganisation, listOrganisations, loadOrganisation, updateOrganisation } from './store.js';

const text = (max = 500) => z.string().trim().min(1).max(max);
const stamps = { id: Id, created_at: Timestamp, updated_at: Timestamp };

export const OrganisationBody = z.object({ name: text(300), inn: z.string().regex(/^\d{10}(\d{2})?$/, 'ИНН: 10 or 12 digits').optional() });
const OrganisationRow = z.object({ ...stamps, name: z.string(), inn: z.string().nullable() });

export const BuildingBody = z.object({
  org_id: z.number().int().positive(),
  external_id: text(100).optional(),
  address: text(),
  city: text(200).optional(),
  fias_id: text(64).optional(),
  year_built: z.number().int().min(1700).max(2100).optional(),
  floors: z.number().int().min(1).max(300).optional(),
  total_area_m2: z.number().nonnegative().optional(),
  common_area_m2: z.number().nonnegative().optional(),
  timezone: text(64).optional(),
  /**
   * Which month a manual reading's consumption belongs to: 'window' (default; ПП 354) — the reading
   * taken in month M's collection window closes M; 'calendar' — every meter interpolated to the
   * month's bounds. Telemetered meters are interpolated either way (docs/billing.md).
   */
  period_attribution: z.enum(['window', 'calendar'], { message: "period_attribution: 'window' (manual readings by their collection window) or 'calendar' (always interpolate to the month's bounds)" }).optional(),
});
const BuildingRow = z.object({
  ...stamps, org_id: Id, external_id: z.string().nullable(), address: z.string(), city: z.string().nullable(), fias_id: z.string().nullable(),
  year_built: z.number().nullable(), floors: z.number().nullable(), total_area_m2: Numeric.nullable(), common_area_m2: Numeric.nullable(), timezone: z.string(),
  period_attribution: z.enum(['window', 'calendar']),
});

const BuildingCountsRow = z.object({
  building_id: Id.describe('The building'),
  premises: z.number().int().describe('Premises (flats and non-residential units) of the building'),
  accounts: z.number().int().describe('Active personal accounts of its premises'),
  meters: z.number().int().describe('Meters of the building and its premises not removed from service'),
  gateways: z.number().int().describe('Gateways assigned to the building'),
});

export const PremiseBody = z.object({
  building_id: z.number().int().positive(),
  number: text(32),
  kind: z.enum(['residential', 'non_residential']).optional(),
  floor: z.number().int().min(-10).max(300).optional(),
  entrance: text(32).optional(),
  area_m2: z.number().nonnegative().optional(),
  residents: z.number().int().nonnegative().optional(),
});
const PremiseRow = z.object({
  ...stamps, building_id: Id, number: z.string(), kind: z.string(), floor: z.number().nullable(), entrance: z.string().nullable(),
  area_m2: Numeric.nullable(), residents: z.number(),
});

export const AccountBody = z.object({
  org_id: z.number().int().positive(),
  number: text(64),
  premise_id: z.number().int().positive(),
  holder_name: text(300).optional(),
  share: z.number().gt(0).max(1).optional(),
  active: z.boolean().optional(),
  opened_on: DateInput.optional(),
  closed_on: DateInput.optional(),
});
const AccountRow = z.object({
  ...stamps, org_id: Id, number: z.string(), premise_id: Id, holder_name: z.string().nullable(), share: Numeric, active: z.boolean(),
  opened_on: DateOnly.nullable(), closed_on: DateOnly.nullable(),
});

export const ResidentBody = z.object({
  account_id: z.number().int().positive(),
  full_name: text(300),
  phone: text(32).optional(),
  email: z.email().optional(),
  registered: z.boolean().optional(),
});
const ResidentRow = z.object({
  ...stamps, account_id: Id, full_name: z.string(), phone: z.string().nullable(), email: z.string().nullable(), registered: z.boolean(),
});

const registryRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db }) => {
  app.get('/organisations', {
    schema: {
      tags: ['registry'], response: { 200: z.array(OrganisationRow), ...errors },
      summary: 'Organisations visible to the caller',
      description: 'Managing organisations (УО): every one for an admin, else the organisations of the caller\'s buildings.',
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'registry:read');
    return listOrganisations(db, p);
  });
  app.get('/organisations/:id', {
    schema: {
      tags: ['registry'], params: IdParams, response: { 200: OrganisationRow, ...errors },
      summary: 'One organisation',
      description: 'The organisation `id`; one the caller may not see answers 404, like one that does not exist.',
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'registry:read');
    await requireOwned(db, p, 'organisation', req.params.id);
    const row = await loadOrganisation(db, req.params.id);
    if (!row) throw notFound('organisation');
    return row;
  });
  app.post('/organisations', {
    schema: {
      tags: ['registry'], body: OrganisationBody, response: { 201: OrganisationRow, ...errors },
      summary: 'Create an organisation',
      description: 'Creates a managing organisation; its buildings, premises and accounts are created under it. A duplicate external id answers 409. Audited.',
    },
  }, async (req, reply) => {
    requirePermission(principal(req), 'users:manage');
    const row = await db.tx(async (q) => {
      const created = await insertOrganisation(q, { name: req.body.name, inn: req.body.inn ?? null });
      await audit(q, actorOf(req), { action: 'create', entity: 'organisation', entityId: Number(created.id), after: created, requestId: req.id });
      return created;
    });
    return reply.code(201).send(row);
  });
  app.patch('/organisations/:id', {
    schema: {
      tags: ['registry'], params: IdParams, body: OrganisationBody.partial(), response: { 200: OrganisationRow, ...errors },
      summary: 'Change an organisation',
      description: 'Changes the fields given of the organisation `id`; audited with the values before and after.',
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'users:manage');
    return db.tx(async (q) => {
      await requireOwned(q, p, 'organisation', req.params.id);
      const before = await loadOrganisation(q, req.params.id, { forUpdate: true });
      if (!before) throw notFound('organisation');
      const after = await updateOrganisation(q, req.params.id, req.body);
      await audit(q, actorOf(req), { action: 'update', entity: 'organisation', entityId: req.params.id, before, after, requestId: req.id });
      return after;
    });
  });

  app.get('/buildings/counts', {
    schema: {
      tags: ['registry'], response: { 200: z.array(BuildingCountsRow), ...errors },
      summary: 'What each visible building holds: premises, active accounts, meters in service, gateways',
      description: 'One row per building the caller may see (admins: every one; staff: the buildings granted), in id order: the numbers the registry\'s list of buildings shows beside each address.',
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'registry:read');
    return buildingCounts(db, p);
  });

  registerCrud(app, db, {
    entity: 'building', kind: 'building', tag: 'registry', path: '/buildings', ...CRUD_TABLES.building, create: BuildingBody, row: BuildingRow, frozen: ['org_id'],
    // Admins create buildings anywhere; other staff only in an organisation where they already have one.
    refs: [{ field: 'org_id', kind: 'organisation' }],
    afterCreate: (q, row, p) => grantCreatedBuilding(q, p, Number(row.id)),
  });
  registerCrud(app, db, {
    entity: 'premise', kind: 'premise', tag: 'registry', path: '/premises', ...CRUD_TABLES.premise, create: PremiseBody, row: PremiseRow, frozen: ['building_id'],
    refs: [{ field: 'building_id', kind: 'building' }],
  });
  registerCrud(app, db, {
    entity: 'personal_account', kind: 'account', tag: 'registry', path: '/accounts', ...CRUD_TABLES.personal_account, create: AccountBody, row: AccountRow, frozen: ['org_id'],
    // An account stays in its organisation: its premise, on creation and on every move, is one of the account's organisation's.
    refs: [{ field: 'org_id', kind: 'organisation' }, { field: 'premise_id', kind: 'premise', sameOrgAs: 'org_id' }],
  });
  registerCrud(app, db, {
    entity: 'resident', kind: 'resident', tag: 'registry', path: '/residents', ...CRUD_TABLES.resident, create: ResidentBody, row: ResidentRow, frozen: ['account_id'],
    refs: [{ field: 'account_id', kind: 'account' }],
  });
};

export default registryRoutes;
