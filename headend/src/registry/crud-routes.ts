/**
 * Generic list / get / create / update for registry tables, so each entity is declared once (its zod
 * body, how to find its building, which fields are frozen) and gets the same behaviour: building-scope
 * checks, 404 for what the caller may not see, and an audit row with before/after in the same
 * transaction. No delete: registry rows are deactivated, never deleted (readings refer to them).
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Database, Queryable } from '../db/types.js';
import { buildingScopeSql, premiseScopeSql, requireBuilding, requirePremise, requirePermission, type Permission, type Principal } from '../auth/index.js';
import { audit } from '../audit/index.js';
import { badRequest, notFound } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { actorOf, errors, IdParams } from '../http/context.js';

export interface EntitySpec<C extends z.ZodObject, R extends z.ZodType> {
  entity: string; // audit name, e.g. 'premise'
  tag: string;
  path: string; // '/premises'
  table: string;
  create: C;
  /** Fields that cannot change after creation (e.g. the premise's building). */
  frozen?: readonly (keyof z.infer<C>)[];
  row: R;
  /** SQL expression for the row's building id, over alias `t`. */
  buildingSql: string;
  /** Building the new row will belong to (checked against the caller's scope before insert). */
  buildingOfNew(q: Queryable, body: z.infer<C>): Promise<number | null>;
  /** Query filters: query key → SQL column over `t`. */
  filters?: Record<string, string>;
  writePermission?: Permission;
  readPermission?: Permission;
  /** SQL expression for the row's premise id over `t` (residents see only their premises' rows). */
  premiseSql?: string;
  /** Completes/validates a new row inside the transaction (e.g. derive building_id from the premise). */
  prepare?(q: Queryable, body: z.infer<C>): Promise<Record<string, unknown>>;
  /** Extra authorisation for a new row (beyond the parent building's scope), inside the transaction. */
  authorizeCreate?(q: Queryable, body: Record<string, unknown>, p: Principal): Promise<void>;
  /** After insert, inside the same transaction. */
  afterCreate?(q: Queryable, row: any, p: Principal): Promise<void>;
  /** After an update, inside the same transaction: throwing refuses the whole change. */
  afterUpdate?(q: Queryable, before: any, after: any): Promise<void>;
  /** After an update has committed: side effects elsewhere (jobs); a failure is the hook's to report. */
  afterCommit?(before: any, after: any): Promise<void>;
}

export async function buildingOf(q: Queryable, sql: string, params: unknown[]): Promise<number | null> {
  const { rows } = await q.query<{ b: number | null }>(sql, params);
  return rows[0]?.b == null ? null : Number(rows[0].b);
}

function columnsOf(body: Record<string, unknown>): [string[], unknown[]] {
  const entries = Object.entries(body).filter(([, v]) => v !== undefined);
  return [entries.map(([k]) => k), entries.map(([, v]) => v)];
}

