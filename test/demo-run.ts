/**
 * Runs `scripts/demo.mjs` as a child process for the end-to-end tests and, when it fails or hangs,
 * says where: the last progress line, the demo's STALL report (head-end gauges) and the watchdog's
 * "holding a database connection" errors, then the tail of its stderr.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface DemoRun {
  code: number | null;
  out: string;
  err: string;
  /** The JSON line of `--json` (undefined when the demo printed none). */
  json: unknown;
  /** What to read first when it failed: last progress line, stall report, watchdog, stderr tail. */
  diagnosis: string;
}

export async function runDemo(args: string[], opts: { killAfterMs: number }): Promise<DemoRun> {
  const child = spawn(process.execPath, ['scripts/demo.mjs', ...args], { cwd: root, env: { ...process.env, LOG_LEVEL: 'error' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // A hung run fails with its output instead of holding the suite.
  const guard = setTimeout(() => {
    err += `\n[test] demo still running after ${opts.killAfterMs / 1000} s: killed`;
    child.kill('SIGKILL');
  }, opts.killAfterMs);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(guard);
  const lines = err.split('\n');
  const progress = lines.filter((l) => /^\[\s*\d+%\]/.test(l)).at(-1);
  const stall = lines.filter((l) => /STALL|^\s+amr_|holding a database connection|waiting for a database connection|gave no answer/.test(l)).slice(0, 20);
  const diagnosis = [
    `demo ${args.join(' ')} exited ${code}`,
    `last progress: ${progress ?? '(none)'}`,
    ...(stall.length ? ['stall report:', ...stall.map((l) => l.slice(0, 1500))] : []),
    'stderr (tail):',
    err.slice(-3000),
  ].join('\n');
  let json: unknown;
  try {
    json = JSON.parse(out.trim().split('\n').at(-1) ?? '');
  } catch {
    json = undefined;
  }
  return { code, out, err, json, diagnosis };
}
