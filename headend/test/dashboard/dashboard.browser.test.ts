/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core against a real HTTP
 * head-end API (embedded PGlite-TimescaleDB, seeded with known numbers: ОДПУ 1000 vs Σ ИПУ 880 → 12.0 %).
 * Logs in through the form, opens the building, reads the chart's table and the ECharts instance,
 * switches language, corrects a reading on the meter page, and saves a screenshot to test-artifacts/.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page, Route } from 'playwright-core';
import { ARTIFACTS, launchChromium, type Browser, type PageField, type PageGlobals } from '../browser.js';
import { startHarness, type Harness } from '../api/harness.js';
import { seedBuilding, type SeededBuilding } from './seed.js';


let h: Harness;
let a: SeededBuilding;
let base: string;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  h = await startHarness();
  a = await seedBuilding(h.opened.db, { address: 'ул. Ленина, 1', externalId: 'UI-A' });
  await h.userToken('engineer', { buildingIds: [a.buildingId], username: 'ivanov' });
  await h.userToken('resident', { username: 'petrova' });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  browser = await launchChromium('dashboard', {
    locale: 'ru-RU', // navigator.language → the dashboard starts in Russian
    viewport: { width: 1400, height: 1000 },
  });
  page = browser.page;
  page.on('pageerror', (e) => pageErrors.push(e.message));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

const byTestId = (id: string) => page.locator(`[data-testid="${id}"]`);

async function login(username: string, password: string) {
  await page.goto(`${base}/dashboard/`);
  await byTestId('login-form').waitFor();
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', password);
  await page.click('form[data-testid="login-form"] button[type="submit"]');
}

/** Series of an ECharts instance, read from the page (what the chart really holds). */
function chartSeries(testid: string) {
  return page.evaluate((id) => {
    // page.evaluate callbacks run in the browser; the test tsconfig has no DOM lib, hence globalThis.
    const g = globalThis as unknown as PageGlobals;
    const inst = g.echarts.getInstanceByDom(g.document.querySelector(`[data-testid="${id}"]`));
    if (!inst) return null;
    const o = inst.getOption();
    return { x: o.xAxis[0].data ?? null, series: o.series.map((s) => ({ id: s.id, name: s.name, type: s.type, data: s.data })) };
  }, testid);
}

