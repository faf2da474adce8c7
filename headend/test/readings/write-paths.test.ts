/**
 * The same refusals through every route and job that writes readings — resident submission, staff entry
 * for a premise and for a building, POST /meters/:id/readings, corrections, the CSV import and the
 * scheduled XML exchange — on a real embedded PGlite-TimescaleDB with the API's clock fixed. A path
 * where a case cannot arise says why (e.g. a resident cannot choose the instant: the server dates it).
 *
 * Building in Moscow (UTC+3), collection window days 15–25. Cold-water meter of flat 1 (5 digits) read
 * 100 in the October window (dated 15 Oct 00:00 Moscow = 14 Oct 21:00 UTC).
 * Clock: 20 Nov 2026 12:00 Moscow (window open) or 6 Dec 2026 11:00 Moscow (closed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness, type Harness } from '../api/harness.js';

const OCT_WINDOW = new Date('2026-10-14T21:00:00Z');
const NOV_WINDOW = new Date('2026-11-14T21:00:00Z');
const NOV_20 = new Date('2026-11-20T09:00:00Z');
const DEC_6 = new Date('2026-12-06T08:00:00Z');
let now = NOV_20;

let h: Harness;
let dir: string;
let org: number, b: number, flat1: number, flat2: number, acc1: number, acc2: number;
let cw1: number, hw1: number, el2: number, odpuCw: number, fresh: Record<string, number>;
let operator: string, engineer: string, resident: string;

const count = async (meterId: number) => (await h.opened.db.query('SELECT count(*)::int AS n FROM readings WHERE meter_id = $1', [meterId])).rows[0].n as number;
const stored = async (meterId: number, quantity = 'volume_m3') => (await h.opened.db.query(
  'SELECT time, value, source, version, created_by FROM readings WHERE meter_id = $1 AND quantity = $2 ORDER BY time, version', [meterId, quantity])).rows;
const csv = (token: string, body: string, query = '') => h.app.inject({
  method: 'POST', url: `/import/readings?org_id=${org}${query}`, headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }, payload: body,
}).then((r) => ({ status: r.statusCode, body: JSON.parse(r.body) }));
let xmlSeq = 0;
/** One scheduled-exchange import of one XML reading, run now (in the request: no job runner). */
async function exchange(serial: string, time: string, value: number | string): Promise<{ status: string; message: string }> {
  // Exchange folders lie in the organisation's own folder under EXCHANGE_ROOT.
  const inbox = join(dir, `org-${org}`, `inbox-${++xmlSeq}`);
  await mkdir(inbox, { recursive: true });
  await writeFile(join(inbox, 'in.xml'), `<?xml version="1.0" encoding="UTF-8"?>\n<readings format_version="1" org_id="${org}" from="2026-10-01T00:00:00Z" to="2026-12-01T00:00:00Z" generated_at="2026-11-20T00:00:00Z" count="1">\n  <reading serial="${serial}" account="LS-1" time="${time}" value="${value}"/>\n</readings>\n`);
  const c = await h.call('POST', '/exchange/configs', h.adminToken, { org_id: org, direction: 'import', folder: inbox, cron: '0 3 * * *', enabled: false });
  expect(c.status).toBe(201);
  const r = await h.call('POST', `/exchange/configs/${c.body.id}/run`, h.adminToken);
  expect(r.status).toBe(200);
  return r.body;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'amr-write-paths-'));
  h = await startHarness({ clock: () => now, EXCHANGE_ROOT: dir });
  const t = h.adminToken;
  org = (await h.call('POST', '/organisations', t, { name: 'УК Пути' })).body.id;
  b = (await h.call('POST', '/buildings', t, { org_id: org, external_id: 'WP', address: 'ул. Путей, 1', timezone: 'Europe/Moscow' })).body.id;
  flat1 = (await h.call('POST', '/premises', t, { building_id: b, number: '1', residents: 2 })).body.id;
  flat2 = (await h.call('POST', '/premises', t, { building_id: b, number: '2', residents: 1 })).body.id;
  acc1 = (await h.call('POST', '/accounts', t, { org_id: org, number: 'LS-1', premise_id: flat1 })).body.id;
  acc2 = (await h.call('POST', '/accounts', t, { org_id: org, number: 'LS-2', premise_id: flat2 })).body.id;
  const meter = async (body: object) => {
    const r = await h.call('POST', '/meters', t, { make: 'X', installed_on: '2020-01-10', ...body });
    expect(r.status).toBe(201);
    return r.body.id as number;
  };
  cw1 = await meter({ placement: 'apartment', premise_id: flat1, resource: 'cold_water', serial_number: 'CW-1', register_digits: 5 });
  hw1 = await meter({ placement: 'apartment', premise_id: flat1, resource: 'hot_water', serial_number: 'HW-1', register_digits: 5 });
  el2 = await meter({ placement: 'apartment', premise_id: flat2, resource: 'electricity', serial_number: 'EL-2', register_digits: 6, zones: 2 });
  odpuCw = await meter({ placement: 'building', building_id: b, resource: 'cold_water', serial_number: 'ODPU-CW', register_digits: 6 });
  fresh = {};
  for (const k of ['resident', 'premise', 'building', 'meter', 'import', 'exchange']) {
    fresh[k] = k === 'building'
      ? await meter({ placement: 'building', building_id: b, resource: 'hot_water', serial_number: `NEW-${k}`, register_digits: 8 })
      : await meter({ placement: 'apartment', premise_id: flat1, resource: 'electricity', serial_number: `NEW-${k}`, register_digits: 8 });
  }
  expect((await h.call('PUT', '/collection-settings', t, { building_id: b, resource: null, enabled: true, window_start_day: 15, window_end_day: 25, integer_only: false, accept_expired_verification: false, reminder_days: [15], warn_factor: 3 })).status).toBe(200);
  operator = await h.userToken('operator', { buildingIds: [b] });
  engineer = await h.userToken('engineer', { buildingIds: [b] });
  resident = await h.userToken('resident', { accountIds: [acc1] });
  // October's window: 100 on CW-1, 50 on HW-1, 1000 on the building's cold water.
  now = new Date('2026-10-20T09:00:00Z');
  expect((await h.call('POST', `/premises/${flat1}/readings`, engineer, { readings: [{ meter_id: cw1, value: 100 }, { meter_id: hw1, value: 50 }] })).status).toBe(201);
  expect((await h.call('POST', `/buildings/${b}/readings`, engineer, { readings: [{ meter_id: odpuCw, value: 1000 }] })).status).toBe(201);
  now = NOV_20;
}, 120_000);
afterAll(async () => {
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the entry dates the reading', () => {
  it("October's window entry was dated at the window's start, 15 Oct 00:00 Moscow", async () => {
    expect(await stored(cw1)).toMatchObject([{ time: OCT_WINDOW, value: 100, source: 'staff' }]);
  });
});

