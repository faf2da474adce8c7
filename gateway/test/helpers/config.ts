// The problems a config text gets from the gateway's own parser (as `check` and `run` report them), or none.
import { ConfigError, parseConfigText } from '../../src/config/index.js';

export function issuesOf(text: string): string[] {
  try {
    parseConfigText(text);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  return [];
}
