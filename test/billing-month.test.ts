// End to end: a full month of the simulated building billed by the head-end, every
// accrual line equal to the value computed here by hand from the simulator's truth.
//
// The head-end runs in process on its defaults (this run's database engine: one PGlite-TimescaleDB
// in memory for the file, or a database of its own on the tests' server; aedes broker, HTTP API on
// a free port), as the demo and the fault tests start it; everything is done through its real
// entry points:
//   - registry through the HTTP API (organisation, building with common area, six flats of known area
//     and registered residents, personal accounts, ИПУ cold/hot water and electricity per flat, four
//     ОДПУ, a gateway and its bindings);
//   - ОДПУ registers by telemetry: daily readings of the month published over MQTT to the embedded
//     broker with the gateway's credentials (the ingest path the gateway uses); ИПУ electricity, which
//     the simulator puts on Modbus, by telemetry too, with its day (T1) and night (T2) registers;
//   - ИПУ water of earlier months by the readings import (CSV, the previous system's history); this
//     month's by residents (one-time code → sign-in → POST /resident/readings) and by the meter
//     inspector (POST /premises/:id/readings). Both date a reading at the start of the collection
//     period computed from the head-end's clock: with the window 1–31 that is the 1st of the current
//     month, i.e. the END of last month, so the billed month is last month (see model.ts monthsFrom);
//   - the head-end's clock is injected (startHeadend({ clock })) and stopped at each of DATES below,
//     never today's date: the whole scenario runs once per date, each on a head-end of its own;
//   - tariffs, norms, rules, compute, close and lines through /billing; the closed month recalculated
//     by the billing.recalc job (real validator → bullmq on the real Redis) and by the compute route.
// Cases of the billed month: flats 1–4 measured; flat 2 under-reports its hot water (corrected after
// the close); flat 3: the inspector reads it, the resident's entry for the same instant is refused,
// and a resident version that got in anyway does not count against the inspector's; flat 5 submits nothing but has three measured months → average (its reading turns up
// after the close); flat 6 has no history → norm × registered residents; electricity on a day/night
// tariff — for every flat, since a tariff is per organisation and resource (the simulated SDM120 has
// one register: the zones are its hourly use split by local time, model.ts); ОДН (ОДПУ − Σ individual)
// of each resource shared by the area of all premises, cold water above the common-area cap: each flat
// billed its own cap, norm × common area × Sᵢ / S_total (excess reported, not billed).
// Heat is not billed here (no heat tariff): its ОДПУ is registered and read; heating by the building
// meter is a separate accrual.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, dbEnv, type TestDatabase } from '../headend/test/engine.js';
import mqtt from 'mqtt';
import { pino } from 'pino';
import type { Building } from '@amr/simulators';
import { topics, type ReadingsMessage } from '@amr/protocols';
import { fixedClock, loadConfig, startHeadend, type Headend } from '@amr/headend';
import { createUser } from '@amr/headend/auth/index';
import { JobRunner } from '@amr/headend/jobs/index';
import { startValidator, type Validator } from '@amr/headend/validation/index';
import { defineBillingJobs, enqueueBillingRecalc, RECALC_JOB } from '@amr/headend/billing/store/jobs';
import { dropRedisPrefix, until } from './faults/harness.js';
import {
  TZ, average6, commonHouse, measuredLine, monthKey, monthsFrom, startSimBuilding, substituteLine, Truth,
  type Billed, type ExpectedLine, type Part, type Prices, type Water,
} from './billing-month/model.js';

// ---------------------------------------------------------------- the building and its settings
const FLATS = [
  { n: 1, area: 54.3, residents: 3 },
  { n: 2, area: 38.1, residents: 1 },
  { n: 3, area: 71.6, residents: 4 },
  { n: 4, area: 45.0, residents: 2 },
  { n: 5, area: 62.4, residents: 3 },
  { n: 6, area: 33.8, residents: 2 },
] as const;
const COMMON_AREA = 120;
/** Cold water was 48.20 ₽/m³ until the billed month, 50.93 from its first day (tariff history). */
const COLD_OLD = 48.2;
const PRICES: Prices = { cold_water: 50.93, hot_water: 243.71, electricity: [6.43, 3.12] };
/** Per registered resident per month. */
const NORMS: Record<Billed, number> = { cold_water: 2.5, hot_water: 1.3, electricity: 60 };
/**
 * Per m² of common area per month: cold water 0.005 × 120 = 0.6 m³ cap; hot water 0.03 × 120 = 3.6 m³; electricity no cap.
 * The simulated building's cold-water ОДН volume of a billed month lies between 0.86 m³ (a February,
 * against flat 5's average of longer months) and 2.7 m³ over every month of 2026–2029, hot water's below
 * 1.5 m³: the cold cap binds and the hot one does not at whatever date the clock is stopped at.
 */
const COMMON_NORMS: Partial<Record<Billed, number>> = { cold_water: 0.005, hot_water: 0.03 };
const HOT_UNDER_REPORT = 1.5; // flat 2 reads its hot-water meter 1.5 m³ short
const COLD_TYPO = 2; // flat 3's resident types 2 m³ too much; the inspector's value counts
const RESOURCES: Billed[] = ['cold_water', 'hot_water', 'electricity'];

/**
 * The instants the head-end's clock is stopped at, one whole run each, with what they must give,
 * worked out by hand (Moscow is UTC+3 all year, so its local midnight is 21:00 UTC the day before):
 * the current month in Moscow, the billed month before it and its days, and the instant residents' and
 * the inspector's entries are dated at (the 1st of the current month, 00:00 Moscow, in UTC).
 * The dangerous ones are where Moscow and UTC disagree on the month or the year, and February.
 */
