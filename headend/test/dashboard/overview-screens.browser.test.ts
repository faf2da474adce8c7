/**
 * The engineer's overview screens (buildings, building, meter) in Chromium against the real API on an
 * embedded database, seeded with known numbers (seed.ts) and a stopped clock (10 March 2025). Proves:
 * the meter page's date range drives both its chart and its table (values worked out by hand from the
 * seed), an empty period says so instead of drawing zeros, a building with many open alerts stays short
 * on a phone, months and units read in the user's language, another organisation's meter stays hidden,
 * and each screen passes the screen check (RU/EN × desktop/phone, axe, no sideways scroll, no raw keys).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PageGlobals } from '../browser.js';
import { fixedClock } from '../../src/util/clock.js';
import { checkScreen, startConsole, type Console } from './console.js';
import { seedBuilding, type SeededBuilding } from './seed.js';

const NOW = '2025-03-10T12:00:00Z';
/** The shared 2-core machine can be slow to draw: wait for what the page shows, up to this long. */
const POLL = { timeout: 15_000 };
let c: Console;
let a: SeededBuilding;

beforeAll(async () => {
  c = await startConsole('overview-screens', { clock: fixedClock(NOW) });
  a = await seedBuilding(c.h.opened.db, { address: 'ул. Ленина, 1', externalId: 'OVS-A', now: new Date(NOW) });
  const other = (await c.h.opened.db.query("INSERT INTO buildings (org_id, address) VALUES ($1, 'ул. Чужая, 9') RETURNING id", [a.orgId])).rows[0].id;
  await c.h.userToken('engineer', { buildingIds: [a.buildingId], username: 'eng-ov' });
  await c.h.userToken('engineer', { buildingIds: [Number(other)], username: 'eng-other' });
}, 120_000);

afterAll(async () => { await c?.close(); });

/** The ECharts instance on a test id: x labels, axis names and series as the chart holds them. */
function chart(testid: string) {
  return c.page.evaluate((id) => {
    const g = globalThis as unknown as PageGlobals;
    const inst = g.echarts.getInstanceByDom(g.document.querySelector(`[data-testid="${id}"]`));
    if (!inst) return null;
    const o = inst.getOption() as unknown as { xAxis: { data?: string[] }[]; yAxis: { name?: string }[]; series: { id: string; name: string; data: unknown[] }[] };
    return { x: o.xAxis[0].data ?? null, axes: o.yAxis.map((y) => y.name ?? null), series: o.series.map((s) => ({ id: s.id, name: s.name, data: s.data })) };
  }, testid);
}

const meterRoute = (from: string, to: string) => `/meters/${a.apt2}?from=${from}&to=${to}`;

