#!/usr/bin/env node
/**
 * The 25th evening (not a test): residents sign in and submit their readings in a wave while a gateway
 * keeps publishing, through the head-end's real start-up (embedded database, embedded broker, the API
 * over real HTTP on loopback: one address for every resident, as behind a carrier's NAT).
 *  1. code issuing: new codes for every account of a building (issueBuildingCodes, the invite letters' path);
 *  2. PUBACK times of a gateway publishing one message every BENCH_PUBLISH_MS, before the wave (the
 *     baseline), during it and after it;
 *  3. the wave: BENCH_WAVE residents, BENCH_CONCURRENCY at a time, each signing in with its code and
 *     submitting one reading: sign-ins per second, submissions per second and their p95.
 * Prints figures and the ratio of PUBACK p95 during the wave to the baseline measured in this same run;
 * asserts nothing. Knobs (env): BENCH_ACCOUNTS (1000), BENCH_WAVE (= accounts), BENCH_CONCURRENCY (50),
 * BENCH_PUBLISH_MS (100), BENCH_QUIET_SECONDS (10, before and after), BENCH_SPLIT (unset: each resident
 * signs in and submits at once, so submissions follow the sign-ins' pace; 1: every resident signs in
 * first, then every one submits, so each rate is measured on its own), SUBMIT_LINGER_MS / SUBMIT_MAX_BATCH
 * (the head-end's submission batches), BENCH_ENGINE or `--engine` (embedded; server: a TimescaleDB server of the bench's own).
 * Needs `tsc -b` first (npm run bench does it).
 */
import mqtt from 'mqtt';
import { pino } from 'pino';
import { loadConfig, startHeadend, fixedClock } from '../dist/index.js';
import { startBenchDatabase } from '../../scripts/pg-server.mjs';
import { PEAK_SECRETS_KEY, PEAK_EVENING, PEAK_GATEWAY, seedPeakBuilding, issuePeakCodes, peakGatewayMessage, peakReadingsTopic, residentSubmits, apiCall, p95 } from './peak-setup.mjs';

const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 1000);
const WAVE = Math.min(ACCOUNTS, Number(process.env.BENCH_WAVE ?? ACCOUNTS));
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const PUBLISH_MS = Number(process.env.BENCH_PUBLISH_MS ?? 100);
const QUIET_S = Number(process.env.BENCH_QUIET_SECONDS ?? 10);
const SPLIT = process.env.BENCH_SPLIT === '1';
const METERS = 10;