const DATES = [
  // An ordinary day; the billed month is February of a common year (28 days); history crosses a new year.
  { name: '2026-03-01 12:00 MSK', now: '2026-03-01T12:00:00+03:00', current: '2026-03', billed: '2026-02', billedDays: 28, history: ['2025-11', '2025-12', '2026-01'], entryAt: '2026-02-28T21:00:00.000Z' },
  // The year's last half hour: UTC (20:30 on the 31st) and Moscow agree it is December.
  { name: '2027-12-31 23:30 MSK', now: '2027-12-31T23:30:00+03:00', current: '2027-12', billed: '2027-11', billedDays: 30, history: ['2027-08', '2027-09', '2027-10'], entryAt: '2027-11-30T21:00:00.000Z' },
  // The new year's first instant in Moscow, still 2027-12-31 21:00 in UTC: a UTC month would be December
  // and date the entries 2027-11-30T21:00Z; Moscow's is January, billing December.
  { name: '2028-01-01 00:00 MSK', now: '2028-01-01T00:00:00+03:00', current: '2028-01', billed: '2027-12', billedDays: 31, history: ['2027-09', '2027-10', '2027-11'], entryAt: '2027-12-31T21:00:00.000Z' },
  // The leap day: the window 1–31 ends on the 29th; the billed month is January.
  { name: '2028-02-29 12:00 MSK', now: '2028-02-29T12:00:00+03:00', current: '2028-02', billed: '2028-01', billedDays: 31, history: ['2027-10', '2027-11', '2027-12'], entryAt: '2028-01-31T21:00:00.000Z' },
  // March in Moscow, the leap day in UTC (21:30 on the 29th): the billed month is the leap February (29 days).
  { name: '2028-03-01 00:30 MSK', now: '2028-03-01T00:30:00+03:00', current: '2028-03', billed: '2028-02', billedDays: 29, history: ['2027-11', '2027-12', '2028-01'], entryAt: '2028-02-29T21:00:00.000Z' },
] as const;

let months: ReturnType<typeof monthsFrom>;
let B: Date[]; // B[0..3] starts of history months and the billed month, B[4] its end
const iso = (d: Date) => d.toISOString();

let he: Headend;
let database: TestDatabase | undefined;
let sim: Building;
let truth: Truth;
let client: mqtt.MqttClient | undefined;
let runner: JobRunner;
let validator: Validator;
let redisPrefix = '';
const idle = async () => { const d = (await runner.depths())[RECALC_JOB]; return d.waiting + d.delayed + d.active === 0; };
const ids = {
  org: 0, building: 0, gateway: `gw-billing-${process.pid}`,
  premise: new Map<number, number>(), account: new Map<number, number>(), accountNumber: new Map<number, string>(),
  /** simulator meter id → head-end meter id */
  meter: new Map<string, number>(),
};
const tokens = { admin: '', engineer: '', inspector: '', billing: '' };
let mqttPassword = '';

