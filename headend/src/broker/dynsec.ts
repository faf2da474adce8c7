/**
 * Mosquitto's dynamic-security plugin driven by the head-end over `$CONTROL/dynamic-security/v1`:
 * the control connection (commands and their answers, matched by correlation data, bounded in time)
 * and the gateway accounts kept in step with the registry (what to send is dynsec-plan.ts).
 *
 * Why the broker is told inside the registry's transaction (accounts.ts): a gateway created or a
 * secret rotated that the broker did not take would hand out a password nothing accepts, so a refusal
 * by the broker rolls the change back and the caller is told to retry.
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { redactUrl } from '../db/index.js';
import type { GatewayAccounts } from './accounts.js';
import {
  gatewayCommands, gatewayRole, reconcilePlan, type DynsecClient, type DynsecCommand, type DynsecRole, type DynsecState, type HeadendUser,
  type RegistryGateway, type ReconcilePlan,
} from './dynsec-plan.js';

const CONTROL = '$CONTROL/dynamic-security/v1';

export interface DynsecResponse { command: string; error?: string; data?: Record<string, unknown>; correlationData?: string }

export class DynsecError extends Error {}

export interface DynsecControl {
  /** Sends the commands in one message; resolves with their answers in order, or rejects when the broker does not answer in time. */
  send(commands: DynsecCommand[]): Promise<DynsecResponse[]>;
  close(): Promise<void>;
}

export interface DynsecControlOptions {
  url: string;
  username: string;
  password: string;
  clientId: string;
  timeoutMs?: number;
  logger: Logger;
}

export async function openDynsecControl(o: DynsecControlOptions): Promise<DynsecControl> {
  const where = `Mosquitto dynamic security at ${redactUrl(o.url)} (user ${o.username})`;
  const timeoutMs = o.timeoutMs ?? 10_000;
  let client: MqttClient;
  try {
    client = await mqtt.connectAsync(o.url, { username: o.username, password: o.password, clientId: o.clientId, reconnectPeriod: 2000, connectTimeout: timeoutMs });
  } catch (e) {
    throw new DynsecError(`${where}: cannot connect (${(e as Error).message}); check MQTT_URL, MQTT_ADMIN_USERNAME and MQTT_ADMIN_PASSWORD`);
  }
  client.on('error', (e) => o.logger.warn({ err: e.message }, `${where}: connection error; retrying`));
  const waiting = new Map<string, { resolve: (r: DynsecResponse[]) => void; reject: (e: Error) => void }>();
  // An answer sent on a connection that broke is lost: the caller is told now, not at the timeout.
  client.on('close', () => {
    for (const [id, w] of waiting) {
      waiting.delete(id);
      w.reject(new DynsecError(`${where}: connection closed before the answer came; the commands may or may not have been applied`));
    }
  });
  client.on('message', (_topic, payload) => {
    let body: { responses?: DynsecResponse[] };
    try {
      body = JSON.parse(payload.toString()) as { responses?: DynsecResponse[] };
    } catch {
      return;
    }
    const responses = body.responses ?? [];
    const id = responses[0]?.correlationData?.split(':')[0];
    const done = id ? waiting.get(id) : undefined;
    if (done) {
      waiting.delete(id!);
      done.resolve(responses);
    }
  });
  const granted = await client.subscribeAsync(`${CONTROL}/response`, { qos: 1 });
  if (granted.some((g) => g.qos === 128)) {
    await client.endAsync(true);
    throw new DynsecError(`${where}: may not subscribe to ${CONTROL}/response; give the user the dynamic-security admin role`);
  }
  return {
    async send(commands) {
      if (!commands.length) return [];
      const id = randomBytes(8).toString('hex');
      const tagged = commands.map((c, i) => ({ ...c, correlationData: `${id}:${i}` }));
      const answer = new Promise<DynsecResponse[]>((resolve, reject) => {
        const t = setTimeout(() => {
          waiting.delete(id);
          reject(new DynsecError(`${where}: no answer to ${commands.map((c) => c.command).join(', ')} within ${timeoutMs} ms; is the plugin loaded and may this user publish to ${CONTROL}?`));
        }, timeoutMs);
        waiting.set(id, {
          resolve: (r) => { clearTimeout(t); resolve(r); },
          reject: (e) => { clearTimeout(t); reject(e); },
        });
      });
      await client.publishAsync(CONTROL, JSON.stringify({ commands: tagged }), { qos: 1 });
      return answer;
    },
    async close() {
      await client.endAsync(true);
    },
  };
}

