/**
 * The cases a billing auditor, another organisation's user and a careless office try against the
 * readings core, through the real head-end (fastify + embedded PGlite-TimescaleDB, clock injected):
 * another organisation's meter id, an inspector's zone batch with a zone repeated or left out, a
 * correction against the next reading and its bill, a 25–5 window across the year end billed through
 * consumption.ts, a meter replaced mid-month in the resident's history against the bill, and a drop
 * that the register's digits would allow but the meter's usual use does not, in the history and the bill.
 *
 * Organisation A: building in Moscow (UTC+3), flat 1. Organisation B: its own building and flat.
 * Windows 15–25 unless a test sets another; a window entry is dated local midnight of the window's
 * first day (15 Nov 00:00 Moscow = 14 Nov 21:00 UTC).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../api/harness.js';
import { loadPointConsumption } from '../../src/readings/consumption-store.js';
import { insertVersion } from '../../src/readings/write-store.js';

let now = new Date('2026-10-20T09:00:00Z');
let h: Harness;
let bA: number, flatA: number, bB: number, flatB: number;
let cw: number, el: number, hw: number, kitchen: number, cwB: number;
let engineer: string, operator: string, residentA: string, residentB: string, operatorB: string;

const OCT_WINDOW = new Date('2026-10-14T21:00:00Z');
const NOV_WINDOW = new Date('2026-11-14T21:00:00Z');
/** Local (Moscow) calendar months as instants. */
const MONTH = {
  nov: { start: new Date('2026-10-31T21:00:00Z'), end: new Date('2026-11-30T21:00:00Z') },
  dec: { start: new Date('2026-11-30T21:00:00Z'), end: new Date('2026-12-31T21:00:00Z') },
  jan: { start: new Date('2026-12-31T21:00:00Z'), end: new Date('2027-01-31T21:00:00Z') },
};

const count = async (meterId: number) => (await h.opened.db.query('SELECT count(*)::int AS n FROM readings WHERE meter_id = $1', [meterId])).rows[0].n as number;
const volume = async (meterIds: number[], period: { start: Date; end: Date }) =>
  (await loadPointConsumption(h.opened.db, { meterIds, quantities: ['volume_m3'], period })).registers.volume_m3;

beforeAll(async () => {
  h = await startHarness({ clock: () => now });
  const t = h.adminToken;
  const orgA = (await h.call('POST', '/organisations', t, { name: 'УК Аудит' })).body.id;
  const orgB = (await h.call('POST', '/organisations', t, { name: 'УК Соседи' })).body.id;
  bA = (await h.call('POST', '/buildings', t, { org_id: orgA, external_id: 'AU', address: 'ул. Аудита, 1', timezone: 'Europe/Moscow' })).body.id;
  bB = (await h.call('POST', '/buildings', t, { org_id: orgB, external_id: 'NB', address: 'ул. Соседей, 2', timezone: 'Europe/Moscow' })).body.id;
  flatA = (await h.call('POST', '/premises', t, { building_id: bA, number: '1', residents: 2 })).body.id;
  flatB = (await h.call('POST', '/premises', t, { building_id: bB, number: '1', residents: 2 })).body.id;
  const accA = (await h.call('POST', '/accounts', t, { org_id: orgA, number: 'A-1', premise_id: flatA })).body.id;
  const accB = (await h.call('POST', '/accounts', t, { org_id: orgB, number: 'B-1', premise_id: flatB })).body.id;
  const meter = async (body: object) => {
    const r = await h.call('POST', '/meters', t, { make: 'X', installed_on: '2020-01-10', placement: 'apartment', ...body });
    expect(r.status).toBe(201);
    return r.body.id as number;
  };
  cw = await meter({ premise_id: flatA, resource: 'cold_water', serial_number: 'A-CW', register_digits: 5 });
  hw = await meter({ premise_id: flatA, resource: 'hot_water', serial_number: 'A-HW', register_digits: 5 });
  kitchen = await meter({ premise_id: flatA, resource: 'cold_water', serial_number: 'A-CW-K', register_digits: 5 });
  el = await meter({ premise_id: flatA, resource: 'electricity', serial_number: 'A-EL', register_digits: 6, zones: 2 });
  cwB = await meter({ premise_id: flatB, resource: 'cold_water', serial_number: 'B-CW', register_digits: 5 });
  for (const b of [bA, bB]) {
    expect((await h.call('PUT', '/collection-settings', t, { building_id: b, resource: null, enabled: true, window_start_day: 15, window_end_day: 25, integer_only: false, accept_expired_verification: false, reminder_days: [15], warn_factor: 3 })).status).toBe(200);
  }
  engineer = await h.userToken('engineer', { buildingIds: [bA] });
  operator = await h.userToken('operator', { buildingIds: [bA] });
  operatorB = await h.userToken('operator', { buildingIds: [bB] });
  residentA = await h.userToken('resident', { accountIds: [accA] });
  residentB = await h.userToken('resident', { accountIds: [accB] });
  // October's window (clock 20 Oct): 100 on the cold water, 100 on the kitchen's.
  now = new Date('2026-10-20T09:00:00Z');
  expect((await h.call('POST', `/premises/${flatA}/readings`, engineer, { readings: [{ meter_id: cw, value: 100 }, { meter_id: kitchen, value: 100 }] })).status).toBe(201);
  // November's window (clock 20 Nov): 110 on both.
  now = new Date('2026-11-20T09:00:00Z');
  expect((await h.call('POST', `/premises/${flatA}/readings`, engineer, { readings: [{ meter_id: cw, value: 110 }, { meter_id: kitchen, value: 110 }] })).status).toBe(201);
}, 120_000);
afterAll(async () => { await h?.close(); });

