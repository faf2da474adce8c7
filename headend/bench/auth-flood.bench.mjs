#!/usr/bin/env node
/**
 * MQTT CONNECT under a flood (not a test): figures for the embedded broker's authentication, through
 * the head-end's real start-up and real mqtt.js clients over loopback (one address for all).
 *  - a real gateway connecting with nobody else around (first contact = one scrypt hash; reconnect);
 *  - the same gateway reconnecting while 300 CONNECTs with a wrong password for its id arrive from
 *    its own address, and a never-seen gateway on that address retrying like the real gateway does;
 *  - 300 gateways connecting at once: cold (each needs a hash; one address may have 3 in flight, the
 *    rest are told "server unavailable" and retry with back-off; counted after 60 s) and warm
 *    (reconnects on cached credentials).
 * Prints times and counts; asserts nothing. Knobs (env): BENCH_FLOOD (300), BENCH_FLEET (300).
 * Before this broker (the task's measurement): a real gateway waited 76 s behind 300 bad CONNECTs,
 * and 63 of 300 simultaneous honest connects timed out.
 */
import mqtt from 'mqtt';
import { pino } from 'pino';
import { loadConfig, startHeadend, hashSecret } from '../dist/index.js';

const FLOOD = Number(process.env.BENCH_FLOOD ?? 300);
const FLEET = Number(process.env.BENCH_FLEET ?? 300);
const SECRET = 'bench-gateway-secret';
const config = loadConfig({ ...process.env, DATA_DIR: 'memory://', DATABASE_URL: '', MQTT_URL: '', MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
const he = await startHeadend({ config, logger: pino({ level: 'silent' }), api: false, jobs: false });
const url = `mqtt://127.0.0.1:${he.mqttPort}`;
const hash = await hashSecret(SECRET);
const ids = ['bench-auth-good', 'bench-auth-new', ...Array.from({ length: FLEET }, (_, i) => `bench-fleet-${i}`)];
await he.db.query('INSERT INTO gateways (id, credential_hash) SELECT unnest($1::text[]), $2', [ids, hash]);

const metric = async (name, labels = {}) =>
  ((await he.registry.getSingleMetric(name).get()).values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0);
const hashes = () => metric('amr_broker_password_hashes_total');

/** Connects, retrying refused CONNACKs like gateway/src/mqtt/connection.ts (doubling the wait from
 * `retry` up to 60 s); resolves with ms and refusals. */
function connect(id, { password = SECRET, clientId = `amr-gw-${id}`, retry = 1_000 } = {}) {
  const t = performance.now();
  let refusals = 0;
  return new Promise((resolve) => {
    const c = mqtt.connect(url, { username: id, password, clientId, reconnectPeriod: retry, reconnectOnConnackError: retry > 0, connectTimeout: 120_000 });
    c.on('error', (e) => {
      refusals++;
      if (!retry) { c.end(true); resolve({ ms: performance.now() - t, refusals, code: e.code }); }
      c.options.reconnectPeriod = Math.min(60_000, c.options.reconnectPeriod * 2);
    });
    c.once('connect', () => resolve({ c, ms: performance.now() - t, refusals }));
  });
}
const fmt = (ms) => `${ms.toFixed(0)} ms`;

{
  const { verifySecret } = await import('../dist/broker/credentials.js');
  const t = performance.now();
  for (let i = 0; i < 5; i++) await verifySecret(SECRET, hash);
  console.log(`one scrypt hash (N=2^15, r=8): ${fmt((performance.now() - t) / 5)} here, 2 at a time in the broker's pool`);
}

{
  const h0 = await hashes();
  const first = await connect('bench-auth-good');
  first.c.end(true);
  const again = await connect('bench-auth-good');
  again.c.end(true);
  console.log(`quiet: real gateway first contact ${fmt(first.ms)} (${(await hashes()) - h0} scrypt hash), reconnect ${fmt(again.ms)} (cached)`);
}

// Cold: every gateway needs a hash, all from one address (3 unverified in flight at most), each
// retrying with the gateway's doubling back-off; counted after COLD_S seconds. Warm: those that got
// in reconnect at once on their cached credentials.
const COLD_S = Number(process.env.BENCH_COLD_SECONDS ?? 60);
let warmIds = [];
{
  const h0 = await hashes();
  const pending = ids.slice(2).map((id) => connect(id).then((a) => ({ id, ...a })));
  const done = [];
  pending.forEach((p) => p.then((a) => done.push(a)));
  await new Promise((r) => setTimeout(r, COLD_S * 1000));
  const times = done.map((a) => a.ms).sort((a, b) => a - b);
  console.log(`${FLEET} never-seen gateways on one address connecting at once (cold): ${done.length} connected within ${COLD_S} s` +
    (times.length ? ` (p50 ${fmt(times[Math.floor(times.length / 2)])}, last ${fmt(times.at(-1))})` : '') + `; ${(await hashes()) - h0} scrypt hashes`);
  warmIds = done.map((a) => a.id);
  await Promise.all(done.map((a) => a.c.endAsync(true)));
}
{
  const h0 = await hashes();
  const t0 = performance.now();
  const all = await Promise.all(warmIds.map((id) => connect(id)));
  const ms = performance.now() - t0;
  const times = all.map((a) => a.ms).sort((a, b) => a - b);
  const refused = all.reduce((s, a) => s + a.refusals, 0);
  console.log(`${all.length} of them reconnecting at once (warm): all connected in ${fmt(ms)}, per gateway p50 ${fmt(times[Math.floor(times.length / 2)] ?? 0)}; ${refused} refusals; ${(await hashes()) - h0} scrypt hashes`);
  await Promise.all(all.map((a) => a.c.endAsync(true)));
}

// Last: the flood leaves loopback in back-off, which would slow the never-seen fleet above.
{
  const h0 = await hashes();
  const t0 = performance.now();
  const flood = Array.from({ length: FLOOD }, (_, i) => connect('bench-auth-good', { password: 'not-the-password', clientId: `bench-auth-good:bad${i}`, retry: 0 }));
  const good = connect('bench-auth-good');
  const fresh = connect('bench-auth-new');
  const g = await good;
  const bad = await Promise.all(flood);
  const floodMs = performance.now() - t0;
  const n = await fresh;
  const codes = {};
  for (const b of bad) codes[b.code] = (codes[b.code] ?? 0) + 1;
  console.log(`flood: ${FLOOD} wrong-password CONNECTs for the real gateway's id, all answered in ${fmt(floodMs)} (CONNACK codes ${JSON.stringify(codes)}), ${(await hashes()) - h0} scrypt hashes in all`);
  console.log(`  real gateway (verified before) connected during the flood in ${fmt(g.ms)}`);
  console.log(`  never-seen gateway on the flooding address connected in ${fmt(n.ms)} after ${n.refusals} refusals (address back-off; retrying after 1 s, 2 s, 4 s …)`);
  g.c.end(true);
  n.c.end(true);
}

process.exit(0); // the cold phase's stragglers are still retrying: no graceful close
