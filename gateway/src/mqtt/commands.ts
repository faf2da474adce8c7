/**
 * Remote commands on `amr/v1/<gw>/cmd/<name>` (CommandRequest) answered on `reply/<name>`
 * (CommandReply, same id). Handlers are supplied by the runtime; a malformed request is answered
 * with ok:false naming what was wrong when it has an id, and otherwise ignored (nowhere to reply).
 */
import type { MqttClient } from 'mqtt';
import { CONTRACT_VERSION, CommandRequest, parsePayload, parseTopic, topics, type CommandName, type CommandReply } from '@amr/protocols';

export type CommandHandler = (args: Record<string, unknown>) => Promise<unknown>;
export type CommandHandlers = Partial<Record<CommandName, CommandHandler>>;

export function attachCommands(client: MqttClient, gatewayId: string, handlers: CommandHandlers, onError?: (e: Error) => void): void {
  client.on('message', (topic, payload) => {
    const t = parseTopic(topic);
    if (!t || t.kind !== 'cmd' || t.gatewayId !== gatewayId || !t.command) return;
    const name = t.command;
    const reply = (r: Omit<CommandReply, 'v' | 'ts'>) =>
      client.publish(topics.reply(gatewayId, name), JSON.stringify({ v: CONTRACT_VERSION, ts: new Date().toISOString(), ...r }), { qos: 1 });
    const parsed = parsePayload(CommandRequest, payload);
    if (!parsed.ok) {
      let id: unknown;
      try {
        id = (JSON.parse(payload.toString()) as { id?: unknown }).id;
      } catch {
        /* no id → no reply */
      }
      if (typeof id === 'string' && id.length > 0 && id.length <= 64) reply({ id, ok: false, error: parsed.reason });
      return;
    }
    const req = parsed.data;
    const h = handlers[name];
    if (!h) {
      reply({ id: req.id, ok: false, error: `command ${name} not supported` });
      return;
    }
    h(req.args)
      .then((result) => reply({ id: req.id, ok: true, result }))
      .catch((e: Error) => {
        onError?.(e);
        reply({ id: req.id, ok: false, error: String(e.message).slice(0, 2000) });
      });
  });
}
