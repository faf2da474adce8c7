/**
 * The building page's work list in Chromium: a heat meter's archive records flagged for НС and a
 * working-time shortfall appear with their reasons in Russian (how long, in minutes), and the reason
 * filter narrows the list to one code. Records through the ingest writer, verdicts by the validator.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { pino } from 'pino';
import { launchChromium, type Browser, type PageGlobals } from '../browser.js';
import { startHarness, type Harness } from '../api/harness.js';
import { writeReadings } from '../../src/ingest/index.js';
import { startValidator } from '../../src/validation/index.js';
import { hourlyArchiveMessage, registerGateway, type Fixture, type HourRecord } from '../ingest/fixtures.js';

let h: Harness;
let fx: Fixture;
let buildingId: number;
let base: string;
let browser: Browser;
let page: Page;
const byTestId = (id: string) => page.locator(`[data-testid="${id}"]`);

const hour = (seq: number, utc: string, local: string, x: HourRecord) => hourlyArchiveMessage(fx.gatewayId, seq, utc, local, x);

beforeAll(async () => {
  h = await startHarness();
  fx = await registerGateway(h.opened.db, 'gw-flagged-ui', 1);
  buildingId = Number((await h.opened.db.query<{ building_id: string }>('SELECT building_id FROM meters WHERE id = $1', [fx.meterIds[0]])).rows[0].building_id);
  await h.userToken('engineer', { buildingIds: [buildingId], username: 'sidorov' });
  await writeReadings(h.opened.db, [
    hour(1, '2026-01-15T07:00:00.000Z', '2026-01-15T10:00:00', { q: 10.2, tr: 2400, tns: 1200, codes: ['dt_low'] }),
    hour(2, '2026-01-15T08:00:00.000Z', '2026-01-15T11:00:00', { q: 0, tr: 0, tns: 0, codes: ['power_off'] }),
    hour(3, '2026-01-15T09:00:00.000Z', '2026-01-15T12:00:00', { q: 70, tr: 2400, tns: 0, codes: [] }),
  ], { clock: () => new Date('2026-01-16T12:00:00Z') });
  const v = startValidator({ db: h.opened.db, logger: pino({ level: 'silent' }), intervalMs: 3_600_000 });
  await v.drain();
  await v.stop();
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  browser = await launchChromium('flagged-ns', { locale: 'ru-RU', viewport: { width: 1400, height: 1000 } });
  page = browser.page;
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe('НС verdicts on the building page', () => {
  it('shows the НС and shortfall reasons in Russian and filters them by reason', async () => {
    await page.goto(`${base}/dashboard/`);
    await byTestId('login-form').waitFor();
    await page.fill('input[name="username"]', 'sidorov');
    await page.fill('input[name="password"]', 'password-123');
    await page.click('form[data-testid="login-form"] button[type="submit"]');
    await expect.poll(() => byTestId('whoami').textContent()).toContain('sidorov');
    await page.evaluate((id) => { (globalThis as unknown as PageGlobals).location.hash = `#/buildings/${id}?resource=heat&from=2026-01&to=2026-01`; }, buildingId);
    const rows = byTestId('flagged-table').locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(3);
    const texts = await rows.allTextContents();
    // 10:00: Δt below minimum, 20 min under НС (Тнс 1200 s).
    expect(texts[0]).toContain('НС: разность температур ниже минимальной (Δt < Δtmin), НС: время работы в НС (Тнс) (20 мин)');
    // 11:00: the meter's power-off code, and the whole hour without working time.
    expect(texts[1]).toContain('НС: отключение питания тепловычислителя, НС: отключение питания тепловычислителя (60 мин)');
    // 12:00: no code, Тр 40 min: 20 min short of the hour.
    expect(texts[2]).toContain('НС: отключение питания тепловычислителя (20 мин)');
    await byTestId('flagged-reason').selectOption('ns_power_off');
    await expect.poll(() => rows.count()).toBe(2);
    await byTestId('flagged-reason').selectOption('ns_dt_low');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('разность температур');
  }, 60_000);
});
