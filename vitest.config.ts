import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const src = (pkg: string) => fileURLToPath(new URL(`./${pkg}/src`, import.meta.url));

// Tests run against the TypeScript sources of sibling packages, not their dist/,
// so a test never passes on a stale build.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@amr\/(protocols|simulators|gateway|headend)$/, replacement: `${src('$1')}/index.ts` },
      { find: /^@amr\/(protocols|simulators|gateway|headend)\/(.*)$/, replacement: `${src('$1')}/$2.ts` },
    ],
  },
  test: {
    include: ['{protocols,simulators,gateway,headend}/test/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
