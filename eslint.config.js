import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'headend/public/vendor/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Type-aware rules for the TypeScript: each file is checked in the program of its nearest tsconfig.json
    // (the package's for src/, <package>/test/tsconfig.json and test/tsconfig.json for the tests). A package
    // reads its siblings' types from their dist/, so `npm test` builds (typecheck) before it lints.
    files: ['**/*.ts', '**/*.mts', '**/*.cts'],
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['vitest.config.ts'], defaultProject: 'tsconfig.tests.json' },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // A promise nobody awaits loses its error (an unhandled rejection ends the process) and its ordering.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      // '[object Object]' in a log line, an error message or SQL is always a mistake.
      '@typescript-eslint/no-base-to-string': 'error',
      // Numbers, and (the rule's defaults) booleans, null/undefined, RegExp and any. Forbidding null/undefined
      // and any too finds 46 more in the packages' src: untyped rows (any) and optional values.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // A new kind (meter medium, reading source, alert type...) must be handled wherever kinds are switched on.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
    },
  },
  {
    // Plain JS (the dashboard, the residents' page, scripts, benches, bins) has no types to check against.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', AbortController: 'readonly', performance: 'readonly', fetch: 'readonly', document: 'readonly', window: 'readonly', localStorage: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // Layers (headend/README.md). A domain module (anything in a feature folder that is not its
    // routes file) imports neither the HTTP kit (http/, except the error catalogue http/errors.ts)
    // nor the assembly above it (api/ builds the fastify app, server/ and cli/ start the process,
    // dashboard/ and resident-page/ serve pages).
    files: ['headend/src/**/*.ts'],
    ignores: [
      'headend/src/api/**', 'headend/src/server/**', 'headend/src/cli/**', 'headend/src/dashboard/**',
      'headend/src/resident-page/**', 'headend/src/index.ts', 'headend/src/http/**',
      'headend/src/**/routes.ts', 'headend/src/**/*-routes.ts',
    ],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          group: ['**/api/*', '**/api/**/*', '**/server/*', '**/cli/*', '**/dashboard/*', '**/resident-page/*', '**/http/*', '**/http/**/*', '!**/http/errors.js', '**/routes.js', '**/*-routes.js'],
          message: 'a domain module must not import from the HTTP layer (http/ kit, routes, api/) or the start-up wiring (headend/README.md, layers): move what you need down (http/errors.ts, db/types.ts, protocols) or pass it in',
        }],
      }],
    },
  },
  {
    // Routes and the HTTP kit translate requests; they import downwards (domain, http/) but never the
    // assembly (api/), the process wiring (server/, cli/) or another feature's routes.
    files: ['headend/src/http/**/*.ts', 'headend/src/**/routes.ts', 'headend/src/**/*-routes.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          group: ['**/api/*', '**/api/**/*', '**/server/*', '**/cli/*'],
          message: 'routes and the HTTP kit import downwards only: api/ assembles them, server/ and cli/ start the process (headend/README.md, layers)',
        }],
      }],
    },
  },
);