describe('overview screens', () => {
  it('meter page: the date range changes the chart and the table; an empty period says "no data", a reversed one says how to fix it', async () => {
    await c.signIn('eng-ov');
    await c.setLanguage('ru');
    // 12–31 January (Moscow): readings of 15 Jan (212) and 20 Jan (190); the one before is 10 Jan, corrected to 205.
    await c.open(meterRoute('2025-01-12', '2025-01-31'), 'readings-table');
    const rows = c.byTestId('readings-table').locator('tbody tr');
    expect(await rows.count()).toBe(2);
    expect(await c.byTestId('consumption-2025-01-15T00:00:00.000Z-v1').getAttribute('data-value')).toBe('7');
    expect(await c.byTestId('consumption-2025-01-20T00:00:00.000Z-v1').getAttribute('data-value')).toBe('-22');
    expect(await c.byTestId('consumption-2025-01-15T00:00:00.000Z-v1').textContent()).toBe('7 кВт·ч');
    expect(await c.byTestId('meter-total').getAttribute('data-value')).toBe('-15');
    await expect.poll(() => chart('meter-chart'), POLL).not.toBeNull();
    const jan = (await chart('meter-chart'))!;
    expect(jan.x).toHaveLength(20);
    expect(jan.x![0]).toBe('12.01.2025');
    expect(jan.axes).toEqual(['кВт·ч']);
    expect(jan.series[0].name).toBe('Расход, кВт·ч');
    expect(jan.series[0].data).toEqual([null, null, null, 7, null, null, null, null, -22, ...Array(11).fill(null)]);

    // Typing another start: 1–31 January adds 10 January (both versions, the replaced one struck through, no consumption before it).
    await c.byTestId('range-from').fill('2025-01-01');
    await expect.poll(() => rows.count(), POLL).toBe(4);
    expect(await c.byTestId('reading-2025-01-10T00:00:00.000Z-v1').getAttribute('class')).toBe('superseded');
    expect(await c.byTestId('consumption-2025-01-10T00:00:00.000Z-v2').textContent()).toBe('—');
    expect(await c.byTestId('history-2025-01-10T00:00:00.000Z-v2').textContent()).toContain('digits swapped');
    await expect.poll(async () => (await chart('meter-chart'))?.x?.length, POLL).toBe(31);
    expect(c.page.url()).toContain('from=2025-01-01');

    // March has no reading: no axis, no zeros — the words.
    await c.open(meterRoute('2025-03-01', '2025-03-31'), 'readings-empty');
    expect(await c.byTestId('meter-chart-empty').textContent()).toBe('Нет данных за этот период');
    expect(await c.byTestId('readings-empty').textContent()).toBe('Нет показаний за этот период');
    expect(await c.page.locator('[data-testid="meter-chart"]').count()).toBe(0);
    expect(await c.byTestId('meter-total').count()).toBe(0);
    await c.setLanguage('en');
    await expect.poll(() => c.byTestId('meter-chart-empty').textContent(), POLL).toBe('No data for this period');

    await c.open(meterRoute('2025-02-01', '2025-01-01'), 'range-error');
    expect(await c.byTestId('range-error').textContent()).toContain('swap the dates');
    await c.setLanguage('ru');
  }, 60_000);

  it('building page: months and units in the user\'s language, axes named like the legends', async () => {
    await c.open(`/buildings/${a.buildingId}?resource=heat&from=2024-12&to=2025-02`, 'imb-row-2025-01');
    await expect.poll(() => chart('chart-imbalance'), POLL).not.toBeNull();
    let imb = (await chart('chart-imbalance'))!;
    expect(imb.x).toEqual(['декабрь 2024', 'январь 2025', 'февраль 2025']);
    expect(imb.axes).toEqual(['кВт·ч', '%']);
    expect(await c.byTestId('imb-row-2025-01').locator('td').first().textContent()).toBe('январь 2025');
    expect(await c.byTestId('from').locator('option:checked').textContent()).toBe('декабрь 2024');
    expect(await c.byTestId('imbalance-card').locator('h2').textContent()).toBe('ОДПУ vs Σ ИПУ · тепло, кВт·ч');
    const heat = (await chart('chart-heat'))!;
    expect(heat.axes).toEqual(['°C', 'м³/ч', 'кВт']);
    expect(heat.series.find((s) => s.id === 'power')!.name).toBe('Мощность, кВт');
    expect((await chart('chart-daily'))!.axes).toEqual(['кВт·ч']);
    expect(await c.byTestId(`meter-row-${a.heatOdpu}`).textContent()).toContain('кВт·ч');

    await c.setLanguage('en');
    await expect.poll(async () => (await chart('chart-imbalance'))?.x, POLL).toEqual(['December 2024', 'January 2025', 'February 2025']);
    imb = (await chart('chart-imbalance'))!;
    expect(imb.axes).toEqual(['kWh', '%']);
    expect((await chart('chart-heat'))!.series.find((s) => s.id === 'power')!.name).toBe('Power, kW');
    expect(await c.byTestId('to').locator('option:checked').textContent()).toBe('February 2025');
    expect(await c.page.title()).toContain('ул. Ленина, 1');
    await c.setLanguage('ru');
  }, 60_000);

  it('building page on a phone: 40 more open alerts collapse into a count and the first three; the page stays short', async () => {
    await c.h.opened.db.query(
      `INSERT INTO alerts (kind, subject, building_id, meter_id, resource, severity, message)
       SELECT 'meter_silent', 'meter:test:' || i, $1, $2, 'heat', 'warning', 'meter silent #' || i FROM generate_series(1, 40) i`, [a.buildingId, a.apt10]);
    await c.page.setViewportSize({ width: 390, height: 844 });
    try {
      // The building page loads once per building and period: leave it first, so it loads the new alerts
      // (the earlier test may still show this very building and period).
      await c.open('/', 'buildings-table');
      await c.open(`/buildings/${a.buildingId}?resource=heat&from=2024-12&to=2025-02&n=40`, 'alerts-table');
      await expect.poll(() => c.byTestId('alerts-count').textContent(), POLL).toBe('42');
      expect(await c.byTestId('alerts-table').locator('tbody tr').count()).toBe(3);
      expect(await c.byTestId('alerts-more').textContent()).toBe('и ещё 39 тревог — «Показать все»');
      const height = () => c.page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollHeight: number; scrollWidth: number } } }).document.documentElement.scrollHeight);
      expect(await height()).toBeLessThan(6000);
      const width = await c.page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
      expect(width).toBeLessThanOrEqual(390);
      // Everything is one tap away, and folds back.
      await c.byTestId('alerts-toggle').click();
      await expect.poll(() => c.byTestId('alerts-table').locator('tbody tr').count(), POLL).toBe(42);
      expect(c.page.url()).toContain('alerts=all');
      await c.byTestId('alerts-toggle').click();
      await expect.poll(() => c.byTestId('alerts-table').locator('tbody tr').count(), POLL).toBe(3);
      expect(await height()).toBeLessThan(6000);
    } finally {
      await c.page.setViewportSize({ width: 1366, height: 768 });
    }
  }, 60_000);

  it('screen check: buildings, building and meter in RU and EN, desktop and phone', async () => {
    const buildings = await checkScreen(c, 'overview-buildings', '/?period=2025-01', `imb-${a.buildingId}-heat`);
    const building = await checkScreen(c, 'overview-building', `/buildings/${a.buildingId}?resource=heat&from=2024-12&to=2025-02`, 'imb-row-2025-01',
      (p) => p.locator('[data-testid="chart-imbalance"] canvas').first().waitFor());
    const meter = await checkScreen(c, 'overview-meter', meterRoute('2025-01-01', '2025-01-31'), 'readings-table',
      (p) => p.locator('[data-testid="meter-chart"] canvas').first().waitFor());
    expect([...buildings.problems, ...building.problems, ...meter.problems]).toEqual([]);
    expect(buildings.shots.length + building.shots.length + meter.shots.length).toBe(12);
  }, 120_000);

  it('an engineer of another building sees neither this building nor its meter', async () => {
    await c.signIn('eng-other');
    await c.open('/?period=2025-01', 'buildings-table');
    expect(await c.byTestId(`building-row-${a.buildingId}`).count()).toBe(0);
    await c.open(meterRoute('2025-01-01', '2025-01-31'), 'error');
    expect(await c.page.locator('main').textContent()).not.toContain('HM-2');
    await c.open(`/buildings/${a.buildingId}`, 'error');
    expect(await c.page.locator('main').textContent()).not.toContain('Ленина');
    expect(c.browser.pageErrors).toEqual([]);
  }, 60_000);
});
