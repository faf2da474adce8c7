/**
 * The configuration part of `amr-headend --help`, generated from the schema (schema.ts): every
 * variable with its meaning and default, so the help cannot list a variable the code does not read
 * or miss one it does.
 */
import { ConfigObject } from './schema.js';

export interface ConfigVariable {
  name: string;
  description: string;
  /** The default as the variable would be written, or null when unset by default. */
  default: string | null;
}

/** Every variable of the schema, in the schema's order. */
export function configVariables(): ConfigVariable[] {
  return Object.entries(ConfigObject.shape).map(([name, schema]) => {
    // The default is what the key's schema makes of an unset variable.
    const r = schema.safeParse(undefined);
    const value: unknown = r.success ? r.data : undefined;
    return { name, description: schema.description ?? '', default: value === undefined ? null : typeof value === 'string' ? value : JSON.stringify(value) };
  });
}

/** Wraps `text` at `width` columns, each line indented by `indent`. */
function wrap(text: string, indent: string, width = 100): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines.join('\n');
}

/** The "configuration (environment)" section of --help. */
export function configHelp(): string {
  return configVariables()
    .map((v) => `  ${v.name}  (${v.default === null ? 'unset by default' : `default: ${v.default === '' ? '""' : v.default}`})\n${wrap(v.description, '      ')}`)
    .join('\n');
}
