// MQTT over TLS: aedes behind a tls server with a certificate made by openssl for 127.0.0.1; the
// gateway trusts it through `mqtt.tls.ca` and refuses it without (rejectUnauthorized by default).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Aedes } from 'aedes';
import { GatewayStatus } from '@amr/protocols';
import { Gateway, validateConfig } from '../src/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('MQTT over TLS', () => {
  let dir: string;
  let aedes: Aedes;
  let server: tls.Server;
  let port: number;
  const status: GatewayStatus[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'amr-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    aedes = await Aedes.createBroker();
    aedes.on('publish', (p, c) => {
      if (c && p.topic.endsWith('/status')) status.push(GatewayStatus.parse(JSON.parse(p.payload.toString())));
    });
    server = tls.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (s) => aedes.handle(s));
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await new Promise<void>((r) => aedes.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  const gateway = (id: string, tlsCfg?: Record<string, unknown>) =>
    new Gateway({
      config: validateConfig({
        gateway: { id, bufferDir: join(dir, id) },
        mqtt: { url: `mqtts://127.0.0.1:${port}`, reconnectMin: '200ms', ...(tlsCfg ? { tls: tlsCfg } : {}) },
        buses: [{ name: 'b', protocol: 'modbus', port: '/dev/null-not-used' }],
      }),
      logger: pino({ level: 'silent' }),
      scheduler: false,
    });

  it('connects with the CA file and publishes its retained birth', async () => {
    const gw = gateway('gw-tls', { ca: join(dir, 'cert.pem') });
    await gw.start();
    try {
      for (let i = 0; i < 100 && !status.some((s) => s.gatewayId === 'gw-tls' && s.state === 'online'); i++) await sleep(50);
      expect(status.find((s) => s.gatewayId === 'gw-tls')).toMatchObject({ state: 'online', reason: 'birth' });
      expect(gw.health().mqttConnected).toBe(true);
    } finally {
      await gw.stop();
    }
  });

  it('refuses an untrusted certificate', async () => {
    const gw = gateway('gw-notrust');
    // the server sees the handshake fail when the client rejects its certificate
    const rejected = new Promise<Error>((r) => server.once('tlsClientError', (e) => r(e)));
    await gw.start();
    try {
      expect(await rejected).toBeInstanceOf(Error);
      expect(gw.health().mqttConnected).toBe(false);
      expect(status.some((s) => s.gatewayId === 'gw-notrust')).toBe(false);
    } finally {
      await gw.stop();
    }
  });
});
