#!/usr/bin/env node
/**
 * Soak (not a test): does the head-end's memory level off? The 25th evening's setup (peak-setup.mjs:
 * 1 000 residents with one-time codes, a gateway with 10 heat meters) in a CHILD process
 * (soak-headend.mjs), so the RSS sampled is the head-end's alone, then a steady load from this process:
 *  - residents signing in and submitting one reading each, SOAK_RESIDENTS_PER_S a second (new codes for
 *    the whole building are issued when the last ones are used up; a resubmission is a new version);
 *  - the gateway publishing one message (10 readings) every second, QoS 1;
 *  - every SOAK_READ_SECONDS an engineer's reads: /overview/buildings, /buildings/:id/overview and
 *    /meters/:id/overview of a heat meter and of a flat's meter.
 * The child's process.memoryUsage() is sampled every SOAK_SAMPLE_SECONDS over IPC. After a warm-up of
 * SOAK_WARMUP_MINUTES (3) the load runs on for SOAK_MINUTES (30); printed: the curve (RSS and heap used
 * per minute), and the verdict on the samples after warm-up (soak-verdict.mjs): min/max RSS and their
 * range, the growth of the level (median of the first 5 minutes → of the last 5), the slope per
 * 10 minutes (least squares), and "flat" when the level grew by 10 % or less.
 * Asserts nothing.
 *
 * `--engine embedded` (default): PGlite in a temporary folder on disk, as in production. SOAK_DATA_DIR=memory://
 * keeps the database in memory as the peak bench does; its files (WAL, which PGlite recycles up to
 * max_wal_size 1GB, and the tables) are then in the head-end's RSS and grow with the data.
 * `--engine server`: a TimescaleDB server of the bench's own (scripts/pg-server.mjs), whose memory is
 * its own processes', not in the head-end's RSS.
 * Knobs (env): SOAK_MINUTES (30), SOAK_WARMUP_MINUTES (3), SOAK_RESIDENTS_PER_S (3), SOAK_READ_SECONDS (5),
 * SOAK_SAMPLE_SECONDS (15), BENCH_ACCOUNTS (1000). Runs from dist/ (`tsc -b` first). Takes 30+ minutes:
 * `npm run bench` runs it only with BENCH_SOAK=1.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { startBenchDatabase } from '../../scripts/pg-server.mjs';
import { printCurveAndVerdict } from './soak-verdict.mjs';
import { PEAK_GATEWAY, peakGatewayMessage, peakReadingsTopic, residentSubmits, apiCall, p95 } from './peak-setup.mjs';

const SOAK_MIN = Number(process.env.SOAK_MINUTES ?? 30);
const WARMUP_MIN = Number(process.env.SOAK_WARMUP_MINUTES ?? 3);
const RATE = Number(process.env.SOAK_RESIDENTS_PER_S ?? 3);
const READ_S = Number(process.env.SOAK_READ_SECONDS ?? 5);
const SAMPLE_S = Number(process.env.SOAK_SAMPLE_SECONDS ?? 15);
const METERS = 10;
const ENGINE = process.argv.includes('--engine') ? process.argv[process.argv.indexOf('--engine') + 1] : 'embedded';
if (ENGINE !== 'embedded' && ENGINE !== 'server') throw new Error(`--engine embedded | server, not ${ENGINE}`);

let server = null;
const env = { ...process.env, SOAK_GATEWAY_METERS: String(METERS) };
if (ENGINE === 'server') {
  let url;
  ({ server, url } = await startBenchDatabase('amr_soak'));
  env.SOAK_DATABASE_URL = url;
}
const dataDir = ENGINE === 'embedded' && !process.env.SOAK_DATA_DIR ? mkdtempSync(join(tmpdir(), 'amr-soak-')) : null;
if (dataDir) env.SOAK_DATA_DIR = dataDir;

const child = fork(fileURLToPath(new URL('./soak-headend.mjs', import.meta.url)), { env, execArgv: process.env.SOAK_CHILD_EXEC_ARGV?.split(' ').filter(Boolean) ?? [] });
const pending = new Map();
let nextId = 0;
let ready;
const readyP = new Promise((resolve, reject) => {
  ready = resolve;
  child.once('exit', (code) => reject(new Error(`the head-end process exited (${code}) before it was ready`)));
});
child.on('message', (m) => {
  if (m.type === 'ready') ready(m);
  else pending.get(m.id)?.(m);
});
const ask = (type) => new Promise((resolve) => {
  const id = nextId++;
  pending.set(id, (m) => { pending.delete(id); resolve(m); });
  child.send({ type, id });
});
const h = await readyP;
const meterOf = new Map(h.meterOf);
const flats = [...meterOf.values()];
console.log(`soak [${ENGINE}]: head-end pid ${child.pid}${ENGINE === 'embedded' ? ` (database in ${env.SOAK_DATA_DIR})` : ''}, ${meterOf.size} accounts, warm-up ${WARMUP_MIN} min, then ${SOAK_MIN} min; ${RATE} residents/s, gateway 1 msg/s × ${METERS} readings, reads every ${READ_S} s`);

const t0 = Date.now();
const minutes = () => (Date.now() - t0) / 60_000;
const end = t0 + (WARMUP_MIN + SOAK_MIN) * 60_000;
const running = () => Date.now() < end;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const counts = { signIns: 0, submissions: 0, refused: 0, codeRounds: 1, published: 0, reads: 0, readErrors: 0 };
const lat = { signIn: [], submit: [], read: [], puback: [] };
const keep = (xs, v) => { xs.push(v); if (xs.length > 5000) xs.splice(0, xs.length - 5000); };

// Residents: one started every 1/RATE s (never more than 50 at once); new codes when they run out.
let codes = h.codes;
let codesFor = null;
const residents = (async () => {
  const inFlight = new Set();
  let round = 0;
  let next = Date.now();
  while (running()) {
    if (codes.length === 0) {
      codesFor ??= ask('codes').then((m) => { codes = m.codes; counts.codeRounds++; round++; codesFor = null; });
      await codesFor;
      next = Date.now();
      continue;
    }
    const c = codes.shift();
    const p = residentSubmits(h.httpUrl, c, meterOf.get(c.number), 7.5 + round / 10).then(({ signIn, submit }) => {
      counts.signIns++;
      keep(lat.signIn, signIn.ms);
      if (!submit || submit.status !== 201) { counts.refused++; if (counts.refused <= 3) console.log(`  refused: sign-in ${signIn.status} ${submit ? `submit ${submit.status} ${JSON.stringify(submit.body).slice(0, 200)}` : JSON.stringify(signIn.body).slice(0, 200)}`); return; }
      counts.submissions++;
      keep(lat.submit, submit.ms);
    }, () => { counts.refused++; });
    inFlight.add(p);
    p.finally(() => inFlight.delete(p));
    while (inFlight.size >= 50) await Promise.race(inFlight);
    next += 1000 / RATE;
    await sleep(Math.max(0, next - Date.now()));
  }
  await Promise.all(inFlight);
})();

// The gateway: one message a second.
const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${h.mqttPort}`, { username: PEAK_GATEWAY, password: h.secret, clientId: `amr-gw-${PEAK_GATEWAY}`, reconnectPeriod: 0 });
const gateway = (async () => {
  let seq = 0;
  while (running()) {
    const t = performance.now();
    await client.publishAsync(peakReadingsTopic, peakGatewayMessage(++seq, METERS), { qos: 1 });
    counts.published++;
    keep(lat.puback, performance.now() - t);
    await sleep(Math.max(0, 1000 - (performance.now() - t)));
  }
})();

// The engineer's reads.
const reads = (async () => {
  let i = 0;
  while (running()) {
    const paths = ['/overview/buildings', `/buildings/${h.building}/overview`, `/meters/${h.heatMeters[i % h.heatMeters.length]}/overview`, `/meters/${flats[(i * 37) % flats.length]}/overview`];
    for (const path of paths) {
      const r = await apiCall(h.httpUrl, 'GET', path, null, h.adminToken);
      counts.reads++;
      keep(lat.read, r.ms);
      if (r.status !== 200) { counts.readErrors++; if (counts.readErrors <= 3) console.log(`  read ${path}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`); }
    }
    i++;
    await sleep(READ_S * 1000);
  }
})();

// Sampling.
const samples = [];
const mb = (b) => b / 1024 / 1024;
const sampler = (async () => {
  while (running()) {
    const { memory } = await ask('sample');
    const s = { min: minutes(), rss: mb(memory.rss), heapUsed: mb(memory.heapUsed), external: mb(memory.external), arrayBuffers: mb(memory.arrayBuffers) };
    samples.push(s);
    console.log(`  ${s.min.toFixed(2).padStart(6)} min  RSS ${s.rss.toFixed(0).padStart(5)} MB  heap used ${s.heapUsed.toFixed(0).padStart(4)} MB  external ${s.external.toFixed(0).padStart(4)} MB  ` +
      `| sign-ins ${counts.signIns}, submissions ${counts.submissions}, refused ${counts.refused}, code rounds ${counts.codeRounds}, published ${counts.published}, reads ${counts.reads}`);
    await sleep(Math.max(0, SAMPLE_S * 1000 - ((Date.now() - t0) % (SAMPLE_S * 1000))));
  }
})();

await Promise.all([residents, gateway, reads, sampler]);
const last = await ask('sample');
samples.push({ min: minutes(), rss: mb(last.memory.rss), heapUsed: mb(last.memory.heapUsed), external: mb(last.memory.external), arrayBuffers: mb(last.memory.arrayBuffers) });
await client.endAsync(true);
child.send({ type: 'stop' });
await new Promise((r) => child.once('exit', r));
await server?.stop();
if (dataDir) rmSync(dataDir, { recursive: true, force: true });

console.log(`\nsoak [${ENGINE}] load: ${counts.signIns} sign-ins (p95 ${p95(lat.signIn).toFixed(0)} ms), ${counts.submissions} submissions (p95 ${p95(lat.submit).toFixed(0)} ms), ${counts.refused} refused, ` +
  `${counts.codeRounds} code rounds; ${counts.published} gateway messages (PUBACK p95 ${p95(lat.puback).toFixed(0)} ms); ${counts.reads} reads (p95 ${p95(lat.read).toFixed(0)} ms, ${counts.readErrors} not 200)`);
printCurveAndVerdict(ENGINE, samples, WARMUP_MIN, SOAK_MIN);
process.exit(0);
