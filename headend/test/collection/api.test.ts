/**
 * Collection API on a real embedded PGlite-TimescaleDB: resident sign-in with a one-time code, scoping to
 * own premises, submission rules, versions on edit, staff entry with and without the window privilege.
 * The API's clock is stopped at a fixed instant (never today's date); windows are set relative to its
 * date in the building's zone (Europe/Moscow). collection/dates.test.ts runs the date-sensitive rules
 * at the instants where Moscow and UTC disagree.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../api/harness.js';
import { localDate, localMidnight } from '../../src/collection/rules.js';
import { fixedClock } from '../../src/util/clock.js';

let h: Harness;
let b: number, flatA: number, mA1: number, mA2: number, mB1: number, odpu: number;
let resident: string;
/** Mid-month, mid-day in Moscow: the window 1–31 is open, history months lie before it. */
const NOW = new Date('2026-10-14T12:00:00+03:00');
const today = localDate(NOW, 'Europe/Moscow');
const periodTime = localMidnight({ ...today, d: 1 }, 'Europe/Moscow'); // window 1–31 starts on the 1st
const monthsBefore = (k: number) => new Date(periodTime.getTime() - k * 30.5 * 86_400_000).toISOString();
const settings = (over: object = {}) => ({ building_id: b, resource: null, enabled: true, window_start_day: 1, window_end_day: 31, integer_only: false, accept_expired_verification: false, reminder_days: [1], warn_factor: 3, ...over });

beforeAll(async () => {
  h = await startHarness({ clock: fixedClock(NOW) });
  const t = h.adminToken;
  const org = (await h.call('POST', '/organisations', t, { name: 'УК' })).body.id;
  b = (await h.call('POST', '/buildings', t, { org_id: org, external_id: 'C', address: 'ул. Сбора, 1' })).body.id;
  flatA = (await h.call('POST', '/premises', t, { building_id: b, number: '1' })).body.id;
  const flatB = (await h.call('POST', '/premises', t, { building_id: b, number: '2' })).body.id;
  const accA = (await h.call('POST', '/accounts', t, { org_id: org, number: 'LS-100', premise_id: flatA })).body;
  const accB = (await h.call('POST', '/accounts', t, { org_id: org, number: 'LS-200', premise_id: flatB })).body;
  expect(accA.id && accB.id).toBeTruthy();
  const meter = async (body: object) => (await h.call('POST', '/meters', t, { make: 'X', ...body })).body.id as number;
  mA1 = await meter({ placement: 'apartment', premise_id: flatA, resource: 'cold_water', serial_number: 'CW-A' });
  mA2 = await meter({ placement: 'apartment', premise_id: flatA, resource: 'hot_water', serial_number: 'HW-A' });
  mB1 = await meter({ placement: 'apartment', premise_id: flatB, resource: 'cold_water', serial_number: 'CW-B' });
  odpu = await meter({ placement: 'building', building_id: b, resource: 'heat', serial_number: 'ODPU-1' });
  expect([mA1, mA2, mB1, odpu].every(Boolean)).toBe(true);
  // Three months of history on mA1: 10 m³ a month.
  for (const [k, v] of [[3, 80], [2, 90], [1, 100]]) {
    await h.opened.db.query("INSERT INTO readings (meter_id, time, quantity, value, unit, source) VALUES ($1, $2, 'volume_m3', $3, 'm3', 'resident')", [mA1, monthsBefore(k), v]);
  }
  expect((await h.call('PUT', '/collection-settings', t, settings())).status).toBe(200);
}, 120_000);
afterAll(async () => { await h?.close(); });

