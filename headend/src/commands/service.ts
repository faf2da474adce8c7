/**
 * Sending a command to a gateway and taking its reply. A command is stored (with its audit row) before
 * it is published, carries its deadline as `expiresAt` (the gateway refuses it after that: a persistent
 * session would otherwise deliver it whenever the gateway comes back), and is marked timed_out when no
 * reply came by then. Replies are matched in the database (store.ts), so they may reach any head-end.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { CONTRACT_VERSION, CommandReply, MAX_PAYLOAD_BYTES, parsePayload, parseTopic, topics, type CommandRequest } from '@amr/protocols';
import type { Database } from '../db/types.js';
import { audit, type Actor } from '../audit/index.js';
import { badRequest, HttpError } from '../http/errors.js';
import type { CommandChannel } from './channel.js';
import { insertCommand, markTimedOut, recordReply, type CommandRecord } from './store.js';

export interface CommandSender {
  /** Default wait for a reply (COMMAND_TIMEOUT_SECONDS), ms. */
  readonly timeoutMs: number;
  send(c: { gatewayId: string; buildingId: number | null; name: string; args: Record<string, unknown>; timeoutMs?: number; actor: Actor; requestId?: string }): Promise<CommandRecord>;
}

export interface CommandService extends CommandSender {
  /** Resolves once the reply subscription is in place (on an external broker, start-up does not wait for it). */
  readonly ready: Promise<void>;
  /** For the channel: stores one reply message. */
  handleReply(topic: string, payload: Buffer): Promise<void>;
  close(): void;
}

/** What is kept of a command's arguments (stored, audited, listed): never a gateway's MQTT password. */
export function redactArgs(name: string, args: Record<string, unknown>): Record<string, unknown> {
  if (name !== 'set_config') return args;
  const config = args.config as { mqtt?: { password?: unknown; url?: unknown } } | undefined;
  if (!config?.mqtt) return args;
  const mqtt: Record<string, unknown> = { ...config.mqtt };
  if (mqtt.password !== undefined) mqtt.password = '***';
  if (typeof mqtt.url === 'string') {
    try {
      const u = new URL(mqtt.url);
      if (u.password) {
        u.password = '***';
        mqtt.url = u.toString();
      }
    } catch {
      /* not a URL: the gateway refuses it anyway */
    }
  }
  return { ...args, config: { ...config, mqtt } };
}

export function createCommandService(o: { db: Database; channel: CommandChannel | null; timeoutMs: number; logger: Logger }): CommandService {
  const timers = new Set<NodeJS.Timeout>();
  return {
    timeoutMs: o.timeoutMs,
    ready: o.channel?.ready ?? Promise.resolve(),

    async send(c) {
      const channel = o.channel;
      if (!channel) throw new HttpError(503, 'unavailable', 'this head-end has no MQTT broker to send commands through');
      const timeoutMs = c.timeoutMs ?? o.timeoutMs;
      const commandId = randomUUID();
      // The contract's limit: a gateway refuses a larger request unread (checked before anything is stored).
      const size = Buffer.byteLength(JSON.stringify({ v: CONTRACT_VERSION, id: commandId, args: c.args, expiresAt: new Date().toISOString() }));
      if (size > MAX_PAYLOAD_BYTES) throw badRequest(`args: the command would be ${size} bytes on the wire, above the contract's ${MAX_PAYLOAD_BYTES}`, [{ path: 'body.args', message: 'too large' }]);
      const kept = redactArgs(c.name, c.args);
      const row = await o.db.tx(async (q) => {
        const created = await insertCommand(q, { commandId, gatewayId: c.gatewayId, name: c.name, args: kept, actor: c.actor, timeoutMs });
        await audit(q, c.actor, { action: 'command', entity: 'gateway', entityId: c.gatewayId, buildingId: c.buildingId, after: { command_id: commandId, name: c.name, args: kept }, requestId: c.requestId });
        return created;
      });
      const request: CommandRequest = { v: CONTRACT_VERSION, id: commandId, args: c.args, expiresAt: new Date(row.deadline_at).toISOString() };
      try {
        await channel.publish(topics.command(c.gatewayId, c.name), JSON.stringify(request));
      } catch (e) {
        // Stored (and audited) but not sent: the row says so, so the list shows the attempt and why it failed.
        await o.db.query(`UPDATE gateway_commands SET status = 'error', error = $2, replied_at = now() WHERE command_id = $1`, [commandId, `not sent: ${(e as Error).message}`]);
        throw new HttpError(503, 'unavailable', `command stored but not sent: ${(e as Error).message}`);
      }
      const t = setTimeout(() => {
        timers.delete(t);
        markTimedOut(o.db, commandId).catch((e: Error) => o.logger.warn({ err: e.message, commandId }, 'marking a command timed out failed'));
      }, timeoutMs + 50);
      t.unref();
      timers.add(t);
      return row;
    },

    async handleReply(topic, payload) {
      const t = parseTopic(topic);
      if (!t || t.kind !== 'reply' || !t.command) return;
      const parsed = parsePayload(CommandReply, payload);
      if (!parsed.ok) {
        o.logger.warn({ topic, reason: parsed.reason }, 'command reply not understood; dropped');
        return;
      }
      const r = parsed.data;
      if (!r.id) {
        o.logger.warn({ topic, error: r.error }, 'gateway answered a request without an id (sent by hand?); nothing to store it on');
        return;
      }
      const row = await recordReply(o.db, { commandId: r.id, gatewayId: t.gatewayId, name: t.command, ok: r.ok, result: r.result, error: r.error ?? null });
      if (!row) o.logger.info({ topic, id: r.id }, 'reply to no command of ours (another tool, or answered already)');
    },

    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
