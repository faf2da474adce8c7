/**
 * The SQL of gateway commands (migration 030). Status is read through `STATUS_SQL`: a command still
 * "sent" past its deadline reads as timed_out even before the sender's timer wrote it (a head-end
 * that crashed while waiting leaves no command "sent" forever).
 */
import type { Queryable } from '../db/types.js';
import type { Actor } from '../audit/index.js';

export type CommandStatus = 'sent' | 'ok' | 'error' | 'timed_out';

export interface CommandRecord {
  command_id: string;
  gateway_id: string;
  name: string;
  args: unknown;
  status: CommandStatus;
  requested_by: Actor;
  sent_at: Date;
  deadline_at: Date;
  replied_at: Date | null;
  late: boolean;
  result: unknown;
  error: string | null;
}

const STATUS_SQL = `CASE WHEN status = 'sent' AND deadline_at < now() THEN 'timed_out' ELSE status END`;
const COLS = `command_id, gateway_id, name, args, ${STATUS_SQL} AS status, requested_by, sent_at, deadline_at, replied_at, late, result, error`;

export async function insertCommand(
  q: Queryable,
  c: { commandId: string; gatewayId: string; name: string; args: unknown; actor: Actor; timeoutMs: number },
): Promise<CommandRecord> {
  return (await q.query<CommandRecord>(
    `INSERT INTO gateway_commands (command_id, gateway_id, name, args, requested_by, deadline_at)
     VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, now() + make_interval(secs => $6::double precision / 1000))
     RETURNING ${COLS}`,
    [c.commandId, c.gatewayId, c.name, JSON.stringify(c.args), JSON.stringify(c.actor), c.timeoutMs],
  )).rows[0];
}

/**
 * Stores a reply. Only the gateway the command went to, on the command's own reply topic, can answer
 * it (both are part of the match). In time: status ok/error. After the deadline: stored with
 * late = true and the status stays timed_out (whoever gave up waiting was told so). A second reply
 * with the same id changes nothing. Returns the row, or null when no command matched.
 */
export async function recordReply(
  q: Queryable,
  r: { commandId: string; gatewayId: string; name: string; ok: boolean; result: unknown; error: string | null },
): Promise<CommandRecord | null> {
  return (await q.query<CommandRecord>(
    `UPDATE gateway_commands
        SET status = CASE WHEN deadline_at >= now() THEN $4 ELSE 'timed_out' END,
            late = deadline_at < now(), replied_at = now(), result = $5::jsonb, error = $6
      WHERE command_id = $1 AND gateway_id = $2 AND name = $3 AND replied_at IS NULL AND status IN ('sent', 'timed_out')
      RETURNING ${COLS}`,
    [r.commandId, r.gatewayId, r.name, r.ok ? 'ok' : 'error', r.result === undefined ? null : JSON.stringify(r.result), r.error],
  )).rows[0] ?? null;
}

/** Writes timed_out on a command still waiting past its deadline (the sender's timer). */
export async function markTimedOut(q: Queryable, commandId: string): Promise<void> {
  await q.query(`UPDATE gateway_commands SET status = 'timed_out' WHERE command_id = $1 AND status = 'sent' AND deadline_at < now()`, [commandId]);
}

/** A gateway's commands, newest first. */
export async function listCommands(q: Queryable, gatewayId: string, f: { limit: number; status?: CommandStatus }): Promise<CommandRecord[]> {
  const params: unknown[] = [gatewayId];
  let where = 'gateway_id = $1';
  if (f.status) {
    params.push(f.status);
    where += ` AND ${STATUS_SQL} = $${params.length}`;
  }
  params.push(f.limit);
  return (await q.query<CommandRecord>(`SELECT ${COLS} FROM gateway_commands WHERE ${where} ORDER BY sent_at DESC, id DESC LIMIT $${params.length}`, params)).rows;
}

/** One command of one gateway (the id of another gateway's command finds nothing). */
export async function loadCommand(q: Queryable, gatewayId: string, commandId: string): Promise<CommandRecord | null> {
  return (await q.query<CommandRecord>(`SELECT ${COLS} FROM gateway_commands WHERE gateway_id = $1 AND command_id = $2`, [gatewayId, commandId])).rows[0] ?? null;
}
