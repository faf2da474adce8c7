#!/usr/bin/env node
/**
 * MQTT CONNECT benchmark (not a test): what a head-end restart costs when a whole fleet behind one
 * address (a carrier NAT; here loopback) connects at once to the embedded broker with a cold
 * credential cache. Prints the cost of one secret check (scrypt as stored before, SHA-256 as issued
 * secrets are stored now), how many of N gateways connect within their 10 s connect timeout with each
 * stored form, and the refusal time of a wrong secret for a known id vs. an unknown id (which must not
 * tell ids apart). Runs from dist/: `npm run bench -- broker-auth` builds first.
 *
 * Knobs (env): BENCH_GATEWAYS (300), BENCH_LEGACY_SECONDS (60: how long the scrypt-stored fleet is
 * given), BENCH_REFUSALS (200 of each kind).
 */
import mqtt from 'mqtt';
import { pino } from 'pino';
import { loadConfig, startHeadend, startEmbeddedBroker, hashSecret, verifySecret, coreMetrics, createRegistry } from '../dist/index.js';
import { hashPassword, randomSecret } from '../dist/auth/password.js';

const env = (k, d) => Number(process.env[k] ?? d);
const N = env('BENCH_GATEWAYS', 300);
const LEGACY_SECONDS = env('BENCH_LEGACY_SECONDS', 60);
const REFUSALS = env('BENCH_REFUSALS', 200);
const CONNECT_TIMEOUT = 10_000; // the gateway's (gateway/src/mqtt/connection.ts)

const config = loadConfig({ ...process.env, DATA_DIR: 'memory://', DATABASE_URL: '', MQTT_URL: '', MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
const he = await startHeadend({ config, logger: pino({ level: 'silent' }), api: false, jobs: false });
const pct = (xs, p) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] : NaN);
const ms = (x) => `${x.toFixed(1)} ms`;

/** A fresh broker on the head-end's database = a restarted head-end (cold cache, no back-off state). */
async function freshBroker(auth = {}) {
  const registry = createRegistry();
  const b = await startEmbeddedBroker({ db: he.db, ingest: he.ingest, logger: pino({ level: 'silent' }), metrics: coreMetrics(registry), host: '127.0.0.1', port: 0, auth });
  const hashes = async () => (await registry.getSingleMetric('amr_broker_password_hashes_total').get()).values[0]?.value ?? 0;
  return { b, url: `mqtt://127.0.0.1:${b.port}`, hashes };
}

async function insert(gws) {
  await he.db.query('INSERT INTO gateways (id, credential_hash) SELECT * FROM unnest($1::text[], $2::text[])', [gws.map((g) => g.id), gws.map((g) => g.hash)]);
}

/**
 * Every gateway connects at once like a gateway does: 10 s connect timeout, a refused CONNACK
 * ("server busy") retried after 1 s. Returns the time each one got its CONNACK (ms after the start).
 */
