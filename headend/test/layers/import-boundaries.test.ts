/**
 * The layer rule is enforced by the lint (eslint.config.js): a domain folder importing from the HTTP
 * layer (the http/ kit, a routes file, api/) fails `npm run lint`. Checked with ESLint itself on text placed at real paths, so the test
 * fails if the rule is dropped or its file globs stop matching.
 */
import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
// The layer rule reads imports only. The type-aware rules are left out: they need a file the TypeScript
// project service knows on disk, and these probes are placed at paths that do not exist.
const eslint = new ESLint({ cwd: root, overrideConfig: tseslint.configs.disableTypeChecked });
const lint = async (path: string, code: string) => (await eslint.lintText(code, { filePath: `${root}${path}` }))[0].messages.map((m) => m.ruleId);

describe('layers: domain modules never import from the HTTP layer', () => {
  it('billing/ importing the HTTP kit is an error; the error catalogue http/errors is allowed', async () => {
    for (const target of ['../http/context.js', '../http/plugins/auth.js', '../api/index.js']) {
      expect(await lint('headend/src/billing/probe.ts', `import * as m from '${target}';\nexport const x = m;\n`)).toContain('no-restricted-imports');
    }
    expect(await lint('headend/src/billing/probe.ts', "import { HttpError } from '../http/errors.js';\nexport const x = HttpError;\n")).not.toContain('no-restricted-imports');
  });
  it('readings/ importing a routes file, the server wiring or the dashboard plugin is an error', async () => {
    for (const target of ['./routes.js', '../registry/gateway-routes.js', '../server/headend.js', '../dashboard/index.js']) {
      expect(await lint('headend/src/readings/probe.ts', `import * as m from '${target}';\nexport const x = m;\n`)).toContain('no-restricted-imports');
    }
  });
  it('a routes file may import its domain and the HTTP kit, never the assembly', async () => {
    expect(await lint('headend/src/readings/routes.ts', "import { writeReadings } from './write.js';\nimport { principal } from '../http/plugins/auth.js';\nexport const x = [writeReadings, principal];\n")).not.toContain('no-restricted-imports');
    expect(await lint('headend/src/readings/routes.ts', "import { createApiServer } from '../api/index.js';\nexport const x = createApiServer;\n")).toContain('no-restricted-imports');
  });
});
