/**
 * Commands to a gateway over MQTT, and their replies. Who may: the engineers of the gateway's building
 * and admins (permission gateways:command); a gateway the caller cannot see is 404 like any other id
 * (auth/tenancy.ts), checked before anything is stored or published.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { COMMAND_NAMES, COMMAND_NAME_PATTERN, isCommandName, parseCommandArgs } from '@amr/protocols';
import { requireOwned, requirePermission } from '../auth/index.js';
import { badRequest, HttpError, notFound } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { actorOf, ErrorBody, errors, Timestamp, type RouteDeps } from '../http/context.js';
import type { CommandSender } from './service.js';
import { listCommands, loadCommand } from './store.js';

const GwParams = z.object({ id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'gateway id: letters, digits, _ . - (max 64)').describe('The gateway\'s id (its MQTT user name), e.g. gw-house-12') });
const CommandParams = GwParams.extend({ commandId: z.string().min(1).max(64).describe('The command\'s correlation id, as POST returned it') });
const Status = z.enum(['sent', 'ok', 'error', 'timed_out']);

const CommandOut = z.object({
  id: z.string().describe('the correlation id on the wire'),
  gateway_id: z.string(),
  name: z.string(),
  args: z.unknown().describe('as sent; a set_config password is kept as ***'),
  status: Status.describe('sent: waiting for the reply; ok / error: the gateway replied so; timed_out: no reply in time'),
  requested_by: z.object({ kind: z.string(), id: z.number().nullable(), name: z.string() }),
  sent_at: Timestamp,
  deadline_at: Timestamp,
  replied_at: Timestamp.nullable(),
  late: z.boolean().describe('the reply came after the deadline (status stays timed_out)'),
  result: z.unknown(),
  error: z.string().nullable(),
});

const CommandBody = z.object({
  name: z.string().regex(COMMAND_NAME_PATTERN, 'a command name: lower-case letters, digits and _ (max 32)')
    .describe(`${COMMAND_NAMES.join(', ')}; another name is sent as it is (a newer gateway may know it; an older one answers with the names it knows)`),
  args: z.record(z.string(), z.unknown()).default({}),
  timeout_seconds: z.number().positive().max(3600).optional().describe('how long to wait for the reply; default COMMAND_TIMEOUT_SECONDS'),
});

type Row = Awaited<ReturnType<typeof loadCommand>> & object;
const out = (r: Row) => ({ ...r, id: r.command_id });

function sender(commands: CommandSender | undefined): CommandSender {
  if (!commands) throw new HttpError(503, 'unavailable', 'this head-end runs without an MQTT broker: commands cannot be sent');
  return commands;
}

const commandRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, commands }) => {
  app.post('/gateways/:id/commands', {
    schema: {
      tags: ['gateways'],
      summary: 'Send a command to a gateway (202: sent; the reply lands on the command)',
      description: [
        'Publishes on amr/v1/<gateway>/cmd/<name> and waits in the background for the reply (timeout_seconds, default COMMAND_TIMEOUT_SECONDS = 30 s); read the outcome with GET /gateways/{id}/commands/{commandId}.',
        'Commands: poll_now {meter?|meters?} (every meter, or the ones named; the readings arrive as usual); get_config {} (secrets shown as ***);',
        'set_config {config} (checked like `amr-gateway check`; new broker settings must connect within the gateway\'s bound, else it rolls back: the reply is then an error with result.rolledBack = true);',
        'scan {bus, from?, to?, mode?} (M-Bus primary addresses from..to, default 0..250; replies with the devices found); restart {} (the service exits and systemd starts it again).',
        'Arguments of these are checked here (400 naming the key). Engineers of the gateway\'s building and admins only.',
      ].join(' '),
      params: GwParams, body: CommandBody,
      response: { 202: CommandOut, ...errors, 503: ErrorBody },
    },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'gateways:command');
    const owner = await requireOwned(db, p, 'gateway', req.params.id);
    const { name, args } = req.body;
    if (isCommandName(name)) {
      const checked = parseCommandArgs(name, args);
      if (!checked.ok) throw badRequest(checked.reason, [{ path: 'body.args', message: checked.reason }]);
    }
    const timeoutMs = req.body.timeout_seconds === undefined ? undefined : Math.round(req.body.timeout_seconds * 1000);
    const row = await sender(commands).send({ gatewayId: req.params.id, buildingId: owner.buildingId, name, args, timeoutMs, actor: actorOf(req), requestId: req.id });
    return reply.code(202).send(out(row));
  });

  app.get('/gateways/:id/commands', {
    schema: {
      tags: ['gateways'], summary: 'Recent commands sent to a gateway, newest first, with their status and reply',
      description: 'What was asked of the gateway, by whom and when, and how it answered: sent (no reply yet), ok, error (the gateway\'s message), timed_out (no reply within the timeout; a late reply is still stored). Engineers of the gateway\'s building and admins.',
      params: GwParams,
      querystring: z.object({
        limit: z.coerce.number().int().min(1).max(500).default(50).describe('How many commands, newest first (1–500)'),
        status: Status.optional().describe('Only commands in this state'),
      }),
      response: { 200: z.array(CommandOut), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'gateways:command');
    await requireOwned(db, p, 'gateway', req.params.id);
    return (await listCommands(db, req.params.id, { limit: req.query.limit, status: req.query.status })).map(out);
  });

  app.get('/gateways/:id/commands/:commandId', {
    schema: {
      tags: ['gateways'], summary: 'One command sent to a gateway: status and reply',
      description: 'Poll this after POST until the status is no longer sent: ok or error carry the gateway\'s reply, timed_out means no reply came within the command\'s timeout.',
      params: CommandParams, response: { 200: CommandOut, ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'gateways:command');
    await requireOwned(db, p, 'gateway', req.params.id);
    const row = await loadCommand(db, req.params.id, req.params.commandId);
    if (!row) throw notFound('command');
    return out(row);
  });
};

export default commandRoutes;
