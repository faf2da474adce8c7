/**
 * The database-bound test files run with `--no-isolate` (scripts/test.mjs): a worker keeps its loaded
 * modules from one file to the next, which halves the run. That is sound only while no file leaves
 * state behind in a module or the process: none mocks a module, stubs a global or an environment
 * variable, or assigns process.env. Scans every test file of the `embedded` and `server` projects
 * (protocols/test, headend/test); the global setup (global-pg.ts) runs in vitest's own process, and
 * this file names the patterns it looks for: both are left out.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../../', import.meta.url).pathname;
const DIRS = ['headend/test', 'protocols/test'];
const LEAVES_STATE = /\bvi\.(mock|doMock|stubEnv|stubGlobal|useFakeTimers)\s*\(|\bprocess\.env(\.\w+|\[[^\]]+\])\s*=[^=]|\bdelete\s+process\.env\b/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (n === 'node_modules') return [];
    return statSync(p).isDirectory() ? files(p) : /\.ts$/.test(n) ? [p] : [];
  });
}

describe('test files that share a worker', () => {
  it('none mocks a module, stubs a global or the environment, or assigns process.env', () => {
    const all = DIRS.flatMap((d) => files(join(ROOT, d))).filter((f) => !f.endsWith('/global-pg.ts') && !f.endsWith('/shared-workers.test.ts'));
    expect(all.length).toBeGreaterThan(200); // the walk still finds the suites
    const offenders = all.flatMap((f) => readFileSync(f, 'utf8').split('\n')
      .map((text, i) => ({ f: relative(ROOT, f), line: i + 1, text: text.trim() }))
      .filter((l) => !l.text.startsWith('*') && !l.text.startsWith('//') && LEAVES_STATE.test(l.text)));
    expect(offenders).toEqual([]);
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
