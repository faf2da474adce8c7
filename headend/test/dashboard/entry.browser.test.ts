/**
 * Staff reading entry in the engineers' dashboard, in Debian's Chromium against a real HTTP head-end
 * (embedded PGlite-TimescaleDB): an inspector types a premise number, enters its two meters at once,
 * is asked to confirm a consumption far above the meter's average, confirms, and the readings are
 * stored as staff readings; a refused value (below the previous) is marked on its own row and nothing
 * of the batch is saved; the building's own meters (ОДПУ) are entered the same way. The building has
 * flats 1–100: typing "1" picks flat 1 (not 10–19), typing "3" then "1" shows flat 1's meters (never
 * flat 3's), and the list offers every flat the typed number starts. Flat 1's two-zone electricity
 * meter has a day and a night input, each with its zone's last value and its own refusals and warnings,
 * and is stored as the day and night registers. A value typed for flat 10 lands on flat 10's meter only,
 * and a stale list (picker moved, cards not) is never sent. Cards fit a 390 px phone (RU and EN; a
 * desktop too), refusals read in the user's language without internal ids. Without signal entries are
 * queued in localStorage, survive a reload, are sent once connected, and a lost answer's re-send adds
 * no second version.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ARTIFACTS, launchChromium, type Browser, type PageGlobals } from '../browser.js';
import type { Queryable } from '../../src/db/types.js';
import { startHarness, type Harness } from '../api/harness.js';
import { fixedClock } from '../../src/util/clock.js';
import { checkScreen, startConsole, type Console } from './console.js';
import { seedBuilding } from './seed.js';

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
// Its functions are called by name through the proxy below, typed there (EntryHelpers).
let entry: Record<string, (...args: unknown[]) => unknown>;
interface EntryHelpers {
  parseValue(text: string): number | null;
  matchPremises(ps: Array<{ id: number; number: string }>, typed: string): Array<{ id: number; number: string }>;
  metersOf(ms: Array<{ id: number; premise_id: number | null; status: string }>, target: string): Array<{ id: number }>;
  detailsByMeter(details: Array<{ path?: string; message: string }>, submitted: Array<{ meter_id: number; zone?: number }>): Map<number, string[]>;
  detailsByField(details: Array<{ path?: string; message: string }>, submitted: Array<{ meter_id: number; zone?: number }>): Map<string, string[]>;
  exactPremise(ps: Array<{ id: number; number: string }>, typed: string): { id: number; number: string } | undefined;
  zonesOf(m: { zones?: number }): number[];
}
const { detailsByField, detailsByMeter, exactPremise, matchPremises, metersOf, parseValue, zonesOf } = new Proxy({}, { get: (_t, k: string) => (...a: unknown[]) => entry[k](...a) }) as EntryHelpers;

const one = async (q: Queryable, sql: string, params: unknown[]) => Number((await q.query(sql, params)).rows[0].id);

beforeAll(async () => {
  entry = await import(/* @vite-ignore */ `${'../../dashboard/screens/entry/'}fields.js`);
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
  // Flats 1–100 in all (1, 2 and 12 above): flats 3, 5 and 10 have a cold-water meter each, flat 4 a cold and a hot one, flat 1 also a day/night electricity meter.
  for (let n = 3; n <= 100; n++) if (n !== 12) ids[`p${n}`] = await premise(String(n));
  ids.cold3 = await meter('apartment', ids.p3, 'cold_water', 'ХВ-3');
  ids.cold10 = await meter('apartment', ids.p10, 'cold_water', 'ХВ-10');
  ids.cold4 = await meter('apartment', ids.p4, 'cold_water', 'ХВ-4');
  ids.hot4 = await meter('apartment', ids.p4, 'hot_water', 'ГВ-4');
  ids.cold5 = await meter('apartment', ids.p5, 'cold_water', 'ХВ-5');
  ids.el1 = await meter('apartment', ids.p1, 'electricity', 'ЭЛ-1');
  await q.query('UPDATE meters SET zones = 2 WHERE id = $1', [ids.el1]);
  // History before the current period: 3 m³ a month on ХВ-12, 2 on ГВ-12 (previous 106 and 56).
  const now = NOW.getTime();
  // ЭЛ-1: day 60, 80, 100 (≈ 20 kWh a month), night 40, 45, 50 (≈ 5 kWh a month), at the same three instants.
  const series = [[ids.cold12, 'volume_m3', [100, 103, 106]], [ids.hot12, 'volume_m3', [50, 52, 54]], [ids.cold1, 'volume_m3', [10, 11, 12]],
    [ids.el1, 'energy_t1_kwh', [60, 80, 100]], [ids.el1, 'energy_t2_kwh', [40, 45, 50]]] as const;
  for (const [m, quantity, vals] of series) {
    for (const [i, v] of vals.entries()) {
      await q.query(`INSERT INTO readings (meter_id, time, quantity, value, unit, source) VALUES ($1, $2, $3, $4, $5, 'resident')`,
        [m, new Date(now - (40 + 30 * (2 - i)) * DAY), quantity, v, quantity === 'volume_m3' ? 'm3' : 'kWh']);
    }
  }
  // A window that holds every day: the test never depends on today's date.
  await q.query(`INSERT INTO collection_settings (building_id, resource, enabled, window_start_day, window_end_day, integer_only, accept_expired_verification, reminder_days, warn_factor)
                 VALUES ($1, NULL, true, 1, 31, false, false, '{}', 3)`, [ids.building]);
  await h.userToken('operator', { buildingIds: [ids.building], username: 'obhodchik' });
  await h.userToken('operator', { buildingIds: [ids.building], username: 'obhodchik2' }); // shares the phone
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
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });
const stored = async (meterId: number) => (await h.opened.db.query<{ value: number; source: string; created_by: string; reason: string | null }>(
  `SELECT value, source, created_by, reason FROM readings WHERE meter_id = $1 ORDER BY time DESC, version DESC LIMIT 1`, [meterId])).rows[0];
