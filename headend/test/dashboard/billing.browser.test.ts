/**
 * Billing and exchange through the console, in Chromium against the real API on an embedded database,
 * with a fixed "now" (10 February 2026: January is the month being billed):
 *  - a tariff entered on the tariffs screen; January computed on the billing screen; the lines and the
 *    building's total equal the kopecks worked out by hand; the month closed after a confirmation that
 *    names it and its total; then the API says closed and the screen offers no compute or close;
 *  - a billing user of another organisation sees none of these lines, even naming the organisation;
 *  - an exchange set up on the exchange screen to a folder under EXCHANGE_ROOT, run now, and the log
 *    shows the run with its counts (and the file is there);
 *  - the lines, tariffs and exchange screens pass the screen check (RU/EN, desktop/phone, axe).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pdfPages } from '../collection/pdf-pages.js';
import { checkScreen, startConsole, type Console } from './console.js';
import { fixedClock } from '../../src/util/clock.js';

let c: Console;
let root = '';
interface Org { org: number; building: number; address: string }
let A: Org;
let B: Org;

const one = async (sql: string, params: unknown[] = []) => Number((await c.h.opened.db.query(sql, params)).rows[0].id);
/** Money as the screen shows it, without the (narrow) no-break spaces Intl puts in: "1005,87₽". */
const bare = (s: string | null) => (s ?? '').replace(/\s/g, '');

/**
 * An organisation's registry as the office keeps it: one building, two flats with accounts and cold
 * water meters read by staff in the collection windows of December and January (the 20th): January's
 * consumption is January's window reading minus December's.
 */
