/**
 * The HTTP side's hygiene through the real API: the dashboard and the residents' page carry the same
 * security headers (CSP with frame-ancestors, X-Frame-Options, nosniff, no referrer), and the request
 * log — captured from pino — holds no invite codes, tokens, passwords or authorization headers.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { createApiServer } from '../../src/api/index.js';
import { redactUrl } from '../../src/http/log-redact.js';
import { PAGE_HEADERS } from '../../src/dashboard/page-headers.js';
import type { OpenedDb } from '../../src/db/index.js';
import { openTestDb } from '../engine.js';

let opened: OpenedDb;
let app: FastifyInstance;
const logged: string[] = [];

beforeAll(async () => {
  opened = await openTestDb();
  const sink = new Writable({ write(chunk, _enc, done) { logged.push(String(chunk)); done(); } });
  const logger = pino({ level: 'info' }, sink);
  app = await createApiServer({ db: opened.db, config: { TOKEN_TTL: 3600 }, logger, registry: new Registry() });
  await app.ready();
}, 120_000);
afterAll(async () => {
  await app?.close();
  await opened?.close();
});

describe('security headers of the pages', () => {
  it('the dashboard is sent with the same CSP, frame, nosniff and referrer headers as the residents\' page', async () => {
    const dash = await app.inject({ method: 'GET', url: '/dashboard/' });
    const resident = await app.inject({ method: 'GET', url: '/resident/' });
    expect(dash.statusCode).toBe(200);
    expect(resident.statusCode).toBe(200);
    // (cache-control is left to @fastify/static's own header; the security headers are the point here)
    for (const [name, value] of Object.entries(PAGE_HEADERS).filter(([n]) => n !== 'cache-control')) {
      expect(dash.headers[name], name).toBe(value);
      expect(resident.headers[name], name).toBe(value);
    }
    // Never framed (clickjacking), nothing but its own scripts.
    expect(dash.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(dash.headers['content-security-policy']).toContain("script-src 'self'");
    expect(dash.headers['x-frame-options']).toBe('DENY');
  });

  it('the dashboard\'s scripts and the shared modules are not sniffed into another type', async () => {
    for (const url of ['/dashboard/app.js', '/dashboard/style.css', '/web-shared/ui.js']) {
      const r = await app.inject({ method: 'GET', url });
      expect(r.statusCode, url).toBe(200);
      expect(r.headers['x-content-type-options'], url).toBe('nosniff');
    }
  });
});

describe('request log', () => {
  it('redactUrl keeps the path and harmless parameters and hides secret values', () => {
    expect(redactUrl('/resident/?account=LS-1001&code=K7M2P9Q4RT')).toBe('/resident/?account=LS-1001&code=[redacted]');
    expect(redactUrl('/x?token=amrt_abc&new_password=Secret-1&client_secret=s&page=2')).toBe('/x?token=[redacted]&new_password=[redacted]&client_secret=[redacted]&page=2');
    // Encoded names are recognised; a name alone without a value is kept as sent.
    expect(redactUrl('/x?%70assword=hunter22&code')).toBe('/x?%70assword=[redacted]&code');
    expect(redactUrl('/readings/export?format=csv')).toBe('/readings/export?format=csv');
  });

  it('an invite link, a token in the query and an Authorization header never reach the log', async () => {
    logged.length = 0;
    await app.inject({ method: 'GET', url: '/resident/?account=LS-1001&code=K7M2P9Q4RT' });
    await app.inject({ method: 'GET', url: '/resident?account=LS-1001&code=K7M2P9Q4RT' });
    await app.inject({ method: 'GET', url: '/auth/me?token=amrt_SECRETTOKENVALUE&password=hunter2hunter2', headers: { authorization: 'Bearer amrt_HEADERTOKENVALUE' } });
    const text = logged.join('');
    // Something was logged (the requests and responses), with the paths the engineer needs.
    expect(text).toContain('/resident/?account=LS-1001&code=[redacted]');
    expect(text).toContain('/auth/me?token=[redacted]&password=[redacted]');
    for (const secret of ['K7M2P9Q4RT', 'SECRETTOKENVALUE', 'hunter2hunter2', 'HEADERTOKENVALUE']) expect(text).not.toContain(secret);
  });
});