describe('resident sign-in', () => {
  it('a one-time code signs in once; a reused, wrong or unknown-account code is refused alike', async () => {
    const accId = (await h.opened.db.query("SELECT id FROM personal_accounts WHERE number = 'LS-100'")).rows[0].id;
    const issued = await h.call('POST', `/accounts/${accId}/access-code`, h.adminToken, {});
    expect(issued.status).toBe(201);
    const code = issued.body.code as string;
    expect(code).toMatch(/^[A-Z2-9]{10}$/);
    const ok = await h.call('POST', '/resident/sign-in', null, { account_number: 'LS-100', code });
    expect(ok.status).toBe(200);
    resident = ok.body.token;
    const again = await h.call('POST', '/resident/sign-in', null, { account_number: 'LS-100', code });
    const wrong = await h.call('POST', '/resident/sign-in', null, { account_number: 'LS-100', code: 'AAAAAAAAAA' });
    const unknown = await h.call('POST', '/resident/sign-in', null, { account_number: 'LS-999', code });
    expect([again.status, wrong.status, unknown.status]).toEqual([401, 401, 401]);
    expect(wrong.body.message).toBe(unknown.body.message);
    // A new code for the same account reuses the same resident user.
    const code2 = (await h.call('POST', `/accounts/${accId}/access-code`, h.adminToken, {})).body.code;
    const second = await h.call('POST', '/resident/sign-in', null, { account_number: 'LS-100', code: code2 });
    expect(second.body.user_id).toBe(ok.body.user_id);
  });
});

describe('resident meters and submissions', () => {
  it('sees only own meters, with the widget summary; a label is theirs', async () => {
    expect((await h.call('PUT', `/resident/meters/${mA1}/label`, resident, { label: 'кухня' })).status).toBe(200);
    const r = await h.call('GET', '/resident/meters', resident);
    expect(r.status).toBe(200);
    expect(r.body.items.map((m: { id: number }) => m.id).sort()).toEqual([mA1, mA2].sort());
    expect(r.body.items.find((m: { id: number }) => m.id === mA1)).toMatchObject({ label: 'кухня', window: { open: true } });
    expect(r.body.summary).toMatchObject({ state: 'open', submitted: 0, total: 2 });
    expect(r.body.summary.text).toMatch(/^0 of 2 meters submitted, due by \d{4}-\d{2}-\d{2}$/);
  });

  it('another premise: 404 on submit and label; staff routes 403', async () => {
    expect((await h.call('POST', '/resident/readings', resident, { readings: [{ meter_id: mB1, value: 1 }] })).status).toBe(404);
    expect((await h.call('PUT', `/resident/meters/${mB1}/label`, resident, { label: 'x' })).status).toBe(404);
    expect((await h.call('POST', `/premises/${flatA}/readings`, resident, { readings: [{ meter_id: mA1, value: 101 }] })).status).toBe(403);
  });

  it('a decrease is refused naming the meter; nothing of the batch is saved', async () => {
    const r = await h.call('POST', '/resident/readings', resident, { readings: [{ meter_id: mA2, value: 5 }, { meter_id: mA1, value: 95 }] });
    expect(r.status).toBe(400);
    expect(r.body.details).toEqual([{ path: 'readings.1', column: 'value', code: 'below_previous', params: expect.objectContaining({ value: 95, previous: 100 }), message: expect.stringMatching(/^meter CW-A: 95 is less than the previous reading 100 of /) }]);
    expect((await h.opened.db.query('SELECT count(*)::int AS n FROM readings WHERE meter_id = $1', [mA2])).rows[0].n).toBe(0);
  });

  it('high consumption asks to confirm (409), then saves; an edit is a new version', async () => {
    const body = { readings: [{ meter_id: mA1, value: 150 }, { meter_id: mA2, value: 5 }] };
    const warn = await h.call('POST', '/resident/readings', resident, body);
    expect(warn.status).toBe(409);
    expect(warn.body.error).toBe('confirmation_required');
    expect(warn.body.details[0].message).toMatch(new RegExp(`^meter CW-A: consumption 50 is more than 3× the average`));
    const saved = await h.call('POST', '/resident/readings', resident, { ...body, confirm: true });
    expect(saved.status).toBe(201);
    expect(saved.body.readings[0]).toMatchObject({ meter_id: mA1, value: 150, version: 1, consumption: 50, time: periodTime.toISOString() });
    const edit = await h.call('POST', '/resident/readings', resident, { readings: [{ meter_id: mA1, value: 104 }] });
    expect(edit.status).toBe(201);
    expect(edit.body.readings[0]).toMatchObject({ version: 2, consumption: 4 });
    // The phone lost the answer and sends 104 again: the same value at the same (window) instant adds
    // no version 3; the answer names version 2, the one already there.
    const resent = await h.call('POST', '/resident/readings', resident, { readings: [{ meter_id: mA1, value: 104 }] });
    expect(resent.status).toBe(201);
    expect(resent.body.readings[0]).toMatchObject({ meter_id: mA1, value: 104, version: 2, time: periodTime.toISOString() });
    const rows = (await h.opened.db.query("SELECT version, value, source FROM readings WHERE meter_id = $1 AND time = $2 ORDER BY version", [mA1, periodTime])).rows;
    expect(rows).toEqual([{ version: 1, value: 150, source: 'resident' }, { version: 2, value: 104, source: 'resident' }]);
    const m = await h.call('GET', '/resident/meters', resident);
    expect(m.body.summary).toMatchObject({ submitted: 2, total: 2, text: 'readings submitted (2 of 2)' });
    const hist = await h.call('GET', '/resident/history?months=12', resident);
    expect(hist.status).toBe(200);
    const a1 = hist.body.meters.find((x: { meter_id: number }) => x.meter_id === mA1);
    expect(a1.months.at(-1)).toMatchObject({ value: 104, consumption: 4 });
  });

  it('integer-only refuses a fraction', async () => {
    await h.call('PUT', '/collection-settings', h.adminToken, settings({ resource: 'cold_water', integer_only: true }));
    const r = await h.call('POST', '/resident/readings', resident, { readings: [{ meter_id: mA1, value: 105.5 }] });
    expect(r.status).toBe(400);
    expect(r.body.details[0].message).toBe(`meter CW-A: only whole numbers are accepted (got 105.5)`);
    await h.call('PUT', '/collection-settings', h.adminToken, settings({ resource: 'cold_water' }));
  });
});

