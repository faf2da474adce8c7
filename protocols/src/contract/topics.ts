/**
 * MQTT topic layout, version 1. Everything a gateway says lives under its own id,
 * so one ACL rule ("publish only below amr/v1/<your id>/") keeps gateways apart.
 *
 *   amr/v1/<gw>/readings          gateway → head-end   QoS 1   ReadingsMessage
 *   amr/v1/<gw>/status            gateway → head-end   QoS 1, retained (birth; LWT = offline)
 *   amr/v1/<gw>/events            gateway → head-end   QoS 1   GatewayEvent
 *   amr/v1/<gw>/cmd/<name>        head-end → gateway   QoS 1   CommandRequest
 *   amr/v1/<gw>/reply/<name>      gateway → head-end   QoS 1   CommandReply
 */
export const TOPIC_ROOT = 'amr/v1';

/** Gateway ids travel inside topics, so they must not contain MQTT wildcards or separators. */
export const GATEWAY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const COMMAND_NAMES = ['poll_now', 'get_config', 'set_config', 'scan_bus', 'restart'] as const;
type CommandNameT = (typeof COMMAND_NAMES)[number];

export type TopicKind = 'readings' | 'status' | 'events' | 'cmd' | 'reply';

export const topics = {
  readings: (gw: string) => `${TOPIC_ROOT}/${gw}/readings`,
  status: (gw: string) => `${TOPIC_ROOT}/${gw}/status`,
  events: (gw: string) => `${TOPIC_ROOT}/${gw}/events`,
  command: (gw: string, name: CommandNameT | '+') => `${TOPIC_ROOT}/${gw}/cmd/${name}`,
  reply: (gw: string, name: CommandNameT | '+') => `${TOPIC_ROOT}/${gw}/reply/${name}`,
  /** What a head-end subscribes to (all gateways). */
  allGateways: (kind: Exclude<TopicKind, 'cmd' | 'reply'> | 'reply/+') => `${TOPIC_ROOT}/+/${kind}`,
};

export interface ParsedTopic {
  gatewayId: string;
  kind: TopicKind;
  command?: CommandNameT;
}

/** Parses a topic of this contract; returns null for anything else (never throws). */
export function parseTopic(topic: string): ParsedTopic | null {
  const parts = topic.split('/');
  if (parts.length < 4 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT) return null;
  const gatewayId = parts[2];
  if (!GATEWAY_ID_PATTERN.test(gatewayId)) return null;
  const kind = parts[3];
  if ((kind === 'readings' || kind === 'status' || kind === 'events') && parts.length === 4) {
    return { gatewayId, kind };
  }
  if ((kind === 'cmd' || kind === 'reply') && parts.length === 5) {
    const command = parts[4] as CommandNameT;
    if (!COMMAND_NAMES.includes(command)) return null;
    return { gatewayId, kind, command };
  }
  return null;
}
