/**
 * A reading rejected on review no longer counts anywhere: not in billing, and not as the previous
 * reading a new entry is judged against, nor as staff's reading that would refuse a resident's. Real
 * embedded PGlite-TimescaleDB, real HTTP through the head-end's fastify, its clock stopped.
 *
 * Building in Moscow (UTC+3), collection window days 15–25: a window entry is dated at the window's
 * start, 15th 00:00 Moscow = 14th 21:00 UTC. Cold-water meters of flat 1, 5 digits (wrap at 100 000).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../api/harness.js';
import { loadPointConsumption } from '../../src/readings/consumption-store.js';

const SEP_20 = new Date('2026-09-20T09:00:00Z');
const OCT_20 = new Date('2026-10-20T09:00:00Z');
const NOV_20 = new Date('2026-11-20T09:00:00Z');
const OCT_WINDOW = '2026-10-14T21:00:00.000Z';
const NOV_WINDOW = '2026-11-14T21:00:00.000Z';
/** November in Moscow. */
const NOVEMBER = { start: new Date('2026-10-31T21:00:00Z'), end: new Date('2026-11-30T21:00:00Z') };
let now = SEP_20;

let h: Harness;
let flat1: number;
let engineer: string, resident: string, outsider: string;

/** Each meter's serial by its id: refusals name a meter by its serial. */
const serials = new Map<number, string>();
const serialOf = (m: number) => serials.get(m);
const meter = async (serial: string) => {
  const r = await h.call('POST', '/meters', h.adminToken, { make: 'X', installed_on: '2020-01-10', placement: 'apartment', premise_id: flat1, resource: 'cold_water', serial_number: serial, register_digits: 5 });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  serials.set(r.body.id, serial);
  return r.body.id as number;
};
const staffEnters = async (m: number, value: number) => {
  const r = await h.call('POST', `/premises/${flat1}/readings`, engineer, { readings: [{ meter_id: m, value }], confirm: true });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
};
const reject = (m: number, time: string, token = engineer) =>
  h.call('POST', `/meters/${m}/readings/review`, token, { time, decision: 'reject', reason: 'a digit slipped: see the photo' });
const residentSubmits = (m: number, value: number) => h.call('POST', '/resident/readings', resident, { readings: [{ meter_id: m, value }] });
const november = async (m: number) => (await loadPointConsumption(h.opened.db, { meterIds: [m], quantities: ['volume_m3'], period: NOVEMBER })).registers.volume_m3;

beforeAll(async () => {
  h = await startHarness({ clock: () => now });
  const t = h.adminToken;
  const org = (await h.call('POST', '/organisations', t, { name: 'УК Отказ' })).body.id;
  const b = (await h.call('POST', '/buildings', t, { org_id: org, external_id: 'RJ', address: 'ул. Отказа, 1', timezone: 'Europe/Moscow' })).body.id;
  flat1 = (await h.call('POST', '/premises', t, { building_id: b, number: '1', residents: 2 })).body.id;
  const acc1 = (await h.call('POST', '/accounts', t, { org_id: org, number: 'LS-1', premise_id: flat1 })).body.id;
  expect((await h.call('PUT', '/collection-settings', t, { building_id: b, resource: null, enabled: true, window_start_day: 15, window_end_day: 25, integer_only: false, accept_expired_verification: false, reminder_days: [15], warn_factor: 3 })).status).toBe(200);
  engineer = await h.userToken('engineer', { buildingIds: [b] });
  resident = await h.userToken('resident', { accountIds: [acc1] });
  // An engineer of another organisation, with every right over their own building.
  const org2 = (await h.call('POST', '/organisations', t, { name: 'УК Чужая' })).body.id;
  const b2 = (await h.call('POST', '/buildings', t, { org_id: org2, external_id: 'OT', address: 'ул. Чужая, 2', timezone: 'Europe/Moscow' })).body.id;
  outsider = await h.userToken('engineer', { buildingIds: [b2] });
}, 120_000);
afterAll(async () => {
  await h?.close();
});

