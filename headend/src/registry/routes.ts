/**
 * Registry CRUD: organisations, buildings, premises, personal accounts, residents.
 * Meters and replacements are in meters.ts; gateways and bindings in gateways.ts.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ownerOf, requirePermission, requireSameOrg } from '../auth/index.js';
import { audit } from '../audit/index.js';
import { HttpError, notFound } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { actorOf, DateInput, DateOnly, errors, Id, IdParams, Numeric, Timestamp, type RouteDeps } from '../http/context.js';
import { buildingOf, registerCrud } from './crud-routes.js';

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
  // Organisations are not inside one building: admins manage them; others see those they have buildings in.
  app.get('/organisations', { schema: { tags: ['registry'], response: { 200: z.array(OrganisationRow), ...errors } } }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'registry:read');
    if (p.buildingIds === null) return (await db.query('SELECT * FROM organisations ORDER BY id')).rows;
    return (await db.query('SELECT * FROM organisations o WHERE EXISTS (SELECT 1 FROM buildings b WHERE b.org_id = o.id AND b.id = ANY($1::bigint[])) ORDER BY id', [[...p.buildingIds]])).rows;
  });
  app.get('/organisations/:id', { schema: { tags: ['registry'], params: IdParams, response: { 200: OrganisationRow, ...errors } } }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'registry:read');
    const row = (await db.query('SELECT * FROM organisations WHERE id = $1', [req.params.id])).rows[0];
    const visible = row && (p.buildingIds === null || p.organisationId === row.id
      || (await db.query('SELECT 1 FROM buildings WHERE org_id = $1 AND id = ANY($2::bigint[]) LIMIT 1', [row.id, [...p.buildingIds]])).rows.length > 0);
    if (!visible) throw notFound('organisation');
    return row;
  });
  app.post('/organisations', { schema: { tags: ['registry'], body: OrganisationBody, response: { 201: OrganisationRow, ...errors } } }, async (req, reply) => {
    requirePermission(principal(req), 'users:manage');
    const row = await db.tx(async (q) => {
      const { rows } = await q.query('INSERT INTO organisations (name, inn) VALUES ($1, $2) RETURNING *', [req.body.name, req.body.inn ?? null]);
      await audit(q, actorOf(req), { action: 'create', entity: 'organisation', entityId: rows[0].id, after: rows[0], requestId: req.id });
      return rows[0];
    });
    return reply.code(201).send(row);
  });
  app.patch('/organisations/:id', { schema: { tags: ['registry'], params: IdParams, body: OrganisationBody.partial(), response: { 200: OrganisationRow, ...errors } } }, async (req) => {
    requirePermission(principal(req), 'users:manage');
    return db.tx(async (q) => {
      const before = (await q.query('SELECT * FROM organisations WHERE id = $1 FOR UPDATE', [req.params.id])).rows[0];
      if (!before) throw notFound('organisation');
      const { rows } = await q.query('UPDATE organisations SET name = COALESCE($2, name), inn = COALESCE($3, inn), updated_at = now() WHERE id = $1 RETURNING *', [req.params.id, req.body.name ?? null, req.body.inn ?? null]);
      await audit(q, actorOf(req), { action: 'update', entity: 'organisation', entityId: req.params.id, before, after: rows[0], requestId: req.id });
      return rows[0];
    });
  });

  registerCrud(app, db, {
    entity: 'building', tag: 'registry', path: '/buildings', table: 'buildings', create: BuildingBody, row: BuildingRow, frozen: ['org_id'],
    buildingSql: 't.id', filters: { org_id: 't.org_id', external_id: 't.external_id' },
    buildingOfNew: async () => null,
    // Admins create buildings anywhere; other staff only in an organisation where they already have one.
    async authorizeCreate(q, body, p) {
      if (p.buildingIds === null) return;
      const { rows } = await q.query('SELECT 1 FROM buildings WHERE org_id = $1 AND id = ANY($2::bigint[]) LIMIT 1', [body.org_id, [...p.buildingIds]]);
      if (!rows.length) throw new HttpError(403, 'forbidden', `no access to organisation ${String(body.org_id)}`);
    },
    // The creator of a building can see it: staff other than admin get a grant on it.
    async afterCreate(q, row, p) {
      if (p.kind === 'user' && p.buildingIds !== null) await q.query('INSERT INTO user_building_grants (user_id, building_id) VALUES ($1, $2)', [p.id, row.id]);
    },
  });
  registerCrud(app, db, {
    entity: 'premise', tag: 'registry', path: '/premises', table: 'premises', create: PremiseBody, row: PremiseRow, frozen: ['building_id'],
    buildingSql: 't.building_id', filters: { building_id: 't.building_id', number: 't.number' },
    buildingOfNew: async (q, b) => buildingOf(q, 'SELECT id AS b FROM buildings WHERE id = $1', [b.building_id]),
  });
  registerCrud(app, db, {
    entity: 'personal_account', tag: 'registry', path: '/accounts', table: 'personal_accounts', create: AccountBody, row: AccountRow, frozen: ['org_id'],
    buildingSql: '(SELECT p.building_id FROM premises p WHERE p.id = t.premise_id)',
    filters: { premise_id: 't.premise_id', number: 't.number', org_id: 't.org_id', active: 't.active' },
    async buildingOfNew(q, b) {
      const r = (await q.query<{ building_id: number; org_id: number }>('SELECT p.building_id, bl.org_id FROM premises p JOIN buildings bl ON bl.id = p.building_id WHERE p.id = $1', [b.premise_id])).rows[0];
      if (r && Number(r.org_id) !== b.org_id) throw new HttpError(400, 'bad_request', `premise ${b.premise_id} belongs to organisation ${r.org_id}, not ${b.org_id}`, [{ path: 'body.org_id', message: 'must be the premise\'s organisation' }]);
      return r ? Number(r.building_id) : null;
    },
    // An account stays in its organisation: a new premise must be one of the account's organisation's.
    async afterUpdate(q, before, after) {
      if (Number(before.premise_id) === Number(after.premise_id)) return;
      const o = await ownerOf(q, 'premise', Number(after.premise_id));
      requireSameOrg(o?.orgId ?? null, Number(after.org_id), 'premise_id', `premise ${String(after.premise_id)}`);
    },
  });
  registerCrud(app, db, {
    entity: 'resident', tag: 'registry', path: '/residents', table: 'residents', create: ResidentBody, row: ResidentRow, frozen: ['account_id'],
    buildingSql: '(SELECT p.building_id FROM personal_accounts a JOIN premises p ON p.id = a.premise_id WHERE a.id = t.account_id)',
    filters: { account_id: 't.account_id' },
    buildingOfNew: async (q, b) => buildingOf(q, 'SELECT p.building_id AS b FROM personal_accounts a JOIN premises p ON p.id = a.premise_id WHERE a.id = $1', [b.account_id]),
  });
};

export default registryRoutes;
