/**
 * Reading and validating the YAML config. Errors are collected (not just the first) and each
 * names the key path in the form users see in their file: `buses[1].baud: expected a positive integer`.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { GatewayConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(
    readonly issues: string[],
    readonly source: string,
    /** The parsed YAML the schema refused (absent when the YAML itself was broken). */
    readonly rawInput?: unknown,
  ) {
    super(`invalid config ${source}:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}

export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => {
    let msg = i.message;
    if (i.code === 'unrecognized_keys') msg = `unknown key(s): ${i.keys.join(', ')}`;
    else if (i.code === 'invalid_type' && /received undefined/.test(msg)) msg = `required: ${msg.replace(/^Invalid input: /, '')}`;
    return `${formatPath(i.path)}: ${msg}`;
  });
}

/** Validates an already-parsed object (used by set_config). */
export function validateConfig(input: unknown, source = '(inline)'): GatewayConfig {
  const r = GatewayConfig.safeParse(input);
  if (!r.success) throw new ConfigError(formatIssues(r.error), source);
  return r.data;
}

export function parseConfigText(text: string, source = '(inline)'): { config: GatewayConfig; raw: unknown } {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) throw new ConfigError(doc.errors.map((e) => `YAML: ${e.message}`), source);
  const raw: unknown = doc.toJS();
  try {
    return { config: validateConfig(raw, source), raw };
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(e.issues, source, raw);
    throw e;
  }
}

export function loadConfigFile(file: string): { config: GatewayConfig; raw: unknown; text: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError([`cannot read: ${(e as Error).message}`], file);
  }
  return { ...parseConfigText(text, file), text };
}
