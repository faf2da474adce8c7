/**
 * Topic ACL of contract v1, as pure functions: a gateway publishes only below `amr/v1/<its id>/`
 * (readings, status, events, reply/<cmd>) and subscribes only to its own `cmd/…`.
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
