/**
 * Topic ACL of contract v1, as pure functions: a gateway publishes only below `amr/v1/<its id>/`
 * (readings, status, events, reply/<cmd>) and subscribes only to its own `cmd/…`; and the client ids
 * a gateway may connect under (its own only, so it cannot take over another gateway's session).
 */
import { TOPIC_ROOT, parseTopic } from '@amr/protocols';

export function gatewayMayPublish(gatewayId: string, topic: string): boolean {
  const t = parseTopic(topic);
  return !!t && t.gatewayId === gatewayId && t.kind !== 'cmd';
}

export function gatewayMaySubscribe(gatewayId: string, filter: string): boolean {
  const own = `${TOPIC_ROOT}/${gatewayId}/cmd/`;
  if (filter === `${own}#` || filter === `${own}+`) return true;
  const t = parseTopic(filter);
  return !!t && t.gatewayId === gatewayId && t.kind === 'cmd';
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
