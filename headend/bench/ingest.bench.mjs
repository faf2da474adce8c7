#!/usr/bin/env node
/**
 * Ingestion benchmark (not a test), on both database engines one after the other, printed side by
 * side: simulated gateways publish readings over MQTT QoS 1 as fast as their in-flight window allows,
 * through the embedded aedes broker into (a) the embedded PGlite-TimescaleDB and (b) a PostgreSQL 15 +
 * TimescaleDB server of the bench's own (scripts/pg-server.mjs, fsync on), with the head-end's real
 * start-up (ack after commit) and the validator running beside ingestion as in production.
 *
 * Per engine, all measured in the same run: the raw insert rate of that engine (1 000-row inserts
 * through pg into a trigger-free, readings-shaped hypertable), readings stored per second and the
 * ratio, publish→PUBACK (= publish→commit) p50/p99, validator verdicts per second during ingestion and
 * the backlog left when it stopped, the validator's rate draining alone, and the cost of one validator
 * batch with a short and a long queue. On the server also: p50/p99 with the gateways paced at
 * BENCH_PACED_RATE readings/s, and bytes per reading before and after compression.
 *
 * Flat out is a closed loop: every gateway waits for its PUBACKs, so the rate is at most the messages
 * in flight ÷ publish→commit time. 8 gateways × 16 in flight measured that latency, not what the
 * head-end can store (the head-end and the server both had CPU to spare); 32 × 16 (512 messages in
 * flight, as many as 512 field gateways with one each) keeps it busy.
 *
 * Knobs (env): BENCH_ENGINES (embedded,server), BENCH_GATEWAYS (32), BENCH_METERS (25 per gateway),
 * BENCH_READINGS_PER_MSG (25), BENCH_SECONDS (10), BENCH_INFLIGHT (16 per gateway), BENCH_RAW_BATCHES
 * (40), BENCH_PACED_RATE (10000), BENCH_QUICK=1 (flat-out ingestion and the raw rate only), BENCH_LOG_LEVEL (the
 * head-end's log on stderr, e.g. warn: names a statement holding the connection for over a minute), plus
 * the head-end's own INGEST_* settings.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadConfig, startHeadend, hashSecret } from '../dist/index.js';
import { runBatch } from '../dist/validation/batch.js';
import { DEFAULT_VALIDATION_SETTINGS } from '../dist/vee/index.js';
import { startBenchDatabase } from '../../scripts/pg-server.mjs';

const env = (k, d) => Number(process.env[k] ?? d);
const ENGINES = (process.env.BENCH_ENGINES ?? 'embedded,server').split(',').map((s) => s.trim()).filter(Boolean);
const GATEWAYS = env('BENCH_GATEWAYS', 32);
const METERS = env('BENCH_METERS', 25);
const PER_MSG = env('BENCH_READINGS_PER_MSG', 25);
const SECONDS = env('BENCH_SECONDS', 10);
const INFLIGHT = env('BENCH_INFLIGHT', 16);
const RAW_BATCHES = env('BENCH_RAW_BATCHES', 40);
const PACED_RATE = env('BENCH_PACED_RATE', 10_000);
/** Only the flat-out ingestion and the raw rate (for profiling): BENCH_QUICK=1. */
const QUICK = process.env.BENCH_QUICK === '1';
/** The server's statements by total time after the flat-out ingestion (pg_stat_statements): BENCH_PG_STATEMENTS=1. */
const STATEMENTS = process.env.BENCH_PG_STATEMENTS === '1';

/**
 * Where the bench is, for the watchdog: a phase that makes no progress for 120 s is named on stderr,
 * and after 600 s the bench gives up (exit 2, the server stopped) instead of hanging silently.
 */
let phase = 'start';
let phaseSince = Date.now();
let stopServer = async () => undefined;
const setPhase = (p) => {
  phase = p;
  phaseSince = Date.now();
};
setInterval(() => {
  const s = (Date.now() - phaseSince) / 1000;
  if (s > 600) {
    console.error(`bench: no progress for ${s.toFixed(0)} s in "${phase}"; giving up`);
    void stopServer().finally(() => process.exit(2));
  } else if (s > 120 && Math.floor(s) % 60 < 5) console.error(`bench: still in "${phase}" after ${s.toFixed(0)} s`);
}, 5000).unref();

