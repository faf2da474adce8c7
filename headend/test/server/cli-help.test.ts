// `amr-headend --help` lists every environment variable the configuration reads, each with its
// meaning and default, generated from the one schema. What loadConfig reads is observed (a proxy over
// the environment records every name it asks for), not taken from the same list the help prints.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, configVariables } from '../../src/config/index.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(repo, 'headend/dist/cli/amr-headend.js');

/** The names loadConfig asks the environment for. */
function namesRead(): string[] {
  const read = new Set<string>();
  const env = new Proxy<Record<string, string | undefined>>({}, {
    get: (_t, k) => { if (typeof k === 'string') read.add(k); return undefined; },
    has: (_t, k) => { if (typeof k === 'string') read.add(k); return false; },
  });
  loadConfig(env);
  return [...read].filter((k) => /^[A-Z][A-Z0-9_]*$/.test(k));
}

/** `--help` as blocks: variable name → the text printed under it (meaning) and its default note. */
function helpEntries(help: string): Map<string, { note: string; meaning: string }> {
  const section = help.slice(help.indexOf('configuration (environment variables):'));
  const out = new Map<string, { note: string; meaning: string }>();
  let current: { note: string; meaning: string } | null = null;
  for (const line of section.split('\n').slice(1)) {
    const head = /^ {2}([A-Z][A-Z0-9_]*) {2}\((.*)\)$/.exec(line);
    if (head) out.set(head[1], (current = { note: head[2], meaning: '' }));
    else if (current && /^ {6}\S/.test(line)) current.meaning += `${line.trim()} `;
  }
  return out;
}

describe('amr-headend --help', () => {
  if (!existsSync(bin)) throw new Error('headend/dist missing: run `npx tsc -b` (npm run build) first');
  const help = execFileSync(process.execPath, [bin, '--help'], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH ?? '' } });
  const entries = helpEntries(help);

  it('lists every variable loadConfig reads, each with a meaning and its default', () => {
    const read = namesRead();
    expect(read.length).toBeGreaterThan(30);
    const missing = read.filter((k) => !entries.has(k));
    expect(missing, 'read by loadConfig but absent from --help').toEqual([]);
    const noMeaning = read.filter((k) => (entries.get(k)?.meaning.trim().length ?? 0) < 10);
    expect(noMeaning, 'listed without a meaning (add .describe() in src/config/schema.ts)').toEqual([]);
    // Nothing listed that the configuration does not read.
    expect([...entries.keys()].filter((k) => !read.includes(k))).toEqual([]);
  });

  it('prints the defaults the configuration applies', () => {
    const defaults = loadConfig({});
    expect(entries.get('HTTP_PORT')?.note).toBe(`default: ${defaults.HTTP_PORT}`);
    expect(entries.get('HTTP_PORT')?.note).toBe('default: 8080');
    expect(entries.get('REDIS_URL')?.note).toBe('default: redis://127.0.0.1:6379');
    expect(entries.get('SHUTDOWN_TIMEOUT_SECONDS')?.note).toBe('default: 10');
    expect(entries.get('DATABASE_URL')?.note).toBe('unset by default');
    expect(entries.get('DATABASE_URL')?.meaning).toMatch(/embedded/);
    for (const v of configVariables()) {
      const d = (defaults as Record<string, string | number | undefined>)[v.name];
      expect(v.default, v.name).toBe(d === undefined ? null : String(d));
    }
  });
});
