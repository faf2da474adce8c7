#!/usr/bin/env node
// `npm run bench [-- name…]`: runs every package's benchmarks (or those whose script names match) one after another (never inside `npm test`),
// echoes what each prints, and writes the collected figures with the machine's description to
// docs/benchmarks.md. Benchmarks print figures and ratios; none of them asserts on time.
import { spawn } from 'node:child_process';
import { cpus, totalmem, release } from 'node:os';
import { writeFileSync, mkdirSync } from 'node:fs';

const BENCHES = [
  { name: 'M-Bus decode (telegrams/s over the libmbus corpus)', cmd: ['node', 'protocols/bench/decode.bench.mjs'] },
  { name: 'Head-end ingest on both engines, side by side (readings/s, raw insert rows/s and ratio, publish→commit p50/p99, validator verdicts/s and backlog; server: paced 10 000 readings/s, bytes/reading)', cmd: ['node', 'headend/bench/ingest.bench.mjs'], env: { BENCH_SECONDS: '10' } },
  { name: 'Head-end readings import (100 000-row CSV: rows/s; /health/live and publish→PUBACK p95 during it vs. a baseline)', cmd: ['node', 'headend/bench/import.bench.mjs'] },
  // The 25th evening on both engines: every resident signs in, then every one submits (each rate on its own), 100 at a time.
  ...['embedded', 'server'].map((engine) => ({
    name: `Head-end, the 25th evening, ${engine} engine (codes for 1 000 accounts; 1 000 residents signing in, then submitting, from one address, 100 at a time, while a gateway publishes; PUBACK p95 before/during/after)`,
    cmd: ['node', 'headend/bench/peak.bench.mjs', '--engine', engine], env: { BENCH_SPLIT: '1', BENCH_CONCURRENCY: '100', BENCH_ACCOUNTS: '1000' },
  })),
  { name: 'Head-end imbalance (computeBuildingImbalance p50/p95 for one building-month and for all 100 buildings × heat, cold water; a year of 15-min ОДПУ telemetry, 40 ИПУ per resource)', cmd: ['node', 'headend/bench/imbalance.bench.mjs'] },
  { name: 'Head-end compression (a month of 15-minute readings, 200 meters × 2 880, compressed by the policy: sizes before/after, % smaller)', cmd: ['node', 'headend/bench/compression.bench.mjs'] },
  { name: 'Head-end MQTT CONNECT after a restart (N gateways behind one address, cold cache: connected within the 10 s connect timeout, scrypt- vs SHA-256-stored secrets; refusal time of a wrong secret vs an unknown id)', cmd: ['node', 'headend/bench/broker-auth.bench.mjs'] },
  { name: 'Gateway M-Bus poll-cycle efficiency, 20 meters @ 2400 Bd, native vs node-mbus', cmd: ['node', 'gateway/bench/mbus-poll-cycle.mjs'] },
  { name: 'Gateway secondary-address search, 20 meters, native vs node-mbus', cmd: ['node', 'gateway/bench/mbus-secondary-search.mjs'] },
  // libmbus prints every silent address on stderr ("No M-Bus response frame received"): not shown.
  { name: 'Gateway M-Bus primary scan, 10 meters on a pty @ 2400 Bd, native vs the libmbus driver', cmd: ['node', 'gateway/bench/mbus-primary-scan.mjs'], stderr: 'ignore' },
  { name: 'Gateway process (amr-gateway run, flags of the Pi unit) RSS/CPU polling 100 meters vs. an idle Node process', cmd: ['node', 'gateway/bench/polling-100-meters.mjs'], env: { DURATION: '20' } },
  // 33 minutes each: only when asked for.
  ...(process.env.BENCH_SOAK === '1' ? ['embedded', 'server'].map((engine) => ({
    name: `Head-end soak, ${engine} engine (the 25th evening's building: residents signing in and submitting, a gateway publishing every second, API reads; RSS of the head-end's process over SOAK_MINUTES after a warm-up)`,
    cmd: ['node', 'headend/bench/soak.bench.mjs', '--engine', engine],
  })) : []),
];
const only = process.argv.slice(2);