describe('no privilege, window closed (6 Dec)', () => {
  it('resident: refused with the dates; nothing stored', async () => {
    now = DEC_6;
    const r = await h.call('POST', '/resident/readings', resident, { readings: [{ meter_id: cw1, value: 110 }] });
    expect(r.status).toBe(400);
    // Window 15–25: the last one 15–25 Nov, the next opens 15 Dec.
    expect(r.body.details[0].message).toBe(`meter CW-1: the collection window is closed (last 2026-11-15 – 2026-11-25; next opens 2026-12-15, days 15–25)`);
    expect(await count(cw1)).toBe(1);
  });
  it('operator, premise entry and building entry: refused; nothing stored', async () => {
    now = DEC_6;
    const p = await h.call('POST', `/premises/${flat1}/readings`, operator, { readings: [{ meter_id: cw1, value: 110 }] });
    expect(p.status).toBe(400);
    expect(p.body.details[0].message).toContain('the collection window is closed');
    const bb = await h.call('POST', `/buildings/${b}/readings`, operator, { readings: [{ meter_id: odpuCw, value: 1100 }] });
    expect(bb.status).toBe(400);
    expect(await count(cw1)).toBe(1);
    expect(await count(odpuCw)).toBe(1);
  });
  it('operator, POST /meters/:id/readings dated today: refused as outside the window (this route used to skip the rule)', async () => {
    now = DEC_6;
    const r = await h.call('POST', `/meters/${cw1}/readings`, operator, { time: DEC_6.toISOString(), value: 110 });
    expect(r.status).toBe(400);
    expect(r.body.details[0]).toMatchObject({ path: 'body.time', message: expect.stringContaining('needs the privilege "readings:enter_outside_window"') });
    expect(await count(cw1)).toBe(1);
  });
  it('operator: corrections need readings:correct (403); imports need import:run (403)', async () => {
    now = DEC_6;
    expect((await h.call('POST', `/meters/${cw1}/readings/corrections`, operator, { time: OCT_WINDOW.toISOString(), quantity: 'volume_m3', value: 101, reason: 'typo' })).status).toBe(403);
    expect((await csv(operator, `account,serial,date,value\nLS-1,CW-1,2026-12-06,110\n`)).status).toBe(403);
  });
  it('the scheduled exchange imports as the organisation and may write outside the window (documented), still refusing a wrong value', async () => {
    now = DEC_6;
    const bad = await exchange('CW-1', '2026-12-02T09:00:00Z', 99);
    expect(bad.status).toBe('failed');
    expect(bad.message).toContain('less than the previous reading 100');
    expect(await count(cw1)).toBe(1);
  });
});

