// Every operation of the API has a screen, or a written reason why not. The test walks the OpenAPI
// document and the pages' modules (the console, headend/dashboard/**/*.js, and the residents' page,
// headend/resident/**/*.js): a GET is "on a screen" when a module names its path in a string or template
// literal; another method also needs its name ('POST', …) within a few lines of that literal (the
// api(path, { method }) call). An operation neither called nor listed in NO_SCREEN fails (a new route
// needs its screen or its reason), and so does a listed one a screen now calls (the list only shrinks).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { createApiServer } from '../../src/api/index.js';
import type { Database } from '../../src/db/types.js';
import { NO_SCREEN } from './no-screen.js';

const PAGES = ['../../dashboard/', '../../resident/'].map((d) => fileURLToPath(new URL(d, import.meta.url)));
const noDb: Database = {
  query: () => Promise.reject(new Error('no database in this test')),
  tx: () => Promise.reject(new Error('no database in this test')),
};
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

function sources(dir: string): string {
  return readdirSync(dir).map((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return sources(p);
    return f.endsWith('.js') ? readFileSync(p, 'utf8') : '';
  }).join('\n');
}

/** '/meters/{id}/readings' → a regex for a literal naming it: '/meters/', `/meters/${id}/readings`, … */
function literalPattern(path: string): RegExp {
  const parts = path.split(/\{[^}]+\}/).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const param = '(?:\\$\\{[^}]+\\}|[A-Za-z0-9_-]+)';
  return new RegExp(`['\`]${parts.join(param)}(?:[?'\`]|\\$\\{)`, 'g');
}

/** Whether the code calls this operation: its path literal, and for a non-GET its method near it. */
function called(code: string, method: string, path: string): boolean {
  for (const m of code.matchAll(literalPattern(path))) {
    if (method === 'GET') return true;
    const around = code.slice(Math.max(0, m.index - 1200), m.index + 1200);
    if (around.includes(`'${method}'`)) return true;
  }
  return false;
}

describe('every staff operation has a screen or a reason', () => {
  let app: FastifyInstance;
  const ops: { key: string; method: string; path: string }[] = [];
  beforeAll(async () => {
    app = await createApiServer({ db: noDb, config: { TOKEN_TTL: 3600 }, logger: pino({ level: 'silent' }), registry: new Registry() });
    await app.ready();
    const doc = app.swagger() as unknown as { paths: Record<string, Record<string, unknown>> };
    for (const [path, byMethod] of Object.entries(doc.paths)) {
      for (const method of Object.keys(byMethod)) if (METHODS.includes(method)) ops.push({ key: `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`, method: method.toUpperCase(), path });
    }
  });
  afterAll(async () => app?.close());

  it('finds the operations and the console modules', () => {
    expect(ops.length).toBeGreaterThan(50);
    expect(PAGES.map(sources).join('\n')).toContain('/auth/login');
  });

  it('names the operations without a screen, each with its reason', () => {
    const code = PAGES.map(sources).join('\n');
    const unscreened = ops.filter((o) => !called(code, o.method, o.path)).map((o) => o.key).sort();
    const listed = Object.keys(NO_SCREEN).sort();
    expect(unscreened.filter((k) => !(k in NO_SCREEN)), 'operations without a screen and without a reason in no-screen.ts').toEqual([]);
    expect(listed.filter((k) => !unscreened.includes(k)), 'listed in no-screen.ts but a screen calls them now: remove them from the list').toEqual([]);
    for (const [k, why] of Object.entries(NO_SCREEN)) expect(why.length, `${k}: say why it has no screen`).toBeGreaterThan(20);
  });
});
