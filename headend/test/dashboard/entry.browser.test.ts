/**
 * Staff reading entry in the engineers' dashboard, in Debian's Chromium against a real HTTP head-end
 * (embedded PGlite-TimescaleDB): an inspector types a premise number, enters its two meters at once,
 * is asked to confirm a consumption far above the meter's average, confirms, and the readings are
 * stored as staff readings; a refused value (below the previous) is marked on its own row and nothing
 * of the batch is saved; the building's own meters (ОДПУ) are entered the same way.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ARTIFACTS, launchChromium, type Browser } from '../browser.js';
import type { Queryable } from '../../src/api/queryable.js';
import { startHarness, type Harness } from '../api/harness.js';
import { fixedClock } from '../../src/util/clock.js';

/** The API's clock, stopped mid-month in Moscow (never today's date): the entry's period starts on the 1st. */
const NOW = new Date('2026-10-14T12:00:00+03:00');
const DAY = 86_400_000;

let h: Harness;
let base: string;
let browser: Browser;
let page: Page;
let pageErrors: string[] = [];
const ids: Record<string, number> = {};

// Plain JS served as-is to the browser; imported by a computed specifier (the test tsconfig has no allowJs).
let entry: any;
interface EntryHelpers {
  parseValue(text: string): number | null;
  matchPremises(ps: Array<{ id: number; number: string }>, typed: string): Array<{ id: number; number: string }>;
  metersOf(ms: Array<{ id: number; premise_id: number | null; status: string }>, target: string): Array<{ id: number }>;
  detailsByMeter(details: Array<{ path?: string; message: string }>, submitted: Array<{ meter_id: number }>): Map<number, string[]>;
}
const { detailsByMeter, matchPremises, metersOf, parseValue } = new Proxy({}, { get: (_t, k: string) => (...a: unknown[]) => entry[k](...a) }) as EntryHelpers;

const one = async (q: Queryable, sql: string, params: unknown[]) => Number((await q.query(sql, params)).rows[0].id);

