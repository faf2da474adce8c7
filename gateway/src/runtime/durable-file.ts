/**
 * A small state file replaced whole and durably: written to `<file>.tmp`, fsynced, renamed over the
 * old one. A crash leaves either the old file or the new one, never half of either — what the meter
 * state and the back-fill cursor both rely on after a power cut in the basement.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';

export function replaceFileDurably(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
