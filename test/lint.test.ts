/**
 * The type-aware lint (eslint.config.js): its rules run on the TypeScript of the packages and of the tests,
 * and stay off for plain JS. Checked with ESLint itself on text given for files that exist (the TypeScript
 * project service knows files on disk), so the test fails if a rule is dropped or the parser loses its program.
 */
import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const eslint = new ESLint({ cwd: root });
const rules = async (path: string, code: string) =>
  (await eslint.lintText(code, { filePath: `${root}${path}` }))[0].messages.map((m) => m.ruleId ?? `parse error: ${m.message}`).sort();

// A promise nobody waits for, an `any`, an object stringified as '[object Object]', a switch that forgets a kind.
const careless = `export async function save(): Promise<void> {}
export function label(reading: any, resource: 'heat' | 'cold_water'): string {
  save();
  switch (resource) {
    case 'heat':
      return \`\${String(reading)} \${{ unit: 'kWh' }}\`;
  }
  return '';
}
`;

describe('type-aware lint', () => {
  it('finds the careless code in a package source and in a test', async () => {
    for (const path of ['headend/src/util/clock.ts', 'test/billing-month/model.ts']) {
      expect(await rules(path, careless), path).toEqual([
        '@typescript-eslint/no-base-to-string',
        '@typescript-eslint/no-explicit-any',
        '@typescript-eslint/no-floating-promises',
        '@typescript-eslint/restrict-template-expressions',
        '@typescript-eslint/switch-exhaustiveness-check',
      ]);
    }
  });

  it('passes the same code written with care', async () => {
    const careful = careless
      .replace('reading: any', 'reading: number')
      .replace('  save();', '  void save(); // fire and forget: save() reports its own failure')
      .replace("${{ unit: 'kWh' }}", 'kWh')
      .replace("  }\n  return '';", "    case 'cold_water':\n      return '';\n  }");
    expect(await rules('headend/src/util/clock.ts', careful)).toEqual([]);
  });

  it('keeps the type-aware rules off plain JS (the dashboard has no types to check against)', async () => {
    expect(await rules('headend/dashboard/app.js', 'export async function save() {}\nsave();\n')).toEqual([]);
  });
});