describe('with the privilege outside the window: dated when taken, checked against both neighbours', () => {
  it('an engineer on 6 Dec enters 58 on the hot-water meter: stored at 6 Dec, not back at 15 Nov', async () => {
    now = DEC_6;
    const r = await h.call('POST', `/premises/${flat1}/readings`, engineer, { readings: [{ meter_id: hw1, value: 58 }] });
    expect(r.status).toBe(201);
    expect(new Date(r.body.readings[0].time)).toEqual(DEC_6);
    expect(await stored(hw1)).toMatchObject([{ time: OCT_WINDOW, value: 50 }, { time: DEC_6, value: 58 }]);
  });
  it('then a November window reading must lie between 50 (Oct) and 58 (6 Dec): 60 is above the next', async () => {
    now = NOV_20;
    const hi = await h.call('POST', `/premises/${flat1}/readings`, engineer, { readings: [{ meter_id: hw1, value: 60 }] });
    expect(hi.status).toBe(400);
    expect(hi.body.details[0].message).toBe(`meter HW-1: 60 is more than the next reading 58 of 2026-12-06`);
    const ok = await h.call('POST', `/premises/${flat1}/readings`, engineer, { readings: [{ meter_id: hw1, value: 55 }] });
    expect(ok.status).toBe(201);
    expect(new Date(ok.body.readings[0].time)).toEqual(NOV_WINDOW);
    expect(ok.body.readings[0].consumption).toBe(5); // 55 − 50
  });
});

describe('below the previous reading (20 Nov, window open; previous 100 on CW-1, 1000 on the building meter)', () => {
  it('every path refuses 95 naming 100; nothing stored', async () => {
    now = NOV_20;
    const msg = expect.stringContaining('95 is less than the previous reading 100 of 2026-10-14');
    const res = await h.call('POST', '/resident/readings', resident, { readings: [{ meter_id: cw1, value: 95 }] });
    expect([res.status, res.body.details[0].message]).toEqual([400, msg]);
    const prem = await h.call('POST', `/premises/${flat1}/readings`, operator, { readings: [{ meter_id: cw1, value: 95 }] });
    expect([prem.status, prem.body.details[0].message]).toEqual([400, msg]);
    const bld = await h.call('POST', `/buildings/${b}/readings`, operator, { readings: [{ meter_id: odpuCw, value: 950 }] });
    expect([bld.status, bld.body.details[0].message]).toEqual([400, expect.stringContaining('950 is less than the previous reading 1000')]);
    const one = await h.call('POST', `/meters/${cw1}/readings`, operator, { time: NOV_20.toISOString(), value: 95 });
    expect([one.status, one.body.details[0].path, one.body.details[0].message]).toEqual([400, 'body.value', msg]);
    const imp = await csv(engineer, 'account,serial,date,value\nLS-1,CW-1,2026-11-16,95\n');
    expect(imp.status).toBe(422);
    expect(imp.body.errors).toEqual([expect.objectContaining({ row: 2, column: 'value', message: msg })]);
    const ex = await exchange('CW-1', '2026-11-16T09:00:00Z', 95);
    expect(ex.status).toBe('failed');
    expect(await count(cw1)).toBe(1);
    expect(await count(odpuCw)).toBe(1);
  });
  it('a correction below the previous or above the next is refused too', async () => {
    now = NOV_20;
    // HW-1: 50 (Oct) · 55 (Nov window) · 58 (6 Dec). Correct the November 55 to 49 or to 59.
    const lo = await h.call('POST', `/meters/${hw1}/readings/corrections`, engineer, { time: NOV_WINDOW.toISOString(), quantity: 'volume_m3', value: 49, reason: 'typo' });
    expect([lo.status, lo.body.details[0].message]).toEqual([400, `meter HW-1: 49 is less than the previous reading 50 of 2026-10-14`]);
    const hi = await h.call('POST', `/meters/${hw1}/readings/corrections`, engineer, { time: NOV_WINDOW.toISOString(), quantity: 'volume_m3', value: 59, reason: 'typo' });
    expect([hi.status, hi.body.details[0].message]).toEqual([400, `meter HW-1: 59 is more than the next reading 58 of 2026-12-06`]);
    const ok = await h.call('POST', `/meters/${hw1}/readings/corrections`, engineer, { time: NOV_WINDOW.toISOString(), quantity: 'volume_m3', value: 56, reason: 'digits misread' });
    expect(ok.status).toBe(201);
    expect(ok.body.current).toMatchObject({ version: 2, value: 56, reason: 'digits misread' });
  });
});