// BENCH_ENGINE=server: a TimescaleDB server of the bench's own (scripts/pg-server.mjs), as ingest.bench.mjs runs it.
const ENGINE = process.argv.includes('--engine') ? process.argv[process.argv.indexOf('--engine') + 1] : (process.env.BENCH_ENGINE ?? 'embedded');
let server = null;
const extra = {};
if (ENGINE === 'server') ({ server, url: extra.DATABASE_URL } = await startBenchDatabase('amr_peak'));
console.log(`engine: ${ENGINE}`);
const config = loadConfig({ ...process.env, SECRETS_KEY: PEAK_SECRETS_KEY, DATA_DIR: 'memory://', DATABASE_URL: '', MQTT_URL: '', MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', INGEST_LINGER_MS: '5', LOG_LEVEL: 'silent', ...extra });
const he = await startHeadend({ config, logger: pino({ level: 'silent' }), jobs: false, clock: fixedClock(PEAK_EVENING) });
const one = async (sql, params = []) => (await he.db.query(sql, params)).rows[0];

// The building (ACCOUNTS flats with a cold-water meter each) and the gateway with METERS heat meters.
const { building, meterOf, secret } = await seedPeakBuilding(he.db, { accounts: ACCOUNTS, meters: METERS });

const fmt = (ms) => `${ms.toFixed(0)} ms`;

// 1. Code issuing for every account (hashes one at a time in the people's pool, then one transaction).
let codes;
{
  const t = performance.now();
  codes = await issuePeakCodes(he.db, building, 'bench-peak');
  const ms = performance.now() - t;
  console.log(`code issuing for ${codes.length} accounts: ${(ms / 1000).toFixed(1)} s (${fmt(ms / codes.length)} per account)`);
}

// 2. The gateway publishes all along; each PUBACK time is put in the phase it was sent in.
const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${he.mqttPort}`, { username: PEAK_GATEWAY, password: secret, clientId: `amr-gw-${PEAK_GATEWAY}`, reconnectPeriod: 0 });
const pubacks = { before: [], during: [], after: [] };
let phase = 'before';
let seq = 0;
let publishing = true;
const inFlight = new Set();
const publisher = (async () => {
  while (publishing) {
    const s0 = ++seq;
    const msg = peakGatewayMessage(s0, METERS);
    const sentIn = phase;
    const t = performance.now();
    const p = client.publishAsync(peakReadingsTopic, msg, { qos: 1 }).then(() => pubacks[sentIn].push(performance.now() - t));
    inFlight.add(p);
    p.finally(() => inFlight.delete(p));
    await new Promise((r) => setTimeout(r, PUBLISH_MS));
  }
})();
const quiet = () => new Promise((r) => setTimeout(r, QUIET_S * 1000));

await quiet();

// 3. The wave.
phase = 'during';
const signIns = [];
const submissions = [];
let failed = 0;
/** CONCURRENCY residents at a time take `work` for each of `list`; the seconds it took. */
const wave = async (list, work) => {
  const queue = [...list];
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => { for (let c = queue.shift(); c; c = queue.shift()) await work(c); }));
  const cpu = process.cpuUsage(cpu0);
  // The process's CPU time (head-end, embedded engine and broker, the residents' clients, the gateway) per
  // item: less sensitive than the rates to what else the machine runs.
  lastCpuMs = (cpu.user + cpu.system) / 1000 / list.length;
  return (performance.now() - t0) / 1000;
};
let lastCpuMs = NaN;
if (SPLIT) {
  const tokens = new Map();
  const s1 = await wave(codes.slice(0, WAVE), async (c) => {
    const r = await apiCall(he.httpUrl, 'POST', '/resident/sign-in', { account_number: c.number, code: c.code });
    signIns.push(r.ms);
    if (r.status === 200) tokens.set(c, r.body.token); else failed++;
  });
  console.log(`sign-ins: ${WAVE} residents, ${CONCURRENCY} at a time from one address, in ${s1.toFixed(1)} s: ${(signIns.length / s1).toFixed(1)} sign-ins/s (p95 ${fmt(p95(signIns))}); process CPU ${lastCpuMs.toFixed(1)} ms per sign-in`);
  const s2 = await wave([...tokens.keys()], async (c) => {
    const r = await apiCall(he.httpUrl, 'POST', '/resident/readings', { readings: [{ meter_id: meterOf.get(c.number), value: 7.5 }] }, tokens.get(c));
    submissions.push(r.ms);
    if (r.status !== 201) failed++;
  });
  console.log(`submissions: ${tokens.size} residents, ${CONCURRENCY} at a time, in ${s2.toFixed(1)} s: ${(submissions.length / s2).toFixed(1)} submissions req/s (p95 ${fmt(p95(submissions))}); ${failed} not 200/201; process CPU ${lastCpuMs.toFixed(1)} ms per submission`);
} else {
  const queue = codes.slice(0, WAVE);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      const { signIn, submit } = await residentSubmits(he.httpUrl, c, meterOf.get(c.number), 7.5);
      signIns.push(signIn.ms);
      if (!submit) { failed++; continue; }
      if (submit.status !== 201) failed++;
      submissions.push(submit.ms);
    }
  }));
  const s = (performance.now() - t0) / 1000;
  console.log(`wave: ${WAVE} residents, ${CONCURRENCY} at a time from one address, in ${s.toFixed(1)} s: ${(signIns.length / s).toFixed(1)} sign-ins/s (p95 ${fmt(p95(signIns))}), ` +
    `${(submissions.length / s).toFixed(1)} submissions req/s (p95 ${fmt(p95(submissions))}); ${failed} not 200/201`);
}

phase = 'after';
await quiet();
publishing = false;
await publisher;
await Promise.all([...inFlight]);

const b = p95(pubacks.before);
for (const k of ['before', 'during', 'after']) {
  const ratio = k === 'before' ? '' : ` (×${(p95(pubacks[k]) / b).toFixed(2)} of before)`;
  console.log(`PUBACK ${k.padEnd(6)}: ${pubacks[k].length} messages, p95 ${fmt(p95(pubacks[k]))}, max ${fmt(Math.max(...pubacks[k]))}${ratio}`);
}
const stored = await one(`SELECT count(*)::int AS n FROM readings r JOIN meters m ON m.id = r.meter_id WHERE m.building_id = $1 AND r.source = 'telemetry'`, [building]);
const submitted = await one(`SELECT count(*)::int AS n FROM readings r JOIN meters m ON m.id = r.meter_id WHERE m.building_id = $1 AND r.source = 'resident'`, [building]);
console.log(`stored: ${stored.n} of ${seq * METERS} gateway readings, ${submitted.n} of ${submissions.length} submissions`);

await client.endAsync(true);
await he.close();
if (server) await server.stop();
process.exit(0);
