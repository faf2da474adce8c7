#!/usr/bin/env node
/**
 * `npm run demo`: one simulated building end to end on the embedded defaults, "a month in a few minutes".
 *
 * head-end (aedes + PGlite-TimescaleDB in a temp DATA_DIR, free ports, API with /docs)
 *   ← MQTT ← gateway (in-process, configured from the simulator's endpoints JSON, gatewayTime = sim clock)
 *   ← M-Bus (tcp) / Modbus RTU (pty) / pulse counters (pty) ← building simulator (clock frozen, advanced here).
 *
 * The building is registered through the head-end's HTTP API exactly as an engineer would (admin user,
 * organisation, building, premises, ОДПУ and ИПУ, gateway + its one-time MQTT password, bindings).
 * The simulated period ends now (the wall clock at the start, or `--now`): it starts a day before the last
 * whole calendar month (or `--days` before now). The demo steps the simulated clock and asks the gateway to
 * poll every meter after each step — once a day for older days (`--history-step`), every `--step` (3h)
 * in the last day, and at now itself (scripts/demo-plan.mjs). Then the head-end's clock runs on in real
 * time from now, so the dashboard shows meters seen minutes ago and the silence check raises nothing.
 * At the end it computes each resource's imbalance from the readings stored in the database (VEE
 * `periodConsumption` + `computeImbalance`) and compares it with the simulator's truth.
 *
 * What is compared: the simulator has no common-area meters, so the computed imbalance
 * (ОДПУ − Σ ИПУ) / ОДПУ contains common-area use and losses; it is compared with the truth's
 * (common + loss) / building — like with like.
 *
 * Options: `node scripts/demo.mjs --help`. Default: from a day before last month to now, the last whole
 * calendar month compared (both its bounds are polled); --json prints only the table and exits 0
 * iff every resource is within --tolerance (0.5 pp).
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { parse as parseYaml } from 'yaml';
import { pino } from 'pino';
import { startBuilding, SimClock } from '@amr/simulators';
import { Gateway, validateConfig } from '@amr/gateway';
import { startHeadend, loadConfig } from '@amr/headend';
import { createUser } from '@amr/headend/auth/index';
import { periodConsumption, computeImbalance, monthPeriod } from '@amr/headend/vee/index';
import { formatRoubles, fromKopecks } from '@amr/headend/billing/money';
import { runSilenceCheck } from '@amr/headend/alerts/index';
import { scoreValidator } from './validator-score.mjs';
import { DAY_MS, RECENT_MS, lastWholeMonth, pollPlan, runStart } from './demo-plan.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const RESOURCES = ['heat', 'cold_water', 'hot_water', 'electricity'];
const UNIT = { heat: 'kWh', electricity: 'kWh', cold_water: 'm³', hot_water: 'm³' };
const QUANTITY = { heat: 'energy_kwh', electricity: 'energy_kwh', cold_water: 'volume_m3', hot_water: 'volume_m3' };
const LABEL = { heat: 'heat', cold_water: 'cold', hot_water: 'hot', electricity: 'el' };

const { values: args } = parseArgs({
  options: {
    now: { type: 'string' },
    days: { type: 'string' },
    step: { type: 'string' },
    'history-step': { type: 'string' },
    period: { type: 'string' },
    seed: { type: 'string' },
    config: { type: 'string', default: join(root, 'simulators/config/building.sample.yaml') },
    tolerance: { type: 'string', default: '0.5' },
    json: { type: 'boolean', default: false },
    'no-jobs': { type: 'boolean', default: false },
    'mbus-tcp': { type: 'boolean', default: false },
    'pulse-weight': { type: 'string' },
    keep: { type: 'boolean', default: false },
    fault: { type: 'string', multiple: true, default: [] },
    stay: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log(`usage: node scripts/demo.mjs [options]
  --now T           the instant the simulated period ends (default: the wall clock at start), e.g. 2026-03-10T12:00:00Z
  --days N          simulated days before --now to start from (default: from a day before the last whole month)
  --step 3h         simulated time between two polls of every meter in the last day (30m, 3h, 1d)
  --history-step D  the same for older days (default 1d; with --step given: that step all along)
  --period P        month (default when a whole calendar month is covered) or run (the run's span)
  --seed N          simulator seed (default: the config's, 42)
  --config FILE     building config (default simulators/config/building.sample.yaml)
  --pulse-weight L  litres per pulse of the apartment water counters (default: the config's, 10)
  --mbus-tcp        M-Bus through a TCP converter instead of a pty (slower: 50 ms quiet per telegram)
  --tolerance PP    allowed |computed − truth| in percentage points (default 0.5)
  --json            only the result table as JSON on stdout; exit 0 iff every resource is within tolerance
  --no-jobs         do not use Redis (background jobs off)
  --fault M=KIND@D  inject a meter fault at simulated day D (may be fractional; repeatable), e.g.
                    odpu-hot_water=reverseFlow@31.5, apt-3-cold_water=stuck@31.5
                    (kinds: stuck, reverseFlow, rollover, silent, crc, replaced, clear)
  --stay            after the table, keep the head-end and its dashboard running until Ctrl-C
  --keep            keep the temporary DATA_DIR`);
  process.exit(0);
}

/** Human output: stdout normally, stderr with --json (stdout carries only the JSON). */
const say = (s) => (args.json ? process.stderr : process.stdout).write(`${s}\n`);
/** A usage error: thrown so that everything already started is closed before the exit (code 2). */
class UsageError extends Error {}
const fail = (msg) => {
  throw new UsageError(msg);
};

