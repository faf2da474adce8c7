/**
 * GET /health (JSON, 200 when the gateway runs and its outbox is not full and its disk takes writes,
 * 503 otherwise, `outboxProblem` saying why) and
 * GET /metrics (Prometheus text). node:http is enough for two routes on a Pi.
 */
import http from 'node:http';
import type { GatewayMetrics } from './metrics.js';

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