async function seedOrg(tag: string, readings: Array<[number, number]>): Promise<Org> {
  const org = await one('INSERT INTO organisations (name) VALUES ($1) RETURNING id', [`УК ${tag}`]);
  const address = `ул. Расчётная ${tag}, 1`;
  const building = await one('INSERT INTO buildings (org_id, address) VALUES ($1, $2) RETURNING id', [org, address]);
  for (const [i, [from, to]] of readings.entries()) {
    const premise = await one(`INSERT INTO premises (building_id, number, residents, area_m2) VALUES ($1, $2, 2, 50) RETURNING id`, [building, String(i + 1)]);
    await one('INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, $2, $3) RETURNING id', [org, `${tag}-${i + 1}`, premise]);
    const meter = await one(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number) VALUES ('apartment', $1, $2, 'cold_water', $3) RETURNING id`,
      [building, premise, `CW-${tag}-${i + 1}`]);
    await c.h.opened.db.query(`INSERT INTO readings (meter_id, time, quantity, value, unit, source)
      VALUES ($1, '2025-12-20T09:00:00Z', 'volume_m3', $2, 'm3', 'staff'), ($1, '2026-01-20T09:00:00Z', 'volume_m3', $3, 'm3', 'staff')`, [meter, from, to]);
  }
  return { org, building, address };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'amr-billing-console-'));
  c = await startConsole('billing', { clock: fixedClock('2026-02-10T09:00:00Z'), exchangeRoot: root });
  // Flat 1: 100 → 107.5 m³ = 7.5 m³; flat 2: 200 → 212.25 m³ = 12.25 m³.
  A = await seedOrg('A', [[100, 107.5], [200, 212.25]]);
  B = await seedOrg('B', [[10, 11]]);
  await c.h.userToken('billing', { username: 'bill-a', buildingIds: [A.building] });
  await c.h.userToken('billing', { username: 'bill-b', buildingIds: [B.building] });
}, 120_000);

afterAll(async () => {
  await c?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('billing on the screens', () => {
  it('a tariff entered, January computed, lines and total to the kopeck, the month closed', async () => {
    await c.signIn('bill-a');
    await c.open('/billing/tariffs', 'tariff-form');
    const form = c.byTestId('tariff-form');
    await form.locator('select[name="resource"]').selectOption('cold_water');
    await form.locator('input[name="from"]').fill('2026-01');
    await form.locator('input[name="t1"]').fill('50,93');
    await c.byTestId('tariff-save').click();
    await c.byTestId('tariff-saved').waitFor();
    await c.byTestId('billing-tariffs-table').locator('tbody tr[data-testid^="tariff-"]').waitFor();
    expect(bare(await c.byTestId('billing-tariffs-table').textContent())).toContain('50,93₽');
    const tariffs = await c.h.call<{ items: Array<{ resource: string; valid_from: string; tariff: unknown }> }>('GET', `/billing/tariffs?org_id=${A.org}`, c.h.adminToken);
    expect(tariffs.body.items.map((x) => [x.resource, x.valid_from, x.tariff])).toEqual([['cold_water', '2026-01-01', { kind: 'single', price: 50.93 }]]);

    await c.open('/billing?period=2026-01', 'billing-period-card');
    await c.page.locator('[data-testid="billing-period-status"][data-code="none"]').waitFor();
    await c.byTestId('billing-compute').click();
    await c.page.locator('[data-testid="billing-period-status"][data-code="open"]').waitFor();
    await c.page.locator('[data-testid^="line-amount-"]').nth(1).waitFor();
    // By hand: 7.5 × 50.93 = 381.975 → 381.98 ₽ (half up); 12.25 × 50.93 = 623.8925 → 623.89 ₽; the total is the sum of the rounded lines.
    const amounts = (await c.page.locator('[data-testid^="line-amount-"]').allTextContents()).map(bare);
    expect(amounts).toEqual(['381,98₽', '623,89₽']);
    expect(bare(await c.byTestId(`total-building-${A.building}`).textContent())).toContain('1005,87₽');
    expect(bare(await c.byTestId('billing-grand-total').textContent())).toBe('1005,87₽');
    expect(await c.byTestId(`total-building-${A.building}`).textContent()).toContain(A.address);
    const lines = await c.h.call<{ lines: Array<{ amount: number; method: string }>; totals: { amount: number; amount_rub: string } }>(
      'GET', `/billing/lines?period=2026-01&building_id=${A.building}`, c.h.adminToken);
    expect(lines.body.lines.map((l) => [l.method, l.amount])).toEqual([['measured', 38198], ['measured', 62389]]);
    expect(lines.body.totals).toMatchObject({ amount: 100587, amount_rub: '1005.87' });

    // The method filter goes to the API: no line of January was charged by norm.
    await c.byTestId('billing-method').selectOption('norm');
    await c.page.waitForFunction(() => !(globalThis as unknown as { document: { querySelector(s: string): unknown } }).document.querySelector('[data-testid^="line-amount-"]'));
    expect(await c.byTestId('billing-grand-total').textContent()).toMatch(/^0,00\s₽$/);
    await c.byTestId('billing-method').selectOption('');
    await c.page.locator('[data-testid^="line-amount-"]').nth(1).waitFor();

    await c.byTestId('billing-close').click();
    const confirm = bare(await c.byTestId('billing-close-confirm').textContent());
    expect(confirm).toContain('январь2026');
    expect(confirm).toContain('1005,87₽');
    await c.byTestId('billing-close-yes').click();
    await c.page.locator('[data-testid="billing-period-status"][data-code="closed"]').waitFor();
    expect(await c.byTestId('billing-period-status').textContent()).toBe('закрыт');
    expect(await c.byTestId('billing-compute').count()).toBe(0);
    expect(await c.byTestId('billing-close').count()).toBe(0);
    expect(await c.byTestId('billing-closed-note').textContent()).toContain('bill-a');

    const state = await c.h.call<{ status: string; closed_by: string; totals: { amount: number } }>('GET', `/billing/periods/2026-01?org_id=${A.org}`, c.h.adminToken);
    expect(state.body).toMatchObject({ status: 'closed', closed_by: 'bill-a', totals: { amount: 100587 } });
    // Closing again is refused by the API (the screen no longer offers it).
    expect((await c.h.call('POST', '/billing/periods/2026-01/close', c.h.adminToken, { org_id: A.org })).status).toBe(409);
    expect(c.browser.pageErrors).toEqual([]);
  }, 60_000);

  it('invoices as one PDF: a page per account with its lines and total, adding up to the building total', async () => {
    const res = await c.h.app.inject({ method: 'GET', url: `/billing/lines?period=2026-01&building_id=${A.building}&format=pdf`, headers: { authorization: `Bearer ${c.h.adminToken}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/pdf');
    const pages = pdfPages(res.rawPayload);
    expect(pages).toHaveLength(2);
    const text = pages.map((p) => p.text.replace(/\s/g, ''));
    // By hand, as above: 381,98 ₽ for account A-1, 623,89 ₽ for A-2; each page's total is its own line.
    expect(text[0]).toContain('Начислениязаянварь2026');
    expect(text[0]).toContain('Лицевойсчёт:A-1');
    expect(text[0]).toContain('Итогокоплате:381,98₽');
    expect(text[1]).toContain('Лицевойсчёт:A-2');
    expect(text[1]).toContain('623,89₽');
    expect(text[1]).toContain('Итогокоплате:623,89₽');
    expect(text.join('')).not.toContain('B-1');
  });

  it("a billing user of another organisation sees none of this building's lines", async () => {
    await c.signIn('bill-b');
    await c.open('/billing?period=2026-01', 'billing-lines');
    await c.byTestId('billing-period-card').waitFor();
    expect(await c.page.locator('[data-testid^="line-amount-"]').count()).toBe(0);
    expect(await c.byTestId('billing-page').textContent()).not.toContain(A.address);
    // Naming A's organisation in the link: refused, still no line.
    await c.open(`/billing?period=2026-01&org=${A.org}`, 'error');
    expect(await c.page.locator('[data-testid^="line-amount-"]').count()).toBe(0);
    expect(await c.byTestId('billing-page').textContent()).not.toContain('1005');
    const token = await c.page.evaluate(() => (globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } }).sessionStorage.getItem('amr.dashboard.token'));
    expect((await c.h.call('GET', `/billing/lines?period=2026-01&building_id=${A.building}`, token)).status).toBe(404);
    expect((await c.h.call('GET', `/billing/periods/2026-01?org_id=${A.org}`, token)).status).toBe(404);
  }, 30_000);
});

