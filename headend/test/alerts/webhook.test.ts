/**
 * The webhook sender against real HTTP servers on 127.0.0.1: success, a refusal, a receiver that
 * never answers (timeout), nobody listening, and credentials in the URL sent as Basic auth and never
 * shown in the error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendWebhook } from '../../src/alerts/notify.js';

let server: Server;
let base: string;
const seen: { url: string; headers: IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (req.url === '/hang') return; // never answers
      if (req.url === '/refuse') return void res.writeHead(503).end('maintenance');
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('sendWebhook', () => {
  it('POSTs JSON and accepts a 2xx answer', async () => {
    await sendWebhook(`http://${base}/ok`, { event: 'raised', alert: { id: 1 } }, 5000);
    const req = seen.find((s) => s.url === '/ok')!;
    expect(req.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req.body)).toEqual({ event: 'raised', alert: { id: 1 } });
    expect(req.headers.authorization).toBeUndefined();
  });

  it('a non-2xx answer is a failure naming the status and what the receiver said', async () => {
    await expect(sendWebhook(`http://${base}/refuse`, {}, 5000)).rejects.toThrow(`webhook http://${base}/refuse: HTTP 503 maintenance`);
  });

  it('gives up after the timeout', async () => {
    await expect(sendWebhook(`http://${base}/hang`, {}, 300)).rejects.toThrow(`webhook http://${base}/hang: no answer within 300 ms`);
  });

  it('nobody listening is a failure naming the cause', async () => {
    // A port that was just free (fetch refuses low "bad ports" such as 1 before connecting).
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await expect(sendWebhook(`http://127.0.0.1:${port}/x`, {}, 2000)).rejects.toThrow(new RegExp(`^webhook http://127\\.0\\.0\\.1:${port}/x: fetch failed \\(.*ECONNREFUSED`));
  });

  it('credentials in the URL go as Basic auth and are redacted in errors', async () => {
    await sendWebhook(`http://hook-user:s%40cret@${base}/ok-auth`, {}, 5000);
    const req = seen.find((s) => s.url === '/ok-auth')!;
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from('hook-user:s@cret').toString('base64')}`);
    const err = await sendWebhook(`http://hook-user:s%40cret@${base}/refuse`, {}, 5000).catch((e: Error) => e);
    expect((err as Error).message).toBe(`webhook http://hook-user:***@${base}/refuse: HTTP 503 maintenance`);
  });
});
