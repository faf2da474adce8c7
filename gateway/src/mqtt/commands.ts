/**
 * Remote commands on `amr/v1/<gw>/cmd/<name>` (CommandRequest) answered on `reply/<name>`
 * (CommandReply, same id). Every request gets one reply, so a sender never waits for nothing:
 *  - a known command runs its handler (supplied by the runtime) with arguments checked by the
 *    contract's schema (protocols/src/contract/messages.ts: CommandArgs);
 *  - an unknown name gets ok:false naming the commands this gateway knows;
 *  - a malformed payload gets ok:false naming what was wrong (with the request's id when one can be
 *    read from it, else without an id: whoever sent it by hand still sees the answer on the topic);
 *  - a request past its `expiresAt` is not carried out (a persistent session queues commands while
 *    the gateway is offline; a restart asked for hours ago must not run now).
 * Replies go out through whichever MQTT client is current (`attach`): `set_config` replaces the
 * connection while its own request is being handled.
 */
import type { MqttClient } from 'mqtt';
import {
  COMMAND_NAMES, CONTRACT_VERSION, CommandRequest, isCommandName, parseCommandArgs, parsePayload, parseTopic, topics,
  type CommandArgs, type CommandName, type CommandReply,
} from '@amr/protocols';

export type CommandHandlers = { [K in CommandName]?: (args: CommandArgs[K]) => Promise<CommandOutcome | unknown> };

/** A handler's answer when the command ran but did not achieve its aim (set_config rolled back): ok:false with a result. */
export class CommandOutcome {
  constructor(
    readonly ok: boolean,
    readonly result: unknown,
    readonly error?: string,
  ) {}
}

export interface CommandServiceOptions {
  gatewayId: string;
  handlers: CommandHandlers;
  onError?: (e: Error) => void;
  /** Wall clock for `expiresAt` (ms since epoch). */
  now?: () => number;
}

export class CommandService {
  private client: MqttClient | null = null;
  private readonly listener = (topic: string, payload: Buffer) => this.receive(topic, payload);

  constructor(private readonly opts: CommandServiceOptions) {}

  /** Takes requests from `client` and sends replies through it from now on (replacing the previous one). */
  attach(client: MqttClient): void {
    this.client?.off('message', this.listener);
    this.client = client;
    client.on('message', this.listener);
  }

  private reply(name: string, r: Omit<CommandReply, 'v' | 'ts'>): void {
    const body: CommandReply = { v: CONTRACT_VERSION, ts: new Date().toISOString(), ...r };
    if (body.error !== undefined) body.error = body.error.slice(0, 2000);
    this.client?.publish(topics.reply(this.opts.gatewayId, name), JSON.stringify(body), { qos: 1 });
  }

  private receive(topic: string, payload: Buffer): void {
    const t = parseTopic(topic);
    if (!t || t.kind !== 'cmd' || t.gatewayId !== this.opts.gatewayId || !t.command) return;
    const name = t.command;
    const parsed = parsePayload(CommandRequest, payload);
    if (!parsed.ok) {
      this.reply(name, { id: readableId(payload), ok: false, error: `malformed command request: ${parsed.reason}; expected {"v":1,"id":"…","args":{…}}` });
      return;
    }
    const req = parsed.data;
    if (!isCommandName(name) || !this.opts.handlers[name]) {
      const known = COMMAND_NAMES.filter((n) => this.opts.handlers[n]);
      this.reply(name, { id: req.id, ok: false, error: `unknown command "${name}"; this gateway knows: ${known.join(', ')}` });
      return;
    }
    const now = (this.opts.now ?? Date.now)();
    if (req.expiresAt && Date.parse(req.expiresAt) < now) {
      this.reply(name, { id: req.id, ok: false, error: `command expired at ${req.expiresAt} (gateway clock ${new Date(now).toISOString()}); not carried out` });
      return;
    }
    const args = parseCommandArgs(name, req.args);
    if (!args.ok) {
      this.reply(name, { id: req.id, ok: false, error: args.reason });
      return;
    }
    const handler = this.opts.handlers[name] as (a: unknown) => Promise<unknown>;
    handler(args.data)
      .then((out) => {
        if (out instanceof CommandOutcome) this.reply(name, { id: req.id, ok: out.ok, result: out.result, error: out.error });
        else this.reply(name, { id: req.id, ok: true, result: out });
      })
      .catch((e: Error) => {
        this.opts.onError?.(e);
        this.reply(name, { id: req.id, ok: false, error: String(e.message) });
      });
  }
}

/** The `id` of a request that failed validation, if it has a usable one (to correlate the error reply). */
function readableId(payload: Buffer): string | undefined {
  try {
    const id = (JSON.parse(payload.toString('utf8')) as { id?: unknown } | null)?.id;
    return typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : undefined;
  } catch {
    return undefined;
  }
}
