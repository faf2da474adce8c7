/**
 * GET /overview/buildings and GET /buildings/:id/overview on a real embedded PGlite-TimescaleDB, with
 * registry rows, readings, imbalance reports, verdicts, reviews and alerts seeded by SQL (the overview
 * reads those tables itself, so it does not wait for the imbalance, validation or alert routes).
 * Also: the dashboard's static files are public, the data is not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/util/clock.js';
import { startHarness, type Harness } from '../api/harness.js';
import { outboxDepth, previousMonth } from '../../src/overview/store.js';
import { seedBuilding, type SeededBuilding } from './seed.js';
import { camelKeys } from './wire-keys.js';

/** A building of GET /overview/buildings (the fields this test reads). */
interface BuildingSummaryOut {
  id: number; address: string; timezone: string;
  resources: Record<string, { imbalance_pct: number | null; status: string; building_consumption: number | null; apartments_consumption: number } | undefined>;
  gateways: { total: number; online: number; last_seen_at: string | null };
  meters: { total: number; remote: number; silent: number };
  open_alerts: number; flagged_readings: number;
}
interface BuildingListOut { period: string; buildings: BuildingSummaryOut[] }
/** GET /buildings/:id/overview (the fields this test reads). */
interface BuildingOverviewOut {
  building: { id: number; address: string; timezone: string };
  imbalance: { resource: string; period: string; building_consumption: number | null; apartments_consumption: number; imbalance_pct: number | null; status: string }[];
  meters: {
    id: number; placement: string; premise_number: string | null; zones: number;
    last_reading: { time: string; value: number | null } | null;
    last_verdict: { status: string; reasons: { code: string }[] } | null;
  }[];
  gateways: unknown[];
  alerts: { kind: string }[];
}
/** GET /meters/:id/overview (the fields this test reads): every version, newest first. */
interface MeterPageOut {
  meter: { id: number; premise_number: string | null };
  readings: { time: string; version: number; value: number | null; current: boolean; verdict: { status: string } | null; reviews: unknown[] }[];
}

const NOW = '2025-03-10T12:00:00Z';
let h: Harness;
let a: SeededBuilding;
let bOther: number;

beforeAll(async () => {
  // The API's clock stopped after the seeded January and February 2025: "now" is data here, never today.
  h = await startHarness({ clock: fixedClock(NOW) });
  a = await seedBuilding(h.opened.db, { address: 'ул. Ленина, 1', externalId: 'OV-A', now: new Date(NOW) });
  bOther = (await h.opened.db.query("INSERT INTO buildings (org_id, address) VALUES ($1, 'ул. Чужая, 9') RETURNING id", [a.orgId])).rows[0].id;
}, 120_000);
afterAll(async () => { await h?.close(); });

describe('GET /overview/buildings', () => {
  it('per resource: month imbalance from imbalance_reports; gateways, meters, alerts and unreviewed flags counted', async () => {
    const r = await h.call<BuildingListOut>('GET', '/overview/buildings?period=2025-01', h.adminToken);
    expect(r.status).toBe(200);
    expect(r.body.period).toBe('2025-01');
    const b = r.body.buildings.find((x) => x.id === a.buildingId)!;
    expect(b.address).toBe('ул. Ленина, 1');
    // Its dates are shown in its own time zone.
    expect(b.timezone).toBe('Europe/Moscow');
    expect(b.resources.heat).toMatchObject({ imbalance_pct: 12, status: 'high_loss', building_consumption: 1000, apartments_consumption: 880, coverage: 1 });
    expect(b.resources.cold_water).toMatchObject({ imbalance_pct: null, status: 'insufficient_data', building_consumption: null });
    // December is another period: not mixed in.
    expect(Object.keys(b.resources).sort()).toEqual(['cold_water', 'heat']);
    expect(b.gateways).toEqual({ total: 2, online: 1, last_seen_at: expect.stringMatching(/^\d{4}-/) });
    // 1 building meter (remote, seen now) + 3 apartment meters (2 remote: one never seen, one seen 3 days ago) + cold water ОДПУ (not remote)
    expect(b.meters).toEqual({ total: 5, remote: 3, silent: 2 });
    expect(b.open_alerts).toBe(2); // the cleared alert is not counted
    // suspect + invalid on apartment 2; the reviewed one and the corrected one are not counted
    expect(b.flagged_readings).toBe(2);
    const other = r.body.buildings.find((x) => x.id === Number(bOther));
    expect(other).toMatchObject({ resources: {}, gateways: { total: 0, online: 0, last_seen_at: null }, meters: { total: 0, remote: 0, silent: 0 }, open_alerts: 0, flagged_readings: 0 });
  });

  it('the February report is the February period', async () => {
    const r = await h.call<BuildingListOut>('GET', '/overview/buildings?period=2025-02', h.adminToken);
    expect(r.body.buildings.find((x) => x.id === a.buildingId)?.resources.heat).toMatchObject({ imbalance_pct: 5, status: 'ok', building_consumption: 900, apartments_consumption: 855 });
  });

  it('without a period: the previous calendar month', async () => {
    const r = await h.call('GET', '/overview/buildings', h.adminToken);
    expect(r.status).toBe(200);
    expect(r.body.period).toBe('2025-02'); // the clock stands on 2025-03-10
    expect(previousMonth(new Date('2025-01-15T00:00:00Z'))).toBe('2024-12');
    expect(previousMonth(new Date('2025-03-31T23:59:00Z'))).toBe('2025-02');
  });

  it('a malformed period is a 400 naming it', async () => {
    const r = await h.call('GET', '/overview/buildings?period=2025-13', h.adminToken);
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toContain('period');
  });

  it('an engineer sees only granted buildings; a resident is refused; no token is 401', async () => {
    const eng = await h.userToken('engineer', { buildingIds: [a.buildingId] });
    const r = await h.call<BuildingListOut>('GET', '/overview/buildings?period=2025-01', eng);
    expect(r.status).toBe(200);
    expect(r.body.buildings.map((x) => x.id)).toEqual([a.buildingId]);
    const resident = await h.userToken('resident', { buildingIds: [a.buildingId] });
    expect((await h.call('GET', '/overview/buildings', resident)).status).toBe(403);
    expect((await h.call('GET', '/overview/buildings', null)).status).toBe(401);
  });
});