describe('engineers dashboard in Chromium', () => {
  it('login through the form, buildings list with the month imbalance', async () => {
    await login('ivanov', 'password-123');
    await expect.poll(() => byTestId('whoami').textContent()).toContain('ivanov');
    await page.evaluate(() => { (globalThis as unknown as PageGlobals).location.hash = '#/?period=2025-01'; });
    const cell = byTestId(`imb-${a.buildingId}-heat`);
    await cell.waitFor();
    // The list of the month before stays on screen until January's arrives: wait for January's.
    await expect.poll(() => cell.textContent()).toContain('12,0 %');
    expect(await cell.locator('.badge').textContent()).toBe('большие потери');
    expect(await byTestId(`gw-${a.buildingId}`).textContent()).toBe('1 / 2');
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-buildings.png') });
  }, 60_000);

  it('building page: chart table and the ECharts instance hold ОДПУ 1000, Σ ИПУ 880, 12.0 %', async () => {
    await page.evaluate((id) => { (globalThis as unknown as PageGlobals).location.hash = `#/buildings/${id}?resource=heat&from=2024-12&to=2025-02`; }, a.buildingId);
    await byTestId('imb-row-2025-01').waitFor();
    expect(await byTestId('building-title').textContent()).toContain('ул. Ленина, 1');
    expect(await byTestId('imb-odpu-2025-01').getAttribute('data-value')).toBe('1000');
    expect(await byTestId('imb-ipu-2025-01').getAttribute('data-value')).toBe('880');
    expect(await byTestId('imb-pct-2025-01').getAttribute('data-value')).toBe('12');
    expect(await byTestId('imb-pct-2025-01').textContent()).toBe('12,0 %');
    expect(await byTestId('imb-odpu-2025-01').textContent()).toBe('1\u00a0000');
    expect(await byTestId('imb-status-2025-01').textContent()).toBe('большие потери');
    expect(await byTestId('imb-pct-2025-02').textContent()).toBe('5,0 %');

    const imb = await chartSeries('chart-imbalance');
    expect(imb).not.toBeNull();
    expect(imb!.series.map((s) => [s.id, s.type, s.data])).toEqual([
      ['odpu', 'bar', [1100, 1000, 900]],
      ['ipu', 'bar', [990, 880, 855]],
      ['pct', 'line', [10, 12, 5]],
    ]);
    expect(imb!.series[0].name).toBe('ОДПУ');

    // Daily consumption of the heat ОДПУ: differences of day-end registers, 1000 kWh in January + 900 in February.
    const daily = await chartSeries('chart-daily');
    const days = daily!.series[0].data as number[];
    expect(days).toHaveLength(59);
    expect(days.reduce((s, v) => s + v, 0)).toBeCloseTo(1900, 1);
    // Heat carrier: the last 7 days before the last reading, hourly; ΔT = flow − return.
    const heat = await chartSeries('chart-heat');
    const flow = heat!.series.find((s) => s.id === 'flow')!.data as [string, number][];
    const ret = heat!.series.find((s) => s.id === 'return')!.data as [string, number][];
    const dT = heat!.series.find((s) => s.id === 'deltaT')!.data as [string, number][];
    expect(flow).toHaveLength(48);
    expect(flow[0]).toEqual(['2025-02-27T00:00:00.000Z', 84]);
    expect(dT[0][1]).toBeCloseTo(flow[0][1] - ret[0][1], 6);
    expect((heat!.series.find((s) => s.id === 'power')!.data as [string, number][])[12][1]).toBe(140);

    // Meters: last verdict with translated reasons; gateways with outbox depth; open alerts.
    expect(await byTestId(`meter-reasons-${a.apt2}`).textContent()).toBe('показание уменьшилось');
    expect(await byTestId('gateway-row-gw-ov-1').textContent()).toContain('3');
    expect(await byTestId('alerts-table').locator('tbody tr').count()).toBe(2);
    // Unreviewed suspect/invalid readings of the building, from the validation routes.
    const flagged = byTestId('flagged-table').locator('tbody tr');
    expect(await flagged.count()).toBe(2);
    expect(await flagged.allTextContents()).toEqual([expect.stringContaining('пропуск данных'), expect.stringContaining('показание уменьшилось')]);
  }, 60_000);

  it('language toggle: EN then RU, remembered in localStorage; screenshot saved', async () => {
    await byTestId('lang-toggle').click();
    await expect.poll(() => byTestId('imb-th-odpu').textContent()).toBe('Building meter');
    expect(await byTestId('imb-pct-2025-01').textContent()).toBe('12.0 %');
    expect(await byTestId(`meter-reasons-${a.apt2}`).textContent()).toBe('register decreased');
    expect((await chartSeries('chart-imbalance'))!.series[0].name).toBe('Building meter');
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).localStorage.getItem('amr.dashboard.lang'))).toBe('en');
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-building-en.png'), fullPage: true });

    await byTestId('lang-toggle').click();
    await expect.poll(() => byTestId('imb-th-odpu').textContent()).toBe('ОДПУ');
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).localStorage.getItem('amr.dashboard.lang'))).toBe('ru');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-building.png'), fullPage: true });
    expect(existsSync(join(ARTIFACTS, 'dashboard-building.png'))).toBe(true);
    // Phone width: one column, the charts resize with the window.
    await page.setViewportSize({ width: 390, height: 844 });
    await expect.poll(() => page.evaluate(() => (globalThis as unknown as PageGlobals).echarts.getInstanceByDom((globalThis as unknown as PageGlobals).document.querySelector('[data-testid="chart-imbalance"]'))!.getWidth())).toBeLessThan(390);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-building-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1400, height: 1000 });
  }, 60_000);

  it('alerts: acknowledged from the building page (POST /alerts/:id/ack), shown with who after a reload', async () => {
    const row = page.locator('[data-testid="alerts-table"] tbody tr').first();
    await row.locator('button').click();
    await expect.poll(() => row.textContent()).toContain('Квитировал(а) ivanov');
    await page.reload();
    await byTestId('alerts-table').waitFor();
    const acked = (await h.opened.db.query('SELECT count(*)::int AS n FROM alerts WHERE acknowledged_by = $1', ['ivanov'])).rows[0].n;
    expect(acked).toBe(1);
    expect(await byTestId('alerts-table').textContent()).toContain('Квитировал(а) ivanov');
  }, 60_000);

  it('meter page: a correction becomes a new version showing who and why; a rejection shows who and why', async () => {
    await page.evaluate((id) => { (globalThis as unknown as PageGlobals).location.hash = `#/meters/${id}`; }, a.apt2);
    const key = '2025-01-20T00:00:00.000Z';
    await byTestId(`reading-${key}-v1`).waitFor();
    // the earlier correction seeded by SQL shows its author and reason
    expect(await byTestId('history-2025-01-10T00:00:00.000Z-v2').textContent()).toContain('eng');
    expect(await byTestId('history-2025-01-10T00:00:00.000Z-v2').textContent()).toContain('digits swapped');

    await byTestId(`correct-${key}-v1`).click();
    await byTestId('action-value').fill('219');
    await byTestId('action-reason').fill('misread on site');
    await byTestId('action-form-correct').locator('button[type="submit"]').click();
    await byTestId(`reading-${key}-v2`).waitFor();
    const history = await byTestId(`history-${key}-v2`).textContent();
    expect(history).toContain('ivanov');
    expect(history).toContain('misread on site');
    expect(await byTestId(`reading-${key}-v2`).textContent()).toContain('219');
    expect(await byTestId(`history-${key}-v1`).textContent()).toContain('заменено исправлением');
    const stored = (await h.opened.db.query("SELECT value, created_by, reason FROM readings WHERE meter_id = $1 AND time = '2025-01-20T00:00Z' ORDER BY version", [a.apt2])).rows;
    expect(stored).toEqual([{ value: 190, created_by: null, reason: null }, { value: 219, created_by: 'ivanov', reason: 'misread on site' }]);

    // A review without a reason is refused in the form, before any request.
    await byTestId('reject-2025-01-15T00:00:00.000Z-v1').click();
    await byTestId('action-form-reject').locator('button[type="submit"]').click();
    expect(await byTestId('action-reason').evaluate((el) => (el as unknown as PageField).validity.valid)).toBe(false);
    await byTestId('action-reason').fill('photo shows 212, register fine');
    await byTestId('action-form-reject').locator('button[type="submit"]').click();
    await expect.poll(() => byTestId('history-2025-01-15T00:00:00.000Z-v1').textContent()).toContain('отклонено: ivanov');
    expect(await byTestId('history-2025-01-15T00:00:00.000Z-v1').textContent()).toContain('photo shows 212, register fine');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-meter.png'), fullPage: true });
  }, 60_000);

  it('recompute from the building page: the imbalance routes recompute the shown months, the table shows the stored numbers', async () => {
    const before = (await h.opened.db.query("SELECT max(computed_at) AS t FROM imbalance_reports WHERE resource = 'heat'")).rows[0].t as Date;
    await page.evaluate((id) => { (globalThis as unknown as PageGlobals).location.hash = `#/buildings/${id}?resource=heat&from=2025-01&to=2025-01`; }, a.buildingId);
    await byTestId('imb-row-2025-01').waitFor();
    await byTestId('recompute').click();
    await expect.poll(async () => (await h.opened.db.query("SELECT max(computed_at) AS t FROM imbalance_reports WHERE resource = 'heat'")).rows[0].t.getTime()).toBeGreaterThan(before.getTime());
    const stored = (await h.opened.db.query(
      "SELECT building_consumption, apartments_consumption FROM imbalance_reports WHERE building_id = $1 AND resource = 'heat' AND period_kind = 'month' AND period_start = '2024-12-31T21:00Z'", [a.buildingId])).rows[0];
    await expect.poll(() => byTestId('imb-odpu-2025-01').getAttribute('data-value')).toBe(String(stored.building_consumption ?? ''));
    expect(await byTestId('imb-ipu-2025-01').getAttribute('data-value')).toBe(String(stored.apartments_consumption));
  }, 60_000);

  it('degrades to "—" where another service answers 404 (flagged list, readings series); the rest of the page stands', async () => {
    // Fault injection at the browser's network layer: the routes exist here, the point is the page's behaviour without them.
    const missing = (route: Route) => route.fulfill({ status: 404, contentType: 'application/json', body: JSON.stringify({ statusCode: 404, error: 'not_found', message: 'Route not found' }) });
    await page.route(/\/buildings\/\d+\/flagged\?/, missing);
    await page.route(/\/meters\/\d+\/readings\?/, missing);
    try {
      await page.evaluate((id) => { (globalThis as unknown as PageGlobals).location.hash = `#/buildings/${id}?resource=heat&from=2024-12&to=2025-02&x=1`; }, a.buildingId);
      await byTestId('flagged-none').waitFor();
      expect(await byTestId('flagged-none').textContent()).toBe('—');
      expect(await byTestId('daily-none').textContent()).toBe('—');
      expect(await byTestId('heat-none').textContent()).toBe('—');
      expect(await byTestId('imb-pct-2024-12').textContent()).toBe('10,0 %');
      expect(await byTestId('meters-table').locator('tbody tr').count()).toBe(4);
    } finally {
      await page.unrouteAll();
    }
  }, 60_000);

  it('a resident who logs in is told this is the engineers page', async () => {
    await byTestId('logout').click();
    await login('petrova', 'password-123');
    await byTestId('resident-notice').waitFor();
    expect(await byTestId('resident-notice').textContent()).toContain('страница для инженеров');
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
