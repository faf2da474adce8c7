import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'headend/public/vendor/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', AbortController: 'readonly', performance: 'readonly', fetch: 'readonly', document: 'readonly', window: 'readonly', localStorage: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // Layers (headend/README.md): domain folders never import from the HTTP layer (api/, the page
    // plugins) or from the start-up wiring (server/, cli/); those import downwards only.
    files: ['headend/src/**/*.ts'],
    ignores: ['headend/src/api/**', 'headend/src/server/**', 'headend/src/cli/**', 'headend/src/dashboard/**', 'headend/src/resident-page/**', 'headend/src/index.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          group: ['**/api/*', '**/api/**/*', '**/server/*', '**/cli/*', '**/dashboard/*', '**/resident-page/*'],
          message: 'a domain module must not import from the HTTP layer or the start-up wiring (headend/README.md, layers): move what you need down (http/errors.ts, db/types.ts, protocols) or pass it in',
        }],
      }],
    },
  },
);
