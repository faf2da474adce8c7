/**
 * The residents' page in a real browser at phone size: Debian's Chromium driven by playwright-core
 * against a real HTTP head-end (embedded PGlite-TimescaleDB). A resident signs in with a code staff
 * issued through the API, sees the widget and their two meters (never flat 2's), renames one, is told
 * per meter why a reading was refused, confirms a high consumption, sees when it was saved, reads the
 * history with its chart (the ECharts instance's data), switches language, signs out, and comes back
 * through an invite link; a sign-in whose answer is lost on the way (the request served, the answer
 * dropped) gets in when sent again with the same code. A resident with a two-zone (day/night) electricity meter enters one value per
 * zone, is told under the night input why its value was refused or needs a second look, and the two
 * values are stored as the meter's day and night registers. The collection window is days 1–31 and the
 * API's clock is stopped at NOW.
 * Screenshots go to test-artifacts/.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { ARTIFACTS, launchChromium, type Browser, type PageGlobals } from '../browser.js';
import { startHarness, type Harness } from '../api/harness.js';
import { daysInMonth, localDate, localMidnight, windowState } from '../../src/collection/rules.js';
import { issueCode, seedFlats, seedZoneFlat, type SeededFlats, type SeededZoneFlat } from './seed.js';
import { fixedClock } from '../../src/util/clock.js';

const ZONE = 'Europe/Moscow';

let h: Harness;
let s: SeededFlats;
let zoned: SeededZoneFlat;
let base: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];
const consoleErrors: string[] = [];

/** The API's clock, stopped mid-month in Moscow (never today's date): window 1–31 open, due on the 31st. */
const NOW = new Date('2026-10-14T12:00:00+03:00');
const today = localDate(NOW, ZONE);
const pad = (n: number) => String(n).padStart(2, '0');
const thisMonth = `${today.y}-${pad(today.m)}`;
const dueRu = `${pad(daysInMonth(today.y, today.m))}.${pad(today.m)}.${today.y}`;

beforeAll(async () => {
  h = await startHarness({ clock: fixedClock(NOW) });
  s = await seedFlats(h, 'B');
  zoned = await seedZoneFlat(h, s, 'B');
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  browser = await launchChromium('resident', {
    locale: 'ru-RU', // navigator.language → the page starts in Russian
    timezoneId: ZONE, // the resident's phone is where the flat is
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
  });
  context = browser.context;
  page = browser.page;
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

/** Waits for what the page shows after a request; sign-in answers wait on scrypt, slow on a busy CI machine. */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });
const byTestId = (id: string) => page.locator(`[data-testid="${id}"]`);
const text = async (id: string) => (await byTestId(id).textContent())?.trim();
const screenshot = async (name: string) => {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
};

/** The meters' series of an ECharts instance, read from the page (what the chart really holds). */
function chartData(testid: string) {
  return page.evaluate((id) => {
    // page.evaluate callbacks run in the browser; the test tsconfig has no DOM lib, hence globalThis.
    const g = globalThis as unknown as PageGlobals;
    const inst = g.echarts.getInstanceByDom(g.document.querySelector(`[data-testid="${id}"]`));
    if (!inst) return null;
    const o = inst.getOption();
    return { x: o.xAxis[0].data, series: o.series.map((x) => ({ id: x.id, name: x.name, type: x.type, data: x.data })), width: inst.getWidth() };
  }, testid);
}

/** Nothing of flat 2 anywhere in the page: neither its meter's card nor its serial number. */
async function expectNoOtherFlat() {
  expect(await page.locator(`[data-testid$="-${s.otherFlat}"]`).count()).toBe(0);
  expect(await page.locator('body').textContent()).not.toContain('B-CW-2');
}

/** This period's readings of a meter: from the 1st of the clock's month, local midnight (window 1–31). */
const readings = (meterId: number) => h.opened.db.query('SELECT value, version, source FROM readings WHERE meter_id = $1 AND time >= $2 ORDER BY time, version', [meterId, localMidnight({ ...today, d: 1 }, ZONE)]).then((r) => r.rows);

