/**
 * Residents' page (issue 7): a phone-first static page under /resident/ (files in headend/resident/),
 * plus the ECharts bundle it draws the consumption chart with. The files are public (they hold no data);
 * everything shown comes from the /resident/* API routes with the resident's bearer token.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import fastifyStatic from '@fastify/static';
import { echartsBundlePath } from '../dashboard/index.js';
import { FILE_HEADERS, PAGE_HEADERS } from '../dashboard/page-headers.js';
import { withImportMap } from '../web/vendor.js';

/** headend/resident/ beside migrations/: two levels up from src/resident-page/ and dist/resident-page/. */
export const RESIDENT_DIR = fileURLToPath(new URL('../../resident/', import.meta.url));

/**
 * The page is opened from an invite link carrying the one-time code in its query: no referrer leaves
 * the page, nothing but its own files run, and it is never framed (the set shared with the dashboard).
 */
export { PAGE_HEADERS };

export const residentPagePlugin: FastifyPluginAsync = async (app) => {
  if (!existsSync(join(RESIDENT_DIR, 'index.html'))) throw new Error(`residents' page files not found at ${RESIDENT_DIR} (expected index.html)`);
  const echarts = echartsBundlePath();
  if (!existsSync(echarts)) throw new Error(`echarts bundle not found at ${echarts}: is the echarts package installed?`);

  // This plugin is encapsulated, so its reply.sendFile does not clash with the dashboard's; should an
  // outer scope ever decorate sendFile first, reuse that one (every call below names its root).
  await app.register(fastifyStatic, { root: RESIDENT_DIR, serve: false, decorateReply: !app.hasReplyDecorator('sendFile') });
  const route = { config: { public: true }, schema: { hide: true } };

  app.get('/resident', route, async (req, reply) => {
    // Keep the invite link's query (?account=…&code=…) across the redirect.
    const q = req.url.indexOf('?');
    return reply.redirect(`/resident/${q >= 0 ? req.url.slice(q) : ''}`, 302);
  });
  app.get('/resident/', route, async (_req, reply) =>
    reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(withImportMap(await readFile(join(RESIDENT_DIR, 'index.html'), 'utf8'), 'resident')));
  app.get('/resident/vendor/echarts.min.js', route, async (_req, reply) =>
    reply.header('cache-control', 'public, max-age=86400').sendFile('echarts.min.js', dirname(echarts)));
  // The API's own GET /resident/meters and /resident/history are static routes and win over this wildcard.
  // @fastify/static's send() keeps paths inside root (.. and encoded variants are refused).
  app.get<{ Params: { '*': string } }>('/resident/*', route, async (req, reply) =>
    reply.headers(FILE_HEADERS).sendFile(req.params['*'], RESIDENT_DIR));
};