describe('a rejected reading is not the previous one for a new entry', () => {
  it("staff's typo over a resident's reading: once rejected, the resident's counts again (staff > resident only while not rejected)", async () => {
    const m = await meter('CW-RJ-1');
    now = SEP_20;
    await staffEnters(m, 100); // September: 100
    now = OCT_20;
    expect((await residentSubmits(m, 108)).status).toBe(201); // October, version 1: the resident's 108
    await staffEnters(m, 1100); // October, version 2: the office typed 1100 for 110 and it outranks the resident's
    // Before the review: November's 120 is below 1100 (a wrap 100 000 − 1 100 + 120 = 99 020 is no rollover): refused.
    now = NOV_20;
    const before = await residentSubmits(m, 120);
    expect(before.status).toBe(400);
    expect(before.body.details[0].message).toBe(`meter ${serialOf(m)}: 120 is less than the previous reading 1100 of 2026-10-14`);
    // The engineer rejects the typo (the current version at the October instant, version 2).
    const rv = await reject(m, OCT_WINDOW);
    expect(rv.status, JSON.stringify(rv.body)).toBe(201);
    expect(rv.body).toMatchObject({ version: 2, decision: 'reject' });
    // Now October's counting reading is the resident's 108: November 120 − 108 = 12 m³.
    const after = await residentSubmits(m, 120);
    expect(after.status, JSON.stringify(after.body)).toBe(201);
    expect(after.body.readings[0]).toMatchObject({ value: 120, consumption: 12, warning: null });
    expect(new Date(after.body.readings[0].time).toISOString()).toBe(NOV_WINDOW);
    // …and billing counts the same 12 for November (window attribution: Nov 15 reading − Oct 15 reading).
    const bill = await november(m);
    expect(bill).toMatchObject({ status: 'measured', quantity: 12 });
  });

  it('a rejected reading alone at its instant: the instant is skipped, the one before is the previous', async () => {
    const m = await meter('CW-RJ-2');
    now = SEP_20;
    await staffEnters(m, 100);
    now = OCT_20;
    await staffEnters(m, 1100);
    expect((await reject(m, OCT_WINDOW)).status).toBe(201);
    // November 115 is judged against September's 100: 15 m³.
    now = NOV_20;
    const r = await residentSubmits(m, 115);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.readings[0]).toMatchObject({ value: 115, consumption: 15 });
    // The rejected 1100 is still stored (never dropped), with its review.
    const rows = (await h.opened.db.query('SELECT value, version FROM readings WHERE meter_id = $1 AND time = $2 ORDER BY version', [m, OCT_WINDOW])).rows;
    expect(rows.map((x) => Number(x.value))).toEqual([1100]);
  });

  it("a rejected staff reading at this instant does not refuse the resident's entry as taken by the office", async () => {
    const m = await meter('CW-RJ-3');
    now = OCT_20;
    await staffEnters(m, 100); // October: 100
    now = NOV_20;
    await staffEnters(m, 1300); // November: the office's typo
    const refused = await residentSubmits(m, 130);
    expect(refused.status).toBe(400);
    expect(refused.body.details[0].message).toBe(`meter ${serialOf(m)}: this period's reading was already taken by the managing organisation (1300); to dispute it, contact the office`);
    expect((await reject(m, NOV_WINDOW)).status).toBe(201);
    // The resident's 130 now counts: 130 − 100 = 30 m³, and billing agrees.
    const ok = await residentSubmits(m, 130);
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(ok.body.readings[0]).toMatchObject({ value: 130, consumption: 30 });
    expect(await november(m)).toMatchObject({ status: 'measured', quantity: 30 });
  });

  it("an engineer of another organisation cannot reject this organisation's reading to move the previous one (404, nothing recorded)", async () => {
    const m = await meter('CW-RJ-4');
    now = SEP_20;
    await staffEnters(m, 100);
    now = OCT_20;
    await staffEnters(m, 110);
    const r = await reject(m, OCT_WINDOW, outsider);
    expect(r.status).toBe(404);
    expect((await h.opened.db.query('SELECT count(*)::int AS n FROM reading_reviews WHERE meter_id = $1', [m])).rows[0].n).toBe(0);
    // October's 110 is still the previous: 105 in November is refused.
    now = NOV_20;
    const low = await residentSubmits(m, 105);
    expect(low.status).toBe(400);
    expect(low.body.details[0].message).toBe(`meter ${serialOf(m)}: 105 is less than the previous reading 110 of 2026-10-14`);
  });
});