describe('residents page in Chromium (390×844)', () => {
  it('is served with the page headers; /resident redirects keeping the query', async () => {
    // Over the browser context's own HTTP client (closed with it: no keep-alive socket holds the server open).
    const get = (path: string) => context.request.get(`${base}${path}`, { maxRedirects: 0 });
    const res = await get('/resident/');
    expect(res.status()).toBe(200);
    expect(res.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers()['referrer-policy']).toBe('no-referrer');
    const redirect = await get('/resident?account=A&code=B');
    expect([redirect.status(), redirect.headers().location]).toEqual([302, '/resident/?account=A&code=B']);
    expect((await get('/resident/vendor/echarts.min.js')).status()).toBe(200);
    // Both static plugins live side by side (each its own @fastify/static scope); the API's GET routes win over the wildcard.
    expect((await get('/dashboard/')).status()).toBe(200);
    expect((await get('/resident/app.js')).headers()['content-type']).toMatch(/javascript/);
    expect((await get('/resident/meters')).status()).toBe(401);
    const traversal = await get('/resident/..%2fsrc%2findex.ts');
    expect(traversal.status()).toBe(403);
    expect(await traversal.text()).not.toContain('residentPagePlugin');
  });

  it('sign-in: a wrong code is explained; the code staff issued signs in; widget and own meters only', async () => {
    const code = await issueCode(h, s.accountA.id);
    await page.goto(`${base}/resident/`);
    await byTestId('signin-form').waitFor();
    await byTestId('signin-account').fill(s.accountA.number);
    await byTestId('signin-code').fill('WRONG23456');
    await byTestId('signin-submit').click();
    await poll(() => text('signin-error')).toContain('Неверный номер счёта или код');
    await screenshot('resident-signin.png');

    await byTestId('signin-code').fill(code.toLowerCase()); // codes are case-insensitive
    await byTestId('signin-submit').click();
    await byTestId('widget').waitFor();
    expect(await text('widget-text')).toBe(`0 из 2 счётчиков, до ${dueRu}`);
    expect(await byTestId('widget').getAttribute('data-state')).toBe('open');
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).sessionStorage.getItem('amr.resident.token'))).toMatch(/.{20,}/);

    expect(await page.locator('[data-testid^="meter-title-"]').allTextContents()).toEqual(['Холодная вода', 'Горячая вода']);
    expect(await text(`meter-last-${s.cold}`)).toMatch(/^Последнее показание: 100 м³ за \d\d\.\d\d\.\d{4} · передано \d\d\.\d\d\.\d{4}, \d\d:\d\d$/);
    expect(await text(`meter-last-${s.hot}`)).toBe('Показаний пока нет');
    // Whole cubic metres for cold water (building setting): the phone offers digits only.
    expect(await byTestId(`reading-${s.cold}`).getAttribute('inputmode')).toBe('numeric');
    expect(await byTestId(`reading-${s.hot}`).getAttribute('inputmode')).toBe('decimal');
    // Touch targets: inputs and the submit button at least 44 px high, nothing wider than the phone.
    expect((await byTestId(`reading-${s.cold}`).boundingBox())!.height).toBeGreaterThanOrEqual(44);
    expect((await byTestId('submit').boundingBox())!.height).toBeGreaterThanOrEqual(44);
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await expectNoOtherFlat();
    await screenshot('resident-meters.png');
  }, 60_000);

  it('the resident names a meter; the name is theirs (stored per user), staff lists keep the serial', async () => {
    await byTestId(`label-edit-${s.cold}`).click();
    await byTestId(`label-input-${s.cold}`).fill('Кухня <b>x</b>');
    await byTestId(`label-save-${s.cold}`).click();
    await poll(() => text(`meter-title-${s.cold}`)).toBe('Кухня <b>x</b>'); // shown as text, not markup
    expect(await page.locator(`[data-testid="meter-title-${s.cold}"] b`).count()).toBe(0);
    const stored = (await h.opened.db.query('SELECT label FROM resident_meter_labels WHERE meter_id = $1', [s.cold])).rows;
    expect(stored).toEqual([{ label: 'Кухня <b>x</b>' }]);
    await page.reload();
    await byTestId('widget').waitFor();
    expect(await text(`meter-title-${s.cold}`)).toBe('Кухня <b>x</b>');
    const staff = await h.call('GET', `/meters/${s.cold}`, h.adminToken);
    expect(staff.body.serial_number).toBe('B-CW-1');
    expect(JSON.stringify(staff.body)).not.toContain('Кухня');
  }, 60_000);

  it('refusals are shown per meter: a fraction on a whole-number meter (in the page), a decrease (from the API); nothing saved', async () => {
    await byTestId(`reading-${s.cold}`).fill('150,5');
    await byTestId(`reading-${s.hot}`).fill('5');
    await byTestId('submit').click();
    await poll(() => text(`error-${s.cold}`)).toBe('Для этого счётчика принимаются только целые числа');
    expect(await byTestId(`error-${s.hot}`).isHidden()).toBe(true);

    await byTestId(`reading-${s.cold}`).fill('95');
    await byTestId('submit').click();
    await poll(() => text(`error-${s.cold}`)).toBe('Показание 95 меньше предыдущего (100)');
    expect(await text('form-message')).toBe('Показания не приняты, исправьте отмеченные поля.');
    expect(await byTestId(`error-${s.hot}`).isHidden()).toBe(true);
    expect(await readings(s.hot)).toEqual([]);
    // The refusal is the API's code and values, worded by the page: switching the language rewords it in place.
    await byTestId('lang-toggle').click();
    await poll(() => text(`error-${s.cold}`)).toBe('Reading 95 is less than the previous one (100)');
    expect(await text('form-message')).toBe('Readings not accepted; correct the marked fields.');
    expect(await page.locator('main').textContent()).not.toMatch(/meter \d/);
    await byTestId('lang-toggle').click();
    await poll(() => text(`error-${s.cold}`)).toBe('Показание 95 меньше предыдущего (100)');
    await screenshot('resident-refused.png');
  }, 60_000);

  it('a consumption far above the 3-month average asks to confirm; confirming saves both and shows the time', async () => {
    await byTestId(`reading-${s.cold}`).fill('150');
    expect(await byTestId(`error-${s.cold}`).isHidden()).toBe(true); // typing clears the old refusal
    await byTestId('submit').click();
    await byTestId('confirm-box').waitFor();
    expect(await text(`warning-${s.cold}`)).toMatch(/^Расход 50 м³ более чем в 3 раза превышает средний за 3 месяца \([\d,]+ м³ в месяц\)$/);
    expect(await byTestId(`warning-${s.hot}`).isHidden()).toBe(true);
    expect(await readings(s.cold)).toEqual([]);
    await screenshot('resident-confirm.png');

    await byTestId('confirm').click();
    await byTestId('saved-at').waitFor();
    expect(await text('saved-at')).toMatch(/^Показания сохранены \d\d\.\d\d\.\d{4}, \d\d:\d\d$/);
    expect(await readings(s.cold)).toEqual([{ value: 150, version: 1, source: 'resident' }]);
    expect(await readings(s.hot)).toEqual([{ value: 5, version: 1, source: 'resident' }]);
    const received = (await h.opened.db.query('SELECT received_at FROM readings WHERE meter_id = $1 ORDER BY received_at DESC LIMIT 1', [s.cold])).rows[0].received_at as Date;
    const shown = new Intl.DateTimeFormat('ru-RU', { timeZone: ZONE, day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit' }).format(received);
    expect(await text('saved-at')).toBe(`Показания сохранены ${shown}`);
    expect(await text(`saved-${s.cold}`)).toBe(`Сохранено: 150 м³, ${shown}`);
    expect(await text('widget-text')).toBe('Показания переданы (2 из 2)');
    expect(await byTestId(`reading-${s.cold}`).inputValue()).toBe('');
    await expectNoOtherFlat();
    await screenshot('resident-saved.png');
  }, 60_000);

  it('history by month: table and the ECharts instance hold the consumption', async () => {
    await byTestId('nav-history').click();
    await byTestId(`chart-${s.cold}`).waitFor();
    const months = [...s.historyMonths, thisMonth];
    await poll(async () => (await chartData(`chart-${s.cold}`))?.series[0].data).toEqual([null, 10, 10, 50]);
    const cold = (await chartData(`chart-${s.cold}`))!;
    expect(cold.x).toHaveLength(4);
    expect(cold.series[0]).toMatchObject({ id: 'consumption', type: 'bar', name: 'Расход' });
    expect(cold.width).toBeLessThan(390);
    // Hot water has its first reading only: no consumption yet, a sentence instead of an empty chart.
    expect(await byTestId(`chart-${s.hot}`).count()).toBe(0);
    expect(await text(`chart-none-${s.hot}`)).toBe('Расход появится, когда будут показания за два месяца.');
    const row = byTestId(`history-${s.cold}-${thisMonth}`);
    expect(await row.locator('td').nth(1).getAttribute('data-value')).toBe('150');
    expect(await row.locator('td').nth(2).textContent()).toBe('50');
    expect(await byTestId(`history-${s.cold}-${months[0]}`).locator('td').nth(2).textContent()).toBe('—');
    expect(await byTestId(`history-meter-${s.cold}`).locator('h2').textContent()).toBe('Кухня <b>x</b>');
    await expectNoOtherFlat();
    await screenshot('resident-history.png');
  }, 60_000);

  it('language: EN and back to RU, remembered in localStorage; the chart follows', async () => {
    await byTestId('lang-toggle').click();
    await poll(() => page.locator('main h1').textContent()).toBe('History by month');
    expect((await chartData(`chart-${s.cold}`))!.series[0]).toMatchObject({ name: 'Consumption', data: [null, 10, 10, 50] });
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).localStorage.getItem('amr.resident.lang'))).toBe('en');
    await byTestId('nav-meters').click();
    await poll(() => text('widget-text')).toBe('Readings submitted (2 of 2)');
    expect(await text(`meter-title-${s.hot}`)).toBe('Hot water');
    expect(await text(`meter-last-${s.cold}`)).toMatch(/^Last reading: 150 m³ for \d\d\/\d\d\/\d{4} · submitted \d\d\/\d\d\/\d{4}, \d\d:\d\d$/);
    await screenshot('resident-meters-en.png');
    await page.reload(); // remembered across a reload
    await poll(() => text('widget-text')).toBe('Readings submitted (2 of 2)');
    await byTestId('lang-toggle').click();
    await poll(() => text('widget-text')).toBe('Показания переданы (2 из 2)');
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).localStorage.getItem('amr.resident.lang'))).toBe('ru');
  }, 60_000);

  it('a closed window: the meter says when it opens, its input is off; the widget counts only open meters', async () => {
    const day = today.d === 1 ? 2 : 1;
    const closed = windowState(today, day, day);
    if (closed.open) throw new Error('expected a closed window');
    const put = await h.call('PUT', '/collection-settings', h.adminToken, {
      building_id: s.buildingId, resource: 'hot_water', enabled: true, window_start_day: day, window_end_day: day, integer_only: false,
      accept_expired_verification: false, reminder_days: [day], warn_factor: 3,
    });
    expect(put.status).toBe(200);
    await page.reload();
    await byTestId('widget').waitFor();
    const [y, m, d] = closed.opensOn.split('-');
    expect(await text(`closed-${s.hot}`)).toBe(`Приём закрыт, откроется ${d}.${m}.${y}`);
    expect(await byTestId(`reading-${s.hot}`).isDisabled()).toBe(true);
    expect(await byTestId(`reading-${s.cold}`).isEnabled()).toBe(true);
    expect(await text('widget-text')).toBe('Показания переданы (1 из 1)');
  }, 60_000);

  it('sign out revokes the session and forgets the token', async () => {
    const tokenBefore = await page.evaluate(() => (globalThis as unknown as PageGlobals).sessionStorage.getItem('amr.resident.token')) as string;
    await byTestId('sign-out').click();
    await byTestId('signin-form').waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).sessionStorage.getItem('amr.resident.token'))).toBeNull();
    expect((await h.call('GET', '/resident/meters', tokenBefore)).status).toBe(401);
  }, 60_000);

  it('invite link: /resident?account=…&code=… signs in and leaves no code in the address; a spent link says so', async () => {
    const code = await issueCode(h, s.accountA.id);
    const link = `${base}/resident?account=${encodeURIComponent(s.accountA.number)}&code=${code}`;
    await page.goto(link);
    await byTestId('widget').waitFor();
    expect(page.url()).toBe(`${base}/resident/`);
    expect(await text('widget-text')).toBe('Показания переданы (1 из 1)'); // hot water's window is closed since the previous test
    await expectNoOtherFlat();

    // The same link again: the code was spent; the form is pre-filled and tells why.
    await page.goto(link);
    await poll(() => text('signin-error')).toContain('код уже использован');
    expect(page.url()).toBe(`${base}/resident/`);
    expect(await byTestId('signin-account').inputValue()).toBe(s.accountA.number);
    await screenshot('resident-invite-spent.png');
  }, 60_000);

  it('a sign-in whose answer was lost: signing in again with the same code gets in (the attempt key kept with the code)', async () => {
    const code = await issueCode(h, s.accountA.id);
    const attempt = () => page.evaluate(() => (globalThis as unknown as PageGlobals).sessionStorage.getItem('amr.resident.attempt'));
    // The request reaches the head-end and signs in; its answer never reaches the page (no signal).
    await page.route('**/resident/sign-in', async (route) => { await route.fetch(); await route.abort('internetdisconnected'); }, { times: 1 });
    await byTestId('signin-account').fill(s.accountA.number);
    await byTestId('signin-code').fill(code.toLowerCase()); // typed as read out: the page and the API compare it as the same code
    await byTestId('signin-submit').click();
    await poll(() => byTestId('signin-submit').isEnabled()).toBe(true);
    expect(await byTestId('signin-form').isVisible()).toBe(true);
    const latest = (await h.opened.db.query<{ spent: boolean; keyed: boolean }>(
      'SELECT used_at IS NOT NULL AS spent, attempt_key_hash IS NOT NULL AS keyed FROM resident_access_codes WHERE account_id = $1 ORDER BY id DESC LIMIT 1', [s.accountA.id])).rows[0];
    expect(latest).toEqual({ spent: true, keyed: true }); // this code: spent, by an attempt with a key
    const kept = JSON.parse((await attempt()) ?? 'null') as { account: string; code: string; key: string };
    expect(kept).toMatchObject({ account: s.accountA.number, code });
    expect(kept.key).toMatch(/^[A-Za-z0-9_-]{22}$/);

    await byTestId('signin-code').fill(code); // the same code again
    await byTestId('signin-submit').click();
    await byTestId('widget').waitFor();
    const retries = (await h.opened.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE action = 'sign_in_retry' AND entity_id = $1", [String(s.accountA.id)])).rows[0].n;
    expect(retries).toBe(1);
    expect(await attempt()).toBeNull(); // signed in: the entry is done
    await byTestId('sign-out').click();
    await byTestId('signin-form').waitFor();
  }, 60_000);

  it('a two-zone meter: one input per zone (День / Ночь) with its last value; refusals and warnings under the night input; day and night stored as their registers', async () => {
    const day = `${zoned.meter}-1`;
    const night = `${zoned.meter}-2`;
    const code = await issueCode(h, zoned.account.id);
    await page.goto(`${base}/resident/?account=${encodeURIComponent(zoned.account.number)}&code=${code}`);
    await byTestId(`meter-${zoned.meter}`).waitFor();
    const n = (v: number) => new Intl.NumberFormat('ru-RU', { maximumFractionDigits: 3 }).format(v); // "1 000" with a no-break space
    const lastMonth = (() => { const i = today.y * 12 + today.m - 2; return `01.${pad((i % 12) + 1)}.${Math.floor(i / 12)}`; })();

    // Two inputs, none for the meter as a whole (a value without a zone would be refused by the API).
    expect(await byTestId(`meter-${zoned.meter}`).locator('input.reading').count()).toBe(2);
    expect(await byTestId(`reading-${zoned.meter}`).count()).toBe(0);
    expect(await page.locator(`label[for="reading-${day}"]`).textContent()).toBe('День, кВт·ч');
    expect(await page.locator(`label[for="reading-${night}"]`).textContent()).toBe('Ночь, кВт·ч');
    // Each zone's own last value (seeded: day 1000, night 500 on the 1st of last month).
    expect(await text(`zone-last-${day}`)).toBe(`было ${n(1000)} кВт·ч за ${lastMonth}`);
    expect(await text(`zone-last-${night}`)).toBe(`было 500 кВт·ч за ${lastMonth}`);
    expect(await text(`meter-last-${zoned.meter}`)).toMatch(new RegExp(`^Последние показания за ${lastMonth.replace(/\./g, '\\.')} · передано `));
    expect(await byTestId(`reading-${day}`).getAttribute('inputmode')).toBe('decimal');
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

    const stored = async () => (await h.opened.db.query(
      "SELECT quantity, value, version, source FROM readings WHERE meter_id = $1 AND time >= $2 ORDER BY quantity, version",
      [zoned.meter, localMidnight({ ...today, d: 1 }, ZONE)])).rows;

    // Day without night: refused in the page under the night input (billing prices each zone; half a meter is a missing reading).
    await byTestId(`reading-${day}`).fill('1234,5');
    await byTestId('submit').click();
    await poll(() => text(`error-${night}`)).toBe('Введите и это показание: многотарифный счётчик передаётся по всем зонам сразу');
    expect(await byTestId(`error-${day}`).isHidden()).toBe(true);

    // Night 450 < previous 500 (no register digits known, so no rollover): the API refuses item 1 = the night zone.
    await byTestId(`reading-${night}`).fill('450');
    expect(await byTestId(`error-${night}`).isHidden()).toBe(true); // typing clears the page's own refusal
    await byTestId('submit').click();
    await poll(() => text(`error-${night}`)).toBe('Показание 450 меньше предыдущего (500)');
    expect(await byTestId(`error-${day}`).isHidden()).toBe(true);
    expect(await byTestId(`error-${zoned.meter}`).isHidden()).toBe(true);
    expect(await text('form-message')).toBe('Показания не приняты, исправьте отмеченные поля.');
    expect(await stored()).toEqual([]); // all or nothing: the day value was not saved either
    await screenshot('resident-zones-refused.png');

    // Night 900: 900 − 500 = 400 kWh in a month against (500 − 400) / 2 months ≈ 50 a month, more than 3×: confirm or correct.
    // Day 1234.5 − 1000 = 234.5 against (1000 − 600) / 2 ≈ 200 a month: below 3×, no warning there.
    await byTestId(`reading-${night}`).fill('900');
    await byTestId('submit').click();
    await byTestId('confirm-box').waitFor();
    expect(await text(`warning-${night}`)).toMatch(/^Расход 400 кВт·ч более чем в 3 раза превышает средний за 3 месяца \([\d,]+ кВт·ч в месяц\)$/);
    expect(await byTestId(`warning-${day}`).isHidden()).toBe(true);
    expect(await stored()).toEqual([]);
    await byTestId('fix').click(); // "Correct" takes the resident to the night input
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.activeElement?.getAttribute('data-testid'))).toBe(`reading-${night}`);
    expect(await byTestId('confirm-box').isHidden()).toBe(true);

    await byTestId(`reading-${night}`).fill('567,8'); // 567.8 − 500 = 67.8 ≤ 3 × 50: no warning
    // No signal on the first try: told so, both values stay; sent again once connected.
    await context.setOffline(true);
    try {
      await byTestId('submit').click();
      await poll(() => text('form-message')).toMatch(/^Нет связи: показания не отправлены, введённое осталось на странице\./);
      expect([await byTestId(`reading-${day}`).inputValue(), await byTestId(`reading-${night}`).inputValue()]).toEqual(['1234,5', '567,8']);
    } finally {
      await context.setOffline(false);
    }
    expect(await stored()).toEqual([]);
    await byTestId('submit').click();
    await byTestId('saved-at').waitFor();
    expect(await stored()).toEqual([
      { quantity: 'energy_t1_kwh', value: 1234.5, version: 1, source: 'resident' },
      { quantity: 'energy_t2_kwh', value: 567.8, version: 1, source: 'resident' },
    ]);
    expect(await text(`saved-${day}`)).toMatch(new RegExp(`^Сохранено: ${n(1234.5)} кВт·ч, `));
    expect(await text(`saved-${night}`)).toMatch(/^Сохранено: 567,8 кВт·ч, /);
    expect(await text(`zone-last-${night}`)).toMatch(/^было 567,8 кВт·ч за /);
    expect(await text('widget-text')).toBe('Показания переданы (1 из 1)');
    await screenshot('resident-zones-saved.png');

    // The zone names follow the language.
    await byTestId('lang-toggle').click();
    await poll(() => page.locator(`label[for="reading-${night}"]`).textContent()).toBe('Night, kWh');
    expect(await page.locator(`label[for="reading-${day}"]`).textContent()).toBe('Day, kWh');
    await byTestId('lang-toggle').click();
    await poll(() => page.locator(`label[for="reading-${day}"]`).textContent()).toBe('День, кВт·ч');

    await byTestId('sign-out').click();
    await byTestId('signin-form').waitFor();
  }, 90_000);

  it('after 5 failed attempts the form says how long to wait (429 Retry-After), in the page language', async () => {
    await byTestId('signin-account').fill(s.accountB.number);
    for (let i = 1; i <= 6; i++) {
      await byTestId('signin-code').fill(`WRONG${i}2345`);
      await byTestId('signin-submit').click();
      // Wait for this attempt's answer: the button is enabled again when it has come.
      await poll(() => byTestId('signin-submit').isEnabled()).toBe(true);
      await poll(() => text('signin-error')).toBe(i <= 5
        ? 'Неверный номер счёта или код, либо код уже использован или истёк. Попросите новый код в управляющей компании.'
        : 'Слишком много неудачных попыток. Попробуйте снова через 15 мин.');
    }
    await screenshot('resident-locked.png');

    expect(pageErrors).toEqual([]);
    // The only console errors are the browser's own lines for the answers the test provoked (401/429 sign-ins,
    // the 400 refusal, the 409 asking to confirm): no CSP violation, no missing file, no script error.
    // … and the request the zone test sent while offline.
    expect(consoleErrors.filter((m) => !/^Failed to load resource: (the server responded with a status of (400|401|409|429)\b|net::ERR_INTERNET_DISCONNECTED$)/.test(m))).toEqual([]);
    expect(consoleErrors.some((m) => /status of 409/.test(m))).toBe(true);
  }, 60_000);
});
