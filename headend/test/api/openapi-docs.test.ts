// The OpenAPI document (/docs) explains itself: every operation has a summary and a description,
// every parameter a description, and the main routes (login, readings submit, readings import, billing
// run, overview) show an example. The test walks the generated document and names what is missing,
// so a new route without its texts fails here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { createApiServer } from '../../src/api/index.js';
import type { Database } from '../../src/db/types.js';
import { KNOWN_GAPS } from './openapi-gaps.js';

interface Parameter { name: string; in: string; description?: string }
interface Operation {
  summary?: string; description?: string; parameters?: Parameter[]; hide?: boolean;
  requestBody?: { content?: Record<string, { schema?: unknown; example?: unknown; examples?: unknown }> };
  responses?: Record<string, { content?: Record<string, { schema?: unknown; example?: unknown; examples?: unknown }> }>;
}
interface Doc { paths: Record<string, Record<string, Operation>> }

/** Building the document asks nothing of the database: one that refuses every query is enough. */
const noDb: Database = {
  query: () => Promise.reject(new Error('no database in the OpenAPI test')),
  tx: () => Promise.reject(new Error('no database in the OpenAPI test')),
};

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
/** Login, readings submit, readings import, billing run, overview. */
const MAIN = ['POST /auth/login', 'POST /meters/:id/readings', 'POST /import/readings', 'POST /billing/periods/:period/compute', 'GET /overview/buildings'];

/** True when `schema` (or something inside it) carries an example. */
function hasExample(x: unknown): boolean {
  if (!x || typeof x !== 'object') return false;
  const o = x as Record<string, unknown>;
  if (o.example !== undefined || (Array.isArray(o.examples) && o.examples.length) || (o.examples && typeof o.examples === 'object' && Object.keys(o.examples).length)) return true;
  return Object.values(o).some(hasExample);
}

describe('OpenAPI document', () => {
  let app: FastifyInstance;
  let doc: Doc;
  const ops: { key: string; op: Operation }[] = [];
  beforeAll(async () => {
    app = await createApiServer({ db: noDb, config: { TOKEN_TTL: 3600 }, logger: pino({ level: 'silent' }), registry: new Registry() });
    await app.ready();
    doc = app.swagger() as unknown as Doc;
    for (const [path, byMethod] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(byMethod)) if (METHODS.includes(method)) ops.push({ key: `${method.toUpperCase()} ${path}`, op });
    }
  });
  afterAll(async () => app?.close());

  it('lists the operations', () => {
    expect(ops.length).toBeGreaterThan(50);
  });

  // Gaps not yet filled are listed in openapi-gaps.ts: a gap not listed fails (a new route needs its
  // texts), and so does a listed one that is filled now (the list only shrinks).
  it('gives every operation a summary and a description', () => {
    const missing = ops.flatMap(({ key, op }) => [
      ...(op.summary?.trim() ? [] : [`${key}: summary`]),
      ...(op.description?.trim() ? [] : [`${key}: description`]),
    ]);
    const known = KNOWN_GAPS.filter((g) => / (summary|description)$/.test(g));
    expect(missing.filter((m) => !known.includes(m)), 'missing (write them in the route file)').toEqual([]);
    expect(known.filter((k) => !missing.includes(k)), 'written now: remove them from openapi-gaps.ts').toEqual([]);
  });

  it('describes every parameter', () => {
    const missing = ops.flatMap(({ key, op }) => (op.parameters ?? []).filter((p) => !p.description?.trim()).map((p) => `${key}: ${p.in} parameter ${p.name}`));
    const known = KNOWN_GAPS.filter((g) => / parameter /.test(g));
    expect(missing.filter((m) => !known.includes(m)), 'parameters without a description (.describe() on its zod schema)').toEqual([]);
    expect(known.filter((k) => !missing.includes(k)), 'described now: remove them from openapi-gaps.ts').toEqual([]);
  });

  it('shows examples on the main routes', () => {
    const byKey = new Map(ops.map((o) => [o.key.replace(/\{(\w+)\}/g, ':$1'), o.op]));
    for (const key of MAIN) {
      const op = byKey.get(key);
      expect(op, `${key} is not in the document`).toBeDefined();
      expect(hasExample(op!.requestBody) || hasExample(op!.responses), `${key}: no example in its request or responses`).toBe(true);
    }
  });
});
