/**
 * Engineers' dashboard: a static single-page app under /dashboard/ plus the ECharts bundle it loads.
 * The files are public (they hold no data); every number comes from the API with the user's bearer token.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import fastifyStatic from '@fastify/static';
import { FILE_HEADERS, PAGE_HEADERS } from './page-headers.js';
import { vendorPlugin, withImportMap } from '../web/vendor.js';

/**
 * headend/dashboard/ sits at the package root beside migrations/: two levels up from this file both
 * in src/dashboard/ (vitest, tsx) and in dist/dashboard/ (the built head-end).
 */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));

/**
 * echarts does not export its dist/ files; resolve the package's CommonJS entry (dist/echarts.js)
 * and take the minified bundle beside it.
 */
export function echartsBundlePath(): string {
  const entry = createRequire(import.meta.url).resolve('echarts');
  return join(dirname(entry), 'echarts.min.js');
}

export const dashboardPlugin: FastifyPluginAsync = async (app) => {
  if (!existsSync(join(DASHBOARD_DIR, 'index.html'))) throw new Error(`dashboard files not found at ${DASHBOARD_DIR} (expected index.html)`);
  const echarts = echartsBundlePath();
  if (!existsSync(echarts)) throw new Error(`echarts bundle not found at ${echarts}: is the echarts package installed?`);

  // serve: false — the routes below are declared here so they can be marked public for the auth plugin.
  await app.register(fastifyStatic, { root: DASHBOARD_DIR, serve: false });
  const route = { config: { public: true }, schema: { hide: true } };

  app.get('/dashboard', route, async (_req, reply) => reply.redirect('/dashboard/', 302));
  app.get('/dashboard/', route, async (_req, reply) =>
    reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(withImportMap(await readFile(join(DASHBOARD_DIR, 'index.html'), 'utf8'), 'dashboard')));
  app.get('/dashboard/vendor/echarts.min.js', route, async (_req, reply) =>
    reply.header('cache-control', 'public, max-age=86400').sendFile('echarts.min.js', dirname(echarts)));
  // @fastify/static's send() keeps paths inside root (.. and encoded variants are refused).
  app.get<{ Params: { '*': string } }>('/dashboard/*', route, async (req, reply) => reply.headers(FILE_HEADERS).sendFile(req.params['*']));
};

/** headend/web-shared/: the browser modules both pages import (`../web-shared/x.js` from either). */
export const WEB_SHARED_DIR = fileURLToPath(new URL('../../web-shared/', import.meta.url));

export const webSharedPlugin: FastifyPluginAsync = async (app) => {
  await app.register(vendorPlugin);
  if (!existsSync(join(WEB_SHARED_DIR, 'ui.js'))) throw new Error(`shared page modules not found at ${WEB_SHARED_DIR} (expected ui.js)`);
  await app.register(fastifyStatic, { root: WEB_SHARED_DIR, serve: false, decorateReply: !app.hasReplyDecorator('sendFile') });
  const route = { config: { public: true }, schema: { hide: true } };
  // Only the modules: the folder's README is not served.
  app.get<{ Params: { '*': string } }>('/web-shared/*', route, async (req, reply) => {
    if (!/^[a-z0-9-]+\.js$/.test(req.params['*'])) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: 'not found' });
    return reply.headers(FILE_HEADERS).sendFile(req.params['*'], WEB_SHARED_DIR);
  });
};
