/**
 * The residents' access and reading-collection screens in Chromium, on the real API (embedded database,
 * a stopped clock: 15 November 2026, noon in Moscow) with a real job runner (Redis) and SMTP receiver:
 *   - access: the invite letters PDF downloaded from the screen has a page per account and turns every
 *     code live; revoke and a single code from the table; another organisation's engineer does not see
 *     the building at all;
 *   - collection: the window saved from the screen is what the API returns; "send reminders now" puts
 *     the residents' reminders in the log shown on the screen;
 *   - both screens pass the screen check (RU/EN, desktop/phone, axe, no sideways scroll, no raw keys).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { pino } from 'pino';
import { JobRunner } from '../../src/jobs/index.js';
import { defineReminderJobs } from '../../src/reminders/index.js';
import { fixedClock } from '../../src/util/clock.js';
import { startSmtpReceiver, type SmtpReceiver } from '../alerts/receivers.js';
import { REDIS_URL, removeRedisKeys } from '../redis.js';
import { pdfPages } from '../collection/pdf-pages.js';
import { seedAccessOrganisations } from '../collection/access-seed.js';
import { checkScreen, startConsole, type Console } from './console.js';

const NOW = new Date('2026-11-15T12:00:00+03:00');
const prefix = `amrtest-access-${randomUUID()}`;
let c: Console;
let runner: JobRunner;
let smtp: SmtpReceiver;
let bA: number, bB: number;
let accs: number[];

interface AccessRow { account_id: number; state: string }

beforeAll(async () => {
  smtp = await startSmtpReceiver();
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  runner = new JobRunner({ redisUrl: REDIS_URL, prefix, logger });
  const clock = fixedClock(NOW);
  c = await startConsole('access', { clock, jobs: runner });
  await defineReminderJobs(runner, { db: c.h.opened.db, logger, config: { SMTP_URL: smtp.url, SMTP_FROM: 'uk@example.org' }, sendAttempts: 1, schedule: false, clock });
  ({ bA, bB, accs } = await seedAccessOrganisations(c.h, ['1', '2', '3'], async ({ post }, n, premise, acc) => {
    await post('/residents', { account_id: acc, full_name: `Жилец ${n}`, email: `flat${n}@example.org` });
    await post('/meters', { placement: 'apartment', premise_id: premise, resource: 'cold_water', serial_number: `CW-${n}`, make: 'X', next_verification_on: '2031-01-01' });
  }));
  await c.h.userToken('engineer', { username: 'eng-access', buildingIds: [bA] });
  await c.h.userToken('engineer', { username: 'eng-other', buildingIds: [bB] });
  await c.signIn('eng-access');
}, 120_000);

afterAll(async () => {
  await c?.close();
  await runner?.close();
  await smtp?.close();
  await removeRedisKeys(prefix);
});

const states = async () => (await c.h.call<{ items: AccessRow[] }>('GET', `/buildings/${bA}/access-codes`, c.h.adminToken)).body.items.map((r) => r.state);

describe('residents\' access screen', () => {
  it('prints the letters of the building as one PDF, then revokes one code and issues another from the table', async () => {
    await c.open(`/access?building=${bA}`, 'access-table');
    await c.byTestId(`access-state-${accs[0]}`).waitFor();
    expect(await c.byTestId(`access-state-${accs[0]}`).getAttribute('data-code')).toBe('none');
    const [download] = await Promise.all([c.page.waitForEvent('download'), c.byTestId('letters-print').click()]);
    expect(download.suggestedFilename()).toBe(`invites-${bA}-2026-11-15.pdf`);
    const pages = pdfPages(await readFile((await download.path())));
    expect(pages.map((p) => /Лицевой счёт: (\S+)/.exec(p.text)?.[1])).toEqual(['ЛС-100', 'ЛС-200', 'ЛС-300']);
    expect(await c.byTestId('letters-done').textContent()).toBe(`Готово: 3 письма в файле invites-${bA}-2026-11-15.pdf.`);
    await c.page.waitForSelector(`[data-testid="access-state-${accs[0]}"][data-code="active"]`);
    expect(await states()).toEqual(['active', 'active', 'active']);

    await c.byTestId(`access-revoke-${accs[0]}`).click();
    await c.page.waitForSelector(`[data-testid="access-state-${accs[0]}"][data-code="revoked"]`);
    await c.byTestId(`access-issue-${accs[1]}`).click();
    const code = (await c.byTestId('access-issued-code').textContent())!;
    expect((await c.h.call('POST', '/resident/sign-in', null, { account_number: 'ЛС-200', code })).status).toBe(200);
    expect(await states()).toEqual(['revoked', 'used', 'active']);
    expect(c.browser.pageErrors).toEqual([]);
  }, 60_000);

  it('passes the screen check', async () => {
    const r = await checkScreen(c, 'access', `/access?building=${bA}`, 'access-table');
    expect(r.problems).toEqual([]);
  }, 120_000);
});

describe('collection screen', () => {
  it('the window saved on the screen is what the API returns; "send reminders now" logs the residents\' reminders', async () => {
    await c.open(`/collection?building=${bA}`, 'collection-window-form');
    await c.setLanguage('ru');
    await c.byTestId('collection-window-form').waitFor();
    await c.page.fill('[data-testid="window-start"]', '16');
    await c.page.fill('[data-testid="window-end"]', '24');
    await c.page.fill('[data-testid="window-reminder-days"]', '15, 24');
    // The list is read again after a save; that refresh is held back here until the user has typed
    // on, as a slow line would: landing late, it must not replace what is being typed.
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    const isList = (u: URL) => u.pathname.endsWith('/collection-settings');
    await c.page.route(isList, async (route) => { if (route.request().method() === 'GET') await held; await route.continue(); });
    await c.byTestId('window-save').click();
    expect(await c.byTestId('window-saved').textContent()).toBe('Сохранено: приём с 16 по 24 число.');
    await c.page.fill('[data-testid="window-start"]', '15');
    const reloaded = c.page.waitForResponse((r) => isList(new URL(r.url())) && r.request().method() === 'GET');
    release();
    await reloaded;
    await c.page.evaluate(() => new Promise((r) => setTimeout(r, 100))); // let the screen render the refresh
    expect(await c.page.inputValue('[data-testid="window-start"]')).toBe('15');
    await c.page.unroute(isList);
    const row = async () => (await c.h.call<{ items: Array<{ building_id: number | null; resource: string | null; window_start_day: number; window_end_day: number; reminder_days: number[] }> }>(
      'GET', `/collection-settings?building_id=${bA}`, c.h.adminToken)).body.items.find((r) => r.building_id === bA && r.resource === null);
    expect(await row()).toMatchObject({ window_start_day: 16, window_end_day: 24, reminder_days: [15, 24] });
    // Back to 15–25: today, the 15th, is its first day and a reminder day.
    await c.page.fill('[data-testid="window-end"]', '25');
    await c.byTestId('window-save').click();
    await c.page.waitForFunction(() => (globalThis as unknown as { document: { querySelector(s: string): { textContent: string } | null } }).document
      .querySelector('[data-testid="window-saved"]')?.textContent.includes('15 по 25'));
    expect(await row()).toMatchObject({ window_start_day: 15, window_end_day: 25, reminder_days: [15, 24] });

    await c.byTestId('reminders-residents').check();
    await c.byTestId('reminders-save').click();
    await c.byTestId('reminders-saved').waitFor();
    await c.byTestId('run-reminders').click();
    await c.byTestId('run-queued').waitFor();
    // The job runs in the background; the screen reads the log again after it.
    let rows = 0;
    for (let i = 0; i < 40 && rows < 3; i++) {
      await c.page.waitForTimeout(500);
      await c.byTestId('log-reload').click();
      rows = await c.page.locator('tr[data-testid^="notification-"]').filter({ hasText: 'начало приёма' }).count();
    }
    expect(rows).toBe(3);
    const log = await c.h.call<{ items: Array<{ kind: string; recipient: string }> }>('GET', `/notifications?building_id=${bA}`, c.h.adminToken);
    expect(log.body.items.map((r) => `${r.kind} ${r.recipient}`).sort()).toEqual(['window_open flat1@example.org', 'window_open flat2@example.org', 'window_open flat3@example.org']);
  }, 60_000);

  it('passes the screen check', async () => {
    const r = await checkScreen(c, 'collection', `/collection?building=${bA}`, 'collection-log', async (page) => { await page.locator('[data-testid="notification-log"]').waitFor(); });
    expect(r.problems).toEqual([]);
  }, 120_000);
});

describe('another organisation', () => {
  it('its engineer sees neither the building nor its accounts on the access screen', async () => {
    await c.signIn('eng-other');
    await c.open('/access', 'access-table');
    const options = await c.page.locator('[data-testid="building-select"] option').allTextContents();
    expect(options).toEqual(['ул. Мира, 9, Тверь']);
    expect(await c.page.locator('[data-testid^="access-row-"]').allTextContents()).toEqual([expect.stringContaining('ЛС-900')]);
    await c.open(`/access?building=${bA}`, 'access-table');
    expect(await c.page.locator('[data-testid^="access-row-"]').allTextContents()).toEqual([expect.stringContaining('ЛС-900')]);
  }, 60_000);
});
