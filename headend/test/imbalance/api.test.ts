/**
 * Imbalance API on the real API server and embedded database (test/api/harness.ts): synchronous
 * recompute, stored reports per building and for the list, thresholds with re-judging and audit,
 * building scope and permissions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { JobRunner } from '../../src/jobs/index.js';
import { defineImbalanceJobs, type StoredImbalanceReport } from '../../src/imbalance/index.js';
import { startHarness, type Harness } from '../api/harness.js';
import * as f from './fixtures.js';
import { REDIS_URL, removeRedisKeys } from '../redis.js';
import { camelKeys } from '../dashboard/wire-keys.js';

const prefix = `amrtest-imbalance-api-${randomUUID()}`;
let runner: JobRunner;
/** What the alerts hook (deps.onReport of the imbalance jobs) was told. */
const hooked: Array<{ report: StoredImbalanceReport; previous: StoredImbalanceReport | null }> = [];

let h: Harness;
let A: number;
let B: number;
let engineer: string;
let operator: string;

beforeAll(async () => {
  // The API finds the report hook through the job runner the imbalance jobs were defined on.
  runner = new JobRunner({ redisUrl: REDIS_URL, prefix, logger: pino({ level: 'silent' }) });
  h = await startHarness({ jobs: runner });
  await defineImbalanceJobs(runner, { db: h.opened.db, logger: pino({ level: 'silent' }), onReport: (report, previous) => { hooked.push({ report, previous }); } });
  const q = h.opened.db;
  const orgId = await f.org(q);
  A = (await f.buildingWithOdpu(q, orgId, 0.00875)).b; // 7.07 % with the three apartments
  await f.threeApartments(q, A);
  B = (await f.buildingWithOdpu(q, orgId, 0.00925)).b; // 12.09 %
  await f.threeApartments(q, B);
  engineer = await h.userToken('engineer', { buildingIds: [A] });
  operator = await h.userToken('operator', { buildingIds: [A] });
}, 120_000);

afterAll(async () => {
  await h?.close();
  await runner?.close();
  await removeRedisKeys(prefix);
});

const HAND_PCT = (1.84 / 26.04) * 100;

/** GET /imbalance: each visible building with its month's report per resource (the fields this test reads). */
interface OverviewOut { buildings: { id: number; reports: Record<string, { status: string } | undefined> }[] }