describe("another organisation's meter id", () => {
  it('its resident and its inspector get 404 on every entry path, told nothing about the meter; nothing is stored', async () => {
    now = new Date('2026-11-21T09:00:00Z');
    const before = await count(cw); // 100 (Oct) and 110 (Nov)
    expect(before).toBe(2);
    const res = await h.call('POST', '/resident/readings', residentB, { readings: [{ meter_id: cw, value: 111 }] });
    expect([res.status, res.body.message]).toEqual([404, `meter ${cw} not found`]);
    // The inspector of B names A's meter under B's own flat, under B's building, and directly.
    const premise = await h.call('POST', `/premises/${flatB}/readings`, operatorB, { readings: [{ meter_id: cw, value: 111 }] });
    expect([premise.status, premise.body.message]).toEqual([404, `meter ${cw} not found`]);
    const building = await h.call('POST', `/buildings/${bB}/readings`, operatorB, { readings: [{ meter_id: cw, value: 111 }] });
    expect(building.status).toBe(404);
    const direct = await h.call('POST', `/meters/${cw}/readings`, operatorB, { time: '2026-11-21T08:00:00Z', value: 111 });
    expect(direct.status).toBe(404);
    // A batch of B's own meter and A's: all or nothing, B's is not stored either.
    const mixed = await h.call('POST', '/resident/readings', residentB, { readings: [{ meter_id: cwB, value: 5 }, { meter_id: cw, value: 111 }] });
    expect(mixed.status).toBe(404);
    expect(await count(cw)).toBe(before);
    expect(await count(cwB)).toBe(0);
  });
});

describe("an inspector's batch of a two-zone meter", () => {
  it('a zone given twice, or the meter once more without a zone, refuses the batch naming the item; nothing stored', async () => {
    now = new Date('2026-11-21T09:00:00Z');
    const twice = await h.call('POST', `/premises/${flatA}/readings`, operator, { readings: [{ meter_id: el, zone: 1, value: 1000 }, { meter_id: el, zone: 1, value: 1001 }, { meter_id: el, zone: 2, value: 500 }] });
    expect(twice.status).toBe(400);
    expect(twice.body.details).toEqual([expect.objectContaining({ path: 'readings.1', message: 'meter A-EL: given twice for zone 1', code: 'duplicate' })]);
    const bare = await h.call('POST', `/premises/${flatA}/readings`, operator, { readings: [{ meter_id: el, zone: 1, value: 1000 }, { meter_id: el, zone: 2, value: 500 }, { meter_id: el, value: 1500 }] });
    expect(bare.status).toBe(400);
    expect(bare.body.details).toEqual([expect.objectContaining({ path: 'readings.2', message: 'meter A-EL: has 2 tariff zones; give one value per zone (zone 1 = day, 2 = night)', code: 'zone_required' })]);
    expect(await count(el)).toBe(0);
    // Day and night once each: each in its own register, at the window's instant.
    const ok = await h.call('POST', `/premises/${flatA}/readings`, operator, { readings: [{ meter_id: el, zone: 1, value: 1000 }, { meter_id: el, zone: 2, value: 500 }] });
    expect(ok.status).toBe(201);
    const rows = (await h.opened.db.query('SELECT quantity, value, time FROM readings WHERE meter_id = $1 ORDER BY quantity', [el])).rows;
    expect(rows).toEqual([
      { quantity: 'energy_t1_kwh', value: 1000, time: NOV_WINDOW },
      { quantity: 'energy_t2_kwh', value: 500, time: NOV_WINDOW },
    ]);
  });
});

