/**
 * Gateways (= MQTT identities) and bindings (gateway + bus + address → meter).
 * Creating a gateway (or rotating its credentials) returns the MQTT password once; only a salted
 * hash is stored (broker/credentials.ts), in the format the broker's authenticator verifies. A broker that keeps
 * its own accounts (Mosquitto's dynamic security) is told of a creation, rotation or disabling before the registry
 * commits (broker/accounts.ts). Every gateway, binding and meter id goes through auth/tenancy.ts; the SQL is in
 * gateway-store.ts.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { randomSecret, requireBodyRef, requireOwned, requirePermission, type Principal } from '../auth/index.js';
import { hashSecret } from '../broker/credentials.js';
import { REGISTRY_READ_BY_BROKER } from '../broker/accounts.js';
import { audit } from '../audit/index.js';
import { HttpError, notFound } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { actorOf, errors, Id, IdParams, Timestamp, type RouteDeps } from '../http/context.js';
import type { Queryable } from '../db/types.js';
import {
  boundOrganisations, closeOpenBinding, endBinding, insertBinding, insertGateway, listBindings, listGateways, loadGateway, loadOpenBinding, setGatewaySecret, updateGateway,
} from './gateway-store.js';

const GatewayId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'gateway id: letters, digits, _ . - (max 64), starting with a letter or digit');
const GwParams = z.object({ id: GatewayId.describe('The gateway\'s id (its MQTT user name), e.g. gw-house-12') });
const GatewayRow = z.object({
  id: z.string(), name: z.string().nullable(), building_id: Id.nullable(), status: z.string(), online: z.boolean(),
  last_seen_at: Timestamp.nullable(), last_status: z.unknown(), created_at: Timestamp, updated_at: Timestamp,
  open_quarantine: z.coerce.number().optional(),
  building_address: z.string().nullable().optional().describe('lists: the building\'s address'),
  building_timezone: z.string().nullable().optional().describe('lists: the building\'s IANA time zone'),
  software: z.string().nullable().optional().describe('lists: software version from the gateway\'s last status message'),
  outbox_depth: z.coerce.number().nullable().optional().describe('lists: readings waiting in the gateway\'s outbox, from its last status message'),
});
const BindingRow = z.object({ id: Id, gateway_id: z.string(), bus: z.string(), address: z.string(), meter_id: Id, /** null = since ever (the first binding of an address covers earlier readings too). */
  // pg reads '-infinity' as the number -Infinity, which z.number() refuses.
  valid_from: z.custom<Date | string | number | null>((v) => v == null || v instanceof Date || typeof v === 'string' || typeof v === 'number')
    .transform((v) => (typeof v === 'number' || v === '-infinity' || v == null ? null : new Date(v).toISOString())).pipe(z.string().nullable()), valid_to: Timestamp.nullable(), created_at: Timestamp });

const gatewayRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, onGatewaySecretRotated, gatewayAccounts = REGISTRY_READ_BY_BROKER }) => {
  /** The broker told before the registry commits (broker/accounts.ts): its refusal rolls the change back. */
  async function tellBroker(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      throw new HttpError(503, 'unavailable', `the MQTT broker did not take the ${what} (${(e as Error).message}); nothing was changed, try again`);
    }
  }

  /** The gateway if the caller may see it (its building in scope; unassigned: admins only), else 404. */
  async function visibleGateway(q: Queryable, p: Principal, id: string, opts: { forUpdate?: boolean } = {}) {
    await requireOwned(q, p, 'gateway', id);
    const gw = await loadGateway(q, id, opts);
    if (!gw) throw notFound('gateway');
    return gw;
  }

  app.get('/gateways', {
    schema: {
      tags: ['gateways'], summary: 'Gateways with online state, last seen and open quarantine count',
      description: 'The gateways of the caller\'s organisation (an engineer: of the buildings granted), with whether each is connected now, when it was last heard, its last status message and how many of its readings wait in quarantine.',
      querystring: z.object({ building_id: z.coerce.number().int().optional().describe('Only the gateways of this building') }),
      response: { 200: z.array(GatewayRow), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'registry:read');
    return listGateways(db, p, { buildingId: req.query.building_id || undefined });
  });

  app.get('/gateways/:id', {
    schema: {
      tags: ['gateways'], summary: 'One gateway: online state, last seen, last status',
      description: 'Another organisation\'s gateway answers 404, as one that does not exist.',
      params: GwParams, response: { 200: GatewayRow, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'registry:read');
    return visibleGateway(db, p, req.params.id);
  });

  app.post('/gateways', {
    schema: {
      tags: ['gateways'], summary: 'Register a gateway; the response carries its MQTT password, shown only once',
      description: 'The id becomes the gateway\'s MQTT user name and client id. Only a salted hash of the password is kept: put it in the gateway\'s config (mqtt.password or passwordFile) now; a lost one is replaced with POST /gateways/{id}/credentials.',
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
    const hash = await hashSecret(password); // issued, high-entropy: one salted SHA-256 (broker/credentials.ts), no scrypt at the first connect
    const gw = await db.tx(async (q) => {
      const created = await insertGateway(q, { id: req.body.id, name: req.body.name ?? null, buildingId: req.body.building_id ?? null, credentialHash: hash });
      await tellBroker('new gateway', () => gatewayAccounts.secretIssued(created.id, password, created.status));
      await audit(q, actorOf(req), { action: 'create', entity: 'gateway', entityId: req.body.id, buildingId: req.body.building_id ?? null, after: created, requestId: req.id });
      return created;
    });
    return reply.code(201).send({ gateway: gw, mqtt: { username: gw.id, password } });
  });

  app.patch('/gateways/:id', {
    schema: {
      tags: ['gateways'], summary: 'Rename a gateway, move it to a building or disable it',
      description: 'A disabled gateway is refused by the broker. A building of another organisation is refused, as is moving a gateway whose bindings point at another organisation\'s meters.',
      params: GwParams,
      body: z.object({ name: z.string().max(200).nullable().optional(), building_id: z.number().int().positive().nullable().optional(), status: z.enum(['active', 'disabled']).optional() }),
      response: { 200: GatewayRow, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'gateways:write');
    const b = req.body;
    return db.tx(async (q) => {
      const current = await requireOwned(q, p, 'gateway', req.params.id);
      const before = await loadGateway(q, req.params.id, { forUpdate: true });
      if (!before) throw notFound('gateway');
      if (b.building_id === null && p.buildingIds !== null) throw notFound('building');
      if (b.building_id != null) {
        // The new building must be the caller's and in the organisation of the meters the gateway is bound to.
        const bound = await boundOrganisations(q, req.params.id);
        await requireBodyRef(q, p, 'building', b.building_id, 'building_id', bound[0] ?? current.orgId);
      }
      const after = await updateGateway(q, req.params.id, { name: b.name, buildingId: b.building_id, status: b.status });
      if (b.status !== undefined && b.status !== before.status) await tellBroker(`gateway's status ${b.status}`, () => gatewayAccounts.statusChanged(after.id, after.status));
      await audit(q, actorOf(req), { action: 'update', entity: 'gateway', entityId: req.params.id, buildingId: after.building_id == null ? null : Number(after.building_id), before, after, requestId: req.id });
      return after;
    });
  });

  app.post('/gateways/:id/credentials', {
    schema: {
      tags: ['gateways'], summary: 'Rotate the MQTT password (the old one stops working, and a live session with it is ended)',
      description: 'For a lost or leaked password. The new one is shown only in this response; the gateway stays offline until its config has it (a set_config command, or by hand on site).',
      params: GwParams, response: { 200: z.object({ username: z.string(), password: z.string() }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'gateways:write');
    const gw = await visibleGateway(db, p, req.params.id);
    const password = randomSecret();
    const hash = await hashSecret(password); // issued, high-entropy: one salted SHA-256 (broker/credentials.ts), no scrypt at the first connect
    await db.tx(async (q) => {
      await setGatewaySecret(q, gw.id, hash);
      await tellBroker('new secret', () => gatewayAccounts.secretIssued(gw.id, password, gw.status));
      await audit(q, actorOf(req), { action: 'rotate-credentials', entity: 'gateway', entityId: gw.id, buildingId: gw.building_id == null ? null : Number(gw.building_id), requestId: req.id });
    });
    // Only once committed: the broker must not drop a session for a secret that a rollback kept.
    // The new secret is in force either way, so a failing hook is logged, not answered as a failed rotation.
    try {
      await onGatewaySecretRotated?.(gw.id);
    } catch (e) {
      req.log.warn({ err: (e as Error).message, gateway: gw.id }, 'gateway secret rotated, but ending its live MQTT session failed');
    }
    return { username: gw.id, password };
  });

  app.get('/gateways/:id/bindings', {
    schema: {
      tags: ['gateways'], summary: 'A gateway\'s bindings (bus + address → meter)',
      description: 'Which meter each address on each bus of the gateway is read into. Open bindings only, or with all=true the closed ones too (the history that says which meter a past reading belongs to).',
      params: GwParams,
      querystring: z.object({ all: z.coerce.boolean().default(false).describe('Include closed bindings (history)') }),
      response: { 200: z.array(BindingRow), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'registry:read');
    await requireOwned(db, p, 'gateway', req.params.id);
    return listBindings(db, req.params.id, { all: req.query.all });
  });

  app.post('/gateways/:id/bindings', {
    schema: {
      tags: ['gateways'], summary: 'Bind gateway + bus + address to a meter; a previous binding of that address is closed, not deleted',
      description: 'The gateway and the meter must belong to the same organisation. Readings from that address are stored on the meter from valid_from (default now).',
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
      const meter = await requireBodyRef(q, p, 'meter', b.meter_id, 'meter_id', gwOwner.orgId);
      const from = b.valid_from ?? app.clock().toISOString();
      const key = { gatewayId: req.params.id, bus: b.bus, address: b.address };
      const prev = await closeOpenBinding(q, key, from);
      if (prev) await audit(q, actorOf(req), { action: 'close', entity: 'binding', entityId: Number(prev.id), buildingId: meter.buildingId, after: prev, requestId: req.id });
      const created = await insertBinding(q, { ...key, meterId: b.meter_id, validFrom: prev ? from : (b.valid_from ?? '-infinity') });
      await audit(q, actorOf(req), { action: 'create', entity: 'binding', entityId: Number(created.id), buildingId: meter.buildingId, after: created, requestId: req.id });
      return created;
    });
    return reply.code(201).send(row);
  });

  app.delete('/bindings/:id', {
    schema: {
      tags: ['gateways'], summary: 'End a binding now (history is kept)',
      description: 'Readings from that address after now are quarantined until the address is bound again; readings before stay on the meter.',
      params: IdParams, response: { 200: BindingRow, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'gateways:write');
    return db.tx(async (q) => {
      await requireOwned(q, p, 'binding', req.params.id);
      const open = await loadOpenBinding(q, req.params.id);
      if (!open) throw notFound('current binding');
      const { building_id: buildingId, ...before } = open;
      await requireOwned(q, p, 'gateway', before.gateway_id);
      const after = await endBinding(q, req.params.id, app.clock());
      await audit(q, actorOf(req), { action: 'close', entity: 'binding', entityId: req.params.id, buildingId: Number(buildingId), before, after, requestId: req.id });
      return after;
    });
  });
};

export default gatewayRoutes;
