/**
 * Generic list / get / create / update for registry tables, so each entity is declared once (its zod
 * body, its kind for the tenancy resolver, the records it refers to, which fields are frozen) and gets
 * the same behaviour: every id through auth/tenancy.ts (404 for a row the caller may not see, 400
 * naming the field for a reference to something not theirs or in another organisation), and an audit
 * row with before/after in the same transaction. The SQL is in crud-store.ts. No delete: registry rows
 * are deactivated, never deleted (readings refer to them).
 */
import { z } from 'zod';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Database, Queryable } from '../db/types.js';
import { requireBodyRef, requireOwned, requirePermission, type OwnedKind, type Owner, type Permission, type Principal } from '../auth/index.js';
import { audit } from '../audit/index.js';
import { notFound } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { actorOf, errors, IdParams } from '../http/context.js';
import { buildingOfRow, insertRow, listRows, loadRow, updateRow, type Row, type TableSpec } from './crud-store.js';

/** A body value against the stored one: ids may come back from pg as text ('5' and 5 are the same), documents as objects. */
function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'object' || typeof b === 'object') return JSON.stringify(a) === JSON.stringify(b);
  return `${a as string | number | boolean | bigint}` === `${b as string | number | boolean | bigint}`;
}

export type { Row } from './crud-store.js';

/**
 * A record the entity refers to by an id in its body: resolved through the tenancy resolver on create
 * and on every change. `sameOrgAs` names the body field (or, on update, the row's column) holding the
 * organisation the referred record must belong to.
 */
export interface Ref { field: string; kind: OwnedKind; sameOrgAs?: string }

export interface EntitySpec<C extends z.ZodObject> extends TableSpec {
  entity: string; // audit name, e.g. 'premise'
  /** The kind of row for auth/tenancy.ts. */
  kind: OwnedKind;
  tag: string;
  path: string; // '/premises'
  create: C;
  /** Fields that cannot change after creation (e.g. the premise's building). */
  frozen?: readonly (keyof z.infer<C>)[];
  /** Every id field of the body that is not frozen, and every parent a new row hangs on. */
  refs: readonly Ref[];
  row: z.ZodType;
  writePermission?: Permission;
  readPermission?: Permission;
  /** Completes/validates a new row inside the transaction (e.g. derive building_id from the premise). */
  prepare?(q: Queryable, body: z.infer<C>): Promise<Record<string, unknown>>;
  /** After insert, inside the same transaction. */
  afterCreate?(q: Queryable, row: Row, p: Principal): Promise<void>;
  /** After an update, inside the same transaction: throwing refuses the whole change. */
  afterUpdate?(q: Queryable, before: Row, after: Row): Promise<void>;
  /** After an update has committed: side effects elsewhere (jobs); a failure is the hook's to report. */
  afterCommit?(before: Row, after: Row): Promise<void>;
}

const idOf = (v: unknown): number | string | null => (typeof v === 'number' || typeof v === 'string' ? v : null);
const orgOf = (v: unknown): number | null => (v == null ? null : Number(v));

/** Resolves the references present in `values` (null and absent ones skipped); the owners of those found. */
async function resolveRefs(q: Queryable, p: Principal, refs: readonly Ref[], values: Record<string, unknown>, orgSource: Record<string, unknown>): Promise<Owner[]> {
  const owners: Owner[] = [];
  for (const r of refs) {
    const id = idOf(values[r.field]);
    if (id === null) continue;
    owners.push(await requireBodyRef(q, p, r.kind, id, r.field, r.sameOrgAs ? orgOf(orgSource[r.sameOrgAs]) : undefined));
  }
  return owners;
}