describe('a correction against the next reading, and its bill', () => {
  it("raising October's 100 to 115 would make November's 110 a drop of 5: refused; 104 is taken and November bills 110 − 104 = 6", async () => {
    now = new Date('2026-11-21T09:00:00Z');
    // Before: November = 110 − 100 = 10 m³.
    expect(await volume([cw], MONTH.nov)).toMatchObject({ status: 'measured', quantity: 10 });
    // 115 → 110 read as a 5-digit rollover would be 100 000 − 115 + 110 = 99 995 m³: not plausible, refused.
    const hi = await h.call('POST', `/meters/${cw}/readings/corrections`, engineer, { time: OCT_WINDOW.toISOString(), quantity: 'volume_m3', value: 115, reason: 'misread' });
    expect([hi.status, hi.body.details[0].message]).toEqual([400, 'meter A-CW: 115 is more than the next reading 110 of 2026-11-14']);
    expect(await volume([cw], MONTH.nov)).toMatchObject({ status: 'measured', quantity: 10 });
    const ok = await h.call('POST', `/meters/${cw}/readings/corrections`, engineer, { time: OCT_WINDOW.toISOString(), quantity: 'volume_m3', value: 104, reason: 'misread' });
    expect(ok.status).toBe(201);
    expect(ok.body.previous).toMatchObject({ version: 1, value: 100 });
    expect(ok.body.current).toMatchObject({ version: 2, value: 104, reason: 'misread' });
    expect(await volume([cw], MONTH.nov)).toMatchObject({ status: 'measured', quantity: 6 });
  });
});

describe('a 25–5 window across the year end', () => {
  it("a reading taken on 3 January is December's: dated 25 Dec 00:00 Moscow, billed in December (62 − 50 = 12 m³), January has none", async () => {
    expect((await h.call('PUT', '/collection-settings', h.adminToken, { building_id: bA, resource: 'hot_water', enabled: true, window_start_day: 25, window_end_day: 5, integer_only: false, accept_expired_verification: false, reminder_days: [25], warn_factor: 3 })).status).toBe(200);
    now = new Date('2026-11-26T09:00:00Z'); // 26 Nov: the window 25 Nov – 5 Dec
    const nov = await h.call('POST', '/resident/readings', residentA, { readings: [{ meter_id: hw, value: 50 }] });
    expect(nov.status).toBe(201);
    expect(nov.body.readings[0].time).toBe('2026-11-24T21:00:00.000Z'); // 25 Nov 00:00 MSK
    now = new Date('2027-01-03T09:00:00Z'); // 3 Jan: the window 25 Dec – 5 Jan
    const dec = await h.call('POST', '/resident/readings', residentA, { readings: [{ meter_id: hw, value: 62 }] });
    expect(dec.status).toBe(201);
    expect(dec.body.readings[0]).toMatchObject({ time: '2026-12-24T21:00:00.000Z', consumption: 12 }); // 25 Dec 00:00 MSK; 62 − 50
    // Billing's one consumption function agrees with the entry's dating.
    expect(await volume([hw], MONTH.dec)).toMatchObject({ status: 'measured', quantity: 12 });
    expect((await volume([hw], MONTH.jan)).status).toBe('no_reading');
    // November's window reading is November's: no reading before it, so November has nothing to count from.
    expect((await volume([hw], MONTH.nov)).status).toBe('no_reading');
  });
});

