#!/usr/bin/env node
/**
 * Ingestion benchmark (not a test): simulated gateways publish readings over MQTT QoS 1 as fast as
 * their in-flight window allows, through the embedded aedes broker into embedded PGlite-TimescaleDB
 * (the head-end's real start-up, ack after commit). Prints readings stored per second, p50/p99
 * publish→PUBACK latency (= publish→commit, since the ack is sent only after commit), then the raw
 * insert rate of the same engine (1 000-row batches through pg into a readings-shaped hypertable)
 * and the ratio. Runs from dist/: `npm run bench -w @amr/headend` builds first.
 *
 * Knobs (env): BENCH_GATEWAYS (8), BENCH_METERS (25 per gateway), BENCH_READINGS_PER_MSG (25),
 * BENCH_SECONDS (10), BENCH_INFLIGHT (16 per gateway), BENCH_RAW_BATCHES (40), plus the head-end's own
 * INGEST_BATCH_SIZE / INGEST_LINGER_MS / INGEST_MAX_PENDING.
 */
import mqtt from 'mqtt';
import { pino } from 'pino';
import { loadConfig, startHeadend, hashSecret, writeReadings } from '../dist/index.js';

const env = (k, d) => Number(process.env[k] ?? d);
const GATEWAYS = env('BENCH_GATEWAYS', 8);
const METERS = env('BENCH_METERS', 25);
const PER_MSG = env('BENCH_READINGS_PER_MSG', 25);
const SECONDS = env('BENCH_SECONDS', 10);
const INFLIGHT = env('BENCH_INFLIGHT', 16);
const RAW_BATCHES = env('BENCH_RAW_BATCHES', 40);