describe('settings that refuse', () => {
  it('expired verification is refused unless accepted; a disabled resource is refused and leaves the widget', async () => {
    await h.opened.db.query("UPDATE meters SET next_verification_on = '2020-01-01' WHERE id = $1", [mA2]);
    const r = await h.call('POST', '/resident/readings', resident, { readings: [{ meter_id: mA2, value: 6 }] });
    expect(r.status).toBe(400);
    expect(r.body.details[0].message).toBe(`meter HW-A: verification expired on 2020-01-01; readings of this meter are not accepted`);
    await h.call('PUT', '/collection-settings', h.adminToken, settings({ resource: 'hot_water', accept_expired_verification: true }));
    expect((await h.call('POST', '/resident/readings', resident, { readings: [{ meter_id: mA2, value: 6 }] })).status).toBe(201);
    await h.call('PUT', '/collection-settings', h.adminToken, settings({ resource: 'hot_water', enabled: false }));
    const d = await h.call('POST', '/resident/readings', resident, { readings: [{ meter_id: mA2, value: 7 }] });
    expect(d.body.details[0].message).toBe(`meter HW-A: collection of readings for this resource is disabled in this building`);
    expect((await h.call('GET', '/resident/meters', resident)).body.summary).toMatchObject({ total: 1 });
    const list = await h.call('GET', `/collection-settings?building_id=${b}`, h.adminToken);
    expect(list.body.items.map((x: { resource: string | null }) => x.resource)).toEqual([null, null, 'cold_water', 'hot_water']);
    const operator = await h.userToken('operator', { buildingIds: [b] });
    expect((await h.call('PUT', '/collection-settings', operator, settings())).status).toBe(403);
    // A building in the body that does not exist: a 400 naming the field (tenancy's requireBodyRef), nothing stored.
    const unknown = await h.call('PUT', '/collection-settings', h.adminToken, settings({ building_id: 999999 }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.details).toEqual([{ path: 'body.building_id', message: 'unknown building' }]);
  });
});

describe('a reading taken by staff outranks a resident\'s', () => {
  it('a resident is told the period was read by the office instead of being silently overruled; views show the staff reading', async () => {
    const engineer = await h.userToken('engineer', { buildingIds: [b] });
    const staff = await h.call('POST', `/premises/${flatA}/readings`, engineer, { readings: [{ meter_id: mA1, value: 106 }], reason: 'walk-round' });
    expect(staff.status).toBe(201);
    const r = await h.call('POST', '/resident/readings', resident, { readings: [{ meter_id: mA1, value: 107 }] });
    expect(r.status).toBe(400);
    expect(r.body.details[0].message).toBe(`meter CW-A: this period's reading was already taken by the managing organisation (106); to dispute it, contact the office`);
    // A resident version after the staff one (e.g. written before this rule existed) does not count.
    await h.opened.db.query(
      `INSERT INTO readings (meter_id, time, quantity, value, unit, source, version) SELECT $1, $2, 'volume_m3', 108, 'm3', 'resident', max(version) + 1 FROM readings WHERE meter_id = $1 AND time = $2`,
      [mA1, periodTime]);
    const m = await h.call('GET', '/resident/meters', resident);
    expect(m.body.items.find((x: { id: number }) => x.id === mA1).last_reading).toMatchObject({ value: 106, source: 'staff' });
    const hist = await h.call('GET', '/resident/history?months=12', resident);
    expect(hist.body.meters.find((x: { meter_id: number }) => x.meter_id === mA1).months.at(-1)).toMatchObject({ value: 106, consumption: 6 });
  });
});

describe('closed window', () => {
  it('refuses residents and operators with the dates; staff with the privilege enter (ИПУ and ОДПУ)', async () => {
    const day = today.d === 1 ? 2 : 1;
    expect((await h.call('PUT', '/collection-settings', h.adminToken, settings({ window_start_day: day, window_end_day: day }))).status).toBe(200);
    await h.call('PUT', '/collection-settings', h.adminToken, settings({ resource: 'cold_water', window_start_day: day, window_end_day: day }));
    const r = await h.call('POST', '/resident/readings', resident, { readings: [{ meter_id: mA1, value: 110 }] });
    expect(r.status).toBe(400);
    expect(r.body.details[0].message).toMatch(new RegExp(`^meter CW-A: the collection window is closed \\(last \\d{4}-\\d{2}-\\d{2} – \\d{4}-\\d{2}-\\d{2}; next opens \\d{4}-\\d{2}-\\d{2}, days ${day}–${day}\\)$`));
    const operator = await h.userToken('operator', { buildingIds: [b] });
    expect((await h.call('POST', `/premises/${flatA}/readings`, operator, { readings: [{ meter_id: mA1, value: 110 }] })).status).toBe(400);
    const engineer = await h.userToken('engineer', { buildingIds: [b] });
    const ok = await h.call('POST', `/premises/${flatA}/readings`, engineer, { readings: [{ meter_id: mA1, value: 110 }], reason: 'inspector visit' });
    expect(ok.status).toBe(201);
    expect((await h.call('POST', `/premises/${flatA}/readings`, engineer, { readings: [{ meter_id: mB1, value: 1 }] })).status).toBe(404);
    const o = await h.call('POST', `/buildings/${b}/readings`, engineer, { readings: [{ meter_id: odpu, value: 1234.5 }] });
    expect(o.status).toBe(201);
    expect((await h.opened.db.query('SELECT source FROM readings WHERE meter_id = $1', [odpu])).rows).toEqual([{ source: 'staff' }]);
    expect((await h.call('POST', `/buildings/${b}/readings`, engineer, { readings: [{ meter_id: mA1, value: 120 }] })).status).toBe(404);
    // Staff never see the resident's label.
    const staffView = await h.call('GET', `/meters/${mA1}`, engineer);
    expect(staffView.status).toBe(200);
    expect(JSON.stringify(staffView.body)).not.toContain('кухня');
    const audited = (await h.opened.db.query("SELECT count(*)::int AS n FROM audit_log WHERE entity = 'reading' AND action IN ('submit', 'enter')")).rows[0].n;
    expect(audited).toBeGreaterThanOrEqual(5);
  });
});