describe('a time in the future (20 Nov 12:00 Moscow; 5 minutes of skew allowed)', () => {
  it('refused where the caller gives the time; residents and premise/building entry cannot give one', async () => {
    now = NOV_20;
    const later = new Date(NOV_20.getTime() + 60 * 60_000).toISOString();
    const one = await h.call('POST', `/meters/${cw1}/readings`, engineer, { time: later, value: 105 });
    expect([one.status, one.body.details[0].path]).toEqual([400, 'body.time']);
    expect(one.body.details[0].message).toContain('is in the future');
    const imp = await csv(engineer, 'account,serial,date,value\nLS-1,CW-1,2026-11-21,105\n');
    expect(imp.body.errors).toEqual([expect.objectContaining({ row: 2, column: 'date', message: expect.stringContaining('in the future') })]);
    const ex = await exchange('CW-1', '2099-01-01T00:00:00Z', 105);
    expect(ex.status).toBe('failed');
    expect(ex.message).toContain('in the future');
    expect(await count(cw1)).toBe(1);
  });
});

describe('an implausible first reading needs a person to confirm it (99 999 999 kWh on a flat electricity meter)', () => {
  it('every path answers "confirm" (409 or a row error); with confirmation it is stored', async () => {
    now = NOV_20;
    const v = 99_999_999;
    const res = await h.call('POST', '/resident/readings', resident, { readings: [{ meter_id: fresh.resident, value: v }] });
    expect([res.status, res.body.error]).toEqual([409, 'confirmation_required']);
    expect(res.body.details[0].message).toContain(`first reading ${v} is more than this premise could have used`);
    const prem = await h.call('POST', `/premises/${flat1}/readings`, operator, { readings: [{ meter_id: fresh.premise, value: v }] });
    expect(prem.status).toBe(409);
    // A building meter: the house could use more, but not 99 999 999 m³ of hot water.
    const bld = await h.call('POST', `/buildings/${b}/readings`, operator, { readings: [{ meter_id: fresh.building, value: v }] });
    expect(bld.status).toBe(409);
    const one = await h.call('POST', `/meters/${fresh.meter}/readings`, operator, { time: NOV_20.toISOString(), value: v });
    expect(one.status).toBe(409);
    const imp = await csv(engineer, `account,serial,date,value\nLS-1,NEW-import,2026-11-16,${v}\n`);
    expect(imp.status).toBe(422);
    expect(imp.body.errors[0].message).toContain('import with confirm=true');
    const ex = await exchange('NEW-exchange', '2026-11-16T09:00:00Z', v);
    expect(ex.status).toBe('failed');
    for (const id of Object.values(fresh)) expect(await count(id)).toBe(0);
    // Confirmed: stored, with the warning as the reason.
    const ok = await h.call('POST', '/resident/readings', resident, { readings: [{ meter_id: fresh.resident, value: v }], confirm: true });
    expect(ok.status).toBe(201);
    expect((await h.opened.db.query('SELECT reason FROM readings WHERE meter_id = $1', [fresh.resident])).rows[0].reason).toContain('confirmed: ');
    expect((await csv(engineer, `account,serial,date,value\nLS-1,NEW-import,2026-11-16,${v}\n`, '&confirm=true')).status).toBe(200);
  });
});