export function registerCrud<C extends z.ZodObject>(app: FastifyInstance, db: Database, spec: EntitySpec<C>): void {
  const write = spec.writePermission ?? 'registry:write';
  const read = spec.readPermission ?? 'registry:read';
  const filterKeys = Object.keys(spec.filters ?? {});
  const ListQuery = z.object({
    limit: z.coerce.number().int().min(1).max(5000).default(500).describe('Most records in one answer (1–5000)'),
    offset: z.coerce.number().int().min(0).default(0).describe('Records to skip, for the next page'),
    ...Object.fromEntries(filterKeys.map((k) => [k, z.string().max(200).optional().describe(`Only ${spec.entity} records whose ${k} equals this value`)])),
  });
  // PATCH: any subset of the non-frozen fields; null clears an optional one (NOT NULL columns refuse it with a 400).
  const frozen = new Set<string>(spec.frozen?.map(String) ?? []);
  const Update = z.object(Object.fromEntries(Object.entries(spec.create.shape)
    .filter(([k]) => !frozen.has(k))
    // A create-time default must not fire on PATCH (an absent field means "leave it").
    .map(([k, t]) => [k, (t instanceof z.ZodDefault ? (t.unwrap() as z.ZodType) : (t as z.ZodType)).nullable().optional()])));
  // A record id (numeric *_id; external_id and fias_id are text) a PATCH may change but no Ref resolves would let a row be moved unchecked: refuse to start.
  const unchecked = Object.entries(Update.shape)
    .filter(([k, t]) => k.endsWith('_id') && (t as z.ZodType).safeParse(1).success && !spec.refs.some((r) => r.field === k)).map(([k]) => k);
  if (unchecked.length) throw new Error(`${spec.entity}: ${unchecked.join(', ')} can change but is not a Ref resolved through auth/tenancy.ts`);

  app.get(spec.path, {
    schema: {
      tags: [spec.tag], summary: `List ${spec.entity} records visible to the caller`, querystring: ListQuery, response: { 200: z.array(spec.row), ...errors },
      description: `The ${spec.entity} records of the buildings and organisations the caller is granted, in id order, one page at a time (limit, offset)${filterKeys.length ? `; filters: ${filterKeys.join(', ')}` : ''}.`,
    },
  }, async (req: FastifyRequest) => {
    const p = principal(req);
    requirePermission(p, read);
    const query: Record<string, unknown> & { limit: number; offset: number } = ListQuery.parse(req.query);
    const values = Object.fromEntries(filterKeys.map((k) => { const v = query[k]; return [k, typeof v === 'string' ? v : undefined]; }));
    return listRows(db, spec, p, { values, limit: query.limit, offset: query.offset });
  });

  app.get(`${spec.path}/:id`, {
    schema: {
      tags: [spec.tag], params: IdParams, response: { 200: spec.row, ...errors },
      summary: `One ${spec.entity} record`,
      description: `The ${spec.entity} record with this id. A record outside the caller's buildings answers 404, like one that does not exist.`,
    },
  }, async (req: FastifyRequest) => {
    const p = principal(req);
    requirePermission(p, read);
    const { id } = IdParams.parse(req.params);
    await requireOwned(db, p, spec.kind, id);
    const row = await loadRow(db, spec, id);
    if (!row) throw notFound(spec.entity);
    return row;
  });

  app.post(spec.path, {
    schema: {
      tags: [spec.tag], body: spec.create, response: { 201: spec.row, ...errors },
      summary: `Create a ${spec.entity} record`,
      description: `Creates a ${spec.entity} record and audits it. Every record the body refers to by id must be one the caller may see (404 otherwise); a duplicate of a unique field answers 409.`,
    },
  }, async (req: FastifyRequest, reply: FastifyReply) => {
    const p = principal(req);
    requirePermission(p, write);
    const input = spec.create.parse(req.body);
    const row = await db.tx(async (q) => {
      // The parents first: nothing about a record the caller may not see (its kind, its building) is told by prepare's checks.
      const owners = await resolveRefs(q, p, spec.refs, input, input);
      const body = spec.prepare ? await spec.prepare(q, input) : input;
      const building = owners.find((o) => o.buildingId !== null)?.buildingId ?? null;
      const created = await insertRow(q, spec, body);
      await audit(q, actorOf(req), { action: 'create', entity: spec.entity, entityId: Number(created.id), buildingId: building, after: created, requestId: req.id });
      await spec.afterCreate?.(q, created, p);
      return created;
    });
    return reply.code(201).send(row);
  });

  app.patch(`${spec.path}/:id`, {
    schema: {
      tags: [spec.tag], params: IdParams, body: Update, response: { 200: spec.row, ...errors },
      summary: `Change a ${spec.entity} record`,
      description: `Changes the fields given (any subset; null clears an optional field) and audits the change with the values before and after.${frozen.size ? ` Fixed after creation: ${[...frozen].join(', ')}.` : ''}`,
    },
  }, async (req: FastifyRequest) => {
    const p = principal(req);
    requirePermission(p, write);
    const { id } = IdParams.parse(req.params);
    const body: Record<string, unknown> = Update.parse(req.body);
    const { before, after } = await db.tx(async (q) => {
      await requireOwned(q, p, spec.kind, id);
      const before = await loadRow(q, spec, id, { forUpdate: true });
      if (!before) throw notFound(spec.entity);
      // A changed reference is checked like a new one, against the organisation of the row as it is:
      // nothing moves into a record the caller cannot see, nor into another organisation.
      const changed = Object.fromEntries(Object.entries(body).filter(([k, v]) => v != null && !sameValue(v, before[k])));
      await resolveRefs(q, p, spec.refs, changed, before);
      const building = await buildingOfRow(q, spec, id);
      const after = await updateRow(q, spec, id, body);
      if (after === null) return { before, after: null };
      await spec.afterUpdate?.(q, before, after);
      await audit(q, actorOf(req), { action: 'update', entity: spec.entity, entityId: id, buildingId: building, before, after, requestId: req.id });
      return { before, after };
    });
    if (after === null) return before;
    await spec.afterCommit?.(before, after);
    return after;
  });
}