describe("a meter replaced mid-month in the resident's history", () => {
  it("the old meter's month ends at its removal reading, the new one's starts at its installation reading: 3 + 4 = 7 m³, as billed", async () => {
    // 10 Dec 12:00 MSK: the kitchen meter (110 in November) removed at 113, the new one installed at 0.
    now = new Date('2026-12-10T09:00:00Z');
    const rep = await h.call('POST', `/meters/${kitchen}/replacement`, h.adminToken, {
      replaced_at: '2026-12-10T09:00:00Z', removal_reading: 113, installation_reading: 0, work_order: 'WO-K', new_meter: { make: 'Pulsar', serial_number: 'A-CW-K2', register_digits: 5 },
    });
    expect(rep.status).toBe(201);
    const fresh = rep.body.new_meter.id as number;
    // December's window (20 Dec): the new meter reads 4, 4 − 0 since its installation.
    now = new Date('2026-12-20T09:00:00Z');
    const dec = await h.call('POST', '/resident/readings', residentA, { readings: [{ meter_id: fresh, value: 4 }] });
    expect(dec.status).toBe(201);
    expect(dec.body.readings[0]).toMatchObject({ time: '2026-12-14T21:00:00.000Z', consumption: 4 });
    const hist = await h.call('GET', '/resident/history?months=3', residentA);
    expect(hist.status).toBe(200);
    const of = (id: number) => hist.body.meters.find((m: { meter_id: number }) => m.meter_id === id)?.months;
    // Old meter: 100 (Oct) · 110 (Nov, +10) · 113 removal (Dec, +3).
    expect(of(kitchen)).toEqual([
      { month: '2026-10', value: 100, consumption: null },
      { month: '2026-11', value: 110, consumption: 10 },
      { month: '2026-12', value: 113, consumption: 3 },
    ]);
    // New meter: installed at 0 on 10 Dec, 4 in the window: +4 in December.
    expect(of(fresh)).toEqual([{ month: '2026-12', value: 4, consumption: 4 }]);
    // The bill of the metering point across the swap: (113 − 110) + (4 − 0) = 7 = 3 + 4.
    expect(await volume([kitchen, fresh], MONTH.dec)).toMatchObject({ status: 'measured', quantity: 7, via: 'replacement' });
  });
});

describe("a drop the digits allow but the usual use does not: the resident's history shows what billing counts", () => {
  it('915 → 3 on a 3-digit register would be 1000 − 915 + 3 = 88 m³, against a usual of about 5 a month: refused on entry, no consumption in the history, not billed', async () => {
    now = new Date('2026-12-20T09:00:00Z');
    const r = await h.call('POST', '/meters', h.adminToken, { make: 'X', installed_on: '2020-01-10', placement: 'apartment', premise_id: flatA, resource: 'cold_water', serial_number: 'A-CW-3', register_digits: 3 });
    const bath = r.body.id as number;
    // 15 Aug … 15 Nov 00:00 Moscow: 900, 905, 910, 915 — 5 m³ a month.
    for (const [time, value] of [['2026-08-14T21:00:00Z', 900], ['2026-09-14T21:00:00Z', 905], ['2026-10-14T21:00:00Z', 910], ['2026-11-14T21:00:00Z', 915]] as const) {
      expect((await h.call('POST', `/meters/${bath}/readings`, engineer, { time, value })).status).toBe(201);
    }
    // Usual: (915 − 900) / (92 days / 30.44) = 15 / 3.0223 = 4.963 m³ a month. 88 ≤ 10 % of 1000 (100),
    // but > 10 × 4.963 × 1 month (49.6): not a plausible rollover.
    const refused = await h.call('POST', '/resident/readings', residentA, { readings: [{ meter_id: bath, value: 3 }] });
    expect(refused.status).toBe(400);
    expect(refused.body.details[0].message).toContain("it would be 88, far more than this meter's usual 4.963 a month");
    // The same value stored before this check existed (a legacy import): the history must not call it 88 m³.
    await h.opened.db.tx((q) => insertVersion(q, { meterId: bath, time: new Date('2026-12-14T21:00:00Z'), quantity: 'volume_m3', value: 3, source: 'import', createdBy: 'legacy' }));
    const hist = await h.call('GET', '/resident/history?months=3', residentA);
    expect(hist.body.meters.find((m: { meter_id: number }) => m.meter_id === bath).months).toEqual([
      { month: '2026-10', value: 910, consumption: 5 },
      { month: '2026-11', value: 915, consumption: 5 },
      { month: '2026-12', value: 3, consumption: null },
    ]);
    expect((await volume([bath], MONTH.dec)).status).toBe('implausible_drop');
  });
});
