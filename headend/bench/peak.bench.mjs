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
 * BENCH_PUBLISH_MS (100), BENCH_QUIET_SECONDS (10, before and after).
 * Needs `tsc -b` first (npm run bench does it).
 */
import mqtt from 'mqtt';
import { pino } from 'pino';
import { loadConfig, startHeadend, fixedClock, hashSecret } from '../dist/index.js';
import { randomSecret } from '../dist/auth/password.js';
import { issueBuildingCodes } from '../dist/collection/access-store.js';
import { codeKeyOf } from '../dist/collection/access.js';
import { SYSTEM_ACTOR } from '../dist/audit/index.js';

const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 1000);
const WAVE = Math.min(ACCOUNTS, Number(process.env.BENCH_WAVE ?? ACCOUNTS));
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const PUBLISH_MS = Number(process.env.BENCH_PUBLISH_MS ?? 100);
const QUIET_S = Number(process.env.BENCH_QUIET_SECONDS ?? 10);
const METERS = 10;

// The head-end's key, given rather than generated, so the codes issued here are hashed as the API checks them.
const SECRETS_KEY = Buffer.alloc(32, 25).toString('base64');
const config = loadConfig({ ...process.env, SECRETS_KEY, DATA_DIR: 'memory://', DATABASE_URL: '', MQTT_URL: '', MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', INGEST_LINGER_MS: '5', LOG_LEVEL: 'silent' });
const he = await startHeadend({ config, logger: pino({ level: 'silent' }), jobs: false, clock: fixedClock('2026-12-25T19:00:00+03:00') });
const one = async (sql, params = []) => (await he.db.query(sql, params)).rows[0];

// The building: ACCOUNTS flats, an account and a cold-water meter each, collection open days 1–31.
const org = Number((await one(`INSERT INTO organisations (name) VALUES ('УК Пик') RETURNING id`)).id);
const building = Number((await one(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, 'ул. Пиковая, 25', 'Europe/Moscow') RETURNING id`, [org])).id);
await he.db.query(`INSERT INTO collection_settings (building_id, resource, enabled, window_start_day, window_end_day, integer_only, accept_expired_verification, reminder_days, warn_factor)
  VALUES ($1, NULL, true, 1, 31, false, false, '{1}', 3)`, [building]);
const nums = Array.from({ length: ACCOUNTS }, (_, i) => String(i + 1));
await he.db.query(`INSERT INTO premises (building_id, number) SELECT $1, unnest($2::text[])`, [building, nums]);
await he.db.query(`INSERT INTO personal_accounts (org_id, number, premise_id) SELECT $1, 'PEAK-' || p.number, p.id FROM premises p WHERE p.building_id = $2`, [org, building]);
await he.db.query(`INSERT INTO meters (placement, building_id, premise_id, resource, make, serial_number)
  SELECT 'apartment', $1, p.id, 'cold_water', 'BENCH', 'PEAK-CW-' || p.number FROM premises p WHERE p.building_id = $1`, [building]);
const meterOf = new Map((await he.db.query(`SELECT a.number, m.id FROM personal_accounts a JOIN meters m ON m.premise_id = a.premise_id WHERE a.org_id = $1`, [org])).rows.map((r) => [r.number, Number(r.id)]));

// The gateway: an issued secret (one SHA-256 to check), METERS bound meters.
const secret = randomSecret();
await he.db.query(`INSERT INTO gateways (id, name, building_id, credential_hash) VALUES ('gw-peak', 'gw-peak', $1, $2)`, [building, await hashSecret(secret)]);
for (let i = 1; i <= METERS; i++) {
  const m = await one(`INSERT INTO meters (placement, building_id, resource, make, serial_number) VALUES ('building', $1, 'heat', 'BENCH', $2) RETURNING id`, [building, `PEAK-HEAT-${i}`]);
  await he.db.query(`INSERT INTO bindings (gateway_id, bus, address, meter_id) VALUES ('gw-peak', 'm1', $1, $2)`, [String(i), m.id]);
}

const fmt = (ms) => `${ms.toFixed(0)} ms`;
const p95 = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor(s.length * 0.95))] : NaN; };

// 1. Code issuing for every account (hashes one at a time in the people's pool, then one transaction).
let codes;
{
  const t = performance.now();
  const { letters } = await issueBuildingCodes(he.db, codeKeyOf(SECRETS_KEY), building, 'all', null, 14, SYSTEM_ACTOR, 'bench-peak');
  const ms = performance.now() - t;
  codes = letters.map((l) => ({ number: l.accountNumber, code: l.code }));
  console.log(`code issuing for ${letters.length} accounts: ${(ms / 1000).toFixed(1)} s (${fmt(ms / letters.length)} per account)`);
}

// 2. The gateway publishes all along; each PUBACK time is put in the phase it was sent in.
const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${he.mqttPort}`, { username: 'gw-peak', password: secret, clientId: 'amr-gw-gw-peak', reconnectPeriod: 0 });
const pubacks = { before: [], during: [], after: [] };
let phase = 'before';
let seq = 0;
let publishing = true;
const inFlight = new Set();
const publisher = (async () => {
  while (publishing) {
    const s0 = ++seq;
    const at = new Date(Date.UTC(2026, 11, 1) + s0 * 60_000).toISOString();
    const msg = { v: 1, gatewayId: 'gw-peak', sentAt: new Date().toISOString(), readings: Array.from({ length: METERS }, (_, a) => ({
      seq: s0 * METERS + a, meter: { meterKey: `k${a + 1}`, bus: 'm1', protocol: 'mbus', address: String(a + 1) }, gatewayTime: at, quality: [],
      values: [{ quantity: 'energy_kwh', value: s0, unit: 'kWh', quality: [] }],
    })) };
    const sentIn = phase;
    const t = performance.now();
    const p = client.publishAsync('amr/v1/gw-peak/readings' /* topics.readings('gw-peak') */, JSON.stringify(msg), { qos: 1 }).then(() => pubacks[sentIn].push(performance.now() - t));
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
{
  const post = async (path, body, token) => {
    const t = performance.now();
    const res = await fetch(`${he.httpUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.json(), ms: performance.now() - t };
  };
  const queue = codes.slice(0, WAVE);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      const s = await post('/resident/sign-in', { account_number: c.number, code: c.code });
      signIns.push(s.ms);
      if (s.status !== 200) { failed++; continue; }
      const r = await post('/resident/readings', { readings: [{ meter_id: meterOf.get(c.number), value: 7.5 }] }, s.body.token);
      if (r.status !== 201) failed++;
      submissions.push(r.ms);
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
process.exit(0);
