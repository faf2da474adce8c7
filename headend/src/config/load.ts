/** Loads the configuration from an env object, failing with one line per bad key. */
import { ConfigSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  constructor(readonly issues: { key: string; message: string }[]) {
    super(`invalid configuration:\n${issues.map((i) => `  ${i.key}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const r = ConfigSchema.safeParse(env);
  if (r.success) return r.data;
  throw new ConfigError(r.error.issues.map((i) => ({ key: String(i.path[0] ?? '(config)'), message: i.message })));
}