interface Res<T = unknown> { status: number; body: T }
/** An accrual line as GET /billing/lines gives it, snake_case like every answer of the API (the fields this test reads). */
interface LineOut {
  id: number; account_id: string; resource: Billed; meter_id: string | null; method: string; kind: string; adjusts_period: string | null;
  adjustment_kind: string | null; quantity: number; amount: number; parts: Part[]; note?: string | null;
}
interface LinesOut { lines: LineOut[] }
/** A period's computation as POST /billing/periods/:period/compute answers it (the fields this test reads). */
interface ComputeOut {
  amount: number;
  common_house: {
    resource: Billed; building_consumption: number; apartments_consumption: number; volume: number; billed_volume: number; excess_over_cap: number; negative: boolean;
    per_premise: { account_id: string | null; area: number; share: number; cap: number | null; volume: number; excess: number }[];
  }[];
}
type Id = { id: number };
type ReadingsOut = { readings: { time: string; version: number }[] };
async function api<T = unknown>(token: string | null, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Res<T>> {
  const res = await fetch(`${he.httpUrl}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': contentType } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
/** A call that must succeed; its failure names the call and the answer. */
async function ok<T = unknown>(token: string | null, method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
  const r = await api<T>(token, method, path, body, contentType);
  if (r.status >= 300) throw new Error(`${method} ${path} → ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

const apt = (n: number, r: Billed) => `apt-${n}-${r}`;
const mid = (simId: string) => String(ids.meter.get(simId));

async function staffUser(role: 'engineer' | 'operator' | 'billing'): Promise<string> {
  const username = `${role}-${process.pid}`;
  const u = await ok<Id>(tokens.admin, 'POST', '/users', { username, password: 'password-123', role });
  await ok(tokens.admin, 'POST', `/users/${u.id}/grants`, { building_id: ids.building });
  return (await ok<{ token: string }>(null, 'POST', '/auth/login', { username, password: 'password-123' })).token;
}

/** A head-end whose clock is stopped at `now`, the jobs, the simulated building and the registry. */
async function setUp(now: Date): Promise<void> {
  months = monthsFrom(now);
  B = months.bounds;
  redisPrefix = `amrtest-billing-month-${process.pid}-${now.getTime()}`;
  seq = 0;
  client = undefined;
  for (const m of [ids.premise, ids.account, ids.accountNumber, ids.meter]) m.clear();
  database = await testDatabase();
  const config = loadConfig({
    DATA_DIR: 'memory://', ...dbEnv(database), DB_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_PORT: '0', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0',
    // Its own validator idles (1 h): the test's validator below drains when told to.
    INGEST_LINGER_MS: '10', VALIDATOR_INTERVAL_MS: '3600000', LOG_LEVEL: 'silent',
  });
  he = await startHeadend({ config, logger: pino({ level: 'silent' }), api: true, jobs: false, clock: fixedClock(now) });
  // The billing recalculation of closed months as the head-end wires it (src/server/features.ts:
  // validator verdicts → enqueueBillingRecalc → billing.recalc on bullmq, real Redis), with a 200 ms
  // coalescing window instead of 60 s, and a validator drained by the test instead of on a timer.
  runner = new JobRunner({ redisUrl: 'redis://127.0.0.1:6379', prefix: redisPrefix, logger: pino({ level: 'silent' }) });
  await defineBillingJobs(runner, { db: he.db, logger: pino({ level: 'silent' }), coalesceMs: 200 });
  validator = startValidator({ db: he.db, logger: pino({ level: 'silent' }), intervalMs: 3_600_000, onAffected: (a) => enqueueBillingRecalc(runner, a) });
  sim = await startSimBuilding(months.simStart);
  truth = new Truth(sim);

  await createUser(he.db, { username: 'admin', password: 'admin-password', role: 'admin' });
  tokens.admin = (await ok<{ token: string }>(null, 'POST', '/auth/login', { username: 'admin', password: 'admin-password' })).token;
  ids.org = (await ok<Id>(tokens.admin, 'POST', '/organisations', { name: 'ООО «УК Расчёт»' })).id;
  // Readings here are dated at the START of the collection period and close LAST month (see the head
  // comment): the building's 'calendar' period attribution (docs/billing.md), interpolation to the bounds.
  ids.building = (await ok<Id>(tokens.admin, 'POST', '/buildings', { org_id: ids.org, address: sim.endpoints.building, timezone: TZ, common_area_m2: COMMON_AREA, period_attribution: 'calendar' })).id;
  for (const f of FLATS) {
    const p = await ok<Id>(tokens.admin, 'POST', '/premises', { building_id: ids.building, number: String(f.n), kind: 'residential', area_m2: f.area, residents: f.residents });
    ids.premise.set(f.n, p.id);
    const number = `77-${String(f.n).padStart(4, '0')}`;
    const a = await ok<Id>(tokens.admin, 'POST', '/accounts', { org_id: ids.org, number, premise_id: p.id, holder_name: `Жилец кв. ${f.n}` });
    ids.account.set(f.n, a.id);
    ids.accountNumber.set(f.n, number);
  }
  const gw = await ok<{ mqtt: { password: string } }>(tokens.admin, 'POST', '/gateways', { id: ids.gateway, name: 'Шкаф учёта', building_id: ids.building });
  mqttPassword = gw.mqtt.password;
  for (const m of sim.endpoints.meters) {
    if (m.resource === 'heat' && m.role === 'apartment') continue;
    const body = {
      placement: m.role === 'building' ? 'building' : 'apartment',
      ...(m.role === 'building' ? { building_id: ids.building } : { premise_id: ids.premise.get(m.apartment!) }),
      resource: m.resource, identifier: m.meterId, make: m.mbus?.manufacturer ?? (m.modbus ? 'Eastron' : 'pulse'), serial_number: m.serial,
      ...(m.resource === 'electricity' && m.role === 'apartment' ? { zones: 2 } : {}), remote_reading: m.role === 'building' || m.resource === 'electricity',
    };
    ids.meter.set(m.meterId, (await ok<Id>(tokens.admin, 'POST', '/meters', body)).id);
    // Telemetry meters: the (bus, address) the gateway publishes them under.
    if (m.mbus && m.role === 'building') await ok(tokens.admin, 'POST', `/gateways/${ids.gateway}/bindings`, { bus: 'mbus', address: String(m.mbus.primaryAddress), meter_id: ids.meter.get(m.meterId), valid_from: '2000-01-01T00:00:00Z' });
    if (m.modbus) await ok(tokens.admin, 'POST', `/gateways/${ids.gateway}/bindings`, { bus: 'modbus', address: String(m.modbus.unitId), meter_id: ids.meter.get(m.meterId), valid_from: '2000-01-01T00:00:00Z' });
  }
  tokens.engineer = await staffUser('engineer');
  tokens.inspector = await staffUser('operator');
  tokens.billing = await staffUser('billing');
}

async function tearDown(): Promise<void> {
  await client?.endAsync().catch(() => undefined);
  await validator?.stop();
  await runner?.close();
  await dropRedisPrefix(redisPrefix);
  await he?.close();
  await database?.drop();
  await sim?.close();
}

// ---------------------------------------------------------------- readings of the month

let seq = 0;
/** Publishes readings as the gateway does (QoS 1: the PUBACK comes once they are committed). */
async function publish(items: { simId: string; time: Date; values: { quantity: string; value: number; unit: string }[] }[]): Promise<void> {
  client ??= await mqtt.connectAsync(`mqtt://127.0.0.1:${he.mqttPort}`, { username: ids.gateway, password: mqttPassword, clientId: ids.gateway, reconnectPeriod: 0 });
  const ep = (simId: string) => sim.endpoints.meters.find((m) => m.meterId === simId)!;
  for (let i = 0; i < items.length; i += 200) {
    const msg: ReadingsMessage = {
      v: 1, gatewayId: ids.gateway, sentAt: new Date().toISOString(),
      readings: items.slice(i, i + 200).map((it) => {
        const m = ep(it.simId);
        const meter = m.mbus
          ? { meterKey: m.meterId, bus: 'mbus', protocol: 'mbus' as const, address: String(m.mbus.primaryAddress) }
          : { meterKey: m.meterId, bus: 'modbus', protocol: 'modbus' as const, address: String(m.modbus!.unitId) };
        return { seq: ++seq, meter, gatewayTime: iso(it.time), quality: [], values: it.values.map((v) => ({ ...v, quality: [] })) };
      }),
    };
    await client.publishAsync(topics.readings(ids.gateway), JSON.stringify(msg), { qos: 1 });
  }
}

async function storedCount(meterId: string, quantity: string): Promise<number> {
  return (await he.db.query<{ n: number }>('SELECT count(*)::int AS n FROM readings WHERE meter_id = $1 AND quantity = $2', [meterId, quantity])).rows[0].n;
}

/** Versions of flat 3's two cold-water readings at B[4] (the inspector's first, the resident's second). */
const entered = { flat3: { staffVersion: 0, residentVersion: 0 } };

describe.each(DATES)('a month of the simulated building, billed, the clock at $name', (date) => {
  beforeAll(() => setUp(new Date(date.now)), 120_000);
  afterAll(tearDown);

  it('the months and the entries\' date follow the clock in Moscow, worked out by hand', () => {
    expect({ current: months.current, billed: months.billed, billedDays: months.billedDays, history: months.history, entryAt: iso(B[4]) })
      .toEqual({ current: date.current, billed: date.billed, billedDays: date.billedDays, history: [...date.history], entryAt: date.entryAt });
  });

  it('the month\'s readings arrive by telemetry, import, residents and the inspector', async () => {
    // ОДПУ: one reading a day at local midnight, B[3] … B[4] inclusive.
    const days: Date[] = [];
    for (let t = B[3].getTime(); t <= B[4].getTime(); t += 86_400_000) days.push(new Date(t));
    expect(days.at(-1)!.getTime()).toBe(B[4].getTime());
    const odpu = sim.endpoints.meters.filter((m) => m.role === 'building');
    await publish(odpu.flatMap((m) => days.map((time) => ({
      simId: m.meterId, time,
      values: [m.resource === 'cold_water' || m.resource === 'hot_water'
        ? { quantity: 'volume_m3', value: truth.register(m.meterId, time), unit: 'm3' }
        : { quantity: 'energy_kwh', value: truth.register(m.meterId, time), unit: 'kWh' }],
    }))));
    // ИПУ electricity (day/night meters on Modbus): flats 1–4 at every bound; flat 5's meter stops
    // answering after B[3] (no reading this month); flat 6's never answered (no history).
    const elecItems = [];
    for (const f of [1, 2, 3, 4, 5]) {
      for (const [i, time] of B.entries()) {
        if (f === 5 && i === 4) continue;
        const [t1, t2] = truth.zones(apt(f, 'electricity'), time);
        elecItems.push({ simId: apt(f, 'electricity'), time, values: [
          { quantity: 'energy_kwh', value: truth.register(apt(f, 'electricity'), time), unit: 'kWh' },
          { quantity: 'energy_t1_kwh', value: t1, unit: 'kWh' },
          { quantity: 'energy_t2_kwh', value: t2, unit: 'kWh' },
        ] });
      }
    }
    await publish(elecItems);
    for (const m of odpu) expect(await storedCount(mid(m.meterId), m.resource.endsWith('water') ? 'volume_m3' : 'energy_kwh'), m.meterId).toBe(days.length);
    expect(await storedCount(mid(apt(1, 'electricity')), 'energy_t2_kwh')).toBe(5);
    expect(await storedCount(mid(apt(5, 'electricity')), 'energy_t1_kwh')).toBe(4);

    // Water history of flats 1–5 at B[0] … B[3] from the previous system (CSV import, local dates).
    const rows = ['account,serial,date,value'];
    for (const f of [1, 2, 3, 4, 5]) {
      for (const r of ['cold_water', 'hot_water'] as const) {
        const m = sim.endpoints.meters.find((x) => x.meterId === apt(f, r))!;
        for (const b of B.slice(0, 4)) rows.push(`${ids.accountNumber.get(f)},${m.serial},${monthKey(b)}-01,${truth.register(m.meterId, b)}`);
      }
    }
    const imp = await ok<{ changes: { time: string }[] }>(tokens.engineer, 'POST', `/import/readings?org_id=${ids.org}&file_name=history.csv`, rows.join('\n') + '\n', 'text/csv');
    expect(imp).toMatchObject({ ok: true, applied: true, summary: { insert: 40, unchanged: 0 } });
    expect(new Set(imp.changes.map((c) => c.time))).toEqual(new Set(B.slice(0, 4).map(iso)));

    // This month: the window is open today (1–31 of every month).
    await ok(tokens.engineer, 'PUT', '/collection-settings', {
      building_id: ids.building, resource: null, enabled: true, window_start_day: 1, window_end_day: 31, integer_only: false, accept_expired_verification: false, reminder_days: [],
    });
    const resident = async (f: number) => {
      const code = await ok<{ code: string }>(tokens.engineer, 'POST', `/accounts/${ids.account.get(f)}/access-code`, {});
      return (await ok<{ token: string }>(null, 'POST', '/resident/sign-in', { account_number: ids.accountNumber.get(f), code: code.code })).token;
    };
    const water = (f: number, r: Water, delta = 0) => ({ meter_id: Number(mid(apt(f, r))), value: Math.round((truth.register(apt(f, r), B[4]) + delta) * 1000) / 1000 });

    // Flat 3: the inspector reads both meters; then the resident submits cold water with a typo, same instant.
    const insp = await ok<ReadingsOut>(tokens.inspector, 'POST', `/premises/${ids.premise.get(3)}/readings`, { readings: [water(3, 'cold_water'), water(3, 'hot_water')] });
    expect(insp.readings.map((r) => r.time)).toEqual([iso(B[4]), iso(B[4])]);
    // The resident is told the office already read it (billing would count the inspector's value).
    const refused = await api<{ details: { message: string }[] }>(await resident(3), 'POST', '/resident/readings', { readings: [water(3, 'cold_water', COLD_TYPO)] });
    expect(refused.status).toBe(400);
    expect(refused.body.details[0].message).toContain(`this period's reading was already taken by the managing organisation (${water(3, 'cold_water').value})`);
    // A resident's version that got in anyway (another channel, or written before that rule) is later, yet
    // the inspector's counts: billing's provenance (staff > telemetry > resident), not the latest version.
    const late = (await he.db.query<{ version: number }>(
      `INSERT INTO readings (meter_id, time, quantity, value, unit, source, version, created_by)
       SELECT meter_id, time, quantity, $3, unit, 'resident', max(version) + 1, 'resident-app' FROM readings WHERE meter_id = $1 AND time = $2 AND quantity = 'volume_m3'
        GROUP BY meter_id, time, quantity, unit RETURNING version`, [mid(apt(3, 'cold_water')), B[4], water(3, 'cold_water', COLD_TYPO).value])).rows[0];
    entered.flat3 = { staffVersion: insp.readings[0].version, residentVersion: Number(late.version) };
    expect(entered.flat3.residentVersion).toBeGreaterThan(entered.flat3.staffVersion); // later, yet staff's counts
    // Flats 1 and 2 submit themselves (flat 2 reads its hot water 1.5 m³ short); flat 4 by the inspector.
    for (const f of [1, 2]) {
      const sub = await ok<ReadingsOut>(await resident(f), 'POST', '/resident/readings', { readings: [water(f, 'cold_water'), water(f, 'hot_water', f === 2 ? -HOT_UNDER_REPORT : 0)] });
      expect(sub.readings.map((r) => r.time)).toEqual([iso(B[4]), iso(B[4])]);
    }
    await ok(tokens.inspector, 'POST', `/premises/${ids.premise.get(4)}/readings`, { readings: [water(4, 'cold_water'), water(4, 'hot_water')] });
    // Residents cannot reach another flat's meter.
    expect((await api(await resident(5), 'POST', '/resident/readings', { readings: [water(4, 'cold_water')] })).status).toBe(404);
  });

  it('history months (from the import and telemetry) are billed as measured; flat 6 by norm', async () => {
    const b = tokens.billing;
    const from = '2020-01-01';
    await ok(b, 'POST', '/billing/tariffs', { org_id: ids.org, resource: 'cold_water', valid_from: from, tariff: { kind: 'single', price: COLD_OLD } });
    await ok(b, 'POST', '/billing/tariffs', { org_id: ids.org, resource: 'cold_water', valid_from: `${months.billed}-01`, tariff: { kind: 'single', price: PRICES.cold_water } });
    await ok(b, 'POST', '/billing/tariffs', { org_id: ids.org, resource: 'hot_water', valid_from: from, tariff: { kind: 'single', price: PRICES.hot_water } });
    await ok(b, 'POST', '/billing/tariffs', { org_id: ids.org, resource: 'electricity', valid_from: from, tariff: { kind: 'zones', prices: PRICES.electricity } });
    for (const r of RESOURCES) await ok(b, 'POST', '/billing/norms', { org_id: ids.org, resource: r, basis: 'resident', valid_from: from, per_resident: NORMS[r] });
    for (const [r, n] of Object.entries(COMMON_NORMS)) await ok(b, 'POST', '/billing/norms', { org_id: ids.org, resource: r, basis: 'common_area_m2', valid_from: from, per_resident: n });
    await ok(b, 'POST', '/billing/rules', { org_id: ids.org, effective_from: from, rules: { average_max_months: 6, average_min_months: 3, average_mode: 'monthly', average_max_periods: 3, norm_multiplier: 1, negative_common_house: 'zero' } });

    for (const [i, period] of months.history.entries()) {
      const c = await ok(b, 'POST', `/billing/periods/${period}/compute`, { building_id: ids.building });
      // No ОДПУ reading in these months (telemetry starts with the billed month): no ОДН.
      expect(c).toMatchObject({ period, status: 'open', common_house: [] });
      const lines = (await ok<LinesOut>(b, 'GET', `/billing/lines?period=${period}&building_id=${ids.building}`)).lines;
      expectLines(lines, historyMonth(i), period);
      await ok(b, 'POST', `/billing/periods/${period}/close`, { org_id: ids.org });
    }
  });

  let october: ExpectedMonth;
  let octoberLines: LineOut[] = [];
  it('every line of the billed month equals the hand-computed value', async () => {
    const c = await ok<ComputeOut>(tokens.billing, 'POST', `/billing/periods/${months.billed}/compute`, { building_id: ids.building });
    october = billedMonth({ flat2HotAtEnd: truth.register(apt(2, 'hot_water'), B[4]) - HOT_UNDER_REPORT });
    expect(c).toMatchObject({ period: months.billed, status: 'open', lines: october.lines.length, adjustments_in: null });
    expect(c.amount).toBe(sum(october.lines));
    // ОДН per resource (heat has no tariff here: not billed, no summary).
    expect(c.common_house.map((x) => x.resource).sort()).toEqual([...RESOURCES].sort());
    for (const e of october.common) {
      const s = c.common_house.find((x) => x.resource === e.resource)!;
      expect(s.building_consumption, e.resource).toBeCloseTo(e.building, 9);
      expect(s.apartments_consumption, e.resource).toBeCloseTo(e.apartments, 9);
      expect(s.volume, e.resource).toBeCloseTo(e.volume, 9);
      expect(s.billed_volume, e.resource).toBeCloseTo(e.billed, 9);
      expect(s.excess_over_cap, e.resource).toBeCloseTo(e.excess, 9);
      expect(s.negative, e.resource).toBe(false);
      // Per premise (formula 10): its share, its cap, what it is billed and its excess, each to 6 decimals.
      expect(s.per_premise.map((p) => [p.account_id, p.area, p.share, p.cap, p.volume, p.excess]), e.resource)
        .toEqual(e.perPremise.map((p) => [p.accountId, p.area, p.share, p.cap, p.billed, p.excess]));
    }
    // The cold-water cap binds on every flat: each is billed its own cap 0.005 m³/m² × 120 m² × Sᵢ / 305.2 m²,
    // to 6 decimals half up: 54.3 → 32.58 / 305.2 = 0.1067496… → 0.106750; 38.1 → 22.86 / 305.2 = 0.0749017… → 0.074902;
    // 71.6 → 42.96 / 305.2 = 0.1407601… → 0.140760; 45.0 → 27 / 305.2 = 0.0884665… → 0.088467;
    // 62.4 → 37.44 / 305.2 = 0.1226736… → 0.122674; 33.8 → 20.28 / 305.2 = 0.0664482… → 0.066448.
    // Σ = 0.600001 m³: the rounded lines are what is billed, a millionth above the building's 0.6 m³ cap.
    const coldCaps = [0.10675, 0.074902, 0.14076, 0.088467, 0.122674, 0.066448];
    expect(october.common.find((x) => x.resource === 'cold_water')!.perPremise.map((p) => p.billed)).toEqual(coldCaps);
    expect(october.common.find((x) => x.resource === 'cold_water')!.billed).toBe(0.600001);
    // The cold-water cap binds (excess reported, not billed); hot water and electricity are below / without one.
    // (more than 10 litres at every date: well above the register's 1 litre, so the cap visibly binds)
    expect(october.common.find((x) => x.resource === 'cold_water')!.excess).toBeGreaterThan(0.01);
    expect(october.common.filter((x) => x.excess > 0).map((x) => x.resource)).toEqual(['cold_water']);
    octoberLines = (await ok<LinesOut>(tokens.billing, 'GET', `/billing/lines?period=${months.billed}&building_id=${ids.building}`)).lines;
    expectLines(octoberLines, october.lines, months.billed);
    // The excess over the cap is named on the cold-water ОДН lines (a loss the managing organisation bears).
    const cold = october.common.find((x) => x.resource === 'cold_water')!;
    const coldLines = octoberLines.filter((l) => l.method === 'common_house' && l.resource === 'cold_water');
    expect(coldLines).toHaveLength(FLATS.length);
    for (const l of coldLines) expect(l.note).toContain(`capped (excess ${cold.excess.toFixed(3)} not billed)`);
    // Every ОДН line's note, word for word: the building's volume, the premise's share by area and its cap.
    const notes = <L extends { resource: string; method: string; note?: string | null }>(ls: L[], account: (l: L) => string) =>
      ls.filter((l) => l.method === 'common_house').map((l) => `${account(l)}|${l.resource}|${l.note}`).sort();
    expect(notes(octoberLines, (l) => l.account_id)).toEqual(notes(october.lines, (l) => l.accountId));
    // Flat 3's cold water came from the inspector's reading (its sources name that version), not the resident's later one.
    const flat3 = octoberLines.find((l) => l.meter_id === mid(apt(3, 'cold_water')))!;
    const src = (await he.db.query<{ sources: { time: string; version: number }[] }>('SELECT sources FROM accrual_lines WHERE id = $1', [flat3.id])).rows[0].sources;
    expect(src.find((s) => s.time === iso(B[4]))?.version).toBe(entered.flat3.staffVersion);
  });

  it('after close, with nothing changed, the recalculation jobs book nothing', async () => {
    expect((await api(tokens.billing, 'POST', `/billing/periods/${months.billed}/close`, { org_id: ids.org })).status).toBe(204);
    // Verdicts for every reading so far reach the closed months: each is recalculated, none changed.
    // (meter, instant, version)s so far: ОДПУ 4 × (days + 1) daily; ИПУ electricity 4 flats × 5 bounds + flat 5 × 4 = 24;
    // imported water 5 flats × 2 meters × 4 = 40; this month's water 4 flats × 2 = 8, plus flat 3's later resident version = 9.
    expect(await validator.drain()).toBe(4 * (months.billedDays + 1) + 24 + 40 + 9);
    await until(idle, 'the recalculation queue to empty');
    expect((await ok<LinesOut>(tokens.billing, 'GET', `/billing/lines?period=${months.current}&building_id=${ids.building}`)).lines).toEqual([]);
  });

  let corrected: ExpectedMonth;
  it('a corrected reading of the closed month: the recalculation job books reversal + recalculated lines in the next month', async () => {
    // The inspector re-reads flat 2's hot-water meter: the resident's value was 1.5 m³ short.
    const meter = mid(apt(2, 'hot_water'));
    const corr = await ok<{ previous: { value: number } }>(tokens.engineer, 'POST', `/meters/${meter}/readings/corrections`, {
      time: iso(B[4]), quantity: 'volume_m3', value: truth.register(apt(2, 'hot_water'), B[4]), reason: 'контрольное снятие: показание занижено',
    });
    expect(corr.previous.value).toBeCloseTo(truth.register(apt(2, 'hot_water'), B[4]) - HOT_UNDER_REPORT, 9);
    corrected = billedMonth({ flat2HotAtEnd: truth.register(apt(2, 'hot_water'), B[4]) });
    const adjustments = expectedAdjustments(october.lines, corrected.lines);
    // What changed: flat 2's hot water and every flat's hot-water ОДН (below the cap, it follows Σ ИПУ).
    expect(new Set(adjustments.map((l) => `${l.accountId}|${l.meterId ?? 'ОДН'}`)).size).toBe(7);
    // The validator reports the change; the job recalculates the closed month by itself.
    await validator.drain();
    await until(async () => (await he.db.query('SELECT 1 FROM accrual_lines WHERE period = $1 LIMIT 1', [`${months.current}-01`])).rows.length > 0, 'the adjustment lines');
    await until(idle, 'the recalculation queue to empty');
    const next = (await ok<LinesOut>(tokens.billing, 'GET', `/billing/lines?period=${months.current}&building_id=${ids.building}`)).lines;
    expect(next.every((l) => l.kind === 'adjustment' && l.adjusts_period === `${months.billed}-01`)).toBe(true);
    expectLines(next, adjustments, `${months.current} adjustments`);
    // Moving 1.5 m³ from the ОДН to flat 2 leaves the total volume, not the total money: each line rounds on its own.
    expect(sum(next)).toBe(sum(corrected.lines) - sum(october.lines));
    expect((await ok<LinesOut>(tokens.billing, 'GET', `/billing/lines?period=${months.billed}&building_id=${ids.building}`)).lines).toEqual(octoberLines);
  });

  it('a late reading entered by staff, recalculated through the API: the average gives way to the measurement; the capped ОДН stays', async () => {
    const before = (await ok<LinesOut>(tokens.billing, 'GET', `/billing/lines?period=${months.current}&building_id=${ids.building}`)).lines;
    // Flat 5's cold-water reading at the end of the month turns up after the close (the inspector enters it, dated).
    const late = await ok(tokens.inspector, 'POST', `/meters/${mid(apt(5, 'cold_water'))}/readings`, { time: iso(B[4]), value: truth.register(apt(5, 'cold_water'), B[4]), reason: 'показание передано после закрытия периода' });
    // Dated as given (the end of the billed month, inside the open window 1–31), not at the clock's instant.
    expect(late).toMatchObject({ source: 'staff', version: 1, time: iso(B[4]) });
    const withLate = billedMonth({ flat2HotAtEnd: truth.register(apt(2, 'hot_water'), B[4]), flat5ColdMeasured: true });
    const adjustments = expectedAdjustments(corrected.lines, withLate.lines);
    // Only flat 5's cold water: its ОДН volume changes (the average → the measured use) but stays above the 0.6 m³ cap.
    expect(adjustments.map((l) => [l.accountId, l.resource, l.method, l.adjustmentKind])).toEqual([
      [account(5), 'cold_water', 'average', 'reversal'], [account(5), 'cold_water', 'measured', 'recalculated'],
    ]);
    // Every flat stays at its cap (0.600001 m³ in all, worked out in the billed month's test), so its ОДН lines do not change.
    const coldLate = withLate.common.find((c) => c.resource === 'cold_water')!;
    expect(coldLate.volume).toBeGreaterThan(COMMON_NORMS.cold_water! * COMMON_AREA);
    expect(coldLate.perPremise.every((p) => p.excess > 0 && p.billed === p.cap)).toBe(true);
    expect(coldLate.billed).toBe(0.600001);
    const r = await ok(tokens.billing, 'POST', `/billing/periods/${months.billed}/compute`, { building_id: ids.building });
    expect(r).toMatchObject({ period: months.billed, status: 'closed', adjustments_in: months.current, lines: 2, amount: sum(adjustments) });
    // The job that follows the verdict finds nothing new.
    await validator.drain();
    await until(idle, 'the recalculation queue to empty');
    const next = (await ok<LinesOut>(tokens.billing, 'GET', `/billing/lines?period=${months.current}&building_id=${ids.building}`)).lines;
    // The job's lines stay as they were; the route's two are added.
    const old = new Set(before.map((l) => l.id));
    expect(next.filter((l) => old.has(l.id))).toEqual(before);
    expectLines(next.filter((l) => !old.has(l.id)), adjustments, `${months.current} adjustments (late reading)`);
    expect((await ok<LinesOut>(tokens.billing, 'GET', `/billing/lines?period=${months.billed}&building_id=${ids.building}`)).lines).toEqual(octoberLines);
    expect(await ok(tokens.billing, 'POST', `/billing/periods/${months.billed}/compute`, { building_id: ids.building })).toMatchObject({ status: 'closed', lines: 0 });
  });
  // A closed month's recalculation (its 'recalculated' adjustment lines) is what the next month's
  // average and its count of average periods read, not the month's original lines.
  it('the next month\'s average uses the recalculated consumption of the closed month', async () => {
    // The current month (its end still ahead): nobody has a reading in it yet, so every meter falls back.
    await ok(tokens.billing, 'POST', `/billing/periods/${months.current}/compute`, { building_id: ids.building });
    const ls = (await ok<LinesOut>(tokens.billing, 'GET', `/billing/lines?period=${months.current}&building_id=${ids.building}`)).lines.filter((l) => l.kind === 'regular');
    const of = (f: number, r: Water) => ls.filter((l) => l.meter_id === mid(apt(f, r)));
    // Flat 2, hot water: (q1 + q2 + q3 + corrected q4) / 4 at 243.71 ₽.
    const hot2 = average6([0, 1, 2, 3].map((i) => waterQ(2, 'hot_water', i)));
    expectLines(of(2, 'hot_water'), [substituteLine(account(2), 'hot_water', mid(apt(2, 'hot_water')), 'average', hot2, PRICES)], 'flat 2 hot water next month');
    // Flat 5, cold water: four measured months now (the late reading made the billed month measured).
    const cold5 = average6([0, 1, 2, 3].map((i) => waterQ(5, 'cold_water', i)));
    expectLines(of(5, 'cold_water'), [substituteLine(account(5), 'cold_water', mid(apt(5, 'cold_water')), 'average', cold5, PRICES)], 'flat 5 cold water next month');
    expect(of(5, 'cold_water')[0].note).toContain('average of 4 months');
  });
});

// ---------------------------------------------------------------- the expected lines, by hand

const sum = (ls: { amount: number }[]) => ls.reduce((s, l) => s + l.amount, 0);
const account = (f: number) => String(ids.account.get(f));
/** Consumption of a meter over month i ([B[i], B[i+1]]): the difference of its two readings. */
const waterQ = (f: number, r: Water, i: number) => truth.register(apt(f, r), B[i + 1]) - truth.register(apt(f, r), B[i]);
const zoneQ = (f: number, i: number): [number, number] => {
  const [a, b] = [truth.zones(apt(f, 'electricity'), B[i]), truth.zones(apt(f, 'electricity'), B[i + 1])];
  return [b[0] - a[0], b[1] - a[1]];
};

/** History month i: flats 1–5 measured (cold water at the old price), flat 6 (no readings ever) by norm × 2 residents. */
function historyMonth(i: number): ExpectedLine[] {
  const prices: Prices = { ...PRICES, cold_water: COLD_OLD };
  const out: ExpectedLine[] = [];
  for (const f of [1, 2, 3, 4, 5]) {
    out.push(measuredLine(account(f), 'electricity', mid(apt(f, 'electricity')), zoneQ(f, i), prices));
    for (const r of ['cold_water', 'hot_water'] as const) out.push(measuredLine(account(f), r, mid(apt(f, r)), waterQ(f, r, i), prices));
  }
  for (const r of RESOURCES) out.push(substituteLine(account(6), r, mid(apt(6, r)), 'norm', NORMS[r] * 2, prices));
  return out;
}

interface ExpectedMonth { lines: ExpectedLine[]; common: ReturnType<typeof commonHouse>[] }

/**
 * The billed month (i = 3), with flat 2's hot-water reading at B[4] as given:
 *  - flats 1–4: measured, reading at B[4] − reading at B[3] (flat 3: the inspector's value);
 *    electricity per zone: T1 × 6.43 + T2 × 3.12;
 *  - flat 5: no reading at B[4] → average of its three measured months: (q1 + q2 + q3) / 3 (electricity:
 *    T1 + T2 of each month), at the new cold-water price; electricity split 70/30 into T1/T2 (model.ts ZONE_SHARES);
 *  - flat 6: no reading and no history → norm × 2 residents (electricity split 70/30 likewise);
 *  - ОДН of each resource: V = ОДПУ (B[4] − B[3]) − Σ of the lines above, shared by area (V × area / 305.2 m²,
 *    6 decimals); cold water: each flat capped at 0.005 × 120 m² × area / 305.2 m² (6 decimals; Σ 0.600001 m³);
 *    at the month's price (electricity: day price).
 */
function billedMonth(o: { flat2HotAtEnd: number; flat5ColdMeasured?: boolean }): ExpectedMonth {
  const i = 3;
  const lines: ExpectedLine[] = [];
  for (const f of [1, 2, 3, 4]) {
    lines.push(measuredLine(account(f), 'electricity', mid(apt(f, 'electricity')), zoneQ(f, i), PRICES));
    lines.push(measuredLine(account(f), 'cold_water', mid(apt(f, 'cold_water')), waterQ(f, 'cold_water', i), PRICES));
    const hot = f === 2 ? Math.round(o.flat2HotAtEnd * 1000) / 1000 - truth.register(apt(2, 'hot_water'), B[3]) : waterQ(f, 'hot_water', i);
    lines.push(measuredLine(account(f), 'hot_water', mid(apt(f, 'hot_water')), hot, PRICES));
  }
  const avg = (qs: number[]) => average6(qs);
  lines.push(substituteLine(account(5), 'electricity', mid(apt(5, 'electricity')), 'average', avg([0, 1, 2].map((m) => zoneQ(5, m)[0] + zoneQ(5, m)[1])), PRICES));
  for (const r of ['cold_water', 'hot_water'] as const) {
    lines.push(r === 'cold_water' && o.flat5ColdMeasured
      ? measuredLine(account(5), r, mid(apt(5, r)), waterQ(5, r, i), PRICES)
      : substituteLine(account(5), r, mid(apt(5, r)), 'average', avg([0, 1, 2].map((m) => waterQ(5, r, m))), PRICES));
  }
  for (const r of RESOURCES) lines.push(substituteLine(account(6), r, mid(apt(6, r)), 'norm', NORMS[r] * 2, PRICES));
  const flats = FLATS.map((f) => ({ accountId: account(f.n), area: f.area }));
  const common = RESOURCES.map((r) => {
    const odpu = `odpu-${r}`;
    const cap = COMMON_NORMS[r] === undefined ? null : COMMON_NORMS[r] * COMMON_AREA;
    return commonHouse(r, truth.register(odpu, B[4]) - truth.register(odpu, B[3]), lines, flats, cap, PRICES);
  });
  return { lines: [...lines, ...common.flatMap((c) => c.lines)], common };
}

/** Per changed (account, resource, meter): the original line reversed (negated) and the recomputed one. */
function expectedAdjustments(before: ExpectedLine[], after: ExpectedLine[]): (ExpectedLine & { adjustmentKind: string })[] {
  const key = (l: ExpectedLine) => `${l.accountId}|${l.resource}|${l.meterId ?? ''}`;
  const out: (ExpectedLine & { adjustmentKind: string })[] = [];
  for (const a of after) {
    const b = before.find((x) => key(x) === key(a))!;
    if (b.amount === a.amount && Math.abs(b.quantity - a.quantity) < 1e-9) continue;
    out.push({ ...b, quantity: -b.quantity, amount: -b.amount, parts: b.parts.map((p) => ({ ...p, quantity: -p.quantity, amount: -p.amount })), adjustmentKind: 'reversal' });
    out.push({ ...a, adjustmentKind: 'recalculated' });
  }
  return out;
}

/** Actual lines (API) against expected ones, matched by (account, resource, meter, method, kind of adjustment). */
function expectLines(actual: LineOut[], expected: (ExpectedLine & { adjustmentKind?: string })[], label: string): void {
  const key = (l: { accountId: string; resource: string; meterId: string | null; method: string; adjustmentKind?: string | null }) =>
    `${l.accountId}|${l.resource}|${l.meterId ?? ''}|${l.method}|${l.adjustmentKind ?? ''}`;
  // The API's lines are snake_case (the wire's casing); the expected ones the test's own camelCase.
  const wireKey = (l: { account_id: string; resource: string; meter_id: string | null; method: string; adjustment_kind: string | null }) =>
    `${l.account_id}|${l.resource}|${l.meter_id ?? ''}|${l.method}|${l.adjustment_kind ?? ''}`;
  expect(actual.map(wireKey).sort(), `${label}: the set of lines`).toEqual(expected.map(key).sort());
  for (const e of expected) {
    const a = actual.find((x) => wireKey(x) === key(e))!;
    const what = `${label}: ${key(e)}`;
    expect(a.quantity, what).toBeCloseTo(e.quantity, 9);
    expect(a.amount, what).toBe(e.amount);
    expect(a.parts.map((p) => [p.label, p.price, p.amount]), what).toEqual(e.parts.map((p) => [p.label, p.price, p.amount]));
    a.parts.forEach((p, k) => expect(p.quantity, what).toBeCloseTo(e.parts[k].quantity, 9));
  }
}
