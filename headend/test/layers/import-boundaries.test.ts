/**
 * The layer rule is enforced by the lint (eslint.config.js): a domain folder importing from the HTTP
 * layer fails `npm run lint`. Checked with ESLint itself on text placed at real paths, so the test
 * fails if the rule is dropped or its file globs stop matching.
 */
import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const eslint = new ESLint({ cwd: root });
const lint = async (path: string, code: string) => (await eslint.lintText(code, { filePath: `${root}${path}` }))[0].messages.map((m) => m.ruleId);

describe('layers: domain folders never import from the HTTP layer', () => {
  it('billing/ importing api/http-error is an error; http/errors is allowed', async () => {
    expect(await lint('headend/src/billing/probe.ts', "import { HttpError } from '../api/http-error.js';\nexport const x = HttpError;\n")).toContain('no-restricted-imports');
    expect(await lint('headend/src/billing/probe.ts', "import { HttpError } from '../http/errors.js';\nexport const x = HttpError;\n")).not.toContain('no-restricted-imports');
  });
  it('readings/ importing a route, the server wiring or the dashboard plugin is an error', async () => {
    for (const target of ['../api/routes/readings.js', '../server/headend.js', '../dashboard/index.js']) {
      expect(await lint('headend/src/readings/probe.ts', `import * as m from '${target}';\nexport const x = m;\n`)).toContain('no-restricted-imports');
    }
  });
  it('the HTTP layer itself may import downwards', async () => {
    expect(await lint('headend/src/api/routes/probe.ts', "import { writeReadings } from '../../readings/write.js';\nexport const x = writeReadings;\n")).not.toContain('no-restricted-imports');
  });
});