const SECRET = 'bench-gateway-secret'; // the broker's hash needs ≥ 8 characters
const BASE = Date.parse('2026-01-01T00:00:00Z');
const int = async (db, sql, p) => Number((await db.query(sql, p)).rows[0].n);
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

async function seed(he) {
  const hash = await hashSecret(SECRET);
  const org = (await he.db.query(`INSERT INTO organisations (name) VALUES ('bench') RETURNING id`)).rows[0].id;
  for (let g = 0; g < GATEWAYS; g++) {
    const gw = `bench-gw-${g}`;
    await he.db.tx(async (q) => {
      const b = (await q.query(`INSERT INTO buildings (org_id, address) VALUES ($1, $2) RETURNING id`, [org, `bench ${g}`])).rows[0].id;
      await q.query(`INSERT INTO gateways (id, building_id, credential_hash) VALUES ($1, $2, $3)`, [gw, b, hash]);
      await q.query(
        `WITH m AS (INSERT INTO meters (placement, building_id, resource, make, serial_number)
                    SELECT 'building', $1, 'heat', 'BENCH', $2 || '-' || i FROM generate_series(1, $3) i RETURNING id, serial_number)
         INSERT INTO bindings (gateway_id, bus, address, meter_id) SELECT $2, 'm1', split_part(serial_number, '-', 4), id FROM m`,
        [b, gw, METERS],
      );
    });
  }
}

/** Raw insert rate of the engine: 1 000-row multi-row inserts into a readings-shaped hypertable with no triggers or keys. */
async function rawRate(he) {
  await he.db.query(`CREATE TABLE bench_raw (LIKE reading_rows INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)`);
  await he.db.query(`SELECT create_hypertable('bench_raw', 'time', chunk_time_interval => interval '7 days')`);
  const r0 = performance.now();
  for (let b = 0; b < RAW_BATCHES; b++) {
    const ids = [], times = [], vals = [];
    for (let i = 0; i < 1000; i++) {
      ids.push((i % 200) + 1);
      times.push(new Date(BASE + (b * 1000 + i) * 60_000).toISOString());
      vals.push(i * 0.1);
    }
    await he.db.query(
      `INSERT INTO bench_raw (meter_id, time, quantity, value, unit, source, version)
       SELECT m, t, 'energy_kwh', v, 'kWh', 'telemetry', 1 FROM unnest($1::bigint[], $2::timestamptz[], $3::float8[]) AS u(m, t, v)`,
      [ids, times, vals],
    );
  }
  const rate = (RAW_BATCHES * 1000) / ((performance.now() - r0) / 1000);
  await he.db.query('DROP TABLE bench_raw');
  return rate;
}

/**
 * Gateways publishing for `seconds` (gateway-fleet.mjs, a process of its own: their work is not the
 * head-end's): flat out (INFLIGHT messages in flight each), or paced so that all together send `rate`
 * readings/s. Sequence numbers and instants continue from `state`. CPU: this thread's (the head-end,
 * and the embedded engine, which runs in it) and the database server's, over the same span.
 */
async function publish(he, { seconds, rate, state }) {
  const cpu0 = process.cpuUsage();
  const db0 = serverCpuMs();
  const fleet = fork(fileURLToPath(new URL('./gateway-fleet.mjs', import.meta.url)), { stdio: 'inherit' });
  fleet.send({ port: he.mqttPort, gateways: GATEWAYS, meters: METERS, perMsg: PER_MSG, inflight: INFLIGHT, seconds, rate: rate ?? 0, seq: state.seq, base: BASE, secret: SECRET });
  const res = await new Promise((resolve, reject) => {
    fleet.once('message', resolve);
    fleet.once('error', reject);
    fleet.once('exit', (code) => reject(new Error(`gateway fleet exited with ${code} before reporting`)));
  });
  state.seq = res.seq;
  state.round++;
  const cpu = process.cpuUsage(cpu0);
  const db1 = serverCpuMs();
  return {
    acked: res.acked, elapsed: res.elapsed, p50: pct(res.latencies, 50), p99: pct(res.latencies, 99),
    cpuMs: (cpu.user + cpu.system) / 1000, fleetCpuMs: res.cpuMs, dbCpuMs: db0 === null || db1 === null ? null : db1 - db0,
  };
}

async function hist(he, name) {
  const v = (await he.registry.getSingleMetric(name).get()).values;
  return { sum: v.find((x) => x.metricName === `${name}_sum`)?.value ?? 0, count: v.find((x) => x.metricName === `${name}_count`)?.value ?? 0 };
}

