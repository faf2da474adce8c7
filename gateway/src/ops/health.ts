/**
 * GET /health (JSON, 200 when the gateway can poll and deliver, 503 otherwise — the systemd
 * watchdog acts on the same judgement) and GET /metrics (Prometheus text). node:http is enough for
 * two routes on a Pi.
 */
import http from 'node:http';
import type { LinkStatus } from '../bus/link.js';
import type { BrokerStatus } from '../mqtt/connection.js';
import type { GatewayMetrics } from './metrics.js';

export interface HealthInput {
  now: number;
  /** How long the broker may be away, or a bus reopening, before that counts. */
  graceMs: number;
  broker: BrokerStatus | null;
  buses: { name: string; link: LinkStatus; meters: readonly string[]; silent: readonly string[] }[];
  /** The outbox's own account of why it cannot take readings (full, disk refusing writes), or null. */
  outboxProblem: string | null;
}

/**
 * Pure: what keeps the gateway from doing its job, one line each. It cannot deliver when the broker
 * has been disconnected longer than the grace (or the outbox is full or its disk refuses writes); it cannot poll when a bus has
 * been reopening longer than the grace, or when every meter of a bus is silent (a line that opens
 * but carries nothing, a cut cable). A short outage within the grace is not a failure: the outbox
 * and the reopen back-off are made for it.
 */
export function judgeHealth(h: HealthInput): { ok: boolean; problems: string[] } {
  const problems: string[] = [];
  const secs = (ms: number) => `${Math.round(ms / 1000)} s`;
  if (h.outboxProblem) problems.push(h.outboxProblem);
  if (h.broker && !h.broker.connected && h.now - h.broker.since > h.graceMs)
    problems.push(`broker disconnected for ${secs(h.now - h.broker.since)}${h.broker.lastError ? ` (${h.broker.lastError.message})` : ''}`);
  for (const b of h.buses) {
    if (b.link.state === 'reopening' && h.now - b.link.since > h.graceMs)
      problems.push(`bus ${b.name} unavailable for ${secs(h.now - b.link.since)}${b.link.lastError ? ` (${b.link.lastError.message})` : ''}`);
    if (b.meters.length > 0 && b.meters.every((m) => b.silent.includes(m))) problems.push(`bus ${b.name}: all ${b.meters.length} meters silent`);
  }
  return { ok: problems.length === 0, problems };
}

export interface HealthSource {
  health(): { ok: boolean } & Record<string, unknown>;
}

export async function startHealthServer(host: string, port: number, src: HealthSource, metrics: GatewayMetrics): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url === '/health') {
      const h = src.health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify(h));
    } else if (req.url === '/metrics') {
      metrics.registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        })
        .catch((e: Error) => {
          res.writeHead(500);
          res.end(e.message);
        });
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(port, host, () => res());
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : port,
    close: () => new Promise((res) => server.close(() => res())),
  };
}