beforeAll(async () => {
  entry = await import(/* @vite-ignore */ `${'../../dashboard/views/'}entry.js`);
  h = await startHarness({ clock: fixedClock(NOW) });
  const q = h.opened.db;
  const org = await one(q, "INSERT INTO organisations (name) VALUES ('УК Ввод') RETURNING id", []);
  ids.building = await one(q, "INSERT INTO buildings (org_id, external_id, address, city, timezone) VALUES ($1, 'ENTRY-1', 'ул. Мира, 7', 'Казань', 'Europe/Moscow') RETURNING id", [org]);
  const premise = (n: string) => one(q, 'INSERT INTO premises (building_id, number) VALUES ($1, $2) RETURNING id', [ids.building, n]);
  ids.p2 = await premise('2');
  ids.p12 = await premise('12');
  ids.p1 = await premise('1');
  const meter = (placement: string, premiseId: number | null, resource: string, serial: string) => one(q,
    `INSERT INTO meters (placement, building_id, premise_id, resource, make, serial_number) VALUES ($1, $2, $3, $4, 'Test', $5) RETURNING id`,
    [placement, ids.building, premiseId, resource, serial]);
  ids.cold12 = await meter('apartment', ids.p12, 'cold_water', 'ХВ-12');
  ids.hot12 = await meter('apartment', ids.p12, 'hot_water', 'ГВ-12');
  ids.cold1 = await meter('apartment', ids.p1, 'cold_water', 'ХВ-1');
  ids.odpuCold = await meter('building', null, 'cold_water', 'ОДПУ-ХВ');
  // History before the current period: 3 m³ a month on ХВ-12, 2 on ГВ-12 (previous 106 and 56).
  const now = NOW.getTime();
  for (const [m, vals] of [[ids.cold12, [100, 103, 106]], [ids.hot12, [50, 52, 54]], [ids.cold1, [10, 11, 12]]] as const) {
    for (const [i, v] of vals.entries()) {
      await q.query(`INSERT INTO readings (meter_id, time, quantity, value, unit, source) VALUES ($1, $2, 'volume_m3', $3, 'm3', 'resident')`,
        [m, new Date(now - (40 + 30 * (2 - i)) * DAY), v]);
    }
  }
  // A window that holds every day: the test never depends on today's date.
  await q.query(`INSERT INTO collection_settings (building_id, resource, enabled, window_start_day, window_end_day, integer_only, accept_expired_verification, reminder_days, warn_factor)
                 VALUES ($1, NULL, true, 1, 31, false, false, '{}', 3)`, [ids.building]);
  await h.userToken('operator', { buildingIds: [ids.building], username: 'obhodchik' });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  browser = await launchChromium('entry', { locale: 'ru-RU', viewport: { width: 390, height: 844 } }); // the inspector's phone
  page = browser.page;
  pageErrors = browser.pageErrors;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

const byTestId = (id: string) => page.locator(`[data-testid="${id}"]`);
const stored = async (meterId: number) => (await h.opened.db.query<{ value: number; source: string; created_by: string; reason: string | null }>(
  `SELECT value, source, created_by, reason FROM readings WHERE meter_id = $1 ORDER BY time DESC, version DESC LIMIT 1`, [meterId])).rows[0];

describe('entry view: pure helpers', () => {
  it('parses a Russian decimal comma, refuses words, leaves empty as nothing', () => {
    expect(parseValue('12,5')).toBe(12.5);
    expect(parseValue(' 1 234.75 ')).toBe(1234.75);
    expect(parseValue('')).toBeNull();
    expect(parseValue('12а')).toBeNaN();
  });
  it('premises by typed prefix in natural order; meters of a premise or of the building', () => {
    const ps = [{ id: 3, number: '10' }, { id: 1, number: '2' }, { id: 2, number: '1' }];
    expect(matchPremises(ps, '').map((p) => p.number)).toEqual(['1', '2', '10']);
    expect(matchPremises(ps, '1').map((p) => p.number)).toEqual(['1', '10']);
    const ms = [{ id: 1, premise_id: 3, status: 'active' }, { id: 2, premise_id: null, status: 'active' }, { id: 3, premise_id: 3, status: 'removed' }];
    expect(metersOf(ms, '3').map((m) => m.id)).toEqual([1]);
    expect(metersOf(ms, 'building').map((m) => m.id)).toEqual([2]);
  });
  it('maps API details "readings.N" back to the N-th submitted meter', () => {
    const m = detailsByMeter([{ path: 'readings.1', message: 'too low' }, { message: 'no path' }], [{ meter_id: 7 }, { meter_id: 9 }]);
    expect([...m]).toEqual([[9, ['too low']]]);
  });
});

describe('staff reading entry in Chromium', () => {
  it('operator signs in, opens the building, types a flat number: its two meters are listed with the last readings', async () => {
    await page.goto(`${base}/dashboard/#/buildings/${ids.building}`);
    await page.fill('input[name="username"]', 'obhodchik');
    await page.fill('input[name="password"]', 'password-123');
    await page.click('form[data-testid="login-form"] button[type="submit"]');
    await byTestId('open-entry').click();
    await byTestId('premise-search').fill('12');
    await byTestId(`entry-row-${ids.cold12}`).waitFor();
    expect(await byTestId('entry-table').locator('tbody tr').count()).toBe(2);
    expect(await byTestId(`entry-row-${ids.cold12}`).textContent()).toContain('106');
    expect(await byTestId(`entry-row-${ids.cold12}`).textContent()).toContain('жилец');
  }, 60_000);

  it('a value below the previous is marked on its row and nothing of the batch is saved', async () => {
    await byTestId(`entry-value-${ids.cold12}`).fill('109');
    await byTestId(`entry-value-${ids.hot12}`).fill('50');
    await byTestId('entry-submit').click();
    await byTestId('entry-error').waitFor();
    expect(await byTestId(`entry-error-${ids.hot12}`).textContent()).toContain('less than the previous reading 54');
    expect(await byTestId(`entry-error-${ids.cold12}`).textContent()).toBe('');
    expect((await stored(ids.cold12)).value).toBe(106);
  }, 60_000);

  it('high consumption asks to confirm; confirmed readings are saved as staff readings with the basis', async () => {
    await byTestId(`entry-value-${ids.hot12}`).fill('56,5');
    await byTestId(`entry-value-${ids.cold12}`).fill('160');
    await byTestId('entry-reason').fill('акт обхода №5');
    await byTestId('entry-submit').click();
    await byTestId('entry-warning').waitFor();
    expect(await byTestId(`entry-error-${ids.cold12}`).textContent()).toContain('average');
    expect((await stored(ids.cold12)).value).toBe(106); // not saved before the confirmation
    await byTestId('entry-confirm').click();
    await byTestId(`entry-saved-${ids.cold12}`).waitFor();
    expect(await byTestId(`entry-saved-${ids.cold12}`).textContent()).toContain('160');
    expect(await byTestId(`entry-saved-${ids.hot12}`).textContent()).toContain('56,5');
    expect(await stored(ids.cold12)).toMatchObject({ value: 160, source: 'staff', created_by: 'obhodchik', reason: 'акт обхода №5' });
    expect(await stored(ids.hot12)).toMatchObject({ value: 56.5, source: 'staff' });
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-entry-phone.png'), fullPage: true });
  }, 60_000);

  it('the building meters (ОДПУ) are entered from the same view', async () => {
    await byTestId('premise-search').fill('');
    await byTestId('premise-select').selectOption('building');
    await byTestId(`entry-value-${ids.odpuCold}`).fill('5000');
    await byTestId('entry-submit').click();
    await byTestId(`entry-saved-${ids.odpuCold}`).waitFor();
    expect(await stored(ids.odpuCold)).toMatchObject({ value: 5000, source: 'staff' });
    expect(await byTestId('entry-table').locator('tbody tr').count()).toBe(1);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