/**
 * The summary table: one row per figure, picked from what each benchmark prints (the full output
 * stays below it). A pattern that no longer matches shows "—", so a changed output is visible.
 */
const FIGURES = [
  { bench: 'decode', what: 'M-Bus decode (frame + application)', re: /decode \(frame \+ application layer\): ([\d,]+ telegrams\/s)/ },
  // The ingest bench ends with a side-by-side table (embedded, then server): both columns picked.
  { bench: 'ingest', what: 'Head-end ingest, readings stored per second (embedded / server)', re: /^readings stored per second\s+(\S+)\s+(\S+)/m },
  { bench: 'ingest', what: 'Raw insert rows/s, same engine, same run (embedded / server)', re: /^raw insert rows\/s \(same engine, same run\)\s+(\S+)\s+(\S+)/m },
  { bench: 'ingest', what: 'Ingest / raw inserts (embedded / server)', re: /^ratio ingest \/ raw\s+(\S+)\s+(\S+)/m },
  { bench: 'ingest', what: 'Publish→commit p50, ms (embedded / server)', re: /^publish→commit p50 ms\s+(\S+)\s+(\S+)/m },
  { bench: 'ingest', what: 'Publish→commit p99, ms (embedded / server)', re: /^publish→commit p99 ms\s+(\S+)\s+(\S+)/m },
  { bench: 'ingest', what: 'Validator verdicts/s beside ingestion (embedded / server)', re: /^validator verdicts\/s beside ingestion\s+(\S+)\s+(\S+)/m },
  { bench: 'ingest', what: 'Validator backlog when ingestion stopped (embedded / server)', re: /^validator backlog when ingestion stopped\s+(\S+)\s+(\S+)/m },
  { bench: 'ingest', what: 'Validator verdicts/s draining alone (embedded / server)', re: /^validator verdicts\/s draining alone\s+(\S+)\s+(\S+)/m },
  { bench: 'ingest', what: 'One validator batch, ms: 1.3 k queued (embedded / server)', re: /^validator batch ms, 1\.3 k queued\s+(\S+)\s+(\S+)/m },
  { bench: 'ingest', what: 'One validator batch, ms: 130 k queued (embedded / server)', re: /^validator batch ms, 130 k queued\s+(\S+)\s+(\S+)/m },
  { bench: 'ingest', what: 'Server, gateways paced at 10 000 readings/s: publish→commit p99 ms; validator backlog at the end', re: /^paced \d+\/s: p99 ms\s+\S+\s+(\S+)[\s\S]*^paced \d+\/s: validator backlog at the end\s+\S+\s+(\S+)/m },
  { bench: 'ingest', what: 'Server storage, bytes/reading uncompressed / compressed', re: /^bytes\/reading uncompressed \/ compressed\s+—\s+(\d+ \/ [\d.]+)/m },
  { bench: 'import.bench', what: 'Readings import, rows per second (100 000 rows)', re: /import rows per second: (\d+)/ },
  { bench: 'import.bench', what: 'Readings import, longest hold of the database connection', re: /longest connection hold during import: (\d+ ms)/ },
  { bench: 'import.bench', what: '/health/live p95 during the import (baseline / during)', re: /\/health\/live p95: baseline ([\d.]+ ms)[^,]*, during import ([\d.]+ ms)/ },
  { bench: 'import.bench', what: 'publish→PUBACK p95 during the import (baseline / during)', re: /PUBACK p95: baseline ([\d.]+ ms)[^,]*, during import ([\d.]+ ms)/ },
  ...['embedded', 'server'].flatMap((engine) => [
    { bench: `peak.bench.mjs --engine ${engine}`, what: `25th evening (${engine}): code issuing for the accounts (count, time; goal < 10 s for 1 000)`, re: /code issuing for (\d+) accounts: ([\d.]+ s)/ },
    { bench: `peak.bench.mjs --engine ${engine}`, what: `25th evening (${engine}): sign-ins/s (goal ≥ 50) and p95`, re: /: ([\d.]+) sign-ins\/s \(p95 ([^)]+)\)/ },
    { bench: `peak.bench.mjs --engine ${engine}`, what: `25th evening (${engine}): submissions req/s (goal ≥ ${engine === 'server' ? 500 : 200}) and p95 (goal < 500 ms)`, re: /: ([\d.]+) submissions req\/s \(p95 ([^)]+)\)/ },
    { bench: `peak.bench.mjs --engine ${engine}`, what: `25th evening (${engine}): publish→PUBACK p95 before / during / after the wave (goal < 1 s throughout)`, re: /PUBACK before: \d+ messages, p95 ([^,]+),[\s\S]*PUBACK during: \d+ messages, p95 ([^,]+),[\s\S]*PUBACK after : \d+ messages, p95 ([^,]+),/ },
  ]),
  { bench: 'polling-100-meters', what: 'Gateway process polling 100 meters: CPU, peak RSS (goal: under 5 %, under 80 MB)', re: /gateway process alone[^:]*: readings delivered \d+, CPU ([\d.]+ % of one core), peak RSS (\d+ MiB)/ },
  { bench: 'polling-100-meters', what: 'Baseline, an idle Node process: CPU, peak RSS', re: /baseline \(an idle Node[^)]*\): CPU ([\d.]+ % of one core), peak RSS (\d+ MiB)/ },
  ...['embedded', 'server'].map((engine) => ({ bench: `soak.bench.mjs --engine ${engine}`, what: `Soak (${engine}): RSS after warm-up min / max; level first 5 min → last 5 min, growth (goal ≤ 10 %); slope per 10 min`, re: /after warm-up \([^)]*\): RSS min (\d+ MB), max (\d+ MB), [^;]*; median of the first 5 min (\d+ MB) → of the last 5 min (\d+ MB): growth ([-\d.]+ %); slope ([-\d.]+ MB) per 10 min/ })),
];