describe('GET /buildings/:id/overview', () => {
  it('meters with premise number, last register reading, last verdict with reasons and review; gateways; open alerts', async () => {
    const r = await h.call<BuildingOverviewOut>('GET', `/buildings/${a.buildingId}/overview`, h.adminToken);
    expect(r.status).toBe(200);
    expect(r.body.building).toMatchObject({ id: a.buildingId, address: 'ул. Ленина, 1', timezone: 'Europe/Moscow' });
    // building meters first (by resource), then apartments
    expect(r.body.meters.map((m) => m.id)).toEqual([a.coldOdpu, a.heatOdpu, a.apt1, a.apt2, a.apt10]);
    const odpu = r.body.meters[1];
    expect(odpu).toMatchObject({ id: a.heatOdpu, placement: 'building', resource: 'heat', premise_number: null, register_quantity: 'energy_kwh' });
    expect(r.body.meters[0]).toMatchObject({ register_quantity: 'volume_m3', last_reading: null, last_verdict: null });
    // the last register reading is the current version of the latest instant; instantaneous quantities are not it
    expect(odpu.last_reading).toMatchObject({ time: '2025-02-28T23:00:00.000Z', value: 5900, unit: 'kWh', version: 1 });
    const apt2 = r.body.meters.find((m) => m.id === a.apt2)!;
    expect(apt2).toMatchObject({ premise_number: '2', serial_number: 'HM-2', flagged: 2 });
    expect(apt2.last_verdict).toMatchObject({ status: 'invalid', time: '2025-01-20T00:00:00.000Z', review: null });
    expect(apt2.last_verdict?.reasons.map((x) => x.code)).toEqual(['register_decreased']);
    const apt1 = r.body.meters.find((m) => m.id === a.apt1)!;
    expect(apt1.last_verdict).toMatchObject({ status: 'suspect', review: { decision: 'accept', reason: 'checked on site', reviewed_by: 'eng' } });
    // apartments in natural number order after the building meters
    expect(r.body.meters.filter((m) => m.placement === 'apartment').map((m) => m.premise_number)).toEqual(['1', '2', '10']);
    expect(r.body.gateways).toEqual([
      expect.objectContaining({ id: 'gw-ov-1', online: true, outbox_depth: 3, last_status: { software: '1.2.0', outboxDepth: 3 } }),
      expect.objectContaining({ id: 'gw-ov-2', online: false, outbox_depth: null, last_seen_at: null }),
    ]);
    expect(r.body.alerts.map((x) => x.kind).sort()).toEqual(['imbalance', 'meter_silent']);
  });

  it('month imbalance reports in [from, to], every resource, labelled by month', async () => {
    const r = await h.call<BuildingOverviewOut>('GET', `/buildings/${a.buildingId}/overview?from=2024-12&to=2025-01`, h.adminToken);
    expect(r.status).toBe(200);
    expect(r.body.imbalance.map((x) => [x.resource, x.period, x.building_consumption, x.apartments_consumption, x.imbalance_pct, x.status])).toEqual([
      ['cold_water', '2025-01', null, 50, null, 'insufficient_data'],
      ['heat', '2024-12', 1100, 990, 10, 'ok'],
      ['heat', '2025-01', 1000, 880, 12, 'high_loss'],
    ]);
    expect(r.body.imbalance[2]).toMatchObject({ imbalance: 120, coverage: 1, apartments_total: 3, apartments_actual: 3, period_start: '2024-12-31T21:00:00.000Z' });
    const bad = await h.call('GET', `/buildings/${a.buildingId}/overview?from=2025-02&to=2025-01`, h.adminToken);
    expect(bad.status).toBe(400);
    expect(bad.body.details[0].path).toBe('querystring.from');
  });

  it('a zone meter carries its zones and each zone register\'s last reading (current version); a one-register meter none', async () => {
    const q = h.opened.db;
    const building = (await q.query("INSERT INTO buildings (org_id, address) VALUES ($1, 'ул. Зонная, 3') RETURNING id", [a.orgId])).rows[0].id;
    const premise = (await q.query("INSERT INTO premises (building_id, number) VALUES ($1, '5') RETURNING id", [building])).rows[0].id;
    const meter = async (resource: string, serial: string, zones: number) => Number((await q.query(
      `INSERT INTO meters (placement, building_id, premise_id, resource, make, serial_number, zones) VALUES ('apartment', $1, $2, $3, 'Test', $4, $5) RETURNING id`,
      [building, premise, resource, serial, zones])).rows[0].id);
    const el = await meter('electricity', 'Z-3', 3);
    const cold = await meter('cold_water', 'Z-CW', 1);
    const reading = (m: number, quantity: string, time: string, value: number, version: number, source: string) => q.query(
      `INSERT INTO readings (meter_id, time, quantity, value, unit, source, version) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [m, time, quantity, value, quantity === 'volume_m3' ? 'm3' : 'kWh', source, version]);
    // Day: 100 on 1 Jan, then 130 on 1 Feb corrected to 131 (version 2): the last is 131 v2 of 1 Feb.
    await reading(el, 'energy_t1_kwh', '2025-01-01T00:00:00Z', 100, 1, 'resident');
    await reading(el, 'energy_t1_kwh', '2025-02-01T00:00:00Z', 130, 1, 'resident');
    await reading(el, 'energy_t1_kwh', '2025-02-01T00:00:00Z', 131, 2, 'staff');
    // Night: one reading, 40 on 1 Feb. Peak: none, so no entry for zone 3.
    await reading(el, 'energy_t2_kwh', '2025-02-01T00:00:00Z', 40, 1, 'resident');
    await reading(cold, 'volume_m3', '2025-02-01T00:00:00Z', 7, 1, 'resident');
    const r = await h.call<BuildingOverviewOut>('GET', `/buildings/${building}/overview`, h.adminToken);
    expect(r.status).toBe(200);
    const byId = new Map(r.body.meters.map((m) => [m.id, m]));
    expect(byId.get(el)).toMatchObject({ zones: 3, zone_readings: [
      { zone: 1, time: '2025-02-01T00:00:00.000Z', value: 131, unit: 'kWh', version: 2, source: 'staff' },
      { zone: 2, time: '2025-02-01T00:00:00.000Z', value: 40, unit: 'kWh', version: 1, source: 'resident' },
    ] });
    expect(byId.get(cold)).toMatchObject({ zones: 1, zone_readings: [], last_reading: { value: 7 } });
  });

  it('a building outside the caller scope and a missing building are both 404', async () => {
    const eng = await h.userToken('engineer', { buildingIds: [a.buildingId] });
    expect((await h.call('GET', `/buildings/${bOther}/overview`, eng)).status).toBe(404);
    expect((await h.call('GET', `/buildings/${a.buildingId}/overview`, eng)).status).toBe(200);
    expect((await h.call('GET', '/buildings/999999/overview', h.adminToken)).status).toBe(404);
  });

  it('outbox depth is read from the known status shapes and nothing else', () => {
    expect(outboxDepth({ outboxDepth: 4 })).toBe(4);
    expect(outboxDepth({ outbox_depth: 0 })).toBe(0);
    expect(outboxDepth({ outbox: { depth: 7 } })).toBe(7);
    expect(outboxDepth({ outboxDepth: '4' })).toBeNull();
    expect(outboxDepth(null)).toBeNull();
  });
});

describe('GET /meters/:id/overview', () => {
  it('register readings newest first, every version, with verdict, reviews and the correction\'s who and why', async () => {
    const r = await h.call<MeterPageOut>('GET', `/meters/${a.apt2}/overview`, h.adminToken);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.meter).toMatchObject({ id: a.apt2, premise_number: '2', address: 'ул. Ленина, 1', register_quantity: 'energy_kwh', serial_number: 'HM-2' });
    expect(r.body.readings.map((x) => [x.time.slice(0, 10), x.version, x.value, x.current, x.verdict?.status ?? null])).toEqual([
      ['2025-01-20', 1, 190, true, 'invalid'],
      ['2025-01-15', 1, 212, true, 'suspect'],
      ['2025-01-10', 2, 205, true, 'valid'],
      ['2025-01-10', 1, 250, false, 'suspect'],
    ]);
    expect(r.body.readings[2]).toMatchObject({ source: 'staff', created_by: 'eng', reason: 'digits swapped' });
    const apt1 = await h.call<MeterPageOut>('GET', `/meters/${a.apt1}/overview`, h.adminToken);
    expect(apt1.body.readings[0].reviews).toEqual([expect.objectContaining({ decision: 'accept', reason: 'checked on site', reviewed_by: 'eng' })]);
    const page = await h.call<MeterPageOut>('GET', `/meters/${a.apt2}/overview?limit=1&before=2025-01-20T00:00:00Z`, h.adminToken);
    expect(page.body.readings.map((x) => x.time)).toEqual(['2025-01-15T00:00:00.000Z']);
  });

  it('outside the caller scope: 404', async () => {
    const eng = await h.userToken('engineer', { buildingIds: [Number(bOther)] });
    expect((await h.call('GET', `/meters/${a.apt2}/overview`, eng)).status).toBe(404);
  });

  it('a date range [from, before): only the readings inside it, every version; a range ending before it starts is a 400 saying so', async () => {
    // Moscow's 12–19 January: 15 January (212) is inside, 10 January (two versions) and 20 January are not.
    const r = await h.call<MeterPageOut>('GET', `/meters/${a.apt2}/overview?from=2025-01-11T21:00:00Z&before=2025-01-19T21:00:00Z`, h.adminToken);
    expect(r.status).toBe(200);
    expect(r.body.readings.map((x) => [x.time, x.version, x.value])).toEqual([['2025-01-15T00:00:00.000Z', 1, 212]]);
    const upToJan10 = await h.call<MeterPageOut>('GET', `/meters/${a.apt2}/overview?from=2025-01-01T00:00:00Z&before=2025-01-11T00:00:00Z`, h.adminToken);
    expect(upToJan10.body.readings.map((x) => [x.version, x.value, x.current])).toEqual([[2, 205, true], [1, 250, false]]);
    const empty = await h.call<MeterPageOut>('GET', `/meters/${a.apt2}/overview?from=2025-03-01T00:00:00Z`, h.adminToken);
    expect(empty.body.readings).toEqual([]);
    const bad = await h.call<{ message: string; details: { path: string; message: string }[] }>('GET', `/meters/${a.apt2}/overview?from=2025-02-01T00:00:00Z&before=2025-01-01T00:00:00Z`, h.adminToken);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('from must be earlier than before');
    expect(bad.body.details[0].path).toBe('querystring.from');
    // Someone else's meter stays 404 with a range too.
    const eng = await h.userToken('engineer', { buildingIds: [Number(bOther)] });
    expect((await h.call('GET', `/meters/${a.apt2}/overview?from=2025-01-01T00:00:00Z`, eng)).status).toBe(404);
  });
});

describe('one casing and one tenancy for every overview', () => {
  it('every key of the three overview responses is snake_case, at any depth (a gateway\'s own status message is shown as it arrived)', async () => {
    const list = await h.call('GET', '/overview/buildings?period=2025-01', h.adminToken);
    const building = await h.call('GET', `/buildings/${a.buildingId}/overview?from=2024-12&to=2025-02`, h.adminToken);
    const meter = await h.call('GET', `/meters/${a.apt2}/overview`, h.adminToken);
    for (const r of [list, building, meter]) expect(r.status).toBe(200);
    // The seed fills every nested part the keys could hide in: reports, gateways, verdicts with reasons, reviews.
    expect(building.body.imbalance.length).toBeGreaterThan(0);
    expect(building.body.meters.some((m: { last_verdict: { review: unknown } | null }) => m.last_verdict?.review)).toBe(true);
    expect(meter.body.readings.some((r: { verdict: { reasons: unknown[] } | null }) => r.verdict?.reasons.length)).toBe(true);
    expect([list, building, meter].flatMap((r) => camelKeys(r.body, ['last_status']))).toEqual([]);
    expect(building.body.gateways[0].last_status).toEqual({ software: '1.2.0', outboxDepth: 3 });
  });

  it("another organisation's building and meter are 404 like missing ones, and its building is not in the list", async () => {
    const q = h.opened.db;
    const org2 = Number((await q.query("INSERT INTO organisations (name) VALUES ('overview other org') RETURNING id")).rows[0].id);
    const b2 = Number((await q.query("INSERT INTO buildings (org_id, address) VALUES ($1, 'ул. Соседняя, 2') RETURNING id", [org2])).rows[0].id);
    const m2 = Number((await q.query(
      "INSERT INTO meters (placement, building_id, resource, make, serial_number) VALUES ('building', $1, 'heat', 'Test', 'OV-ORG2') RETURNING id", [b2])).rows[0].id);
    const eng = await h.userToken('engineer', { buildingIds: [a.buildingId] });
    const foreign = await h.call('GET', `/buildings/${b2}/overview`, eng);
    const missing = await h.call('GET', '/buildings/99999999/overview', eng);
    expect([foreign.status, missing.status]).toEqual([404, 404]);
    expect(foreign.body.message).toBe(missing.body.message);
    const foreignMeter = await h.call('GET', `/meters/${m2}/overview`, eng);
    const missingMeter = await h.call('GET', '/meters/99999999/overview', eng);
    expect([foreignMeter.status, missingMeter.status]).toEqual([404, 404]);
    expect(foreignMeter.body.message).toBe(missingMeter.body.message);
    const list = await h.call('GET', '/overview/buildings?period=2025-01', eng);
    expect(list.body.buildings.map((x: { id: number }) => x.id)).toEqual([a.buildingId]);
  });

  it('a malformed month in from/to is a 400 naming the parameter and the form it must take', async () => {
    const r = await h.call('GET', `/buildings/${a.buildingId}/overview?from=2025-1`, h.adminToken);
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toContain('from');
    expect(JSON.stringify(r.body)).toContain('YYYY-MM');
  });
});

describe('OpenAPI', () => {
  it('documents the overview routes under the overview tag; the static dashboard routes are hidden', async () => {
    const doc = await h.app.inject({ method: 'GET', url: '/docs/json' });
    expect(doc.statusCode).toBe(200);
    const paths = doc.json().paths;
    for (const p of ['/overview/buildings', '/buildings/{id}/overview', '/meters/{id}/overview']) expect(paths[p]?.get?.tags, p).toEqual(['overview']);
    expect(Object.keys(paths).filter((p) => p.startsWith('/dashboard'))).toEqual([]);
    // The documented response is the wire's: snake_case names.
    const list = JSON.stringify(paths['/overview/buildings'].get.responses['200']);
    expect(list).toContain('open_alerts');
    expect(list).toContain('imbalance_pct');
    expect(list).not.toContain('openAlerts');
  });
});

describe('dashboard static files', () => {
  it('the shared page modules are public under /web-shared/ (modules only, never the folder\'s other files or a path outside it)', async () => {
    const ui = await h.app.inject({ method: 'GET', url: '/web-shared/ui.js' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toMatch(/javascript/);
    expect(ui.body).toContain('export function useLoad(');
    for (const url of ['/web-shared/README.md', '/web-shared/..%2Fpackage.json', '/web-shared/../package.json', '/web-shared/nope.js']) {
      expect((await h.app.inject({ method: 'GET', url })).statusCode, url).toBe(404);
    }
  });
  it('are public; /dashboard redirects to /dashboard/; echarts is served; data routes still need a token', async () => {
    const index = await h.app.inject({ method: 'GET', url: '/dashboard/' });
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toContain('text/html');
    expect(index.body).toContain('app.js');
    expect((await h.app.inject({ method: 'GET', url: '/dashboard' })).headers.location).toBe('/dashboard/');
    const js = await h.app.inject({ method: 'GET', url: '/dashboard/app.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toContain('javascript');
    const echarts = await h.app.inject({ method: 'GET', url: '/dashboard/vendor/echarts.min.js' });
    expect(echarts.statusCode).toBe(200);
    expect(echarts.body.length).toBeGreaterThan(100_000);
    expect((await h.app.inject({ method: 'GET', url: '/dashboard/nope.js' })).statusCode).toBe(404);
    expect((await h.app.inject({ method: 'GET', url: '/dashboard/..%2f..%2fpackage.json' })).statusCode).not.toBe(200);
    expect((await h.app.inject({ method: 'GET', url: `/buildings/${a.buildingId}/overview` })).statusCode).toBe(401);
  });
});
