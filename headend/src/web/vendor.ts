/**
 * The pages' UI libraries, served from node_modules as the ES modules their packages ship, with one
 * import map so the pages' own modules import them by their package names ("preact", "htm/preact",
 * "wouter-preact", "i18next"). No bundler: the browser runs exactly the published files, and an
 * `npm update` of a library is the whole upgrade.
 *
 * The import map is inline in each page (browsers do not load external import maps), so the pages'
 * Content-Security-Policy allows that one script by its SHA-256 hash and nothing else inline.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import fastifyStatic from '@fastify/static';

const require = createRequire(import.meta.url);

/** A package's folder: its entry resolved, cut at node_modules/<name>/ (exports may hide package.json). */
function packageDir(name: string): string {
  const entry = require.resolve(name);
  const marker = `${sep}node_modules${sep}${name.split('/').join(sep)}${sep}`;
  const at = entry.lastIndexOf(marker);
  if (at < 0) throw new Error(`cannot locate the ${name} package from ${entry}`);
  return entry.slice(0, at + marker.length - 1);
}

/** URL prefix → the package folder it serves; only the files listed in IMPORTS (and their own relative imports) are asked for. */
const PACKAGES = ['preact', 'htm', 'wouter-preact', 'regexparam', 'i18next'] as const;

/** Bare specifier → URL under /vendor/<package>/. */
const IMPORTS: Record<string, string> = {
  'preact': '/vendor/preact/dist/preact.module.js',
  'preact/hooks': '/vendor/preact/hooks/dist/hooks.module.js',
  'htm': '/vendor/htm/dist/htm.module.js',
  'htm/preact': '/vendor/htm/preact/index.module.js',
  'wouter-preact': '/vendor/wouter-preact/src/index.js',
  'regexparam': '/vendor/regexparam/dist/index.mjs',
  'i18next': '/vendor/i18next/dist/esm/i18next.js',
};

export const IMPORT_MAP_JSON = JSON.stringify({ imports: IMPORTS });
export const IMPORT_MAP_TAG = `<script type="importmap">${IMPORT_MAP_JSON}</script>`;
/** The CSP source that lets exactly this inline import map run. */
export const IMPORT_MAP_CSP_HASH = `'sha256-${createHash('sha256').update(IMPORT_MAP_JSON).digest('base64')}'`;

/** A page's HTML with the import map put where `<!-- importmap -->` stands (fails loudly if it is missing). */
export function withImportMap(html: string, page: string): string {
  if (!html.includes('<!-- importmap -->')) throw new Error(`${page}: no <!-- importmap --> placeholder in index.html`);
  return html.replace('<!-- importmap -->', IMPORT_MAP_TAG);
}

export const vendorPlugin: FastifyPluginAsync = async (app) => {
  const dirs = new Map(PACKAGES.map((p) => [p, packageDir(p)]));
  for (const [spec, url] of Object.entries(IMPORTS)) {
    const pkg = PACKAGES.find((p) => url.startsWith(`/vendor/${p}/`))!;
    const file = join(dirs.get(pkg)!, url.slice(`/vendor/${pkg}/`.length));
    if (!existsSync(file)) throw new Error(`${spec}: ${file} not found — is the ${pkg} package installed (npm ci)?`);
  }
  await app.register(fastifyStatic, { root: dirname(dirs.get('preact')!), serve: false, decorateReply: !app.hasReplyDecorator('sendFile') });
  const route = { config: { public: true }, schema: { hide: true } };
  app.get<{ Params: { pkg: string; '*': string } }>('/vendor/:pkg/*', route, async (req, reply) => {
    const dir = dirs.get(req.params.pkg as (typeof PACKAGES)[number]);
    // Only JavaScript modules of the listed packages; send() keeps the path inside the package folder.
    if (!dir || !/\.(m?js)$/.test(req.params['*'])) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: 'not found' });
    return reply.headers({ 'cache-control': 'public, max-age=3600', 'x-content-type-options': 'nosniff' }).sendFile(req.params['*'], dir);
  });
};
