/**
 * What every route plugin receives, and small helpers shared by the route files.
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Database, Queryable } from '../db/types.js';
import type { ApiConfig } from './config.js';
import type { JobRunner } from '../jobs/index.js';
import type { Actor } from '../audit/index.js';
import { principal } from './plugins/auth.js';
import type { CommandSender } from '../commands/service.js';
import type { GatewayAccounts } from '../broker/accounts.js';

export interface RouteDeps {
  db: Database;
  /** Read-only, possibly lagging a little (a replica): for overviews and charts. Default: db. */
  readDb?: Queryable;
  config: ApiConfig;
  /**
   * The key residents' access codes are hashed with (collection/access.ts codeKeyOf, derived from
   * SECRETS_KEY once for every route); null: no SECRETS_KEY, codes fall back to scrypt.
   */
  codeKey: Buffer | null;
  jobs?: JobRunner;
  /**
   * Called after a gateway's new MQTT secret is committed: the broker ends the gateway's live session
   * and drops the credentials it cached, so the old secret stops working now, not at the next connect.
   */
  onGatewaySecretRotated?: (gatewayId: string) => void | Promise<void>;
  /** A broker that checks gateway credentials itself (Mosquitto dynamic security), told inside the change's transaction; unset = nothing to tell. */
  gatewayAccounts?: GatewayAccounts;
  /** Sends commands to gateways over MQTT (src/commands/); absent = no broker, the routes answer 503. */
  commands?: CommandSender;
}

export function actorOf(req: FastifyRequest): Actor {
  const p = principal(req);
  return { kind: p.kind, id: p.id, name: p.name };
}

export const IdParams = z.object({ id: z.coerce.number().int().positive().describe('Numeric id of the item the path names (in /meters/{id}/readings: the meter)') });
const ErrorParamsSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))
  .describe('The values the text needs (value, previous, unit, serial, zone, limit, date…): a page words the code with them in its own language');
export const ErrorBody = z.object({
  statusCode: z.number().describe('The HTTP status again'),
  error: z.string().describe('The error code (kept for old clients; same as `code`)'),
  code: z.string().optional().describe('Machine code of the error (validation, readings_refused, confirmation_required, too_many_requests, …): pages look up their text by it'),
  message: z.string().describe('English sentence for logs and scripts; pages show the text for `code` instead'),
  params: ErrorParamsSchema.optional(),
  details: z.array(z.object({
    path: z.string().optional().describe('The field the detail is about (body.serial_number, readings.2)'),
    row: z.number().optional().describe('Row of an imported file'),
    column: z.string().optional().describe('Column of an imported file, or the field of a reading (value, time, meter, zone)'),
    message: z.string().describe('English sentence; names a meter by its serial, never by an internal id'),
    code: z.string().optional().describe('Machine code of this refusal (below_previous, window_closed, too_small, …)'),
    params: ErrorParamsSchema.optional(),
  })).optional().describe('One entry per refused field, row or reading'),
});
/** Standard error responses for OpenAPI. */
export const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

/** bigint columns come back from pg as strings; ids in the API are numbers. */
export const Id = z.coerce.number().int();
/** Dates/timestamps from pg are Date objects; the API speaks ISO strings. */
// The `.pipe()` after each transform gives OpenAPI the output type instead of "any".
export const Timestamp = z.union([z.date(), z.string()])
  .transform((d) => (d instanceof Date ? d.toISOString() : new Date(d).toISOString())).pipe(z.string());
/** pg parses `date` columns into a Date at local midnight; read the local parts back, never via UTC. */
const pad = (n: number) => String(n).padStart(2, '0');
export const DateOnly = z.union([z.date(), z.string()])
  .transform((d) => (d instanceof Date ? `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` : String(d).slice(0, 10))).pipe(z.string());
/** `numeric` columns arrive as strings. */
export const Numeric = z.union([z.number(), z.string()]).transform(Number).pipe(z.number());
/** A calendar date in request bodies. */
export const DateInput = z.iso.date();
