/**
 * The walk the rule-scanning tests share (no SQL in routes, one writer of readings, test files that
 * share a worker): the files below a folder, and the lines of them that break a rule, named by file
 * and line so that a failure says where to look.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Files below `dir` (node_modules left out) whose name `keep` accepts. */
export function filesBelow(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (n === 'node_modules') return [];
    return statSync(p).isDirectory() ? filesBelow(p, keep) : keep(n) ? [p] : [];
  });
}

export interface Offence { f: string; line: number; text: string }

/** The lines of `files` that `pattern` matches (file names relative to `root`); comment lines left out when `skipComments`. */
export function linesMatching(files: readonly string[], root: string, pattern: RegExp, opts: { skipComments: boolean }): Offence[] {
  return files.flatMap((f) => readFileSync(f, 'utf8').split('\n')
    .map((text, i) => ({ f: relative(root, f), line: i + 1, text: opts.skipComments ? text.trim() : text }))
    .filter((l) => !(opts.skipComments && (l.text.startsWith('*') || l.text.startsWith('//'))) && pattern.test(l.text)));
}
