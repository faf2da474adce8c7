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

/** Commands a gateway knows; `scan_bus` is the older name of `scan`, kept for tools that still send it. */
export const COMMAND_NAMES = ['poll_now', 'get_config', 'set_config', 'scan', 'scan_bus', 'restart'] as const;

/**
 * What may stand in the `<name>` level of a command or reply topic. Wider than COMMAND_NAMES on
 * purpose: a gateway answers a command it does not know (on `reply/<name>`, naming the ones it
 * knows) instead of leaving the sender waiting, so such topics must pass the topic parser and ACL.
 */
export const COMMAND_NAME_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;

export type TopicKind = 'readings' | 'status' | 'events' | 'cmd' | 'reply';

export const topics = {
  readings: (gw: string) => `${TOPIC_ROOT}/${gw}/readings`,
  status: (gw: string) => `${TOPIC_ROOT}/${gw}/status`,
  events: (gw: string) => `${TOPIC_ROOT}/${gw}/events`,
  command: (gw: string, name: string) => `${TOPIC_ROOT}/${gw}/cmd/${name}`,
  reply: (gw: string, name: string) => `${TOPIC_ROOT}/${gw}/reply/${name}`,
  /** What a head-end subscribes to (all gateways). */
  allGateways: (kind: Exclude<TopicKind, 'cmd' | 'reply'> | 'reply/+') => `${TOPIC_ROOT}/+/${kind}`,
};

export interface ParsedTopic {
  gatewayId: string;
  kind: TopicKind;
  /** Any name matching COMMAND_NAME_PATTERN; whether it is a known command is the receiver's question. */
  command?: string;
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
    const command = parts[4];
    if (!COMMAND_NAME_PATTERN.test(command)) return null;
    return { gatewayId, kind, command };
  }
  return null;
}
