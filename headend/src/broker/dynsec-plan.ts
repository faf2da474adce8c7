/**
 * What Mosquitto's dynamic-security plugin must be told so that it enforces the registry: pure
 * functions from the registry's gateways and the broker's state to `$CONTROL/dynamic-security/v1`
 * commands. The I/O (sending them, reading the state) is dynsec.ts.
 *
 * Each gateway is a dynsec client named by its id, pinned to its one client id (acl.ts
 * `gatewayClientId`: without a pin any gateway could connect under another's id and kick it), with a
 * role of its own whose ACLs are the gateway's grant from acl.ts — the rule the embedded broker and
 * the EMQX hooks apply too. The plugin's default ACL access refuses every publish and subscribe no
 * role allows. Clients the head-end manages carry `GATEWAY_TEXTNAME`, so clients the operator made
 * (the admin, monitoring) are never touched.
 *
 * Passwords: the registry keeps only a hash the plugin cannot use (PBKDF2 there, SHA-256 here), so a
 * password reaches the broker only when it is issued (gateway created, secret rotated). A gateway the
 * broker lacks is created without one and cannot connect until its secret is rotated; the plan names it.
 */
import { gatewayClientId, gatewayGrant, headendGrant, type TopicGrant } from './acl.js';

export const GATEWAY_TEXTNAME = 'amr gateway';
export const HEADEND_ROLE = 'amr-headend';
export const gatewayRole = (gatewayId: string) => `amr-gw-${gatewayId}`;
const GATEWAY_ROLE_PREFIX = 'amr-gw-';

export type DynsecCommand = { command: string } & Record<string, unknown>;

export interface DynsecAcl { acltype: string; topic: string; allow: boolean; priority?: number }
export interface DynsecRole { rolename: string; acls: DynsecAcl[] }
export interface DynsecClient { username: string; clientid?: string; textname?: string; disabled?: boolean; roles?: { rolename: string }[] }
export interface DynsecState { clients: DynsecClient[]; roles: DynsecRole[]; defaultACLAccess: { acltype: string; allow: boolean }[] }

export interface RegistryGateway { id: string; status: string }

/** The head-end's own user on the broker (MQTT_USERNAME / MQTT_PASSWORD, never the admin) and its share group. */
export interface HeadendUser { username: string; password: string; shareGroup: string }

/** Nobody publishes or subscribes unless a role allows it; receiving and unsubscribing stay open. */
export const DEFAULT_ACL_ACCESS = [
  { acltype: 'publishClientSend', allow: false },
  { acltype: 'publishClientReceive', allow: true },
  { acltype: 'subscribe', allow: false },
  { acltype: 'unsubscribe', allow: true },
];

/** A grant as the plugin's ACLs: publish filters as `publishClientSend`, subscription bounds as `subscribePattern`
 * (which, like acl.ts `filterWithin`, lets a request through only as far as the grant's wildcards reach). */
export function aclsOf(grant: TopicGrant): DynsecAcl[] {
  return [
    ...grant.publish.map((topic) => ({ acltype: 'publishClientSend', topic, allow: true, priority: 0 })),
    ...grant.subscribe.map((topic) => ({ acltype: 'subscribePattern', topic, allow: true, priority: 0 })),
  ];
}

const aclKey = (a: DynsecAcl) => `${a.acltype} ${a.topic} ${a.allow}`;

/** Commands that make `current` (null = missing) the role `want`. */
function roleCommands(want: DynsecRole, current: DynsecRole | null): DynsecCommand[] {
  if (!current) return [{ command: 'createRole', rolename: want.rolename, acls: want.acls }];
  const have = new Map(current.acls.map((a) => [aclKey(a), a]));
  const need = new Map(want.acls.map((a) => [aclKey(a), a]));
  return [
    ...[...have].filter(([k]) => !need.has(k)).map(([, a]) => ({ command: 'removeRoleACL', rolename: want.rolename, acltype: a.acltype, topic: a.topic })),
    ...[...need].filter(([k]) => !have.has(k)).map(([, a]) => ({ command: 'addRoleACL', rolename: want.rolename, ...a })),
  ];
}

