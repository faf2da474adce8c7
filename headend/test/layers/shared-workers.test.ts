/**
 * The database-bound test files run with `--no-isolate` (scripts/test.mjs): a worker keeps its loaded
 * modules from one file to the next, which halves the run. That is sound only while no file leaves
 * state behind in a module or the process: none mocks a module, stubs a global or an environment
 * variable, or assigns process.env. Scans every test file of the `embedded` and `server` projects
 * (protocols/test, headend/test); the global setup (global-pg.ts) runs in vitest's own process, and
 * this file names the patterns it looks for: both are left out.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { filesBelow, linesMatching } from './scan-sources.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const DIRS = ['headend/test', 'protocols/test'];
const LEAVES_STATE = /\bvi\.(mock|doMock|stubEnv|stubGlobal|useFakeTimers)\s*\(|\bprocess\.env(\.\w+|\[[^\]]+\])\s*=[^=]|\bdelete\s+process\.env\b/;

describe('test files that share a worker', () => {
  it('none mocks a module, stubs a global or the environment, or assigns process.env', () => {
    const all = DIRS.flatMap((d) => filesBelow(join(ROOT, d), (n) => n.endsWith('.ts'))).filter((f) => !f.endsWith('/global-pg.ts') && !f.endsWith('/shared-workers.test.ts'));
    expect(all.length).toBeGreaterThan(200); // the walk still finds the suites
    expect(linesMatching(all, ROOT, LEAVES_STATE, { skipComments: true })).toEqual([]);
  });

  it('the pattern catches what it must (so the test above can fail)', () => {
    expect(LEAVES_STATE.test("vi.mock('../../src/db/index.js')")).toBe(true);
    expect(LEAVES_STATE.test("vi.stubEnv('TZ', 'UTC')")).toBe(true);
    expect(LEAVES_STATE.test('vi.useFakeTimers()')).toBe(true);
    expect(LEAVES_STATE.test("process.env.AMR_TEST_ENGINE = 'server';")).toBe(true);
    expect(LEAVES_STATE.test("process.env['TZ'] = 'UTC'")).toBe(true);
    expect(LEAVES_STATE.test('delete process.env.TZ')).toBe(true);
    expect(LEAVES_STATE.test("if (process.env.AMR_TEST_ENGINE === 'server')")).toBe(false);
    expect(LEAVES_STATE.test("const url = process.env.DATABASE_URL ?? ''")).toBe(false);
    expect(LEAVES_STATE.test("loadConfig({ ...process.env, DATA_DIR: 'memory://' })")).toBe(false);
  });
});