function parseStep(s) {
  const m = /^(\d+(?:\.\d+)?)(m|h|d)$/.exec(s ?? '');
  if (!m) fail(`--step: expected a duration like 30m, 3h or 1d, got ${JSON.stringify(s)}`);
  return Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2]];
}
// "Now" is read once, here: the run ends at it, and the head-end's clock runs on from it in real time.
const wallAtStart = Date.now();
let stepMs, historyStepMs, tolerancePp, faults, nowMs, days;
try {
  stepMs = parseStep(args.step ?? '3h');
  // Older days once a day: the month's bounds are midnights, and 52 meters × 8 polls a day would make
  // the demo minutes long. An explicit --step alone keeps its old meaning: one step all along.
  historyStepMs = args['history-step'] !== undefined ? parseStep(args['history-step']) : args.step !== undefined ? stepMs : DAY_MS;
  nowMs = args.now !== undefined ? Date.parse(args.now) : wallAtStart;
  if (!Number.isFinite(nowMs)) fail(`--now: expected an instant such as 2026-03-10T12:00:00Z, got ${JSON.stringify(args.now)}`);
  if (nowMs < Date.UTC(2001, 0, 1)) fail(`--now: ${args.now} is before 2001 (the head-end refuses readings before 2000); give a later instant`);
  if (args.days !== undefined) {
    days = Number(args.days);
    if (!Number.isFinite(days) || days <= 0) fail(`--days: expected a positive number, got ${args.days}`);
  }
  faults = args.fault.map((f) => {
    const m = /^([A-Za-z0-9_-]+)=(stuck|reverseFlow|rollover|silent|crc|replaced|clear)@(\d+(?:\.\d+)?)$/.exec(f);
    if (!m) fail(`--fault: expected METER=KIND@DAY such as apt-3-cold_water=stuck@31.5, got ${JSON.stringify(f)}`);
    return { meterId: m[1], kind: m[2], day: Number(m[3]), applied: false, atMs: null };
  });
  tolerancePp = Number(args.tolerance);
  if (!Number.isFinite(tolerancePp) || tolerancePp <= 0) fail(`--tolerance: expected a positive number of percentage points, got ${args.tolerance}`);
  if (args.period !== undefined && !['month', 'run'].includes(args.period)) fail(`--period: expected month or run, got ${JSON.stringify(args.period)}`);
} catch (e) {
  process.stderr.write(`demo: ${e.message}\n`);
  process.exit(2);
}

/** True when something accepts TCP connections at the URL's host:port within a second. */
function reachable(url) {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port || 6379) });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** With --stay, how often the gateway polls once the run has reached now (a gateway is silent after 60 minutes). */
const STAY_POLL_MINUTES = 15;
const fmt = (n, d = 3) => (n === null || n === undefined || !Number.isFinite(n) ? '—' : (Math.abs(n) < 0.5 * 10 ** -d ? 0 : n).toFixed(d));
const iso = (ms) => new Date(ms).toISOString().replace(':00.000Z', 'Z');

const t0 = performance.now();
const cleanups = [];
async function closeAll() {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch (e) {
      process.stderr.write(`demo: during shutdown: ${e.message}\n`);
    }
  }
  cleanups.length = 0;
}
// A closed pipe (`npm run demo | head`) must not kill the demo before it has closed socat & co.
for (const s of [process.stdout, process.stderr]) s.on('error', () => {});
process.on('uncaughtException', (e) => {
  process.stderr.write(`demo failed: ${e.stack ?? e.message}\n`);
  void closeAll().finally(() => process.exit(1));
});
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    interrupted = true;
    say(`\n${sig}: stopping…`);
  });
}

