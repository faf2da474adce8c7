/**
 * Real peers for the notification tests: an HTTP webhook receiver and an SMTP server (smtp-server),
 * both on 127.0.0.1 with a free port, collecting what they receive; and a bounded poll.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Hook { event: string; alert: { id: number; kind: string; subject: string; message: string; cleared_at: string | null; [k: string]: unknown }; answered: number; authorization?: string }

export interface WebhookReceiver {
  url: string;
  hooks: Hook[];
  close(): Promise<void>;
}

/** Answers 204, or the status `statusFor` picks for a body (e.g. 500 for one subject). */
export async function startWebhookReceiver(statusFor: (body: Hook) => number = () => 204): Promise<WebhookReceiver> {
  const hooks: Hook[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let status = 400;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Hook;
        status = req.method === 'POST' && req.headers['content-type'] === 'application/json' ? statusFor(body) : 400;
        hooks.push({ ...body, answered: status, authorization: req.headers.authorization });
      } catch { /* answered 400 */ }
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 300 ? 'receiver says no' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/alert-hook`,
    hooks,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export interface Mail { from: string; to: string[]; headers: Record<string, string>; subject: string; body: string }

export interface SmtpReceiver { url: string; mails: Mail[]; close(): Promise<void> }

/** RFC 2047 encoded words (=?UTF-8?B?…?= / =?UTF-8?Q?…?=) back to text; adjacent words join without the space. */
export function decodeWords(s: string): string {
  return s.replace(/\?=\s+=\?/g, '?==?').replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_m, enc: string, text: string) =>
    enc.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64').toString('utf8')
      : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'));
}

function parseMail(raw: string): { headers: Record<string, string>; body: string } {
  const cut = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, cut).replace(/\r\n[ \t]+/g, ' ');
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, body: raw.slice(cut + 4) };
}

/** Accepts every message, except those `reject` picks: answered 550 (the message is still collected). */
export async function startSmtpReceiver(reject: (mail: Mail) => boolean = () => false): Promise<SmtpReceiver> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'], // plain smtp:// on loopback, no credentials
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const { headers, body } = parseMail(Buffer.concat(chunks).toString('utf8'));
        const mail = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address), headers, subject: decodeWords(headers.subject ?? ''), body,
        };
        mails.push(mail);
        if (!reject(mail)) return callback();
        const err = Object.assign(new Error('mailbox unavailable (test)'), { responseCode: 550 });
        callback(err);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  return { url: `smtp://127.0.0.1:${port}`, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Polls `fn` until it returns something truthy; fails naming `what` after `timeoutMs` (a bound, not an assertion on time). */
export async function waitFor<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 25_000): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
