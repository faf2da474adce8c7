import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const src = (pkg: string) => fileURLToPath(new URL(`./${pkg}/src`, import.meta.url));

// Tests run against the TypeScript sources of sibling packages, not their dist/,
// so a test never passes on a stale build.
const alias = [
  { find: /^@amr\/(protocols|simulators|gateway|headend)$/, replacement: `${src('$1')}/index.ts` },
  { find: /^@amr\/(protocols|simulators|gateway|headend)\/(.*)$/, replacement: `${src('$1')}/$2.ts` },
];
const common = { pool: 'forks' as const, testTimeout: 30_000, hookTimeout: 60_000, globalSetup: ['headend/test/global-pg.ts'] };

// Two projects, one per database engine (headend/test/engine.ts):
//   embedded  every test, the head-end on PGlite-TimescaleDB in memory (as the demo runs);
//   server    the head-end and end-to-end suites again on a real TimescaleDB server (our own
//             PostgreSQL 15 on a free port). Browser tests check screens, not the engine: once.
export default defineConfig({
  resolve: { alias },
  test: {
    reporters: ['default'],
    projects: [
      {
        resolve: { alias },
        test: { ...common, name: 'embedded', include: ['{protocols,simulators,gateway,headend}/test/**/*.test.ts', 'test/**/*.test.ts'] },
      },
      {
        resolve: { alias },
        test: {
          ...common, name: 'server', env: { AMR_TEST_ENGINE: 'server' },
          include: ['headend/test/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/*.browser.test.ts', '**/node_modules/**'],
        },
      },
    ],
  },
});
