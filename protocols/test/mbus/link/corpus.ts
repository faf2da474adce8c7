/**
 * Loads the libmbus telegram corpus for link-layer tests: every `.hex` file under
 * ../shared/testdata/mbus/libmbus/<folder>/ (path relative to the repo root), as bytes.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const CORPUS_ROOT = fileURLToPath(new URL('../../../../../shared/testdata/mbus/libmbus/', import.meta.url));

export function hexBytes(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}

export interface CorpusTelegram {
  name: string;
  bytes: Uint8Array;
}

export function loadCorpus(folder: 'frames' | 'error-frames' | 'unsupported-frames'): CorpusTelegram[] {
  const dir = join(CORPUS_ROOT, folder);
  if (!existsSync(dir)) {
    throw new Error(`M-Bus test corpus missing: ${dir} (expected ../shared/testdata/mbus/libmbus/${folder} next to the repo)`);
  }
  const names = readdirSync(dir).filter((n) => n.endsWith('.hex')).sort();
  if (names.length === 0) throw new Error(`no .hex telegrams in ${dir}`);
  return names.map((name) => ({ name, bytes: hexBytes(readFileSync(join(dir, name), 'utf8')) }));
}