/** One validator batch of 500 instants with about `depth` queued: ms (the rows are queued again from stored readings). */
async function batchCostAt(he, depth) {
  await he.db.query('DELETE FROM vee_queue');
  await he.db.query(`INSERT INTO vee_queue (meter_id, time) SELECT meter_id, time FROM reading_rows WHERE quantity = 'energy_kwh' ORDER BY time, meter_id LIMIT $1 ON CONFLICT DO NOTHING`, [depth]);
  const queued = await int(he.db, 'SELECT count(*) AS n FROM vee_queue');
  const ms = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await he.db.tx((q) => runBatch(q, { batchSize: 500, skipMeters: [], settings: DEFAULT_VALIDATION_SETTINGS }));
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { queued, ms: ms[2] };
}

/**
 * CPU time (ms) of the bench server's processes so far (the postmaster's children, from /proc), or null
 * (embedded engine, or no /proc): with the bench process's own CPU it says which side was saturated.
 */
let serverPid = null;
function serverCpuMs() {
  if (!serverPid) return null;
  try {
    const tick = 100; // USER_HZ on Linux
    let total = 0;
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      let stat;
      try { stat = readFileSync(`/proc/${d}/stat`, 'utf8'); } catch { continue; }
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // f[1] is the parent pid; f[11], f[12] utime, stime; f[13], f[14] of waited-for children.
      if (Number(d) === serverPid || Number(f[1]) === serverPid) total += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    }
    return (total * 1000) / tick;
  } catch { return null; }
}

/** The server's 12 costliest statements of the run so far: total and mean ms, calls, rows. */
async function printStatements(he) {
  await he.db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  const { rows } = await he.db.query(
    `SELECT round(total_exec_time)::int AS total_ms, calls, round((total_exec_time / calls)::numeric, 2) AS mean_ms, rows,
            left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS query
       FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12`);
  console.log(`[server] statements by total time (pg_stat_statements):`);
  for (const r of rows) console.log(`[server]   ${String(r.total_ms).padStart(7)} ms ${String(r.calls).padStart(6)} calls ${String(r.mean_ms).padStart(9)} ms/call ${String(r.rows).padStart(8)} rows  ${r.query}`);
}

