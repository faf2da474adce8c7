import { defineConfig } from 'vitest/config';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = (pkg: string) => fileURLToPath(new URL(`./${pkg}/src`, import.meta.url));

// Tests run against the TypeScript sources of sibling packages, not their dist/,
// so a test never passes on a stale build.
const alias = [
  { find: /^@amr\/(protocols|simulators|gateway|headend)$/, replacement: `${src('$1')}/index.ts` },
  { find: /^@amr\/(protocols|simulators|gateway|headend)\/(.*)$/, replacement: `${src('$1')}/$2.ts` },
];
const root = fileURLToPath(new URL('.', import.meta.url));
const ENGINE = resolve(root, 'headend/test/engine.ts');

/** Test files below `dir` (relative to the root). */
function testFiles(dir: string): string[] {
  return readdirSync(resolve(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts') && !f.endsWith('.browser.test.ts') && !f.includes('node_modules'))
    .map((f) => join(dir, f));
}

/**
 * Whether a file reaches headend/test/engine.ts through its relative imports: only such a file can
 * open the server engine's database, so only those run a second time in the server project (the
 * rest would repeat the embedded run to the letter).
 */
function usesEngine(file: string, seen = new Set<string>()): boolean {
  if (file === ENGINE) return true;
  if (seen.has(file)) return false;
  seen.add(file);
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch { return false; }
  for (const m of text.matchAll(/from\s+'(\.{1,2}\/[^']+)'/g)) {
    const target = resolve(dirname(file), m[1].replace(/\.js$/, '.ts'));
    if (usesEngine(target, seen)) return true;
  }
  return false;
}
const serverFiles = [...testFiles('headend/test'), ...testFiles('test')].filter((f) => usesEngine(resolve(root, f))).map((f) => relative(root, resolve(root, f)));

// A database connection held or lost is reported on stderr too (headend/src/db/open.ts): the tests' loggers are silent.
const problems = { AMR_DB_PROBLEMS_TO_STDERR: '1' };
const common = { pool: 'forks' as const, testTimeout: 30_000, hookTimeout: 60_000, globalSetup: ['headend/test/global-pg.ts'], env: problems };
const server = { ...problems, AMR_TEST_ENGINE: 'server' };

// Four projects: two kinds of test, each on both database engines (headend/test/engine.ts).
//   devices         the gateway's and simulators' tests and the end-to-end suites in test/: real ptys
//                   at real baud rates, whole demos, browsers. Their timing is the thing under test
//                   (an answer timeout, a line's pace), so scripts/test.mjs runs them one file at a time
//                   on a machine they have to themselves.
//   devices-server  the end-to-end suites that open a database, again on the TimescaleDB server.
//   embedded        protocols' and the head-end's tests, the head-end on PGlite-TimescaleDB in memory
//                   (as the demo runs): database-bound, run several files at once.
//   server          the head-end suites that open a database (through headend/test/engine.ts) again on
//                   a real TimescaleDB server (our own PostgreSQL 15 on a free port). Browser tests
//                   check screens, not the engine: once.
export default defineConfig({
  resolve: { alias },
  test: {
    reporters: ['default'],
    projects: [
      {
        resolve: { alias },
        test: { ...common, name: 'devices', include: ['{gateway,simulators}/test/**/*.test.ts', 'test/**/*.test.ts'] },
      },
      {
        resolve: { alias },
        test: { ...common, name: 'devices-server', env: server, include: serverFiles.filter((f) => f.startsWith('test/')) },
      },
      {
        resolve: { alias },
        test: { ...common, name: 'embedded', include: ['{protocols,headend}/test/**/*.test.ts'] },
      },
      {
        resolve: { alias },
        test: { ...common, name: 'server', env: server, include: serverFiles.filter((f) => f.startsWith('headend/')) },
      },
    ],
  },
});