function summary(results) {
  // Matched on the whole command line: one script may run twice with different arguments (the soak's engines).
  const rows = FIGURES.filter((f) => results.some((r) => r.cmd.join(' ').includes(f.bench))).map((f) => {
    const r = results.find((x) => x.cmd.join(' ').includes(f.bench));
    const m = f.re.exec(r.out);
    return `| ${f.what} | ${m ? m.slice(1).join(' / ') : '—'} |`;
  });
  return ['| figure | value |', '|---|---|', ...rows].join('\n');
}

function run(b) {
  return new Promise((resolve) => {
    const p = spawn(b.cmd[0], b.cmd.slice(1), { env: { ...process.env, ...(b.env ?? {}) }, stdio: ['ignore', 'pipe', b.stderr ?? 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    p.on('close', (code) => resolve({ ...b, code, out }));
  });
}

const results = [];
for (const b of BENCHES.filter((x) => only.length === 0 || only.some((o) => x.cmd[1].includes(o)))) {
  console.log(`\n=== ${b.name}`);
  results.push(await run(b));
}

const table = summary(results);
console.log(`\n${table}`);
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${release()}, Node ${process.version}`;
const md = [
  '# Benchmarks',
  '',
  `Written by \`npm run bench\` on ${new Date().toISOString()}.`,
  '',
  `Machine: ${machine}.`,
  '',
  table,
  '',
  ...results.flatMap((r) => [`## ${r.name}`, '', `\`${r.cmd.join(' ')}\`${r.code ? ` — exited ${r.code}` : ''}`, '', '```', r.out.trim(), '```', '']),
].join('\n');
// A filtered run (`npm run bench -- ingest`) prints only; the file always holds a whole run.
if (only.length === 0) {
  mkdirSync('docs', { recursive: true });
  writeFileSync('docs/benchmarks.md', md);
  console.log('\nwritten docs/benchmarks.md');
}
process.exit(results.some((r) => r.code) ? 1 : 0);