const SECRET = 'bench-gateway-secret'; // the broker's hash needs ≥ 8 characters
const config = loadConfig({ ...process.env, DATA_DIR: 'memory://', DATABASE_URL: '', MQTT_URL: '', MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
const he = await startHeadend({ config, logger: pino({ level: 'silent' }), api: false, jobs: false });
console.log(`head-end up (embedded); batch ${config.INGEST_BATCH_SIZE}, linger ${config.INGEST_LINGER_MS} ms, max pending ${config.INGEST_MAX_PENDING}`);

// Registry: one building per gateway, METERS bound meters each.
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

const latencies = [];
let acked = 0;
const t0 = Date.now();
const deadline = t0 + SECONDS * 1000;
const base = Date.parse('2026-01-01T00:00:00Z');

async function gateway(g) {
  const gw = `bench-gw-${g}`;
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${he.mqttPort}`, { username: gw, password: SECRET, clientId: gw, reconnectPeriod: 0 });
  let seq = 0;
  const one = async () => {
    while (Date.now() < deadline) {
      const readings = [];
      for (let i = 0; i < PER_MSG; i++) {
        const s = seq++;
        const meter = (s % METERS) + 1;
        const tick = Math.floor(s / METERS);
        readings.push({
          seq: s,
          meter: { meterKey: `m${meter}`, bus: 'm1', protocol: 'mbus', address: String(meter) },
          gatewayTime: new Date(base + tick * 60_000).toISOString(),
          quality: [],
          values: [{ quantity: 'energy_kwh', value: tick * 0.1, unit: 'kWh', quality: [] }],
        });
      }
      const msg = JSON.stringify({ v: 1, gatewayId: gw, sentAt: new Date().toISOString(), readings });
      const start = performance.now();
      await client.publishAsync(`amr/v1/${gw}/readings`, msg, { qos: 1 });
      latencies.push(performance.now() - start);
      acked += PER_MSG;
    }
  };
  await Promise.all(Array.from({ length: INFLIGHT }, one));
  await client.endAsync();
}

await Promise.all(Array.from({ length: GATEWAYS }, (_, g) => gateway(g)));
const elapsed = (Date.now() - t0) / 1000;
const stored = (await he.db.query(`SELECT count(*)::int AS n FROM readings`)).rows[0].n;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
const ingestRate = stored / elapsed;
console.log(`ingest: ${GATEWAYS} gateways × ${INFLIGHT} in flight, ${PER_MSG} readings/message, ${elapsed.toFixed(1)} s`);
console.log(`  readings acknowledged ${acked}, stored ${stored} (${acked === stored ? 'all' : 'MISMATCH'})`);
console.log(`  readings stored per second: ${ingestRate.toFixed(0)}`);
console.log(`  publish→commit (PUBACK) latency per message: p50 ${pct(50).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms`);
const hist = async (name) => {
  const v = (await he.registry.getSingleMetric(name).get()).values;
  return { sum: v.find((x) => x.metricName === `${name}_sum`)?.value ?? 0, count: v.find((x) => x.metricName === `${name}_count`)?.value ?? 0 };
};
const bs = await hist('amr_ingest_batch_size');
const bt = await hist('amr_ingest_batch_seconds');
console.log(`  batches ${bt.count}, mean ${(bs.sum / bs.count).toFixed(1)} messages, mean commit ${((bt.sum / bt.count) * 1000).toFixed(1)} ms, DB busy ${((bt.sum / elapsed) * 100).toFixed(0)} % of the run`);

// The validator ran beside ingestion on the same (one) connection, as in production; what it has not
// caught up with is drained now and timed, then it is stopped so the raw and writer-only figures
// below measure the insert paths alone.
{
  const queuedBefore = (await he.db.query(`SELECT count(*)::int AS n FROM vee_queue`)).rows[0].n;
  const v0 = Date.now();
  for (let n = -1; n !== 0; ) n = await he.features.validator.drain();
  const verdicts = (await he.db.query(`SELECT count(*)::int AS n FROM reading_validations`)).rows[0].n;
  console.log(`validation: ${verdicts} verdicts; ${queuedBefore} meter instants still queued when ingestion ended, drained in ${((Date.now() - v0) / 1000).toFixed(1)} s after it`);
  await he.features.validator.stop();
}

// Raw insert rate of the same engine: 1 000-row multi-row inserts through pg into a readings-shaped hypertable.
await he.db.query(`CREATE TABLE bench_raw (LIKE readings INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)`);
await he.db.query(`SELECT create_hypertable('bench_raw', 'time', chunk_time_interval => interval '7 days')`);
const r0 = Date.now();
for (let b = 0; b < RAW_BATCHES; b++) {
  const ids = [], times = [], vals = [];
  for (let i = 0; i < 1000; i++) {
    ids.push((i % 200) + 1);
    times.push(new Date(base + (b * 1000 + i) * 60_000).toISOString());
    vals.push(i * 0.1);
  }
  await he.db.query(
    `INSERT INTO bench_raw (meter_id, time, quantity, value, unit, source, version)
     SELECT m, t, 'energy_kwh', v, 'kWh', 'telemetry', 1 FROM unnest($1::bigint[], $2::timestamptz[], $3::float8[]) AS u(m, t, v)`,
    [ids, times, vals],
  );
}
const rawRate = (RAW_BATCHES * 1000) / ((Date.now() - r0) / 1000);
console.log(`raw insert (same engine, 1 000-row batches through pg): ${rawRate.toFixed(0)} rows/s`);

// The ingest writer alone (no MQTT, no JSON/zod), 1 000 readings per transaction: splits the gap
// between the two figures above into "database work of ingestion" and "everything in front of it".
const w0 = Date.now();
for (let b = 0; b < RAW_BATCHES; b++) {
  const msgs = [];
  for (let g = 0; g < GATEWAYS; g++) {
    const gw = `bench-gw-${g}`;
    const readings = [];
    for (let i = 0; i < Math.ceil(1000 / GATEWAYS); i++) {
      const meter = (i % METERS) + 1;
      readings.push({
        seq: 1e9 + b * 1000 + i,
        meter: { meterKey: `m${meter}`, bus: 'm1', protocol: 'mbus', address: String(meter) },
        gatewayTime: new Date(Date.parse('2027-01-01T00:00:00Z') + (b * 1000 + i) * 60_000).toISOString(),
        quality: [],
        values: [{ quantity: 'energy_kwh', value: i, unit: 'kWh', quality: [] }],
      });
    }
    msgs.push({ v: 1, gatewayId: gw, sentAt: new Date().toISOString(), readings });
  }
  await writeReadings(he.db, msgs);
}
const writerRate = (RAW_BATCHES * GATEWAYS * Math.ceil(1000 / GATEWAYS)) / ((Date.now() - w0) / 1000);
console.log(`ingest writer alone (idempotency, bindings, conflict check; ~1 000 readings per transaction): ${writerRate.toFixed(0)} readings/s`);
console.log(`ratio ingest / raw: ${(ingestRate / rawRate).toFixed(2)}`);
await he.db.query('DROP TABLE bench_raw');
await he.close();