export function registerCrud<C extends z.ZodObject, R extends z.ZodType>(app0: FastifyInstance, db: Database, spec: EntitySpec<C, R>): void {
  // Generic over the entity's schemas, which fastify's route typing cannot follow; bodies are validated by the schemas all the same.
  const app = app0.withTypeProvider<ZodTypeProvider>() as any;
  const write = spec.writePermission ?? 'registry:write';
  const read = spec.readPermission ?? 'registry:read';
  const selectOne = `SELECT t.*, (${spec.buildingSql}) AS _building_id, (${spec.premiseSql ?? 'NULL::bigint'}) AS _premise_id FROM ${spec.table} t WHERE t.id = $1`;
  const strip = ({ _building_id: _b, _premise_id: _p, ...row }: Record<string, unknown>) => row;
  const filterKeys = Object.keys(spec.filters ?? {});
  const ListQuery = z.object({
    limit: z.coerce.number().int().min(1).max(5000).default(500),
    offset: z.coerce.number().int().min(0).default(0),
    ...Object.fromEntries(filterKeys.map((k) => [k, z.string().max(200).optional()])),
  });
  // PATCH: any subset of the non-frozen fields; null clears an optional one (NOT NULL columns refuse it with a 400).
  const frozen = new Set<string>((spec.frozen ?? []) as string[]);
  const Update = z.object(Object.fromEntries(Object.entries(spec.create.shape)
    .filter(([k]) => !frozen.has(k))
    // A create-time default must not fire on PATCH (an absent field means "leave it").
    .map(([k, t]) => [k, (t instanceof z.ZodDefault ? (t.unwrap() as z.ZodType) : (t as z.ZodType)).nullable().optional()])));

  app.get(spec.path, {
    schema: { tags: [spec.tag], summary: `List ${spec.entity} records visible to the caller`, querystring: ListQuery, response: { 200: z.array(spec.row), ...errors } },
  }, async (req: any) => {
    const p = principal(req);
    requirePermission(p, read);
    const params: unknown[] = [];
    const where = [buildingScopeSql(p, `(${spec.buildingSql})`, params)];
    if (p.premiseIds !== null) where.push(spec.premiseSql ? premiseScopeSql(p, `(${spec.premiseSql})`, params) : 'FALSE');
    const query = req.query as Record<string, string | number | undefined>;
    for (const k of filterKeys) {
      if (query[k] === undefined) continue;
      params.push(query[k]);
      where.push(`${spec.filters![k]}::text = $${params.length}`);
    }
    params.push(query.limit, query.offset);
    const { rows } = await db.query(`SELECT t.* FROM ${spec.table} t WHERE ${where.join(' AND ')} ORDER BY t.id LIMIT $${params.length - 1} OFFSET $${params.length}`, params);
    return rows as never;
  });

  app.get(`${spec.path}/:id`, {
    schema: { tags: [spec.tag], params: IdParams, response: { 200: spec.row, ...errors } },
  }, async (req: any) => {
    const p = principal(req);
    requirePermission(p, read);
    const row = (await db.query(selectOne, [req.params.id])).rows[0];
    if (!row) throw notFound(spec.entity);
    requirePremise(p, row._premise_id, row._building_id, spec.entity);
    return strip(row) as never;
  });

  app.post(spec.path, {
    schema: { tags: [spec.tag], body: spec.create, response: { 201: spec.row, ...errors } },
  }, async (req: any, reply: any) => {
    const p = principal(req);
    requirePermission(p, write);
    const row = await db.tx(async (q) => {
      const body = spec.prepare ? await spec.prepare(q, req.body as z.infer<C>) : (req.body as Record<string, unknown>);
      const b = await spec.buildingOfNew(q, body as z.infer<C>);
      if (spec.authorizeCreate) await spec.authorizeCreate(q, body, p);
      else requireBuilding(p, b, 'parent');
      const [cols, vals] = columnsOf(body);
      const { rows } = await q.query(`INSERT INTO ${spec.table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`, vals);
      await audit(q, actorOf(req), { action: 'create', entity: spec.entity, entityId: rows[0].id, buildingId: b, after: rows[0], requestId: req.id });
      await spec.afterCreate?.(q, rows[0], p);
      return rows[0];
    });
    return reply.code(201).send(row as never);
  });

  app.patch(`${spec.path}/:id`, {
    schema: { tags: [spec.tag], params: IdParams, body: Update, response: { 200: spec.row, ...errors } },
  }, async (req: any) => {
    const p = principal(req);
    requirePermission(p, write);
    const { before, after } = await db.tx(async (q) => {
      const before = (await q.query(`${selectOne} FOR UPDATE OF t`, [req.params.id])).rows[0];
      if (!before) throw notFound(spec.entity);
      requireBuilding(p, before._building_id, spec.entity);
      const [cols, vals] = columnsOf(req.body as Record<string, unknown>);
      if (cols.length === 0) return { before: strip(before), after: null };
      const { rows } = await q.query(
        `UPDATE ${spec.table} SET ${cols.map((c, i) => `${c} = $${i + 2}`).join(', ')}, updated_at = now() WHERE id = $1 RETURNING *`,
        [req.params.id, ...vals],
      );
      // The scope check applies to the new value too: a change must not move the row out of what the caller may see
      // (e.g. an account into another organisation's premise). Throwing here rolls the update back.
      const moved = (await q.query(selectOne, [req.params.id])).rows[0];
      if (Number(moved._building_id) !== Number(before._building_id) || Number(moved._premise_id) !== Number(before._premise_id)) {
        try {
          requirePremise(p, moved._premise_id == null ? null : Number(moved._premise_id), moved._building_id == null ? null : Number(moved._building_id), spec.entity);
        } catch {
          const field = cols.find((c) => c.endsWith('_id')) ?? cols[0];
          throw badRequest(`${field}: the change would move this ${spec.entity} where you have no access (a building or premise not granted to you); pick one of your own`,
            [{ path: `body.${field}`, message: 'not in your buildings' }]);
        }
      }
      await spec.afterUpdate?.(q, strip(before), rows[0]);
      await audit(q, actorOf(req), { action: 'update', entity: spec.entity, entityId: req.params.id, buildingId: before._building_id, before: strip(before), after: rows[0], requestId: req.id });
      return { before: strip(before), after: rows[0] };
    });
    if (after === null) return before as never;
    await spec.afterCommit?.(before, after);
    return after as never;
  });
}