describe('rollover of the register through the API', () => {
  it('a 5-digit register at 99 996.5 then 2.5: confirm, then stored; consumption 6 m³', async () => {
    now = new Date('2026-10-20T09:00:00Z');
    const m = (await h.call('POST', '/meters', h.adminToken, { make: 'X', installed_on: '2020-01-10', placement: 'apartment', premise_id: flat1, resource: 'hot_water', serial_number: 'HW-ROLL', register_digits: 5 })).body.id;
    expect((await h.call('POST', `/premises/${flat1}/readings`, engineer, { readings: [{ meter_id: m, value: 99_996.5 }], confirm: true })).status).toBe(201);
    now = NOV_20;
    const r = await h.call('POST', '/resident/readings', resident, { readings: [{ meter_id: m, value: 2.5 }] });
    expect(r.status).toBe(409);
    expect(r.body.details[0].message).toContain('rolling over zero, consumption 6');
    const ok = await h.call('POST', '/resident/readings', resident, { readings: [{ meter_id: m, value: 2.5 }], confirm: true });
    expect(ok.status).toBe(201);
    expect(ok.body.readings[0]).toMatchObject({ value: 2.5, consumption: 6 });
    // The resident's history counts it as billing does: 6 m³ in November, not −99 994.
    const hist = await h.call('GET', '/resident/history?months=12', resident);
    expect(hist.body.meters.find((x: { meter_id: number }) => x.meter_id === m)).toEqual({
      meter_id: m, zone: null, months: [{ month: '2026-10', value: 99_996.5, consumption: null }, { month: '2026-11', value: 2.5, consumption: 6 }],
    });
  });
});

describe('zones: one value per zone on every path', () => {
  it('a resident of flat 2 cannot touch flat 1 (404); a zone meter without zones is refused; day and night are stored in their registers', async () => {
    now = NOV_20;
    const r2 = await h.userToken('resident', { accountIds: [acc2] });
    expect((await h.call('POST', '/resident/readings', r2, { readings: [{ meter_id: cw1, value: 101 }] })).status).toBe(404);
    const noZone = await h.call('POST', `/premises/${flat2}/readings`, operator, { readings: [{ meter_id: el2, value: 1800 }] });
    expect(noZone.status).toBe(400);
    expect(noZone.body.details[0].message).toBe(`meter EL-2: has 2 tariff zones; give one value per zone (zone 1 = day, 2 = night)`);
    const three = await h.call('POST', `/premises/${flat2}/readings`, operator, { readings: [{ meter_id: el2, zone: 3, value: 1 }] });
    expect(three.body.details[0].message).toBe(`meter EL-2: has zones 1–2; zone 3 does not exist`);
    const ok = await h.call('POST', `/premises/${flat2}/readings`, operator, { readings: [{ meter_id: el2, zone: 1, value: 1234.5 }, { meter_id: el2, zone: 2, value: 567.8 }] });
    expect(ok.status).toBe(201);
    expect(await stored(el2, 'energy_t1_kwh')).toMatchObject([{ time: NOV_WINDOW, value: 1234.5 }]);
    expect(await stored(el2, 'energy_t2_kwh')).toMatchObject([{ time: NOV_WINDOW, value: 567.8 }]);
    // The history has one entry per zone.
    const hist = await h.call('GET', '/resident/history?months=12', r2);
    expect(hist.body.meters).toEqual([
      { meter_id: el2, zone: 1, months: [{ month: '2026-11', value: 1234.5, consumption: null }] },
      { meter_id: el2, zone: 2, months: [{ month: '2026-11', value: 567.8, consumption: null }] },
    ]);
    // The import takes a zone column: night below its previous is refused for that row only.
    const imp = await csv(engineer, 'account,serial,date,value,zone\nLS-2,EL-2,2026-11-18,1240,1\nLS-2,EL-2,2026-11-18,560,2\n');
    expect(imp.status).toBe(422);
    expect(imp.body.errors).toEqual([expect.objectContaining({ row: 3, column: 'value', message: expect.stringContaining('560 is less than the previous reading 567.8') })]);
  });
});

describe('an explicit date counts as in the window only for the current window', () => {
  it("on 6 Dec an operator may date a reading in November's window (a phone that synced late), not back in October's, a settled month", async () => {
    now = DEC_6;
    // HW-1: 50 (15 Oct) · 56 (15 Nov, corrected) · 58 (6 Dec).
    const october = await h.call('POST', `/meters/${hw1}/readings`, operator, { time: '2026-10-20T09:00:00Z', value: 52 });
    expect(october.status).toBe(400);
    expect(october.body.details[0]).toMatchObject({ path: 'body.time', message: expect.stringContaining('outside the current collection window') });
    const november = await h.call('POST', `/meters/${hw1}/readings`, operator, { time: '2026-11-22T09:00:00Z', value: 57 });
    expect(november.status).toBe(201);
    expect(await stored(hw1)).toHaveLength(5); // 50 · 55 → 56 (two versions) · 57 · 58
  });
});