async function fleetConnects(url, gws, seconds) {
  const t0 = performance.now();
  const at = [];
  const cs = gws.map((g) => {
    const c = mqtt.connect(url, { username: g.username ?? g.id, password: g.password, clientId: `amr-gw-${g.id}`, connectTimeout: CONNECT_TIMEOUT, reconnectPeriod: 1000, reconnectOnConnackError: true });
    c.on('error', () => {});
    c.once('connect', () => at.push(performance.now() - t0));
    return c;
  });
  const deadline = t0 + seconds * 1000;
  while (at.length < gws.length && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await Promise.all(cs.map((c) => c.endAsync(true)));
  return at;
}

function report(what, at, total) {
  const in10 = at.filter((t) => t <= CONNECT_TIMEOUT).length;
  const last = at.length ? Math.max(...at) / 1000 : NaN;
  console.log(`${what}: ${in10} of ${total} connected within 10 s, ${at.length} of ${total} in all; last at ${last.toFixed(1)} s; CONNACK p50 ${ms(pct(at, 50))}, p99 ${ms(pct(at, 99))}`);
}

// 1. Cost of one check.
const secret = randomSecret();
const scryptStored = await hashPassword(secret);
let t = performance.now();
for (let i = 0; i < 10; i++) await verifySecret(secret, scryptStored);
const scryptMs = (performance.now() - t) / 10;
const fastStored = await hashSecret(secret);
t = performance.now();
for (let i = 0; i < 100_000; i++) await verifySecret(secret, fastStored);
const fastUs = ((performance.now() - t) / 100_000) * 1000;
console.log(`one secret check: scrypt (N=2^15, r=8, p=1) ${ms(scryptMs)}, SHA-256 (issued secrets) ${fastUs.toFixed(1)} µs`);

// 2. Baseline: the same number of CONNECTs with no database and no hash (the head-end's own user),
// i.e. what the broker and the clients in this process cost on this machine anyway.
{
  const registry = createRegistry();
  const own = { username: 'bench-internal', password: randomSecret() };
  const b = await startEmbeddedBroker({ db: he.db, ingest: he.ingest, logger: pino({ level: 'silent' }), metrics: coreMetrics(registry), host: '127.0.0.1', port: 0, internalUsers: new Map([[own.username, own.password]]) });
  const at0 = await fleetConnects(`mqtt://127.0.0.1:${b.port}`, Array.from({ length: N }, (_, i) => ({ id: `internal-${i}`, username: own.username, password: own.password })), 60);
  report(`baseline, ${N} CONNECTs of the head-end's own user (no database, no hash)`, at0, N);
  await b.close();
}

// 3. Cold start, fast form (secrets issued and stored by hashSecret).
const fast = Array.from({ length: N }, (_, i) => ({ id: `bench-fast-${i}`, password: randomSecret() }));
for (const g of fast) g.hash = await hashSecret(g.password);
await insert(fast);
let s = await freshBroker();
let at = await fleetConnects(s.url, fast, 60);
report(`cold start, ${N} gateways behind one address, SHA-256-stored secrets`, at, N);
console.log(`  scrypt hashes: ${await s.hashes()}`);
await s.b.close();

// 4. Cold start, scrypt-stored (as written before this change): one hash shared by the fleet to keep the set-up short.
const legacyHash = await hashPassword(secret);
const legacy = Array.from({ length: N }, (_, i) => ({ id: `bench-legacy-${i}`, password: secret, hash: legacyHash }));
await insert(legacy);
s = await freshBroker();
at = await fleetConnects(s.url, legacy, LEGACY_SECONDS);
report(`cold start, ${N} gateways behind one address, scrypt-stored secrets (before their first login)`, at, N);
console.log(`  scrypt hashes: ${await s.hashes()}; rewritten in the fast form: ${(await he.db.query(`SELECT count(*)::int AS n FROM gateways WHERE id LIKE 'bench-legacy-%' AND credential_hash LIKE 'sha256$%'`)).rows[0].n}`);
await s.b.close();
const rewritten = new Set((await he.db.query(`SELECT id FROM gateways WHERE id LIKE 'bench-legacy-%' AND credential_hash LIKE 'sha256$%'`)).rows.map((r) => r.id));
s = await freshBroker();
at = await fleetConnects(s.url, legacy.filter((g) => rewritten.has(g.id)), 60);
report(`  the ${rewritten.size} rewritten at their first login, after the next restart`, at, rewritten.size);
await s.b.close();

// 5. Refusal time: a wrong secret for a known id vs. an unknown id (no back-off, so every one is checked).
s = await freshBroker({ backoff: { freeFailures: 1e9 } });
const refusal = (username) =>
  new Promise((resolve) => {
    const t0 = performance.now();
    const c = mqtt.connect(s.url, { username, password: randomSecret(), clientId: `amr-gw-${username}`, reconnectPeriod: 0 });
    c.once('error', (e) => { c.end(true); resolve({ code: e.code, ms: performance.now() - t0 }); });
    c.once('connect', () => { c.end(true); resolve({ code: 0, ms: performance.now() - t0 }); });
  });
const known = [], unknown = [];
for (let i = 0; i < REFUSALS; i++) {
  known.push(await refusal(fast[i % N].id));
  unknown.push(await refusal(`bench-nobody-${i}`));
}
const codes = (xs) => [...new Set(xs.map((x) => x.code))].join('/');
const p50k = pct(known.map((x) => x.ms), 50), p50u = pct(unknown.map((x) => x.ms), 50);
console.log(`refusal (CONNECT→CONNACK) p50: wrong secret for a known id ${ms(p50k)} (code ${codes(known)}), unknown id ${ms(p50u)} (code ${codes(unknown)}); ratio ${(p50u / p50k).toFixed(2)}`);
await s.b.close();
await he.close();
process.exit(0);
