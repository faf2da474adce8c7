/**
 * Reading collection at fixed instants of the API's injected clock (never today's date), one real
 * embedded database and API per instant: which collection period an entry is dated at, whether a
 * window is open and when the next one opens, the resident's history month, and the staff route's
 * future check. The instants are the ones where Moscow (UTC+3 all year) and UTC disagree on the day,
 * month or year, and February; every expected value is worked out by hand below (local midnight in
 * Moscow is 21:00 UTC the day before).
 *
 * Settings: cold water window 1–31 (open every day; a short month's end is clamped); hot water
 * window 10–20 (closed at every instant here: a resident is refused, a privileged engineer's entry is
 * dated when it was taken — the clock's instant — not back at the last window, where it could fall
 * before readings already taken since).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../api/harness.js';
import { fixedClock } from '../../src/util/clock.js';
import { handValues } from '../edge-instants.js';

const ZONE = 'Europe/Moscow';
const DATES = handValues({
  '2026-03-01 12:00 MSK': {
    month: '2026-03',
    cold: { due: '2026-03-31', at: '2026-02-28T21:00:00.000Z' }, // 2026-03-01 00:00 MSK
    // next window 2026-03-10: 10 − 1 = 9 days; last window 2026-02-10 00:00 MSK
    hot: { opensOn: '2026-03-10', inDays: 9, last: '2026-02-10 – 2026-02-20' },
  },
  '2027-12-31 23:30 MSK': {
    month: '2027-12',
    cold: { due: '2027-12-31', at: '2027-11-30T21:00:00.000Z' },
    // 2027-12-31 → 2028-01-10: 10 days
    hot: { opensOn: '2028-01-10', inDays: 10, last: '2027-12-10 – 2027-12-20' },
  },
  // A UTC date would say December, 10 days to the window.
  '2028-01-01 00:00 MSK': {
    month: '2028-01',
    cold: { due: '2028-01-31', at: '2027-12-31T21:00:00.000Z' },
    hot: { opensOn: '2028-01-10', inDays: 9, last: '2027-12-10 – 2027-12-20' },
  },
  // The window 1–31 ends on the 29th; 2028-02-29 → 2028-03-10 is 10 days.
  '2028-02-29 12:00 MSK': {
    month: '2028-02',
    cold: { due: '2028-02-29', at: '2028-01-31T21:00:00.000Z' },
    hot: { opensOn: '2028-03-10', inDays: 10, last: '2028-02-10 – 2028-02-20' },
  },
  // The period starts 2028-03-01 00:00 MSK, though UTC is still on the leap day.
  '2028-03-01 00:30 MSK': {
    month: '2028-03',
    cold: { due: '2028-03-31', at: '2028-02-29T21:00:00.000Z' },
    hot: { opensOn: '2028-03-10', inDays: 9, last: '2028-02-10 – 2028-02-20' },
  },
});

const settings = (building: number, over: object) => ({
  building_id: building, resource: null, enabled: true, window_start_day: 1, window_end_day: 31, integer_only: false,
  accept_expired_verification: false, reminder_days: [], warn_factor: 3, ...over,
});

describe.each(DATES)('collection with the clock at $name', (date) => {
  let h: Harness;
  let premise: number, cold: number, hot: number, resident: string, engineer: string;
  const now = new Date(date.now);

  beforeAll(async () => {
    h = await startHarness({ clock: fixedClock(now) });
    const t = h.adminToken;
    const org = (await h.call('POST', '/organisations', t, { name: 'УК' })).body.id;
    const b = (await h.call('POST', '/buildings', t, { org_id: org, address: 'ул. Календарная, 29', timezone: ZONE })).body.id;
    premise = (await h.call('POST', '/premises', t, { building_id: b, number: '1' })).body.id;
    const acc = (await h.call('POST', '/accounts', t, { org_id: org, number: 'LS-29', premise_id: premise })).body.id;
    const meter = async (resource: string) => (await h.call('POST', '/meters', t, { make: 'X', placement: 'apartment', premise_id: premise, resource, serial_number: `${resource}-1` })).body.id as number;
    cold = await meter('cold_water');
    hot = await meter('hot_water');
    expect((await h.call('PUT', '/collection-settings', t, settings(b, {}))).status).toBe(200);
    expect((await h.call('PUT', '/collection-settings', t, settings(b, { resource: 'hot_water', window_start_day: 10, window_end_day: 20 }))).status).toBe(200);
    const code = (await h.call('POST', `/accounts/${acc}/access-code`, t, {})).body.code;
    resident = (await h.call('POST', '/resident/sign-in', null, { account_number: 'LS-29', code })).body.token;
    engineer = await h.userToken('engineer', { buildingIds: [b] });
  }, 120_000);
  afterAll(async () => { await h?.close(); });

  it('the resident sees the open window due on its last local day, and the closed one with the days until it opens', async () => {
    const r = await h.call('GET', '/resident/meters', resident);
    expect(r.status).toBe(200);
    const w = (id: number) => r.body.items.find((m: { id: number }) => m.id === id).window;
    expect(w(cold)).toMatchObject({ open: true, due: date.cold.due });
    expect(w(hot)).toEqual({ open: false, opens_on: date.hot.opensOn, opens_in_days: date.hot.inDays });
  });

  it("a resident's entry is dated at the start of this local month's period; the closed window refuses with its dates", async () => {
    const ok = await h.call('POST', '/resident/readings', resident, { readings: [{ meter_id: cold, value: 12.5 }] });
    expect(ok.status).toBe(201);
    expect(ok.body.readings[0]).toMatchObject({ meter_id: cold, value: 12.5, time: date.cold.at });
    const refused = await h.call('POST', '/resident/readings', resident, { readings: [{ meter_id: hot, value: 3 }] });
    expect(refused.status).toBe(400);
    expect(refused.body.details[0].message).toBe(`meter hot_water-1: the collection window is closed (last ${date.hot.last}; next opens ${date.hot.opensOn}, days 10–20)`);
    // The resident's history puts the reading in the local month it was dated in.
    const hist = await h.call('GET', '/resident/history?months=12', resident);
    expect(hist.body.meters.find((m: { meter_id: number }) => m.meter_id === cold).months).toEqual([{ month: date.month, value: 12.5, consumption: null }]);
  });

  it("an engineer's entry outside the window is dated when it was taken (the clock's instant)", async () => {
    const r = await h.call('POST', `/premises/${premise}/readings`, engineer, { readings: [{ meter_id: hot, value: 3 }], reason: 'обход' });
    expect(r.status).toBe(201);
    expect(r.body.readings[0]).toMatchObject({ meter_id: hot, value: 3, time: now.toISOString() });
  });

  it('a staff reading is "in the future" by the clock: 6 minutes ahead is refused, 4 minutes ahead and an hour back are taken', async () => {
    const at = (minutes: number) => new Date(now.getTime() + minutes * 60_000).toISOString();
    // (on the hot-water meter: its one reading, 3, was taken at the clock's instant)
    const ahead = await h.call('POST', `/meters/${hot}/readings`, engineer, { time: at(6), value: 5 });
    expect(ahead.status).toBe(400);
    expect(ahead.body.details[0]).toMatchObject({ path: 'body.time', message: `meter hot_water-1: ${at(6)} is in the future; a reading is dated when it was taken` });
    expect((await h.call('POST', `/meters/${hot}/readings`, engineer, { time: at(4), value: 5 })).status).toBe(201);
    // An hour back: before the 3 taken now, so at most 3.
    expect((await h.call('POST', `/meters/${hot}/readings`, engineer, { time: at(-60), value: 2 })).status).toBe(201);
  });
});