describe('exchange on the screens', () => {
  it('a folder exchange created, run now, its run in the log with the counts', async () => {
    await c.signIn('bill-a');
    await c.open('/exchange', 'exchange-form');
    const form = c.byTestId('exchange-form');
    await form.locator('select[name="direction"]').selectOption('export');
    await form.locator('select[name="building_id"]').selectOption(String(A.building));
    await form.locator('input[name="folder"]').fill('outbox');
    await form.locator('input[name="period_days"]').fill('60');
    await c.byTestId('exchange-save').click();
    await c.byTestId('exchange-saved').waitFor();
    const configs = await c.h.call<Array<{ id: number; folder: string; building_id: number }>>('GET', `/exchange/configs?org_id=${A.org}`, c.h.adminToken);
    expect(configs.body).toHaveLength(1);
    const cfg = configs.body[0];
    expect(cfg).toMatchObject({ building_id: A.building, folder: join(root, `org-${A.org}`, 'outbox') });

    await c.byTestId(`run-${cfg.id}`).click();
    await c.byTestId('exchange-ran').waitFor();
    expect(await c.byTestId('exchange-ran').textContent()).toContain('успешно');
    // The four January/February readings of the building (60 days back from 10 February) in one file.
    const runs = await c.h.call<Array<{ id: number; status: string; counts: Record<string, number> }>>('GET', `/exchange/runs?config_id=${cfg.id}`, c.h.adminToken);
    expect(runs.body.map((r) => [r.status, r.counts])).toEqual([['ok', { files: 1, readings: 4 }]]);
    const counts = c.byTestId(`run-counts-${runs.body[0].id}`);
    await counts.waitFor();
    expect(await counts.textContent()).toBe('файлов: 1, показаний выгружено: 4');
    expect((await readdir(join(root, `org-${A.org}`, 'outbox'))).filter((f) => f.endsWith('.xml'))).toHaveLength(1);

    await c.open(`/exchange/runs/${runs.body[0].id}`, 'run-counts');
    expect(await c.byTestId('run-counts').textContent()).toBe('файлов: 1, показаний выгружено: 4');
    expect(await c.byTestId('run-message').textContent()).toContain('4 readings');
    expect(c.browser.pageErrors).toEqual([]);
  }, 30_000);
});

describe('screen checks', () => {
  it('lines, tariffs and exchange: both languages and viewports, nothing wrong', async () => {
    await c.signIn('bill-a');
    const lines = await checkScreen(c, 'billing-lines', '/billing?period=2026-01', 'billing-lines',
      (p) => p.locator('[data-testid^="line-amount-"]').nth(1).waitFor());
    const tariffs = await checkScreen(c, 'billing-tariffs', '/billing/tariffs', 'billing-tariffs-table');
    const exchange = await checkScreen(c, 'exchange', '/exchange', 'exchange-runs-table');
    expect([...lines.problems, ...tariffs.problems, ...exchange.problems]).toEqual([]);
  }, 120_000);
});
