#!/usr/bin/env node
/**
 * The test run `npm test` ends with (after the type check and the lint): vitest twice.
 *   1. `devices` and `devices-server` (vitest.config.ts), one file at a time: real ptys at real baud
 *      rates, whole demos and browsers, whose timing is what they test; a second file running beside
 *      one of them on this 2-core machine turns an answer timeout into a missed meter.
 *   2. `embedded` and `server`, AMR_TEST_WORKERS files at once (default 2): database-bound tests,
 *      which on their own leave a core idle. `--no-isolate`: a worker keeps its loaded modules from one
 *      file to the next instead of loading the head-end afresh for each of ~300 files — measured here,
 *      this run took 436 s instead of 773–850 s (module loading 23 s instead of 290–323 s, summed over
 *      the workers). It holds because these files keep no state between them: each opens and closes
 *      its own database, broker and server; none mocks a module, stubs a global or sets process.env
 *      (a file that must would need `vi.resetModules()` or its own run). vitest 3 decides isolation
 *      for the whole pool, not per project, hence here and not in vitest.config.ts; the device files
 *      (run 1) keep a fresh process each.
 * Why two runs: vitest 3 has one worker count per run (its forks pool is shared by every project),
 * and its default on 2 cores is one worker. Both runs always happen; the exit code is the first
 * failure's. Extra arguments go to both runs (a file filter, `--reporter`, ...); with any, a run whose
 * projects hold none of the files asked for passes instead of failing on "no test files found".
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vitest = join(root, 'node_modules', '.bin', 'vitest');
const workers = process.env.AMR_TEST_WORKERS ?? '2';
if (!/^[1-9]\d*$/.test(workers)) {
  console.error(`AMR_TEST_WORKERS=${workers}: give a whole number of test files to run at once (1 or more)`);
  process.exit(2);
}
const extra = process.argv.slice(2);
if (extra.length) extra.push('--passWithNoTests');
const runs = [
  ['run', '--project', 'devices', '--project', 'devices-server', '--maxWorkers', '1', '--minWorkers', '1', ...extra],
  ['run', '--project', 'embedded', '--project', 'server', '--maxWorkers', workers, '--minWorkers', '1', '--no-isolate', ...extra],
];
let code = 0;
for (const args of runs) {
  const started = Date.now();
  const r = spawnSync(vitest, args, { cwd: root, stdio: 'inherit' });
  const status = r.status ?? 1;
  console.log(`\n[test] vitest ${args.slice(1, 5).join(' ')}: ${status === 0 ? 'passed' : `FAILED (exit ${status}${r.signal ? `, ${r.signal}` : ''})`} in ${Math.round((Date.now() - started) / 1000)} s\n`);
  if (status !== 0 && code === 0) code = status;
}
process.exit(code);