async function main() {
  // ---- building simulator (sample config; pacing off, fixed seed, frozen clock) ----
  const sample = parseYaml(readFileSync(args.config, 'utf8'));
  // Apartment heat meters: without them Σ ИПУ for heat is 0 and the heat imbalance is meaningless.
  // M-Bus on a pty (a USB–M-Bus master): a tcp:// converter makes the gateway wait 50 ms of silence
  // after every telegram, which a month of multi-telegram heat meters would turn into many minutes.
  const simConfig = {
    ...sample,
    pacing: false,
    speed: 0,
    apartmentHeat: sample.apartmentHeat || true,
    seed: args.seed !== undefined ? Number(args.seed) : (sample.seed ?? 42),
    // The config's own start is replaced: the run ends now, wherever the config's calendar began.
    start: new Date(runStart(nowMs, days)).toISOString(),
    ...(args['pulse-weight'] !== undefined ? { pulseWeightL: Number(args['pulse-weight']) } : {}),
    buses: { ...sample.buses, mbus: { ...sample.buses?.mbus, transport: args['mbus-tcp'] ? 'tcp' : 'pty' } },
  };
  const start = new Date(simConfig.start);
  const clock = new SimClock(start, 0);
  const building = await startBuilding(simConfig, { clock });
  cleanups.push(() => building.close());
  const ep = building.endpoints;
  for (const f of faults) if (!ep.meters.some((m) => m.meterId === f.meterId)) fail(`--fault: no meter ${f.meterId} in this building (meters: ${ep.meters.map((m) => m.meterId).join(', ')})`);
  const startMs = clock.nowMs();
  const endMs = nowMs;
  const polls = pollPlan(startMs, endMs, stepMs, historyStepMs);

  // The compared period, checked before anything is polled: the last whole calendar month of the run.
  const month = lastWholeMonth(startMs, endMs);
  const periodKind = args.period ?? (month ? 'month' : 'run');
  if (periodKind === 'month' && !month) fail(`--period month: the run (${iso(startMs)} → ${iso(endMs)}) covers no whole calendar month; use more --days or leave --days out`);
  const period = periodKind === 'month' ? monthPeriod(month.year, month.month) : { start: new Date(startMs), end: new Date(endMs) };

  // ---- head-end on embedded defaults ----
  const dataDir = mkdtempSync(join(tmpdir(), 'amr-demo-'));
  if (!args.keep) cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const env = { ...process.env, DATA_DIR: dataDir, DB_PORT: '0', MQTT_PORT: '0', HTTP_PORT: process.env.HTTP_PORT ?? '0', HTTP_HOST: '127.0.0.1', MQTT_HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  delete env.MQTT_URL;
  env.REDIS_PREFIX = `amr-demo-${process.pid}`;
  const config = loadConfig(env);
  let jobs = !args['no-jobs'];
  if (jobs && !(await reachable(config.REDIS_URL))) {
    say(`Redis is not reachable at ${config.REDIS_URL}: running without background jobs (set REDIS_URL to use another Redis).`);
    jobs = false;
  }
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2));
  const committed = { readings: 0, messages: 0, last: new Map() };
  if (jobs) {
    // Runs after the head-end has closed (cleanups run in reverse): the demo's queues go with it.
    cleanups.push(async () => {
      const { Redis } = await import('ioredis');
      const redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await redis.connect();
        for (let cursor = '0'; ; ) {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${env.REDIS_PREFIX}:*`, 'COUNT', 1000);
          if (keys.length) await redis.del(...keys);
          cursor = next;
          if (cursor === '0') break;
        }
      } finally {
        redis.disconnect();
      }
    });
  }
  // While polling, the head-end lives in simulated time; after the run (`live`) its clock runs on in real
  // time from now — real time itself unless --now was given — so its silence check judges the last
  // readings (taken at now) as fresh as they are.
  let live = false;
  const headendNow = () => (live ? nowMs + (Date.now() - wallAtStart) : clock.nowMs());
  const headend = await startHeadend({
    config,
    logger,
    clock: () => new Date(headendNow()),
    api: true,
    jobs,
    onCommitted: (msgs) => {
      for (const m of msgs) {
        committed.messages++;
        for (const r of m.readings) {
          committed.readings++;
          const v = r.values.find((x) => (x.quantity === 'energy_kwh' || x.quantity === 'volume_m3') && x.time === undefined);
          if (v) committed.last.set(r.meter.meterKey, { value: v.value, time: r.gatewayTime });
        }
      }
    },
  });
  cleanups.push(() => headend.close());
  say(`AMR demo — building "${ep.building}", seed ${ep.seed}, ${ep.meters.length} meters, simulated ${iso(startMs)} → ${iso(endMs)} (now) in ${polls.length} polls: ${historyStepMs === stepMs ? `every ${args.step ?? '3h'}` : `every ${args['history-step'] ?? '1d'}, in the last day every ${args.step ?? '3h'}`}`);
  say(`API: ${headend.httpUrl}/docs   (MQTT broker on 127.0.0.1:${headend.mqttPort}, data in ${dataDir}${args.keep ? '' : ', removed at exit'})`);
  if (jobs) say(`background jobs on Redis ${config.REDIS_URL} (prefix ${env.REDIS_PREFIX})`);

  // ---- register the building through the API ----
  const password = `demo-${Math.random().toString(36).slice(2)}-pw`;
  await createUser(headend.db, { username: 'demo-admin', password, role: 'admin', display_name: 'Demo admin' });
  let token = '';
  async function api(method, path, body) {
    const res = await fetch(`${headend.httpUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
    return text ? JSON.parse(text) : null;
  }
  token = (await api('POST', '/auth/login', { username: 'demo-admin', password })).token;
  say(`Dashboard: ${headend.httpUrl}/dashboard/   (user demo-admin, password ${password}${args.stay ? '' : '; add --stay to keep it open after the run'})`);
  const org = await api('POST', '/organisations', { name: 'ООО «Демо УК»' });
  const bld = await api('POST', '/buildings', { org_id: org.id, address: ep.building, timezone: 'UTC' });
  const premises = new Map();
  for (const m of ep.meters) {
    if (m.role === 'apartment' && !premises.has(m.apartment)) {
      // Area and registered residents (deterministic from the flat number) for norms and ОДН shares.
      const n = Number(m.apartment) || premises.size + 1;
      const premise = await api('POST', '/premises', { building_id: bld.id, number: String(m.apartment), kind: 'residential', area_m2: 38 + (n % 5) * 8.5, residents: 1 + (n % 3) });
      premise.account = await api('POST', '/accounts', { org_id: org.id, number: `ЛС-${String(n).padStart(5, '0')}`, premise_id: premise.id });
      premises.set(m.apartment, premise);
    }
  }
  const meterIds = new Map(); // sim meterId → head-end meter id
  const simMeter = new Map(building.meters.map((m) => [m.meterId, m]));
  for (const m of ep.meters) {
    // Register digits from the simulated register's modulus (10^N), as the meter's passport states them:
    // the validator tells a rollover from a real decrease only when it knows them.
    const modulus = simMeter.get(m.meterId)?.modulus;
    const body = {
      placement: m.role === 'building' ? 'building' : 'apartment',
      ...(m.role === 'building' ? { building_id: bld.id } : { premise_id: premises.get(m.apartment).id }),
      resource: m.resource,
      identifier: m.meterId,
      make: m.mbus?.manufacturer ?? (m.modbus ? 'Eastron' : 'pulse'),
      model: m.modbus?.map,
      serial_number: m.serial,
      remote_reading: true,
      ...(modulus && Number.isInteger(Math.log10(modulus)) ? { register_digits: Math.log10(modulus) } : {}),
    };
    meterIds.set(m.meterId, (await api('POST', '/meters', body)).id);
  }
  const gwId = 'demo-gw-1';
  const created = await api('POST', '/gateways', { id: gwId, name: 'Demo gateway (meter cabinet)', building_id: bld.id });

  // ---- gateway config from the simulator's endpoints ----
  const portOf = (b) => (b.endpoint.kind === 'tcp' ? `tcp://${b.endpoint.host}:${b.endpoint.port}` : b.endpoint.path);
  const buses = [];
  for (const name of ['mbus', 'modbus', 'pulse']) {
    const b = ep.buses[name];
    // The simulator answers at once (pacing off): no need to keep the line's full inter-frame silence,
    // nor to time a pty as a 2400 Bd line. The gateway derives its end-of-frame silence from the baud
    // (3.5 characters: 16 ms at 2400 Bd 8E1, after every M-Bus telegram); at 38400 Bd a poll of the
    // sample building takes ~0.6 s instead of ~1.6 s. A TCP converter keeps its own baud. The answer
    // timeout would shrink with the baud (140 ms for M-Bus at 38400 Bd): kept at 1 s, since the head-end's
    // database work in this same process can hold the event loop that long on a loaded machine.
    if (b) buses.push({ name, protocol: name, port: portOf(b), baud: b.endpoint.kind === 'pty' ? Math.max(b.baud, 38400) : b.baud, ...(b.endpoint.kind === 'pty' ? { timeout: '1s' } : {}), interFrameDelay: 2 });
  }
  const gwMeters = ep.meters.map((m) => {
    if (m.bus === 'mbus') return { id: m.meterId, bus: 'mbus', primary: m.mbus.primaryAddress };
    if (m.bus === 'modbus') return { id: m.meterId, bus: 'modbus', slave: m.modbus.unitId, registerMap: m.modbus.map };
    return { id: m.meterId, bus: 'pulse', device: m.pulse.deviceId, channel: m.pulse.channel, channels: 2, weight: m.pulse.weightL / 1000, quantity: 'volume_m3' };
  });
  const bufferDir = join(dataDir, 'gateway');
  const gwConfig = validateConfig(
    {
      gateway: { id: gwId, bufferDir },
      mqtt: { url: `mqtt://127.0.0.1:${headend.mqttPort}`, username: created.mqtt.username, password: created.mqtt.password, reconnectMin: 200 },
      buses,
      meters: gwMeters,
    },
    'demo',
  );
  // Bindings: exactly the (bus, address) the gateway publishes for each meter; valid since ever.
  const { resolveConfig } = await import('@amr/gateway');
  for (const m of resolveConfig(gwConfig).meters) {
    await api('POST', `/gateways/${gwId}/bindings`, { bus: m.bus, address: m.address, meter_id: meterIds.get(m.id), valid_from: '2000-01-01T00:00:00Z' });
  }
  say(`registered via the API: organisation ${org.id}, building ${bld.id}, ${premises.size} premises, ${meterIds.size} meters, gateway ${gwId} with ${gwMeters.length} bindings`);

  const gateway = new Gateway({ config: gwConfig, logger: logger.child({ module: 'gateway' }), scheduler: false, now: () => clock.nowMs() });
  let produced = 0;
  let failed = 0;
  gateway.on('reading', () => produced++);
  gateway.on('pollFailed', () => failed++);
  await gateway.start();
  cleanups.push(() => gateway.stop());

  // ---- drive the month ----
  // A stall (nothing committed for 30 s while readings wait) is shown with the head-end's own gauges
  // once, so a hung run says where it hangs: ingest pending, DB pool connections, job queues.
  let lastProgress = { n: 0, at: Date.now() };
  let stallShown = false;
  const showStall = async () => {
    stallShown = true;
    try {
      const text = await (await fetch(`${headend.httpUrl}/metrics`, { signal: globalThis.AbortSignal.timeout(5000) })).text();
      const lines = text.split('\n').filter((l) => /^amr_(ingest_pending|ingest_batch_failures_total|db_pool_connections|queue_depth|broker_rejected_total)/.test(l));
      say(`STALL: nothing committed for 30 s (${committed.readings}/${produced}); head-end gauges:\n  ${lines.join('\n  ')}`);
    } catch (e) {
      say(`STALL: nothing committed for 30 s (${committed.readings}/${produced}); /metrics did not answer: ${e.message}`);
    }
  };
  const waitCommitted = async (ms) => {
    const until = Date.now() + ms;
    while (committed.readings < produced && Date.now() < until) {
      if (committed.readings !== lastProgress.n) lastProgress = { n: committed.readings, at: Date.now() };
      else if (!stallShown && Date.now() - lastProgress.at > 30_000) await showStall();
      await new Promise((r) => setTimeout(r, 50));
    }
    return committed.readings >= produced;
  };
  const odpu = ep.meters.filter((m) => m.role === 'building');
  const line = (simMs) => {
    const vals = odpu.map((m) => `${LABEL[m.resource]} ${fmt(committed.last.get(m.meterId)?.value, m.resource === 'heat' || m.resource === 'electricity' ? 1 : 3)}`).join(' · ');
    const pct = Math.round(((simMs - startMs) / (endMs - startMs)) * 100);
    return `[${String(pct).padStart(3)}%] sim ${iso(simMs)} | committed ${committed.readings}/${produced} readings in ${committed.messages} messages, ${failed} failed polls | ОДПУ ${vals} | ${((performance.now() - t0) / 1000).toFixed(0)} s`;
  };
  const tPoll = performance.now();
  let lastDay = -1;
  const recentFrom = endMs - RECENT_MS;
  let drained = historyStepMs === stepMs;
  for (const [i, t] of polls.entries()) {
    if (interrupted) break;
    if (!drained && t > recentFrom) {
      // Older readings get their verdict before the first fine-step ones arrive: the gap rule measures a
      // gap against the meter's recent spacing, which the fine step would shrink under the daily readings.
      drained = true;
      await waitCommitted(60_000);
      for (let n = -1; n !== 0; ) n = await headend.features.validator.drain();
    }
    clock.setTime(new Date(t));
    for (const f of faults) {
      if (!f.applied && t - startMs >= f.day * 86_400_000) {
        building.setFault(f.meterId, { kind: f.kind });
        f.applied = true;
        f.atMs = t;
        say(`fault: ${f.meterId} ${f.kind} from ${iso(t)}`);
      }
    }
    await gateway.pollNow();
    const day = Math.floor((t - startMs) / 86_400_000);
    if (day !== lastDay || i === polls.length - 1) {
      lastDay = day;
      await waitCommitted(5000);
      say(line(t));
    }
  }
  const ok = await waitCommitted(60_000);
  const pollSeconds = (performance.now() - tPoll) / 1000;
  say(`${ok ? 'all' : 'NOT all'} ${produced} readings committed (${committed.readings}); ${failed} failed polls; polling took ${pollSeconds.toFixed(1)} s`);
  // From here on the head-end's clock is real time (from now): the gateway stays connected (online),
  // and the silence check judges the meters as the dashboard shows them.
  live = true;

  // ---- validation: every stored reading gets a verdict from the head-end's validator ----
  for (let n = -1; n !== 0; ) n = await headend.features.validator.drain();
  const validated = (await headend.db.query('SELECT count(*)::int AS n FROM reading_validations')).rows[0].n;
  const simIdOf = new Map([...meterIds].map(([sim, id]) => [String(id), sim]));
  const { rows: flaggedRows } = await headend.db.query(
    `SELECT v.meter_id, count(DISTINCT v.time)::int AS readings, array_agg(DISTINCT r->>'code' ORDER BY r->>'code') AS codes,
            max(CASE v.status WHEN 'invalid' THEN 2 ELSE 1 END) AS worst, min(v.time) AS since
       FROM reading_validations v CROSS JOIN LATERAL jsonb_array_elements(v.reasons) r
      WHERE v.status <> 'valid' GROUP BY v.meter_id ORDER BY v.meter_id`,
  );
  const flagged = flaggedRows.map((f) => {
    const m = ep.meters.find((x) => x.meterId === simIdOf.get(String(f.meter_id)));
    return { meter: m?.meterId ?? String(f.meter_id), role: m?.role ?? null, resource: m?.resource ?? null, worst: f.worst === 2 ? 'invalid' : 'suspect', readings: f.readings, since: new Date(f.since).toISOString(), codes: f.codes };
  });
  say(`\nValidation: ${validated} register readings carry a verdict from the head-end's validator; ${flagged.length} meter(s) with flagged readings${flagged.length ? ':' : '.'}`);
  for (const f of flagged) say(`  ${f.meter.padEnd(18)} ${f.worst.padEnd(8)} ${String(f.readings).padStart(4)} reading(s) since ${iso(Date.parse(f.since))}: ${f.codes.join(', ')}`);

  // ---- the validator measured against the truth: which meter got which fault from when ----
  const { rows: verdictRows } = await headend.db.query(
    `SELECT meter_id, time, array_agg(DISTINCT r->>'code' ORDER BY r->>'code') AS codes
       FROM reading_validations v CROSS JOIN LATERAL jsonb_array_elements(v.reasons) r
      WHERE v.status <> 'valid' GROUP BY meter_id, time ORDER BY meter_id, time`,
  );
  const validator = scoreValidator({
    faults: faults.filter((f) => f.applied).map((f) => ({ meterId: f.meterId, kind: f.kind, atMs: f.atMs })),
    meters: ep.meters,
    flagged: verdictRows.map((r) => ({ meter: simIdOf.get(String(r.meter_id)) ?? String(r.meter_id), timeMs: new Date(r.time).getTime(), codes: r.codes })),
  });
  const pct = (x) => (x === null ? '—' : `${(x * 100).toFixed(1)} %`);
  say(`Validator against the truth: precision ${pct(validator.precision)} (${validator.truePositives} of ${validator.flaggedCodes} flags explained by an injected fault), recall ${pct(validator.recall)} (${validator.faults.length - validator.misses.length} of ${validator.faults.length} faults flagged with their code)`);
  for (const [c, v] of Object.entries(validator.codes)) say(`  ${c.padEnd(24)} precision ${pct(v.precision).padStart(7)} (${v.falsePositives} false of ${v.flagged})   recall ${pct(v.recall).padStart(7)} (${v.caught}/${v.faults})`);
  for (const x of validator.falsePositives.slice(0, 10)) say(`  false alarm: ${x.meter} at ${x.time}: ${x.codes.join(', ')}`);
  if (validator.falsePositives.length > 10) say(`  … ${validator.falsePositives.length - 10} more false alarms (all in --json)`);
  for (const x of validator.misses) say(`  MISSED: ${x.meter} ${x.kind} from ${x.from}: no reading flagged ${x.expected}`);
  for (const x of validator.unscored) say(`  not scored: ${x.meter} ${x.kind} from ${x.from}: ${x.why}`);

  // ---- imbalance vs the truth ----
  // A calendar month: the head-end's imbalance service computes and stores the report (the same call as
  // the dashboard's "Recompute"; with Redis, the recompute job does it too). The run's own span is no
  // reporting period, so for --period run the demo applies the same VEE functions itself.
  const source = periodKind === 'month' ? 'stored imbalance report (head-end imbalance service)' : 'VEE functions over the run (demo)';
  say(`\nImbalance over ${iso(period.start.getTime())} → ${iso(period.end.getTime())} (${periodKind === 'month' ? 'calendar month' : 'whole run'}), from readings stored in the head-end's database: ${source}.`);
  say('No common-area meters in this building: computed = (ОДПУ − Σ ИПУ) / ОДПУ, compared with the truth (common + loss) / building.');

  const stored = new Map();
  if (periodKind === 'month') {
    const res = await api('POST', `/buildings/${bld.id}/imbalance/recompute`, { kind: 'month', from: period.start.toISOString(), to: period.end.toISOString() });
    // The API answers in snake_case; the table below reads the imbalance maths' own names (as runImbalance returns them).
    for (const rep of res.reports) {
      stored.set(rep.resource, {
        buildingConsumption: rep.building_consumption, apartmentsConsumption: rep.apartments_consumption, apartmentsActual: rep.apartments_actual,
        apartmentsTotal: rep.apartments_total, imbalancePct: rep.imbalance_pct, status: rep.status,
      });
    }
  }
  async function pointsOf(meterId, quantity) {
    const { rows } = await headend.db.query(
      'SELECT DISTINCT ON (time) time, value, quality FROM readings WHERE meter_id = $1 AND quantity = $2 AND value IS NOT NULL ORDER BY time, version DESC',
      [meterId, quantity],
    );
    return rows.map((r) => ({ time: new Date(r.time), value: Number(r.value), quality: r.quality ?? [] }));
  }
  async function runImbalance(r) {
    const values = { building: [], apartments: [] };
    for (const m of ep.meters.filter((x) => x.resource === r)) {
      const pts = await pointsOf(meterIds.get(m.meterId), QUANTITY[r]);
      const pc = periodConsumption(pts, period);
      values[m.role === 'building' ? 'building' : 'apartments'].push({ meterId: m.meterId, consumption: pc?.consumption ?? null, method: pc?.method ?? null });
    }
    return computeImbalance({ building: values.building, apartments: values.apartments, otherConsumers: [] });
  }
  /**
   * The month billed by the head-end's billing module: tariffs and norms of a sample organisation, one
   * personal account per flat, accruals computed through the API (measured ИПУ, ОДН = ОДПУ − Σ ИПУ
   * shared by area under the common-property norm). Prices are illustrative, not any region's.
   */
  async function runBilling() {
    const month = period.start.toISOString().slice(0, 7);
    const from = '2000-01-01';
    const PRICES = { heat: 2850.0, hot_water: 245.5, cold_water: 52.3, electricity: 6.43 }; // ₽ per Gcal, m³, m³, kWh
    const NORMS = { hot_water: 3.5, cold_water: 4.9, electricity: 90 }; // per registered resident a month
    const COMMON = { hot_water: 0.03, cold_water: 0.03, electricity: 0.9 }; // per m² of the flats a month (ОДН cap)
    const present = RESOURCES.filter((r) => ep.meters.some((m) => m.resource === r));
    for (const r of present) {
      await api('POST', '/billing/tariffs', { org_id: org.id, resource: r, valid_from: from, tariff: { kind: 'single', price: PRICES[r] } });
      if (NORMS[r] !== undefined) await api('POST', '/billing/norms', { org_id: org.id, resource: r, basis: 'resident', valid_from: from, per_resident: NORMS[r] });
      if (COMMON[r] !== undefined) await api('POST', '/billing/norms', { org_id: org.id, resource: r, basis: 'common_area_m2', valid_from: from, per_resident: COMMON[r] });
    }
    const res = await api('POST', `/billing/periods/${month}/compute`, { building_id: bld.id });
    const { lines } = await api('GET', `/billing/lines?period=${month}&building_id=${bld.id}`);
    const byMethod = {};
    for (const l of lines) byMethod[l.method] = (byMethod[l.method] ?? 0) + 1;
    say(`\nBilling for ${month} (head-end billing module; sample tariffs ₽: ${present.map((r) => `${r} ${PRICES[r]}`).join(', ')}): ${lines.length} lines for ${premises.size} accounts, total ${formatRoubles(res.amount)} ₽; lines by method: ${Object.entries(byMethod).map(([k, v]) => `${k} ${v}`).join(', ')}.`);
    for (const c of res.common_house ?? []) {
      const u = c.resource === 'heat' ? 'Gcal' : UNIT[c.resource];
      say(`  ${c.resource.padEnd(12)} ОДПУ ${fmt(c.building_consumption)} − Σ ИПУ ${fmt(c.apartments_consumption)} ${u} → ОДН ${fmt(c.volume)}, billed ${fmt(c.billed_volume)}${c.excess_over_cap > 0 ? `, over the common-property cap ${fmt(c.excess_over_cap)} (not billed, reported)` : ''}${c.negative ? ' (negative: handled by policy)' : ''}`);
    }
    say(`  invoice lines: ${headend.httpUrl}/billing/lines?period=${month}&building_id=${bld.id}&format=xlsx (or csv); billing feed: /billing/feed?period=${month}`);
    return { period: month, lines: lines.length, amountRub: fromKopecks(res.amount), byMethod, commonHouse: res.common_house ?? [] };
  }

  const truth = building.truth({ from: period.start, to: period.end });
  const table = [];
  for (const r of RESOURCES) {
    const rep = periodKind === 'month' ? stored.get(r) : await runImbalance(r);
    if (!rep) throw new Error(`the head-end stored no ${r} report for the month`);
    const tr = truth.resources[r];
    const truthPct = tr.building > 0 ? ((tr.common + tr.loss) / tr.building) * 100 : null;
    const diff = rep.imbalancePct === null || truthPct === null ? null : rep.imbalancePct - truthPct;
    const round = (n, d) => (n === null ? null : Number(n.toFixed(d)));
    table.push({
      resource: r,
      unit: UNIT[r],
      odpu: round(rep.buildingConsumption, 6),
      sumIpu: round(rep.apartmentsConsumption, 6),
      apartmentMeters: `${rep.apartmentsActual}/${rep.apartmentsTotal}`,
      imbalancePct: round(rep.imbalancePct, 4),
      truthPct: round(truthPct, 4),
      truthLossPct: tr.building > 0 ? round((tr.loss / tr.building) * 100, 4) : null,
      diffPp: round(diff, 4),
      withinTolerance: diff !== null && Math.abs(diff) <= tolerancePp,
      status: rep.status,
    });
  }
  const allOk = table.every((row) => row.withinTolerance);
  const hdr = ['resource', 'unit', 'ОДПУ', 'Σ ИПУ', 'imbalance %', 'truth %', 'diff pp', 'check'];
  const rows = table.map((x) => [x.resource, x.unit, fmt(x.odpu), fmt(x.sumIpu), fmt(x.imbalancePct, 2), fmt(x.truthPct, 2), fmt(x.diffPp, 2), x.withinTolerance ? 'ok' : `OFF (> ${tolerancePp} pp)`]);
  const widths = hdr.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const pad = (cells) => cells.map((c, i) => (i < 2 || i === 7 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  say(pad(hdr));
  say(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) say(pad(r));
  const billing = periodKind === 'month' ? await runBilling() : null;
  const pulse = ep.meters.find((m) => m.pulse);
  if (pulse) say(`(apartment water is counted in whole pulses of ${pulse.pulse.weightL} L: up to ±${pulse.pulse.weightL} L per apartment at each period bound, which matters only for short periods)`);

  // ---- the dashboard after the run: what an engineer opening it now sees ----
  // The head-end's own silence check (the alerts.check job's, which with Redis also runs every minute),
  // judged by the head-end's clock: real time, or --now plus the time the demo has taken.
  const checkedAt = new Date(headendNow());
  const check = await runSilenceCheck(headend.db, config, [], checkedAt);
  const openAlerts = (await api('GET', `/alerts?open=true&building_id=${bld.id}`)).map((a) => ({ kind: a.kind, subject: a.subject, message: a.message }));
  const { rows: [seen] } = await headend.db.query(
    `SELECT min(last_seen_at) AS oldest, max(last_seen_at) AS newest, count(*) FILTER (WHERE last_seen_at IS NULL)::int AS never FROM meters WHERE building_id = $1`, [bld.id]);
  const { rows: gwRows } = await headend.db.query('SELECT id, online, last_seen_at FROM gateways WHERE building_id = $1 ORDER BY id', [bld.id]);
  const { rows: [lastRow] } = await headend.db.query('SELECT max(time) AS t FROM readings');
  const dashboard = {
    checkedAt: checkedAt.toISOString(),
    lastReadingAt: lastRow.t ? new Date(lastRow.t).toISOString() : null,
    metersLastSeen: { oldest: seen.oldest ? new Date(seen.oldest).toISOString() : null, newest: seen.newest ? new Date(seen.newest).toISOString() : null, never: seen.never },
    gateways: gwRows.map((g) => ({ id: g.id, online: g.online, lastSeenAt: g.last_seen_at ? new Date(g.last_seen_at).toISOString() : null })),
    silenceCheck: { raised: check.raised, cleared: check.cleared },
    openAlerts,
  };
  const ago = (at) => (at ? `${Math.round((checkedAt.getTime() - Date.parse(at)) / 60_000)} min before` : 'never');
  say(`\nDashboard at ${iso(checkedAt.getTime())}: last reading ${ago(dashboard.lastReadingAt)}; every meter last seen ${ago(dashboard.metersLastSeen.oldest)} or later; gateways ${dashboard.gateways.map((g) => `${g.id} ${g.online ? 'online' : 'OFFLINE'}`).join(', ')}; open alerts: ${openAlerts.length ? openAlerts.map((a) => `${a.kind} ${a.subject}`).join(', ') : 'none'}.`);

  const totalSeconds = (performance.now() - t0) / 1000;
  say(`\n${allOk ? 'Every resource within' : 'NOT every resource within'} ${tolerancePp} pp of the truth. Total ${totalSeconds.toFixed(1)} s.`);
  if (args.json) {
    process.stdout.write(
      `${JSON.stringify({ building: ep.building, seed: ep.seed, period: { from: period.start.toISOString(), to: period.end.toISOString(), kind: periodKind }, source, validated, flagged, validator, compared: '(building - sum apartments) / building vs truth (common + loss) / building', tolerancePp, step: args.step ?? '3h', historyStep: args['history-step'] ?? (historyStepMs === stepMs ? args.step ?? '3h' : '1d'), days: Number(((endMs - startMs) / DAY_MS).toFixed(4)), polls: polls.length, now: new Date(endMs).toISOString(), dashboard, readings: committed.readings, failedPolls: failed, seconds: Number(totalSeconds.toFixed(1)), allWithinTolerance: allOk, resources: table, billing })}\n`,
    );
  }
  const result = allOk && ok && !interrupted;
  if (args.stay && !interrupted) {
    // A resident's way in: a one-time code for the first flat's personal account, in the link the
    // residents' page reads it from (it signs in and drops the code from the address bar).
    const first = [...premises.values()][0];
    const access = first && (await api('POST', `/accounts/${first.account.id}/access-code`, { valid_days: 14 }));
    say(`\nThe head-end stays up until Ctrl-C; the gateway polls every meter every ${STAY_POLL_MINUTES} minutes (the simulated clock runs on in real time from now).`);
    say(`  Dashboard:      ${headend.httpUrl}/dashboard/   user demo-admin, password ${password}`);
    if (access) say(`  Residents' page: ${headend.httpUrl}/resident/?account=${encodeURIComponent(access.account_number)}&code=${encodeURIComponent(access.code)}   (account ${access.account_number}, one-time code ${access.code})`);
    say(`  API:            ${headend.httpUrl}/docs`);
    // The building goes on living: without polls the meters would turn silent after a day and the
    // gateway after an hour (its last_seen is refreshed by what it sends).
    let polling = Promise.resolve();
    const poller = setInterval(() => {
      polling = polling.then(async () => {
        clock.setTime(new Date(headendNow()));
        await gateway.pollNow();
      }).catch((e) => say(`poll failed: ${e.message}`));
    }, STAY_POLL_MINUTES * 60_000);
    await new Promise((resolve) => {
      const t = setInterval(() => {
        if (interrupted) {
          clearInterval(t);
          resolve();
        }
      }, 200);
    });
    clearInterval(poller);
    await polling;
    return allOk && ok;
  }
  return result;
}

let code = 1;
try {
  code = (await main()) ? 0 : 1;
} catch (e) {
  if (e instanceof UsageError) {
    process.stderr.write(`demo: ${e.message}\n`);
    code = 2;
  } else process.stderr.write(`demo failed: ${e.stack ?? e.message}\n`);
} finally {
  await closeAll();
}
process.exit(code);
