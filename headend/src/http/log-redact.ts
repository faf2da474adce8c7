/**
 * What the API's request log may hold. Invite links carry one-time codes in their query
 * (`/resident/?account=…&code=…`), and a careless client may put a token or password there too; the
 * request log keeps the path and the parameter names but replaces such values with `[redacted]`.
 * Authorization and cookie headers are never logged (pino's redact, should a header ever be logged).
 */
import type { LoggerOptions } from 'pino';

/** Query parameters whose values are secrets: exact names, and any name containing password/secret/token. */
const SECRET_PARAM = /^(code|key|api_key|apikey|sig|signature|access_code)$|password|passwd|secret|token/i;

/** The URL with secret query values replaced; the rest (path, other parameters) as sent. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const parts = url.slice(q + 1).split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const raw = eq < 0 ? pair : pair.slice(0, eq);
    let name = raw;
    try { name = decodeURIComponent(raw.replace(/\+/g, ' ')); } catch { /* keep it as sent */ }
    return eq >= 0 && SECRET_PARAM.test(name) ? `${raw}=[redacted]` : pair;
  });
  return `${url.slice(0, q)}?${parts.join('&')}`;
}

interface ReqLike { method?: string; url?: string; host?: string; ip?: string; socket?: { remotePort?: number } }

/** Child-logger options for the API: fastify's request serializer with the URL redacted, and header redaction. */
export const apiLogOptions: Pick<LoggerOptions, 'serializers' | 'redact'> = {
  serializers: {
    req: (req: ReqLike) => ({
      method: req.method,
      url: req.url === undefined ? undefined : redactUrl(req.url),
      host: req.host,
      remoteAddress: req.ip,
      remotePort: req.socket?.remotePort,
    }),
  },
  redact: {
    paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'headers.authorization', 'headers.cookie', 'headers["x-api-key"]'],
    censor: '[redacted]',
  },
};
