#!/usr/bin/env node
/**
 * Readings import benchmark (not a test): a 100 000-row readings CSV (25 000 flats × 4 months) posted to
 * POST /import/readings of a whole embedded head-end (API over HTTP, embedded broker) while one gateway
 * publishes over MQTT QoS 1 and a client polls /health/live (the process's responsiveness; /health asks the database). Prints the import's rows/s, the longest hold of the
 * database connection by anyone during it (hold-meter.mjs), and /health/live and
 * publish→PUBACK latency p95 during the import against a baseline measured first in the same run with
 * no import. Figures and ratios, no assertions. Runs from dist/ (`npm run bench` builds first).
 *
 * `--engine server`: the same on a TimescaleDB server of the bench's own (scripts/pg-server.mjs, as
 * bench/ingest.bench.mjs starts one) instead of the embedded engine's one connection.
 *
 * Knobs (env): BENCH_IMPORT_FLATS (25000), BENCH_BASELINE_SECONDS (5).
 */
import mqtt from 'mqtt';
import { pino } from 'pino';
import { loadConfig, startHeadend, hashSecret, fixedClock } from '../dist/index.js';
import { createUser } from '../dist/auth/index.js';
import { recordHolds } from './hold-meter.mjs';
import { startBenchDatabase } from '../../scripts/pg-server.mjs';
import { seedImportBuilding } from './import-setup.mjs';

const FLATS = Number(process.env.BENCH_IMPORT_FLATS ?? 25_000);
const BASELINE_S = Number(process.env.BENCH_BASELINE_SECONDS ?? 5);
const SECRET = 'bench-import-secret';
const ENGINE = process.argv.includes('--engine') ? process.argv[process.argv.indexOf('--engine') + 1] : 'embedded';
let server = null;
const extra = {};
if (ENGINE === 'server') {
  let url;
  ({ server, url } = await startBenchDatabase());
  extra.DATABASE_URL = url;
} else if (ENGINE !== 'embedded') throw new Error(`--engine embedded | server, not ${ENGINE}`);
const config = loadConfig({ ...process.env, DATA_DIR: 'memory://', DATABASE_URL: '', DB_PORT: '0', MQTT_URL: '', MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent', ...extra });
const he = await startHeadend({ config, logger: pino({ level: 'silent' }), jobs: false, clock: fixedClock('2027-01-15T12:00:00+03:00') });
await createUser(he.db, { username: 'bench', password: 'bench-password', role: 'admin' });
const token = (await (await fetch(`${he.httpUrl}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench', password: 'bench-password' }) })).json()).token;

const { orgId } = await seedImportBuilding(he.db, {
  name: 'bench import', flats: FLATS,
  more: async (q, b) => {
    await q.query(`INSERT INTO gateways (id, building_id, credential_hash) VALUES ('bench-gw', $1, $2)`, [b, await hashSecret(SECRET)]);
    const m = Number((await q.query(`INSERT INTO meters (placement, building_id, resource, make, serial_number) VALUES ('building', $1, 'heat', 'X', 'ODPU') RETURNING id`, [b])).rows[0].id);
    await q.query(`INSERT INTO bindings (gateway_id, bus, address, meter_id) VALUES ('bench-gw', 'm1', '1', $1)`, [m]);
  },
});
const lines = ['account,serial,date,value'];
for (let i = 1; i <= FLATS; i++) ['2026-09-01', '2026-10-01', '2026-11-01', '2026-12-01'].forEach((d, k) => lines.push(`A${i},S${i},${d},${100 + 4 * k}`));
const csv = `${lines.join('\n')}\n`;
const rows = lines.length - 1;

const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${he.mqttPort}`, { username: 'bench-gw', password: SECRET, clientId: 'bench-gw', reconnectPeriod: 0 });
let seq = 0;
/** Publishes one message at a time and polls /health/live until stop(): the latencies of each. */
function probe() {
  const puback = [];
  const health = [];
  let stop = false;
  const pub = (async () => {
    while (!stop) {
      const s = seq++;
      const msg = JSON.stringify({ v: 1, gatewayId: 'bench-gw', sentAt: new Date().toISOString(), readings: [{ seq: s, meter: { meterKey: 'm1', bus: 'm1', protocol: 'mbus', address: '1' },
        gatewayTime: new Date(Date.parse('2026-12-01T00:00:00Z') + s * 60_000).toISOString(), quality: [], values: [{ quantity: 'energy_kwh', value: s, unit: 'kWh', quality: [] }] }] });
      const t = performance.now();
      await client.publishAsync('amr/v1/bench-gw/readings', msg, { qos: 1 });
      puback.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const hl = (async () => {
    while (!stop) {
      const t = performance.now();
      await (await fetch(`${he.httpUrl}/health/live`)).text();
      health.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return async () => { stop = true; await Promise.all([pub, hl]); return { puback, health }; };
}
const p95 = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor(s.length * 0.95))] : NaN; };

const endBase = probe();
await new Promise((r) => setTimeout(r, BASELINE_S * 1000));
const base = await endBase();

const endDuring = probe();
const endHolds = recordHolds();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const res = await fetch(`${he.httpUrl}/import/readings?org_id=${orgId}&file_name=bench.csv`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }, body: csv });
const report = await res.json();
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const during = await endDuring();
const holds = endHolds();
const stored = Number((await he.db.query(`SELECT count(*) AS n FROM readings WHERE source = 'import'`)).rows[0].n);

console.log(`readings import [${ENGINE}]: ${rows} rows (${(csv.length / 1e6).toFixed(1)} MB CSV), HTTP ${res.status}, stored ${stored}${report.ok ? '' : ` — ${JSON.stringify(report.errors?.slice(0, 2) ?? report)}`}, ${seconds.toFixed(1)} s`);
console.log(`  import rows per second: ${(rows / seconds).toFixed(0)}`);
// CPU time of this process during the import: the embedded engine runs in it, so on that engine this
// is the import's whole cost (plus the probes' and the gateway's), steadier than wall time on a busy machine.
console.log(`  CPU time of the head-end process during the import: ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s (${((cpu.user + cpu.system) / 1e3 / (rows / 1000)).toFixed(0)} ms per 1 000 rows)${ENGINE === 'server' ? ', the database server\'s not included' : ''}`);
console.log(`  /health/live p95: baseline ${p95(base.health).toFixed(1)} ms (${base.health.length} calls), during import ${p95(during.health).toFixed(1)} ms (${during.health.length} calls), ratio ${(p95(during.health) / p95(base.health)).toFixed(1)}`);
console.log(`  publish→PUBACK p95: baseline ${p95(base.puback).toFixed(1)} ms (${base.puback.length} messages), during import ${p95(during.puback).toFixed(1)} ms (${during.puback.length} messages), ratio ${(p95(during.puback) / p95(base.puback)).toFixed(1)}`);
console.log(`  longest during import: /health/live ${Math.max(...during.health).toFixed(0)} ms, PUBACK ${Math.max(...during.puback).toFixed(0)} ms`);
console.log(`  longest connection hold during import: ${holds[0]?.ms.toFixed(0)} ms (${holds.length} holds; over 100 ms: ${holds.filter((h) => h.ms > 100).length})`);
if (process.env.BENCH_PROFILE) for (const h of holds.slice(0, 12)) console.log(`    ${h.ms.toFixed(0)} ms: ${h.sql.slice(0, 6).join(' | ')}`);
await client.endAsync();
await he.close();
await server?.stop();