/** Sends commands and throws on the first the broker refused, naming it. */
async function sendChecked(control: DynsecControl, commands: DynsecCommand[]): Promise<DynsecResponse[]> {
  const responses = await control.send(commands);
  const failed = responses.find((r) => r.error);
  if (failed) {
    const cmd = commands[Number(failed.correlationData?.split(':')[1] ?? -1)] ?? { command: failed.command };
    const who = typeof cmd.username === 'string' ? cmd.username : typeof cmd.rolename === 'string' ? cmd.rolename : '';
    throw new DynsecError(`Mosquitto refused ${failed.command}${who ? ` for ${who}` : ''}: ${failed.error}`);
  }
  return responses;
}

export async function readDynsecState(control: DynsecControl): Promise<DynsecState> {
  const [clients, roles, defaults] = await sendChecked(control, [
    { command: 'listClients', verbose: true, count: -1, offset: 0 },
    { command: 'listRoles', verbose: true, count: -1, offset: 0 },
    { command: 'getDefaultACLAccess' },
  ]);
  return {
    clients: (clients.data?.clients ?? []) as DynsecClient[],
    roles: (roles.data?.roles ?? []) as DynsecRole[],
    defaultACLAccess: (defaults.data?.acls ?? []) as DynsecState['defaultACLAccess'],
  };
}

/**
 * Makes the broker match the registry; returns what it did. Replicas starting together reconcile at
 * once, so one may find a client another just created ("already exists"): the state is then read
 * again and the rest planned anew, which converges because the plan is the same from any replica.
 */
export async function reconcileDynsec(control: DynsecControl, registry: RegistryGateway[], headend?: HeadendUser, attempts = 3): Promise<ReconcilePlan> {
  for (let attempt = 1; ; attempt++) {
    const plan = reconcilePlan(registry, await readDynsecState(control), headend);
    try {
      await sendChecked(control, plan.commands);
      return plan;
    } catch (e) {
      if (!(e instanceof DynsecError) || attempt >= attempts) throw e;
    }
  }
}

/** One gateway's client and role as the broker holds them (null = missing). */
async function readGateway(control: DynsecControl, gatewayId: string): Promise<{ client: DynsecClient | null; role: DynsecRole | null }> {
  const [c, r] = await control.send([{ command: 'getClient', username: gatewayId }, { command: 'getRole', rolename: gatewayRole(gatewayId) }]);
  const found = <T>(x: DynsecResponse, key: string, what: string): T | null => {
    if (!x.error) return (x.data?.[key] ?? null) as T | null;
    if (/not found/i.test(x.error)) return null;
    throw new DynsecError(`Mosquitto refused get${what} for ${gatewayId}: ${x.error}`);
  };
  return { client: found<DynsecClient>(c, 'client', 'Client'), role: found<DynsecRole>(r, 'role', 'Role') };
}

/** The registry's gateway changes, told to Mosquitto. */
export function dynsecGatewayAccounts(control: DynsecControl): GatewayAccounts {
  const apply = async (gw: RegistryGateway, password?: string) => {
    const { client, role } = await readGateway(control, gw.id);
    await sendChecked(control, gatewayCommands(gw, client, role, password));
  };
  return {
    secretIssued: (gatewayId, password, status) => apply({ id: gatewayId, status }, password),
    statusChanged: (gatewayId, status) => apply({ id: gatewayId, status }),
  };
}
