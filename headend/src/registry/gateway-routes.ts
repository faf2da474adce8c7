/**
 * Gateways (= MQTT identities) and bindings (gateway + bus + address → meter).
 * Creating a gateway (or rotating its credentials) returns the MQTT password once; only its scrypt
 * hash is stored, in the format the broker's authenticator verifies.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { buildingScopeSql, hashPassword, randomSecret, requireBodyRef, requireOwned, requirePermission } from '../auth/index.js';
import { audit } from '../audit/index.js';
import { notFound } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { actorOf, errors, Id, IdParams, Timestamp, type RouteDeps } from '../http/context.js';

const GatewayId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'gateway id: letters, digits, _ . - (max 64), starting with a letter or digit');
const GwParams = z.object({ id: GatewayId });
const GatewayRow = z.object({
  id: z.string(), name: z.string().nullable(), building_id: Id.nullable(), status: z.string(), online: z.boolean(),
  last_seen_at: Timestamp.nullable(), last_status: z.unknown(), created_at: Timestamp, updated_at: Timestamp,
  open_quarantine: z.coerce.number().optional(),
});
const GATEWAY_COLUMNS = 'id, name, building_id, status, online, last_seen_at, last_status, created_at, updated_at';
const BindingRow = z.object({ id: Id, gateway_id: z.string(), bus: z.string(), address: z.string(), meter_id: Id, /** null = since ever (the first binding of an address covers earlier readings too). */
  valid_from: z.unknown().transform((v) => (typeof v === 'number' || v === '-infinity' || v == null ? null : new Date(v as string).toISOString())).pipe(z.string().nullable()), valid_to: Timestamp.nullable(), created_at: Timestamp });

const gatewayRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db }) => {
  /** The gateway if the caller may see it (its building in scope; unassigned: admins only), else 404. */
  async function loadGateway(p: Parameters<typeof requireOwned>[1], id: string) {
    await requireOwned(db, p, 'gateway', id);
    const gw = (await db.query(`SELECT ${GATEWAY_COLUMNS} FROM gateways WHERE id = $1`, [id])).rows[0];
    if (!gw) throw notFound('gateway');
    return gw;
  }

  app.get('/gateways', {
    schema: { tags: ['gateways'], summary: 'Gateways with online state, last seen and open quarantine count', querystring: z.object({ building_id: z.coerce.number().int().optional() }), response: { 200: z.array(GatewayRow), ...errors } },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'registry:read');
    const params: unknown[] = [];
    // Unassigned gateways (no building) are visible to admins only.
    const where = [p.buildingIds === null ? 'TRUE' : buildingScopeSql(p, 'g.building_id', params)];
    if (req.query.building_id) { params.push(req.query.building_id); where.push(`g.building_id = $${params.length}`); }
    return (await db.query(
      `SELECT ${GATEWAY_COLUMNS.split(', ').map((c) => `g.${c}`).join(', ')},
              (SELECT count(*) FROM quarantine q WHERE q.gateway_id = g.id AND q.resolved_at IS NULL) AS open_quarantine
         FROM gateways g WHERE ${where.join(' AND ')} ORDER BY g.id`, params)).rows;
  });

  app.get('/gateways/:id', { schema: { tags: ['gateways'], params: GwParams, response: { 200: GatewayRow, ...errors } } }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'registry:read');
    const gw = await loadGateway(p, req.params.id);
    return gw;
  });

  app.post('/gateways', {
    schema: {
      tags: ['gateways'], summary: 'Register a gateway; the response carries its MQTT password, shown only once',
      body: z.object({ id: GatewayId, name: z.string().max(200).optional(), building_id: z.number().int().positive().optional() }),
      response: { 201: z.object({ gateway: GatewayRow, mqtt: z.object({ username: z.string(), password: z.string() }) }), ...errors },
    },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'gateways:write');
    if (p.buildingIds !== null || req.body.building_id !== undefined) {
      if (req.body.building_id === undefined) throw notFound('building');
      await requireBodyRef(db, p, 'building', req.body.building_id, 'building_id');
    }
    const password = randomSecret();
    const hash = await hashPassword(password);
    const gw = await db.tx(async (q) => {
      const { rows } = await q.query(`INSERT INTO gateways (id, name, building_id, credential_hash) VALUES ($1,$2,$3,$4) RETURNING ${GATEWAY_COLUMNS}`, [req.body.id, req.body.name ?? null, req.body.building_id ?? null, hash]);
      await audit(q, actorOf(req), { action: 'create', entity: 'gateway', entityId: req.body.id, buildingId: req.body.building_id ?? null, after: rows[0], requestId: req.id });
      return rows[0];
    });
    return reply.code(201).send({ gateway: gw, mqtt: { username: gw.id, password } });
  });

  app.patch('/gateways/:id', {
    schema: { tags: ['gateways'], params: GwParams, body: z.object({ name: z.string().max(200).nullable().optional(), building_id: z.number().int().positive().nullable().optional(), status: z.enum(['active', 'disabled']).optional() }), response: { 200: GatewayRow, ...errors } },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'gateways:write');
    return db.tx(async (q) => {
      const before = (await q.query(`SELECT ${GATEWAY_COLUMNS} FROM gateways WHERE id = $1 FOR UPDATE`, [req.params.id])).rows[0];
      if (!before) throw notFound('gateway');
      const current = await requireOwned(q, p, 'gateway', req.params.id);
      if (req.body.building_id === null && p.buildingIds !== null) throw notFound('building');
      if (req.body.building_id != null) {
        // The new building must be the caller's and in the organisation of the meters the gateway is bound to.
        const bound = (await q.query(`SELECT DISTINCT b.org_id FROM bindings x JOIN meters m ON m.id = x.meter_id JOIN buildings b ON b.id = m.building_id
                                        WHERE x.gateway_id = $1 AND x.valid_to IS NULL`, [req.params.id])).rows.map((r) => Number(r.org_id));
        await requireBodyRef(q, p, 'building', req.body.building_id, 'building_id', bound[0] ?? current.orgId);
      }
      const b = req.body;
      const { rows } = await q.query(
        `UPDATE gateways SET name = CASE WHEN $2::boolean THEN $3 ELSE name END, building_id = CASE WHEN $4::boolean THEN $5::bigint ELSE building_id END,
            status = COALESCE($6, status), updated_at = now() WHERE id = $1 RETURNING ${GATEWAY_COLUMNS}`,
        [req.params.id, b.name !== undefined, b.name ?? null, b.building_id !== undefined, b.building_id ?? null, b.status ?? null]);
      await audit(q, actorOf(req), { action: 'update', entity: 'gateway', entityId: req.params.id, buildingId: rows[0].building_id, before, after: rows[0], requestId: req.id });
      return rows[0];
    });
  });

  app.post('/gateways/:id/credentials', {
    schema: { tags: ['gateways'], summary: 'Rotate the MQTT password (the old one stops working)', params: GwParams, response: { 200: z.object({ username: z.string(), password: z.string() }), ...errors } },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'gateways:write');
    const gw = await loadGateway(p, req.params.id);
    const password = randomSecret();
    const hash = await hashPassword(password);
    await db.tx(async (q) => {
      await q.query('UPDATE gateways SET credential_hash = $2, updated_at = now() WHERE id = $1', [gw.id, hash]);
      await audit(q, actorOf(req), { action: 'rotate-credentials', entity: 'gateway', entityId: gw.id, buildingId: gw.building_id, requestId: req.id });
    });
    return { username: gw.id, password };
  });

  app.get('/gateways/:id/bindings', {
    schema: { tags: ['gateways'], params: GwParams, querystring: z.object({ all: z.coerce.boolean().default(false) }), response: { 200: z.array(BindingRow), ...errors } },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'registry:read');
    const gw = await loadGateway(p, req.params.id);
    return (await db.query(`SELECT * FROM bindings WHERE gateway_id = $1 ${req.query.all ? '' : 'AND valid_to IS NULL'} ORDER BY bus, address, valid_from`, [gw.id])).rows;
  });

  app.post('/gateways/:id/bindings', {
    schema: {
      tags: ['gateways'], summary: 'Bind gateway + bus + address to a meter; a previous binding of that address is closed, not deleted',
      params: GwParams, body: z.object({ bus: z.string().min(1).max(64), address: z.string().min(1).max(64), meter_id: z.number().int().positive(), valid_from: z.iso.datetime({ offset: true }).optional() }),
      response: { 201: BindingRow, ...errors },
    },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'gateways:write');
    const b = req.body;
    const row = await db.tx(async (q) => {
      // Both ends in the caller's scope and in one organisation: a binding decides whose meter a gateway's readings land on.
      const gwOwner = await requireOwned(q, p, 'gateway', req.params.id);
      const gw = { id: req.params.id };
      const mOwner = await requireBodyRef(q, p, 'meter', b.meter_id, 'meter_id', gwOwner.orgId);
      const meter = { building_id: mOwner.buildingId };
      const from = b.valid_from ?? app.clock().toISOString();
      const prev = (await q.query(`UPDATE bindings SET valid_to = $4 WHERE gateway_id = $1 AND bus = $2 AND address = $3 AND valid_to IS NULL RETURNING *`, [gw.id, b.bus, b.address, from])).rows[0];
      if (prev) await audit(q, actorOf(req), { action: 'close', entity: 'binding', entityId: prev.id, buildingId: meter.building_id, after: prev, requestId: req.id });
      const { rows } = await q.query('INSERT INTO bindings (gateway_id, bus, address, meter_id, valid_from) VALUES ($1,$2,$3,$4,$5) RETURNING *', [gw.id, b.bus, b.address, b.meter_id, prev ? from : (b.valid_from ?? '-infinity')]);
      await audit(q, actorOf(req), { action: 'create', entity: 'binding', entityId: rows[0].id, buildingId: meter.building_id, after: rows[0], requestId: req.id });
      return rows[0];
    });
    return reply.code(201).send(row);
  });

  app.delete('/bindings/:id', {
    schema: { tags: ['gateways'], summary: 'End a binding now (history is kept)', params: IdParams, response: { 200: BindingRow, ...errors } },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'gateways:write');
    return db.tx(async (q) => {
      const before = (await q.query('SELECT b.*, m.building_id AS _building_id FROM bindings b JOIN meters m ON m.id = b.meter_id WHERE b.id = $1 AND b.valid_to IS NULL', [req.params.id])).rows[0];
      if (!before) throw notFound('current binding');
      await requireOwned(q, p, 'binding', req.params.id);
      await requireOwned(q, p, 'gateway', before.gateway_id);
      const { rows } = await q.query('UPDATE bindings SET valid_to = greatest($2::timestamptz, valid_from + interval \'1 microsecond\') WHERE id = $1 RETURNING *', [req.params.id, app.clock()]);
      await audit(q, actorOf(req), { action: 'close', entity: 'binding', entityId: req.params.id, buildingId: before._building_id, before, after: rows[0], requestId: req.id });
      return rows[0];
    });
  });
};

export default gatewayRoutes;
