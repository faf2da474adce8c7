/**
 * The one topic rule of contract v1 for every broker: a gateway publishes only below
 * `amr/v1/<its id>/` (readings, status, events, reply/<cmd>) and subscribes only to its own `cmd/…`;
 * and the client ids a gateway may connect under (its own only, so it cannot take over another
 * gateway's session).
 *
 * The rule is a grant of MQTT topic filters (`gatewayGrant`), and every broker takes it from here:
 * the embedded aedes broker and the EMQX hooks ask `gatewayMayPublish` / `gatewayMaySubscribe`, which
 * match against the grant with MQTT's own matching; Mosquitto's dynamic-security plugin gets the same
 * filters as a role's ACLs (dynsec.ts), which Mosquitto matches the same way. So what one broker
 * allows, the others allow, with no second list to keep in step.
 */
import { TOPIC_ROOT } from '@amr/protocols';

export interface TopicGrant {
  /** Filters a client may publish to (a topic is allowed when one of them matches it). */
  publish: string[];
  /** Filters a client's subscription must lie within (`+`/`#` in a request only as far as the grant has them). */
  subscribe: string[];
}

/** What a gateway may do: its own readings, status (birth and LWT), events and command replies; its own commands. */
export function gatewayGrant(gatewayId: string): TopicGrant {
  const own = `${TOPIC_ROOT}/${gatewayId}`;
  return {
    publish: [`${own}/readings`, `${own}/status`, `${own}/events`, `${own}/reply/+`],
    subscribe: [`${own}/cmd/#`],
  };
}

/** What the head-end's own client does on an external broker: takes every gateway's messages and sends
 * commands. With `shareGroup` its subscriptions are also allowed in that shared-subscription group
 * (Mosquitto 2.0 checks a `$share/<group>/…` filter as written, not the topic filter inside it). */
export function headendGrant(shareGroup?: string): TopicGrant {
  const all = `${TOPIC_ROOT}/+`;
  const subscribe = [`${all}/readings`, `${all}/status`, `${all}/events`, `${all}/reply/+`];
  return {
    publish: [`${all}/cmd/+`],
    subscribe: shareGroup ? [...subscribe, ...subscribe.map((f) => `$share/${shareGroup}/${f}`)] : subscribe,
  };
}

/** MQTT matching of a topic name against a filter (`+` one level, `#` the rest, `$…` topics never by a wildcard). */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
    if (f[i] === '+' && (t[i] === '+' || t[i] === '#')) return false; // a name has no wildcards
  }
  return f.length === t.length;
}

/** Whether every topic `requested` can match is one `granted` matches too (a subscription within a grant). */
export function filterWithin(granted: string, requested: string): boolean {
  const g = granted.split('/');
  const r = requested.split('/');
  for (let i = 0; i < g.length; i++) {
    if (g[i] === '#') return i === g.length - 1;
    if (i >= r.length) return false;
    if (r[i] === '#') return false; // the request reaches deeper than this grant level allows
    if (g[i] === '+') continue; // a single level, named or '+'
    if (g[i] !== r[i]) return false;
  }
  return g.length === r.length;
}

const isTopicName = (topic: string) => topic.length > 0 && !/[+#\0]/.test(topic);

export function grantAllowsPublish(grant: TopicGrant, topic: string): boolean {
  return isTopicName(topic) && grant.publish.some((f) => topicMatches(f, topic));
}

export function grantAllowsSubscribe(grant: TopicGrant, filter: string): boolean {
  return filter.length > 0 && grant.subscribe.some((g) => filterWithin(g, filter));
}

export function gatewayMayPublish(gatewayId: string, topic: string): boolean {
  return grantAllowsPublish(gatewayGrant(gatewayId), topic);
}

export function gatewayMaySubscribe(gatewayId: string, filter: string): boolean {
  return grantAllowsSubscribe(gatewayGrant(gatewayId), filter);
}

/** The one client id a broker that pins a single id per user (Mosquitto's dynamic security) is given:
 * the gateway's default (gateway/src/mqtt/), which `clientIdOwner` reads as the gateway's own. */
export function gatewayClientId(gatewayId: string): string {
  return `amr-gw-${gatewayId}`;
}

/**
 * The gateway a client id belongs to: `amr-gw-<id>` (the gateway's default, gateway/src/mqtt/) or
 * the bare `<id>`, either optionally followed by `:<anything>` for a second session (a service tool,
 * a test probe). It is a function of the client id alone, so no two gateways can own one client id:
 * ':' cannot occur in a gateway id, and a client id starting with `amr-gw-` is read as the prefixed
 * form only (gateway `amr-gw-x` connects as `amr-gw-amr-gw-x`, never as its bare id, which is x's).
 * A prefix rule like `amr-gw-<id>-…` would not do: ids contain '-', so `gw-1` could claim the
 * session of `gw-1-x`. Why it matters: a broker hands a client id to the last CONNECT naming it,
 * kicking the previous holder (and wiping its session under clean:true).
 */
export function clientIdOwner(clientId: string): string {
  const colon = clientId.indexOf(':');
  const base = colon < 0 ? clientId : clientId.slice(0, colon);
  return base.startsWith('amr-gw-') ? base.slice('amr-gw-'.length) : base;
}

export function gatewayOwnsClientId(gatewayId: string, clientId: string): boolean {
  return clientIdOwner(clientId) === gatewayId;
}