describe('imbalance API', () => {
  it('recomputes a month synchronously and serves the stored report with per-meter values', async () => {
    const r = await h.call('POST', `/buildings/${A}/imbalance/recompute`, engineer, { from: '2026-01', to: '2026-02' });
    expect(r.status).toBe(200);
    expect(r.body.reports).toHaveLength(1);
    expect(r.body.reports[0]).toMatchObject({ building_id: A, resource: 'cold_water', period_kind: 'month', period_start: '2025-12-31T21:00:00.000Z', status: 'ok' });
    expect(r.body.reports[0].imbalance_pct).toBeCloseTo(HAND_PCT, 9);
    expect(hooked.map((c) => [c.report.buildingId, c.report.status, c.previous])).toEqual([[A, 'ok', null]]);

    const g = await h.call<{ timezone: string; reports: { meters: { placement: string; method: string }[] }[] }>('GET', `/buildings/${A}/imbalance?resource=cold_water&from=2026-01-01&to=2026-02-01`, operator);
    expect(g.status).toBe(200);
    expect(g.body.timezone).toBe('Europe/Moscow');
    expect(g.body.reports).toHaveLength(1);
    expect(g.body.reports[0].meters).toHaveLength(4);
    expect(g.body.reports[0].meters.filter((m) => m.placement === 'apartment').map((m) => m.method).sort()).toEqual(['interpolated', 'measured', 'measured']);
    const none = await h.call('GET', `/buildings/${A}/imbalance?from=2026-02&to=2026-03`, operator);
    expect(none.body.reports).toHaveLength(0);
  });

  it('lists every visible building with its reports per resource', async () => {
    await h.call('POST', `/buildings/${B}/imbalance/recompute`, h.adminToken, { resource: 'cold_water', from: '2026-01-01', to: '2026-02-01' });
    const all = await h.call<OverviewOut>('GET', '/imbalance?period=2026-01', h.adminToken);
    expect(all.status).toBe(200);
    const byId = new Map(all.body.buildings.map((b) => [b.id, b]));
    expect(byId.get(A)?.reports.cold_water?.status).toBe('ok');
    expect(byId.get(B)?.reports.cold_water?.status).toBe('high_loss');
    const mine = await h.call<OverviewOut>('GET', '/imbalance?period=2026-01', engineer);
    expect(mine.body.buildings.map((b) => b.id)).toEqual([A]);
    const feb = await h.call('GET', '/imbalance?period=2026-02', engineer);
    expect(feb.body.buildings[0].reports).toEqual({});
    expect((await h.call('GET', '/imbalance?period=January', engineer)).status).toBe(400);
  });

  it('keeps other buildings out of scope and residents out altogether', async () => {
    expect((await h.call('GET', `/buildings/${B}/imbalance`, engineer)).status).toBe(404);
    expect((await h.call('POST', `/buildings/${B}/imbalance/recompute`, engineer, { from: '2026-01', to: '2026-02' })).status).toBe(404);
    const resident = await h.userToken('resident');
    expect((await h.call('GET', `/buildings/${A}/imbalance`, resident)).status).toBe(403);
    expect((await h.call('GET', '/imbalance?period=2026-01', resident)).status).toBe(403);
  });

  it('needs imbalance:configure to recompute and to set thresholds', async () => {
    expect((await h.call('POST', `/buildings/${A}/imbalance/recompute`, operator, { from: '2026-01', to: '2026-02' })).status).toBe(403);
    expect((await h.call('PUT', '/imbalance-thresholds', operator, { building_id: A, resource: 'cold_water', high_loss_pct: 5, negative_pct: 2, min_coverage: 0.8 })).status).toBe(403);
    // A default governs buildings the engineer does not see.
    const d = await h.call('PUT', '/imbalance-thresholds', engineer, { building_id: null, resource: 'cold_water', high_loss_pct: 5, negative_pct: 2, min_coverage: 0.8 });
    expect(d.status).toBe(403);
    expect((await h.call('PUT', '/imbalance-thresholds', engineer, { building_id: B, resource: 'cold_water', high_loss_pct: 5, negative_pct: 2, min_coverage: 0.8 })).status).toBe(404);
  });

  it("a building's thresholds re-judge its stored reports in the same transaction as the audit entry", async () => {
    const before = hooked.length;
    const put = await h.call('PUT', '/imbalance-thresholds', engineer, { building_id: A, resource: 'cold_water', high_loss_pct: 5, negative_pct: 1, min_coverage: 0.5 });
    expect(put.status).toBe(200);
    expect(put.body.rejudged).toBe(1);
    expect(put.body.threshold).toMatchObject({ building_id: A, resource: 'cold_water', high_loss_pct: 5 });
    // The alerts hook hears of the changed verdict, with the report as it was.
    const told = hooked.slice(before);
    expect(told.map((c) => [c.report.buildingId, c.previous?.status, c.report.status])).toEqual([[A, 'ok', 'high_loss']]);
    expect(told[0].previous!.thresholds.highLossPct).toBe(10);
    const g = await h.call('GET', `/buildings/${A}/imbalance?resource=cold_water`, engineer);
    expect(g.body.reports[0].status).toBe('high_loss');
    expect(g.body.reports[0].thresholds).toEqual({ high_loss_pct: 5, negative_pct: 1, min_coverage: 0.5 });
    expect(g.body.reports[0].imbalance_pct).toBeCloseTo(HAND_PCT, 9); // numbers unchanged, only the verdict
    const audit = await h.opened.db.query(`SELECT action, building_id FROM audit_log WHERE entity = 'imbalance_threshold'`);
    expect(audit.rows.map((r) => [r.action, Number(r.building_id)])).toEqual([['create', A]]);

    // The admin's default does not touch A (own row) but re-judges B.
    const d = await h.call('PUT', '/imbalance-thresholds', h.adminToken, { building_id: null, resource: 'cold_water', high_loss_pct: 20, negative_pct: 2, min_coverage: 0.8 });
    expect(d.status).toBe(200);
    expect(d.body.rejudged).toBe(1);
    const list = await h.call<OverviewOut>('GET', '/imbalance?period=2026-01', h.adminToken);
    const byId = new Map(list.body.buildings.map((b) => [b.id, b.reports.cold_water?.status]));
    expect([byId.get(A), byId.get(B)]).toEqual(['high_loss', 'ok']);

    // A recompute judges by the same rows.
    const again = await h.call('POST', `/buildings/${B}/imbalance/recompute`, h.adminToken, { from: '2026-01', to: '2026-02' });
    expect(again.body.reports[0]).toMatchObject({ status: 'ok', thresholds: { high_loss_pct: 20 } });

    const seen = await h.call<{ building_id: number | null }[]>('GET', '/imbalance-thresholds', engineer);
    expect(seen.body.map((t) => t.building_id)).toEqual([null, A]);
  });

  it("another organisation's building in a threshold body is a 404 like a missing one, and nothing changes there", async () => {
    const q = h.opened.db;
    const C = (await f.buildingWithOdpu(q, await f.org(q), 0.00925)).b; // 12.09 %: high loss under the default 10 %
    await f.threeApartments(q, C);
    await h.call('POST', `/buildings/${C}/imbalance/recompute`, h.adminToken, { resource: 'cold_water', from: '2026-01', to: '2026-02' });
    const reportBefore = (await q.query('SELECT status, thresholds FROM imbalance_reports WHERE building_id = $1', [C])).rows;
    const body = { resource: 'cold_water', high_loss_pct: 50, negative_pct: 50, min_coverage: 0 };
    const foreign = await h.call('PUT', '/imbalance-thresholds', engineer, { ...body, building_id: C });
    const missing = await h.call('PUT', '/imbalance-thresholds', engineer, { ...body, building_id: 99_999_999 });
    expect([foreign.status, missing.status]).toEqual([404, 404]);
    expect(foreign.body.message).toBe(missing.body.message);
    expect((await q.query('SELECT count(*)::int AS n FROM imbalance_thresholds WHERE building_id = $1', [C])).rows[0].n).toBe(0);
    expect((await q.query('SELECT status, thresholds FROM imbalance_reports WHERE building_id = $1', [C])).rows).toEqual(reportBefore);
    expect((await q.query(`SELECT count(*)::int AS n FROM audit_log WHERE entity = 'imbalance_threshold' AND building_id = $1`, [C])).rows[0].n).toBe(0);
    // Its reports and recompute answer the same 404.
    expect((await h.call('GET', `/buildings/${C}/imbalance`, engineer)).status).toBe(404);
    expect((await h.call('POST', `/buildings/${C}/imbalance/recompute`, engineer, { from: '2026-01', to: '2026-02' })).status).toBe(404);
  });

  it('the camelCase threshold body of earlier versions still sets the row; where both spellings arrive the snake_case one wins', async () => {
    const old = await h.call('PUT', '/imbalance-thresholds', engineer, { buildingId: A, resource: 'hot_water', highLossPct: 7, negativePct: 3, minCoverage: 0.6 });
    expect(old.status).toBe(200);
    expect(old.body.threshold).toMatchObject({ building_id: A, resource: 'hot_water', high_loss_pct: 7, negative_pct: 3, min_coverage: 0.6 });
    const both = await h.call('PUT', '/imbalance-thresholds', engineer, { building_id: A, resource: 'hot_water', high_loss_pct: 8, highLossPct: 99, negative_pct: 3, min_coverage: 0.6 });
    expect(both.body.threshold.high_loss_pct).toBe(8);
    const row = (await h.opened.db.query(`SELECT high_loss_pct, negative_pct, min_coverage FROM imbalance_thresholds WHERE building_id = $1 AND resource = 'hot_water'`, [A])).rows[0];
    expect(row).toEqual({ high_loss_pct: 8, negative_pct: 3, min_coverage: 0.6 });
  });

  it('a threshold out of range is a 400 naming the field and its bounds; nothing is stored', async () => {
    const r = await h.call('PUT', '/imbalance-thresholds', engineer, { building_id: A, resource: 'electricity', high_loss_pct: 150, negative_pct: 3, min_coverage: 0.6 });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toContain('high_loss_pct');
    expect(JSON.stringify(r.body)).toMatch(/100/);
    expect((await h.opened.db.query(`SELECT count(*)::int AS n FROM imbalance_thresholds WHERE resource = 'electricity'`)).rows[0].n).toBe(0);
  });

  it('every key of every imbalance response is snake_case, the per-meter values included', async () => {
    const reports = await h.call('GET', `/buildings/${A}/imbalance`, engineer);
    expect(reports.body.reports[0].meters[0]).toHaveProperty('meter_id');
    const list = await h.call('GET', '/imbalance?period=2026-01', h.adminToken);
    const recompute = await h.call('POST', `/buildings/${A}/imbalance/recompute`, engineer, { resource: 'cold_water', from: '2026-01', to: '2026-02' });
    const thresholds = await h.call('GET', '/imbalance-thresholds', engineer);
    for (const r of [reports, list, recompute, thresholds]) expect(r.status).toBe(200);
    expect(recompute.body.reports[0]).toMatchObject({ building_id: A, period_kind: 'month', apartments_total: 3 });
    expect([reports, list, recompute, thresholds].flatMap((r) => camelKeys(r.body))).toEqual([]);
  });

  it('OpenAPI documents the wire: snake_case report fields and the snake_case threshold body', async () => {
    const doc = await h.app.inject({ method: 'GET', url: '/docs/json' });
    expect(doc.statusCode).toBe(200);
    const paths = doc.json().paths;
    const reports = JSON.stringify(paths['/buildings/{id}/imbalance'].get.responses['200']);
    expect(reports).toContain('imbalance_pct');
    expect(reports).toContain('replaced_meter_ids');
    expect(reports).not.toContain('imbalancePct');
    const body = JSON.stringify(paths['/imbalance-thresholds'].put.requestBody);
    expect(body).toContain('high_loss_pct');
    expect(body).toContain('building_id');
  });

  it('bounds a synchronous recompute and refuses kinds the meters do not support', async () => {
    const long = await h.call('POST', `/buildings/${A}/imbalance/recompute`, engineer, { kind: 'day', from: '2026-01-01', to: '2026-03-15' });
    expect(long.status).toBe(400);
    expect(long.body.message).toMatch(/at most 62 periods/);
    const day = await h.call('POST', `/buildings/${A}/imbalance/recompute`, engineer, { kind: 'day', from: '2026-01-10', to: '2026-01-11' });
    expect(day.status).toBe(400);
    expect(day.body.message).toMatch(/every apartment meter read remotely/);
    const back = await h.call('POST', `/buildings/${A}/imbalance/recompute`, engineer, { from: '2026-02', to: '2026-01' });
    expect(back.status).toBe(400);
  });
});