/**
 * Commands that make the broker hold gateway `gw` as the registry has it. With `password` (just
 * issued) the client gets it; without, an existing client keeps its own and a new one gets none.
 */
export function gatewayCommands(gw: RegistryGateway, client: DynsecClient | null, role: DynsecRole | null, password?: string): DynsecCommand[] {
  const rolename = gatewayRole(gw.id);
  const clientid = gatewayClientId(gw.id);
  const disabled = gw.status !== 'active';
  const out = roleCommands({ rolename, acls: aclsOf(gatewayGrant(gw.id)) }, role);
  if (!client) {
    out.push({
      command: 'createClient', username: gw.id, clientid, textname: GATEWAY_TEXTNAME, roles: [{ rolename, priority: 0 }],
      ...(password !== undefined ? { password } : {}),
    });
    if (disabled) out.push({ command: 'disableClient', username: gw.id });
    return out;
  }
  if (client.clientid !== clientid) out.push({ command: 'setClientId', username: gw.id, clientid });
  if (!client.roles?.some((r) => r.rolename === rolename)) out.push({ command: 'addClientRole', username: gw.id, rolename, priority: 0 });
  if (password !== undefined) out.push({ command: 'setClientPassword', username: gw.id, password });
  if (!!client.disabled !== disabled) out.push({ command: disabled ? 'disableClient' : 'enableClient', username: gw.id });
  return out;
}

export interface ReconcilePlan {
  commands: DynsecCommand[];
  /** Gateways created on the broker without a password: they connect once their secret is rotated. */
  withoutPassword: string[];
  /** Broker clients of gateways the registry no longer has, deleted. */
  removed: string[];
}

/**
 * Everything that makes the broker match the registry; empty when it already does (run on every
 * start, by every replica: a second run changes nothing).
 */
export function reconcilePlan(registry: RegistryGateway[], state: DynsecState, headend?: HeadendUser): ReconcilePlan {
  const commands: DynsecCommand[] = [];
  const clients = new Map(state.clients.map((c) => [c.username, c]));
  const roles = new Map(state.roles.map((r) => [r.rolename, r]));
  const defaults = new Map(state.defaultACLAccess.map((a) => [a.acltype, a.allow]));
  if (DEFAULT_ACL_ACCESS.some((a) => defaults.get(a.acltype) !== a.allow)) commands.push({ command: 'setDefaultACLAccess', acls: DEFAULT_ACL_ACCESS });

  if (headend) {
    commands.push(...roleCommands({ rolename: HEADEND_ROLE, acls: aclsOf(headendGrant(headend.shareGroup)) }, roles.get(HEADEND_ROLE) ?? null));
    const own = clients.get(headend.username);
    // An existing user keeps its password: setting it would end every replica's session.
    if (!own) commands.push({ command: 'createClient', username: headend.username, password: headend.password, roles: [{ rolename: HEADEND_ROLE, priority: 0 }] });
    else if (!own.roles?.some((r) => r.rolename === HEADEND_ROLE)) commands.push({ command: 'addClientRole', username: headend.username, rolename: HEADEND_ROLE, priority: 0 });
  }

  const known = new Set(registry.map((g) => g.id));
  const withoutPassword: string[] = [];
  for (const gw of registry) {
    const client = clients.get(gw.id) ?? null;
    if (client && client.textname !== GATEWAY_TEXTNAME) continue; // the operator's own client under that name: not ours to change
    if (!client) withoutPassword.push(gw.id);
    commands.push(...gatewayCommands(gw, client, roles.get(gatewayRole(gw.id)) ?? null));
  }
  const removed: string[] = [];
  for (const c of state.clients) {
    if (c.textname === GATEWAY_TEXTNAME && !known.has(c.username)) {
      removed.push(c.username);
      commands.push({ command: 'deleteClient', username: c.username });
    }
  }
  for (const r of state.roles) {
    const id = r.rolename.slice(GATEWAY_ROLE_PREFIX.length);
    if (r.rolename.startsWith(GATEWAY_ROLE_PREFIX) && !known.has(id) && removed.includes(id)) commands.push({ command: 'deleteRole', rolename: r.rolename });
  }
  return { commands, withoutPassword, removed };
}