async function runEngine(engine) {
  let server = null;
  const extra = {};
  if (engine === 'server') {
    let url;
    // BENCH_PG_STATEMENTS=1: the server keeps per-statement figures (pg_stat_statements), printed after
    // the flat-out ingestion: where the database's time per batch goes.
    ({ server, url } = await startBenchDatabase('amr_bench', STATEMENTS ? { settings: { shared_preload_libraries: 'timescaledb,pg_stat_statements', 'pg_stat_statements.track': 'all' } } : {}));
    stopServer = () => server.stop();
    serverPid = Number(readFileSync(join(server.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    extra.DATABASE_URL = url;
  }
  const config = loadConfig({ ...process.env, DATA_DIR: 'memory://', DATABASE_URL: '', MQTT_URL: '', MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...extra });
  const he = await startHeadend({ config, logger: pino({ level: process.env.BENCH_LOG_LEVEL ?? 'silent' }, process.stderr), api: false, jobs: false });
  const out = { engine };
  try {
    console.log(`\n[${engine}] head-end up; batch ${config.INGEST_BATCH_SIZE}, linger ${config.INGEST_LINGER_MS} ms, max pending ${config.INGEST_MAX_PENDING}` +
      (engine === 'server' ? `, pool ${config.DB_POOL_MAX}, parallel batches ${Math.min(config.INGEST_PARALLEL_BATCHES, config.DB_POOL_MAX - 2)}` : ', one connection'));
    setPhase(`${engine}: seed`);
    await seed(he);
    setPhase(`${engine}: raw inserts`);
    out.raw = await rawRate(he);
    console.log(`[${engine}] raw insert (1 000-row batches through pg, trigger-free hypertable): ${out.raw.toFixed(0)} rows/s`);

    const state = { seq: Array(GATEWAYS).fill(0), round: 0 };
    setPhase(`${engine}: ingest flat out`);
    const flat = await publish(he, { seconds: SECONDS, state });
    const stored = await int(he.db, 'SELECT count(*) AS n FROM readings');
    const verdicts = await int(he.db, 'SELECT count(*) AS n FROM reading_validations');
    out.backlog = await int(he.db, 'SELECT count(*) AS n FROM vee_queue');
    out.rate = stored / flat.elapsed;
    out.p50 = flat.p50;
    out.p99 = flat.p99;
    out.validator = verdicts / flat.elapsed;
    const bs = await hist(he, 'amr_ingest_batch_size');
    const bt = await hist(he, 'amr_ingest_batch_seconds');
    console.log(`[${engine}] ingest: ${GATEWAYS} gateways × ${INFLIGHT} in flight, ${PER_MSG} readings/message, ${flat.elapsed.toFixed(1)} s; acknowledged ${flat.acked}, stored ${stored} (${flat.acked === stored ? 'all' : 'MISMATCH'})`);
    console.log(`[${engine}]   readings stored per second: ${out.rate.toFixed(0)}; ratio ingest / raw: ${(out.rate / out.raw).toFixed(2)}`);
    console.log(`[${engine}]   publish→commit (PUBACK) per message: p50 ${flat.p50.toFixed(1)} ms, p99 ${flat.p99.toFixed(1)} ms`);
    console.log(`[${engine}]   batches ${bt.count}, mean ${(bs.sum / bs.count).toFixed(1)} messages, mean commit ${((bt.sum / bt.count) * 1000).toFixed(1)} ms, batch time ${((bt.sum / flat.elapsed) * 100).toFixed(0)} % of the run`);
    out.cpuPerK = flat.cpuMs / (flat.acked / 1000);
    console.log(`[${engine}]   CPU during it: head-end ${(flat.cpuMs / flat.elapsed / 10).toFixed(0)} % of one core (${out.cpuPerK.toFixed(0)} ms per 1 000 readings${engine === 'embedded' ? ', the engine included' : ''}), gateways ${(flat.fleetCpuMs / flat.elapsed / 10).toFixed(0)} %` +
      (flat.dbCpuMs === null ? '' : `, database server ${(flat.dbCpuMs / flat.elapsed / 10).toFixed(0)} % of one core`));
    console.log(`[${engine}]   validator beside it: ${verdicts} verdicts (${out.validator.toFixed(0)}/s); ${out.backlog} instants queued when ingestion stopped`);

    if (STATEMENTS && engine === 'server') await printStatements(he);
    if (QUICK) return out;
    if (engine === 'server') {
      const before = await int(he.db, 'SELECT count(*) AS n FROM readings');
      setPhase(`${engine}: ingest paced`);
      const paced = await publish(he, { seconds: SECONDS, rate: PACED_RATE, state });
      const after = await int(he.db, 'SELECT count(*) AS n FROM readings');
      out.paced = { rate: (after - before) / paced.elapsed, p50: paced.p50, p99: paced.p99, backlog: await int(he.db, 'SELECT count(*) AS n FROM vee_queue') };
      console.log(`[${engine}] paced at ${PACED_RATE} readings/s: stored ${(out.paced.rate).toFixed(0)}/s, publish→commit p50 ${paced.p50.toFixed(1)} ms, p99 ${paced.p99.toFixed(1)} ms; validator backlog at the end ${out.paced.backlog}`);
    }

    // The validator alone, draining what is queued (its own timer may be mid-drain: counted by verdict rows, not drain()'s return).
    const queued = await int(he.db, 'SELECT count(*) AS n FROM vee_queue');
    setPhase(`${engine}: validator drain`);
    const judged0 = await int(he.db, 'SELECT count(*) AS n FROM reading_validations');
    const v0 = performance.now();
    const vc0 = process.cpuUsage();
    const vdb0 = serverCpuMs();
    // Bounded: a validator that stops making progress is reported, not waited for.
    const limitMs = env('BENCH_DRAIN_SECONDS', 90) * 1000;
    let left = queued;
    while (left > 0 && performance.now() - v0 < limitMs) {
      const wait = new Promise((r) => setTimeout(r, Math.max(0, limitMs - (performance.now() - v0))).unref());
      await Promise.race([he.features.validator.drain(), wait]);
      left = await int(he.db, 'SELECT count(*) AS n FROM vee_queue');
    }
    const vcpu = process.cpuUsage(vc0);
    const vdb1 = serverCpuMs();
    const judged = await int(he.db, 'SELECT count(*) AS n FROM reading_validations') - judged0;
    out.drain = judged / ((performance.now() - v0) / 1000);
    // CPU per 1 000 verdicts: comparable across runs on a busy machine, where the rate is not.
    out.drainCpuPerK = (vcpu.user + vcpu.system) / 1000 / (judged / 1000);
    out.drainDbCpuPerK = vdb0 === null || vdb1 === null ? null : (vdb1 - vdb0) / (judged / 1000);
    console.log(`[${engine}] validator alone: ${queued - left} of ${queued} queued instants drained in ${((performance.now() - v0) / 1000).toFixed(1)} s, ${out.drain.toFixed(0)} verdicts/s; ` +
      `CPU per 1 000 verdicts: head-end ${out.drainCpuPerK.toFixed(0)} ms${out.drainDbCpuPerK === null ? '' : `, database server ${out.drainDbCpuPerK.toFixed(0)} ms`}` +
      (left ? `; STOPPED WAITING with ${left} still queued` : ''));
    if (left) {
      out.batchSmall = out.batchLarge = { ms: NaN, queued: 0 };
      return out;
    }
    await he.features.validator.stop();
    setPhase(`${engine}: validator batch cost`);
    const small = await batchCostAt(he, 1300);
    const large = await batchCostAt(he, 130_000);
    out.batchSmall = small;
    out.batchLarge = large;
    console.log(`[${engine}] one validator batch (500 instants): ${small.ms.toFixed(1)} ms with ${small.queued} queued, ${large.ms.toFixed(1)} ms with ${large.queued} queued`);
    await he.db.query('DELETE FROM vee_queue');

    if (engine === 'server') {
      setPhase(`${engine}: compression`);
      const rows = await int(he.db, 'SELECT count(*) AS n FROM reading_rows');
      const size0 = await int(he.db, `SELECT hypertable_size('reading_rows') AS n`);
      await he.db.query(`SELECT compress_chunk(c, true) FROM show_chunks('reading_rows') c`);
      const size1 = await int(he.db, `SELECT hypertable_size('reading_rows') AS n`);
      out.bytes = { rows, raw: size0 / rows, compressed: size1 / rows };
      console.log(`[${engine}] storage: ${rows} rows; ${out.bytes.raw.toFixed(0)} bytes/reading uncompressed (table + indexes), ${out.bytes.compressed.toFixed(1)} bytes/reading compressed (segment by meter, quantity)`);
    }
  } finally {
    setPhase(`${engine}: close`);
    await he.close();
    await server?.stop();
  }
  return out;
}

const results = [];
for (const e of ENGINES) results.push(await runEngine(e));
if (QUICK) process.exit(0);

const col = (f) => results.map((r) => String(f(r) ?? '—').padStart(14)).join(' ');
const n0 = (x) => (x === undefined ? '—' : x.toFixed(0));
console.log(`\nside by side${' '.repeat(42)}${col((r) => r.engine)}`);
const line = (what, f) => console.log(`${what.padEnd(54)}${col(f)}`);
line('readings stored per second', (r) => n0(r.rate));
line('raw insert rows/s (same engine, same run)', (r) => n0(r.raw));
line('ratio ingest / raw', (r) => (r.rate / r.raw).toFixed(2));
line('head-end CPU ms per 1 000 readings', (r) => r.cpuPerK.toFixed(0));
line('publish→commit p50 ms', (r) => r.p50.toFixed(1));
line('publish→commit p99 ms', (r) => r.p99.toFixed(1));
line('validator verdicts/s beside ingestion', (r) => n0(r.validator));
line('validator backlog when ingestion stopped', (r) => r.backlog);
line('validator verdicts/s draining alone', (r) => n0(r.drain));
line('validator CPU ms per 1 000 verdicts: head-end / server', (r) => `${r.drainCpuPerK?.toFixed(0)} / ${r.drainDbCpuPerK?.toFixed(0) ?? '—'}`);
line('validator batch ms, 1.3 k queued', (r) => r.batchSmall.ms.toFixed(1));
line('validator batch ms, 130 k queued', (r) => r.batchLarge.ms.toFixed(1));
line(`paced ${PACED_RATE}/s: p50 ms`, (r) => r.paced?.p50.toFixed(1));
line(`paced ${PACED_RATE}/s: p99 ms`, (r) => r.paced?.p99.toFixed(1));
line(`paced ${PACED_RATE}/s: validator backlog at the end`, (r) => r.paced?.backlog);
line('bytes/reading uncompressed / compressed', (r) => (r.bytes ? `${r.bytes.raw.toFixed(0)} / ${r.bytes.compressed.toFixed(1)}` : undefined));