/** Every stored version of a meter's readings (a re-send must add none). */
const versions = async (meterId: number) => Number((await h.opened.db.query<{ n: number }>('SELECT count(*)::int AS n FROM readings WHERE meter_id = $1', [meterId])).rows[0].n);

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
  it('a typed number picks the premise with exactly that number: "1" is flat 1 among 10–19, never flat 10', () => {
    const ps = [{ id: 3, number: '10' }, { id: 1, number: '2' }, { id: 2, number: '1' }, { id: 4, number: '1А' }];
    expect(exactPremise(ps, '1')?.id).toBe(2);
    expect(exactPremise(ps, ' 10 ')?.id).toBe(3);
    expect(exactPremise(ps, '1а')?.id).toBe(4); // letters in either case
    expect(exactPremise(ps, '3')).toBeUndefined();
    expect(exactPremise(ps, '')).toBeUndefined();
  });
  it('a zone meter has one field per zone; a refusal at readings.N goes to the zone of the N-th item', () => {
    expect([zonesOf({ zones: 1 }), zonesOf({}), zonesOf({ zones: 2 }), zonesOf({ zones: 3 })]).toEqual([[], [], [1, 2], [1, 2, 3]]);
    const sent = [{ meter_id: 7 }, { meter_id: 9, zone: 1 }, { meter_id: 9, zone: 2 }];
    const details = [{ path: 'readings.2', message: 'night too low' }, { path: 'readings.0', message: 'cold too low' }];
    expect([...detailsByField(details, sent)]).toEqual([['9-2', ['night too low']], ['7', ['cold too low']]]);
    expect([...detailsByMeter(details, sent)]).toEqual([[9, ['night too low']], [7, ['cold too low']]]);
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
    expect(await byTestId('entry-table').locator('.meter-card').count()).toBe(2);
    expect(await byTestId(`entry-row-${ids.cold12}`).textContent()).toContain('106');
    expect(await byTestId(`entry-row-${ids.cold12}`).textContent()).toContain('жилец');
  }, 60_000);

  it('a value below the previous is marked on its row and nothing of the batch is saved', async () => {
    await byTestId(`entry-value-${ids.cold12}`).fill('109');
    await byTestId(`entry-value-${ids.hot12}`).fill('50');
    await byTestId('entry-submit').click();
    await byTestId('entry-error').waitFor();
    expect(await byTestId(`entry-error-${ids.hot12}`).textContent()).toBe('Показание 50 меньше предыдущего (54)');
    expect(await byTestId(`entry-error-${ids.cold12}`).textContent()).toBe('');
    expect((await stored(ids.cold12)).value).toBe(106);
  }, 60_000);

  it('high consumption asks to confirm; confirmed readings are saved as staff readings with the basis', async () => {
    await byTestId(`entry-value-${ids.hot12}`).fill('56,5');
    await byTestId(`entry-value-${ids.cold12}`).fill('160');
    await byTestId('entry-reason').fill('акт обхода №5');
    await byTestId('entry-submit').click();
    await byTestId('entry-warning').waitFor();
    expect(await byTestId(`entry-error-${ids.cold12}`).textContent()).toContain('превышает средний');
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
    expect(await byTestId('entry-table').locator('.meter-card').count()).toBe(1);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('the picker: flats 1–100 are all listed; typing "1" picks flat 1 (not 10); "3" then "1" shows flat 1; a flat chosen from the list', async () => {
    const rows = () => byTestId('entry-table').locator('.meter-card').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-testid')));
    const options = () => byTestId('premise-select').locator('option').allTextContents();
    await byTestId('premise-search').fill('');
    expect(await options()).toHaveLength(2 + 100); // "choose", the building's meters and every flat
    await byTestId('premise-search').fill('1');
    // The list offers flat 1 and 10–19 (the typed number starts them), flat 1 is the one picked.
    expect(await options()).toEqual(['— выберите —', 'Общедомовые приборы (ОДПУ)', 'Кв. 1', ...Array.from({ length: 10 }, (_, i) => `Кв. ${10 + i}`), 'Кв. 100']);
    expect(await byTestId('premise-select').inputValue()).toBe(String(ids.p1));
    await poll(rows).toEqual([`entry-row-${ids.cold1}`, `entry-row-${ids.el1}`]);

    await byTestId('premise-search').fill('3');
    expect(await byTestId('premise-select').inputValue()).toBe(String(ids.p3));
    await poll(rows).toEqual([`entry-row-${ids.cold3}`]);
    await byTestId('premise-search').fill('1');
    await poll(rows).toEqual([`entry-row-${ids.cold1}`, `entry-row-${ids.el1}`]); // flat 1's, not flat 3's left over
    expect(await byTestId(`entry-row-${ids.cold3}`).count()).toBe(0);

    // Chosen from the list: flat 10; the box says 10, the table is flat 10's.
    await byTestId('premise-select').selectOption(String(ids.p10));
    expect(await byTestId('premise-search').inputValue()).toBe('10');
    await poll(rows).toEqual([`entry-row-${ids.cold10}`]);
    // A number no flat has: nothing picked, no table of the flat before.
    await byTestId('premise-search').fill('999');
    await byTestId('entry-pick-first').waitFor();
    expect(await byTestId('entry-table').count()).toBe(0);
    expect(await byTestId('premise-select').inputValue()).toBe('');
  }, 60_000);

  it('a day/night meter: an input per zone with its last value; a refusal and a warning under the night input; saved as the day and night registers', async () => {
    const day = `${ids.el1}-1`;
    const night = `${ids.el1}-2`;
    const zoneRows = async () => (await h.opened.db.query<{ quantity: string; value: number; source: string; created_by: string; version: number }>(
      `SELECT quantity, value, source, created_by, version FROM readings WHERE meter_id = $1 AND time > $2::timestamptz - interval '35 days' ORDER BY quantity, version`, [ids.el1, NOW])).rows;
    const calls: string[] = [];
    const onRequest = (r: { url(): string }) => { calls.push(r.url()); };
    page.on('request', onRequest);
    await byTestId('premise-search').fill('1');
    await byTestId(`entry-row-${ids.el1}`).waitFor();
    expect(await byTestId(`entry-row-${ids.el1}`).locator('input.value').count()).toBe(2);
    expect(await byTestId(`entry-value-${ids.el1}`).count()).toBe(0); // no input for the meter as a whole
    expect(await byTestId(`entry-row-${ids.el1}`).locator('label.zone .zone-name').allTextContents()).toEqual(['День', 'Ночь']);
    // The last of each register (40 days ago: day 100, night 50), from the building overview (no call per zone).
    await poll(() => byTestId(`entry-last-${day}`).textContent()).toBe('День: 100 кВт·ч');
    await poll(() => byTestId(`entry-last-${night}`).textContent()).toBe('Ночь: 50 кВт·ч');
    // Picking the flat asked the server nothing: a phone in a stairwell waits for no call per zone.
    page.off('request', onRequest);
    expect(calls.filter((u) => u.includes('/meters/'))).toEqual([]);

    // Day only: the night is asked for in the page, nothing sent.
    await byTestId(`entry-value-${day}`).fill('130');
    await byTestId('entry-submit').click();
    await poll(() => byTestId(`entry-error-${night}`).textContent()).toBe('нужно показание и этой зоны: многотарифный прибор вводится по всем зонам сразу');
    expect(await byTestId(`entry-error-${day}`).textContent()).toBe('');

    // Night 40 < 50 (no register digits: no rollover): refused under the night input, the day input clean, nothing saved.
    await byTestId(`entry-value-${night}`).fill('40');
    await byTestId('entry-submit').click();
    await poll(() => byTestId(`entry-error-${night}`).textContent()).toBe('Показание 40 меньше предыдущего (50)');
    expect(await byTestId(`entry-error-${day}`).textContent()).toBe('');
    expect(await byTestId(`entry-error-${ids.el1}`).textContent()).toBe('');
    expect(await zoneRows()).toEqual([]);

    // Night 80: 30 kWh since 40 days ago (at most 1.32 months → ≥ 22.7 a month) against ≈ 5 a month: more than 3×, confirm.
    // Day 130: 30 kWh against ≈ 20 a month (3× = 60): no warning on the day input.
    await byTestId(`entry-value-${night}`).fill('80');
    await byTestId('entry-submit').click();
    await byTestId('entry-warning').waitFor();
    expect(await byTestId(`entry-error-${night}`).textContent()).toContain('превышает средний');
    expect(await byTestId(`entry-error-${day}`).textContent()).toBe('');
    expect(await zoneRows()).toEqual([]);
    await byTestId('entry-confirm').click();
    await byTestId(`entry-saved-${night}`).waitFor();
    expect(await byTestId(`entry-saved-${day}`).textContent()).toContain('ЭЛ-1 День: 130');
    expect(await byTestId(`entry-saved-${night}`).textContent()).toContain('ЭЛ-1 Ночь: 80');
    expect(await zoneRows()).toEqual([
      { quantity: 'energy_t1_kwh', value: 130, source: 'staff', created_by: 'obhodchik', version: 1 },
      { quantity: 'energy_t2_kwh', value: 80, source: 'staff', created_by: 'obhodchik', version: 1 },
    ]);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-entry-zones.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('100 flats: flat 1 then 10 shows only that flat\'s meters; the value goes to flat 10\'s meter, nothing to flat 1\'s; a stale list is never sent', async () => {
    const cards = () => byTestId('entry-table').locator('.meter-card').evaluateAll((cs) => cs.map((c) => c.getAttribute('data-testid')));
    await byTestId('premise-search').fill('1');
    await poll(cards).toEqual([`entry-row-${ids.cold1}`, `entry-row-${ids.el1}`]);
    expect(await byTestId('entry-target').textContent()).toBe('Кв. 1 · ул. Мира, 7');
    await byTestId(`entry-value-${ids.cold1}`).fill('13');
    await byTestId('premise-search').fill('10');
    await poll(cards).toEqual([`entry-row-${ids.cold10}`]);
    expect(await byTestId('entry-target').textContent()).toBe('Кв. 10 · ул. Мира, 7');
    await byTestId('premise-search').fill('1');
    expect(await byTestId(`entry-value-${ids.cold1}`).inputValue()).toBe(''); // changing the flat cleared flat 1's input
    await byTestId('premise-search').fill('10');
    await byTestId(`entry-value-${ids.cold10}`).fill('5');
    // The picker moved to flat 1 without the cards being redrawn (a stale list): refused in the page, nothing sent.
    await page.evaluate((p1) => { ((globalThis as unknown as PageGlobals).document.querySelector('[data-testid="premise-select"]') as { value: string }).value = p1; }, String(ids.p1));
    await byTestId('entry-submit').click();
    await poll(() => byTestId('entry-error').textContent()).toMatch(/^Список приборов не совпадает с выбранной квартирой/);
    expect(await stored(ids.cold10)).toBeUndefined();
    await page.evaluate((p10) => { ((globalThis as unknown as PageGlobals).document.querySelector('[data-testid="premise-select"]') as { value: string }).value = p10; }, String(ids.p10));
    await byTestId('entry-submit').click();
    await byTestId(`entry-saved-${ids.cold10}`).waitFor();
    expect(await stored(ids.cold10)).toMatchObject({ value: 5, source: 'staff' });
    expect(await stored(ids.cold1)).toMatchObject({ value: 12, source: 'resident' }); // flat 1's meter untouched
    expect(await versions(ids.cold10)).toBe(1);
  }, 60_000);

  it('a decreasing reading: the refusal under that meter\'s card in the user\'s language, no internal id', async () => {
    await byTestId('premise-search').fill('1');
    await byTestId(`entry-value-${ids.cold1}`).fill('1');
    await byTestId('entry-submit').click();
    await poll(() => byTestId(`entry-error-${ids.cold1}`).textContent()).toBe('Показание 1 меньше предыдущего (12)');
    expect(await byTestId(`entry-row-${ids.cold1}`).textContent()).not.toMatch(/meter \d/);
    await byTestId('lang-toggle').click(); // English: the view is drawn again
    await byTestId('premise-search').fill('1');
    await byTestId(`entry-value-${ids.cold1}`).fill('1,5');
    await byTestId('entry-submit').click();
    await poll(() => byTestId(`entry-error-${ids.cold1}`).textContent()).toBe('Reading 1.5 is less than the previous one (12)');
    expect(await byTestId(`entry-last-${ids.el1}-1`).textContent()).toBe('Day: 130 kWh');
    await byTestId('lang-toggle').click();
    await byTestId('premise-search').fill('1');
    await byTestId(`entry-row-${ids.cold1}`).waitFor();
    expect(await versions(ids.cold1)).toBe(3); // the resident's three, nothing of the refused
  }, 60_000);

  it('fits a phone: no sideways scroll at 390 px, every card\'s serial and input on screen (RU and EN, phone and desktop)', async () => {
    const fit = () => page.evaluate(() => {
      const g = globalThis as unknown as { innerWidth: number; document: { scrollingElement: { scrollWidth: number }; querySelectorAll(s: string): Array<{ getBoundingClientRect(): { left: number; right: number } }> } };
      const inView = (sel: string) => [...g.document.querySelectorAll(sel)].every((e) => { const r = e.getBoundingClientRect(); return r.left >= 0 && r.right <= g.innerWidth; });
      return { scroll: g.document.scrollingElement.scrollWidth, width: g.innerWidth, serials: inView('.meter-card .serial'), inputs: inView('.meter-card input.value'), cards: g.document.querySelectorAll('.meter-card').length };
    });
    await mkdir(ARTIFACTS, { recursive: true });
    for (const lang of ['ru', 'en']) {
      for (const [width, height] of [[390, 844], [1366, 768]]) {
        await page.setViewportSize({ width, height });
        await byTestId('premise-search').fill('1');
        await byTestId(`entry-value-${ids.cold1}`).fill('1'); // a refusal on screen too
        await byTestId('entry-submit').click();
        await poll(() => byTestId(`entry-error-${ids.cold1}`).textContent()).not.toBe('');
        const f = await fit();
        expect({ ...f, scroll: f.scroll <= f.width }).toEqual({ scroll: true, width, serials: true, inputs: true, cards: 2 });
        await page.screenshot({ path: join(ARTIFACTS, `dashboard-entry-${lang}-${width}.png`), fullPage: true });
      }
      await byTestId('lang-toggle').click();
    }
    await page.setViewportSize({ width: 390, height: 844 });
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('no signal: two entries queued (counter 2, nothing stored), sent once the connection returns, once each; a refusal stays on its card', async () => {
    const queued = () => page.evaluate(() => JSON.parse((globalThis as unknown as PageGlobals).localStorage.getItem('amr.dashboard.entry-queue') ?? '[]') as Array<{ meter_id: number; state: string }>);
    const count = () => byTestId('entry-queue-count').getAttribute('data-count');
    await byTestId('premise-search').fill('4');
    await byTestId(`entry-row-${ids.cold4}`).waitFor();
    await browser.context.setOffline(true);
    try {
      await byTestId(`entry-value-${ids.cold4}`).fill('3');
      await byTestId(`entry-value-${ids.hot4}`).fill('2');
      await byTestId('entry-submit').click();
      await byTestId('entry-queued').waitFor();
      expect(await count()).toBe('2');
      expect(await byTestId('entry-queue-count').textContent()).toBe('В очереди: 2');
      expect(await byTestId(`entry-queued-${ids.cold4}`).textContent()).toMatch(/^в очереди: 3, снято /);
      expect((await queued()).map((e) => [e.meter_id, e.state])).toEqual([[ids.cold4, 'queued'], [ids.hot4, 'queued']]);
      expect(await byTestId(`entry-value-${ids.cold4}`).inputValue()).toBe('');
      expect([await versions(ids.cold4), await versions(ids.hot4)]).toEqual([0, 0]);
    } finally {
      await browser.context.setOffline(false);
    }
    await poll(count).toBe('0');
    expect(await stored(ids.cold4)).toMatchObject({ value: 3, source: 'staff' });
    expect(await stored(ids.hot4)).toMatchObject({ value: 2, source: 'staff' });
    expect([await versions(ids.cold4), await versions(ids.hot4)]).toEqual([1, 1]);
    expect(await byTestId(`entry-queue-${ids.cold4}`).textContent()).toBe('');

    // Offline again, flat 1's cold water below its previous 12: queued, then refused by the server: shown on its card, kept.
    await byTestId('premise-search').fill('1');
    await byTestId(`entry-row-${ids.cold1}`).waitFor();
    await browser.context.setOffline(true);
    try {
      await byTestId(`entry-value-${ids.cold1}`).fill('1');
      await byTestId('entry-submit').click();
      await poll(count).toBe('1');
    } finally {
      await browser.context.setOffline(false);
    }
    await poll(() => byTestId(`entry-queue-refused-${ids.cold1}`).textContent()).toMatch(/^не принято \(1, снято .*\): Показание 1 меньше предыдущего \(12\)$/);
    expect(await count()).toBe('0');
    expect((await queued()).map((e) => [e.meter_id, e.state])).toEqual([[ids.cold1, 'refused']]);
    expect(await versions(ids.cold1)).toBe(3);

    // Far above the average (ГВ-12: 54 before this period, ≈ 2 a month; 200 now), queued offline: the server
    // asks to confirm, the card says so with a button; confirmed there, it is sent with the confirmation.
    await byTestId('premise-search').fill('12');
    await byTestId(`entry-row-${ids.hot12}`).waitFor();
    await browser.context.setOffline(true);
    try {
      await byTestId(`entry-value-${ids.hot12}`).fill('200');
      await byTestId('entry-submit').click();
      await poll(count).toBe('1');
    } finally {
      await browser.context.setOffline(false);
    }
    await poll(() => byTestId(`entry-queue-refused-${ids.hot12}`).textContent()).toContain('превышает средний');
    expect(await stored(ids.hot12)).toMatchObject({ value: 56.5 });
    await byTestId(`entry-queue-confirm-${ids.hot12}`).click();
    await poll(() => byTestId(`entry-queue-${ids.hot12}`).textContent()).toBe('');
    expect(await stored(ids.hot12)).toMatchObject({ value: 200, source: 'staff' });
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('the answer lost after the server stored it: queued, kept across a reload, re-sent, and no second version', async () => {
    let stage: 'lose' | 'block' | 'pass' = 'lose';
    await page.route('**/premises/*/readings', async (route) => {
      if (stage === 'lose') { await route.fetch(); stage = 'block'; await route.abort('failed'); return; } // stored, the answer never arrives
      if (stage === 'block') { await route.abort('internetdisconnected'); return; }
      await route.continue();
    });
    try {
      await byTestId('premise-search').fill('5');
      await byTestId(`entry-value-${ids.cold5}`).fill('4');
      await byTestId('entry-submit').click();
      await byTestId(`entry-queued-${ids.cold5}`).waitFor();
      expect(await versions(ids.cold5)).toBe(1); // the server has it
      await page.reload();
      await poll(() => byTestId('entry-queue-count').getAttribute('data-count')).toBe('1'); // the queue survived the reload
      stage = 'pass';
      await poll(() => byTestId('entry-queue-count').getAttribute('data-count')).toBe('0'); // the retry timer sent it
      expect(await stored(ids.cold5)).toMatchObject({ value: 4, source: 'staff' });
      expect(await versions(ids.cold5)).toBe(1); // the re-send was answered as unchanged
    } finally {
      await page.unroute('**/premises/*/readings');
    }
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('a shared phone: entries queued by one inspector are neither sent nor signed in the next one\'s session; they go out when their owner signs in again', async () => {
    const signIn = async (username: string) => {
      await page.fill('input[name="username"]', username);
      await page.fill('input[name="password"]', 'password-123');
      await page.click('form[data-testid="login-form"] button[type="submit"]');
      await byTestId('logout').waitFor();
    };
    await page.goto(`${base}/dashboard/#/buildings/${ids.building}`);
    await byTestId('open-entry').click();
    await byTestId('premise-search').fill('3');
    await byTestId(`entry-row-${ids.cold3}`).waitFor();
    await browser.context.setOffline(true);
    try {
      await byTestId(`entry-value-${ids.cold3}`).fill('7');
      await byTestId('entry-submit').click();
      await byTestId(`entry-queued-${ids.cold3}`).waitFor();
      await byTestId('logout').click(); // the logout request fails offline; the session ends on the phone anyway
      await page.locator('input[name="username"]').waitFor();
    } finally {
      await browser.context.setOffline(false);
    }
    await signIn('obhodchik2');
    await page.goto(`${base}/dashboard/#/buildings/${ids.building}/entry`);
    await byTestId('premise-search').fill('3');
    await byTestId(`entry-row-${ids.cold3}`).waitFor();
    await poll(() => byTestId('entry-queue-count').getAttribute('data-others')).toBe('1');
    expect(await byTestId('entry-queue-count').getAttribute('data-count')).toBe('0');
    expect(await byTestId(`entry-queue-${ids.cold3}`).textContent()).toBe(''); // not shown on the second inspector's card
    await new Promise((r) => setTimeout(r, 5000)); // longer than the retry timer: still nothing sent
    expect(await versions(ids.cold3)).toBe(0);
    await byTestId('logout').click();
    await page.locator('input[name="username"]').waitFor();
    await signIn('obhodchik');
    await poll(() => versions(ids.cold3)).toBe(1);
    expect(await stored(ids.cold3)).toMatchObject({ value: 7, source: 'staff', created_by: 'obhodchik' });
    expect(pageErrors).toEqual([]);
  }, 90_000);
});

describe('entry screen check', () => {
  // Its own console (harness + Chromium) on a seeded building, with a fixed clock: both languages, both viewports, axe.
  const SEED_NOW = new Date('2025-03-01T12:00:00+03:00');
  let c: Console;
  let seeded: Awaited<ReturnType<typeof seedBuilding>>;
  beforeAll(async () => {
    c = await startConsole('entry-check', { clock: fixedClock(SEED_NOW) });
    seeded = await seedBuilding(c.h.opened.db, { address: 'ул. Проверки, 1', externalId: 'ENTRY-CHECK', now: SEED_NOW });
    await c.h.userToken('operator', { buildingIds: [seeded.buildingId], username: 'obhodchik-check' });
    await c.signIn('obhodchik-check');
  }, 120_000);
  afterAll(async () => { await c?.close(); });

  it('the building meters\' cards pass the screen check (RU and EN, desktop and phone, axe, no sideways scroll, no raw keys)', async () => {
    const r = await checkScreen(c, 'entry', `/buildings/${seeded.buildingId}/entry?premise=building`, 'entry-table',
      async (page) => { await page.locator(`[data-testid="entry-row-${seeded.coldOdpu}"]`).waitFor(); });
    expect(r.problems).toEqual([]);
    expect(r.shots).toHaveLength(4);
    expect(await c.byTestId('entry-table').locator('.meter-card').count()).toBe(2); // the heat and the cold-water ОДПУ
  }, 90_000);
});
