/**
 * Two office screens in Chromium (one head-end and browser for both).
 *
 * The file-import screen: an office uploads its monthly readings CSV. Check first (a dry
 * run): a row with a decrease is refused, named by row and column, and the "import" button stays off;
 * nothing is stored. The corrected file checks clean ("2 new readings") and is imported; the API then
 * holds exactly those two readings. The clock is fixed (20 March 2026, the window open).
 *
 * The imbalance-thresholds screen: an engineer sets his building's heat threshold (stored as his row,
 * shown in the table); the default row, which governs every building, is refused to him with the
 * translated "no right" and stays as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/util/clock.js';
import { checkScreen, startConsole, type Console } from './console.js';

let c: Console;
let m1: number, m2: number, building: number;

const stored = async (m: number) => (await c.h.opened.db.query<{ value: number; source: string }>(
  'SELECT value, source FROM readings WHERE meter_id = $1 ORDER BY time', [m])).rows.map((r) => [Number(r.value), r.source]);

beforeAll(async () => {
  c = await startConsole('import', { clock: fixedClock('2026-03-20T09:00:00Z') });
  const t = c.h.adminToken;
  const org = (await c.h.call('POST', '/organisations', t, { name: 'УК Загрузка' })).body.id;
  const b = (await c.h.call('POST', '/buildings', t, { org_id: org, external_id: 'IMP', address: 'ул. Файловая, 2' })).body.id;
  building = b;
  const flat = async (n: string) => (await c.h.call('POST', '/premises', t, { building_id: b, number: n })).body.id as number;
  const [p1, p2] = [await flat('1'), await flat('2')];
  await c.h.call('POST', '/accounts', t, { org_id: org, number: 'LS-1', premise_id: p1 });
  await c.h.call('POST', '/accounts', t, { org_id: org, number: 'LS-2', premise_id: p2 });
  const meter = async (p: number, serial: string) => (await c.h.call('POST', '/meters', t, { placement: 'apartment', building_id: b, premise_id: p, resource: 'cold_water', serial_number: serial, make: 'X', installed_on: '2020-01-10' })).body.id as number;
  m1 = await meter(p1, 'CW-1');
  m2 = await meter(p2, 'CW-2');
  // February's readings, so March's can be judged against them.
  await c.h.call('POST', `/meters/${m1}/readings`, t, { time: '2026-02-20T09:00:00Z', value: 100, reason: 'старт' });
  await c.h.call('POST', `/meters/${m2}/readings`, t, { time: '2026-02-20T09:00:00Z', value: 50, reason: 'старт' });
  await c.h.userToken('engineer', { buildingIds: [b], username: 'eng-import' });
}, 120_000);
afterAll(async () => { await c?.close(); });

const file = (rows: string) => ({ name: 'март.csv', mimeType: 'text/csv', buffer: Buffer.from(`account;serial;date;value\n${rows}`) });

describe('file import screen', () => {
  it('a decrease in row 3 is refused by row and column; import stays off; nothing stored', async () => {
    await c.signIn('eng-import');
    await c.open('/import', 'import-page');
    await c.page.setInputFiles('[data-testid="import-file"]', file('LS-1;CW-1;2026-03-18;107.5\nLS-2;CW-2;2026-03-18;45\n'));
    expect(await c.byTestId('import-apply').isDisabled()).toBe(true);
    await c.byTestId('import-check').click();
    await c.byTestId('import-report').waitFor();
    expect(await c.byTestId('import-report').getAttribute('data-state')).toBe('refused');
    const rows = c.byTestId('import-errors').locator('tbody tr');
    expect(await rows.count()).toBe(1);
    // Row 3 of the file (the header is row 1): CW-2's 45 is below February's 50.
    expect(await rows.first().locator('td').nth(1).textContent()).toBe('3');
    expect(await rows.first().textContent()).toContain('50');
    expect(await c.byTestId('import-apply').isDisabled()).toBe(true);
    expect(await stored(m1)).toEqual([[100, 'staff']]);
  }, 60_000);

  it('the corrected file checks clean, then imports exactly its two readings', async () => {
    await c.page.setInputFiles('[data-testid="import-file"]', file('LS-1;CW-1;2026-03-18;107.5\nLS-2;CW-2;2026-03-18;54\n'));
    await c.byTestId('import-check').click();
    await expect.poll(() => c.byTestId('import-report').getAttribute('data-state')).toBe('checked');
    expect(await c.byTestId('import-status').textContent()).toContain('новых показаний 2');
    expect(await stored(m2)).toEqual([[50, 'staff']]);
    await c.byTestId('import-apply').click();
    await expect.poll(() => c.byTestId('import-report').getAttribute('data-state')).toBe('applied');
    expect(await stored(m1)).toEqual([[100, 'staff'], [107.5, 'import']]);
    expect(await stored(m2)).toEqual([[50, 'staff'], [54, 'import']]);
    // Once imported, the button is off again: a second click cannot import the file twice.
    expect(await c.byTestId('import-apply').isDisabled()).toBe(true);
    expect(c.browser.pageErrors).toEqual([]);
  }, 60_000);

  it('both languages and viewports, axe', async () => {
    const r = await checkScreen(c, 'import', '/import', 'import-page');
    expect(r.problems).toEqual([]);
  }, 120_000);
});

describe('imbalance thresholds screen', () => {
  it('an engineer sets his building\'s heat threshold; the default is refused to him and unchanged', async () => {
    await c.open('/thresholds', 'threshold-form');
    await c.setLanguage('ru');
    await c.page.selectOption('[data-testid="threshold-building"]', String(building));
    await c.page.selectOption('[data-testid="threshold-resource"]', 'heat');
    await c.page.fill('[data-testid="threshold-high"]', '7.5');
    await c.byTestId('threshold-save').click();
    await c.byTestId('threshold-saved').waitFor();
    const rows = (await c.h.call<Array<{ building_id: number | null; resource: string; high_loss_pct: number; updated_by: string }>>('GET', '/imbalance-thresholds', c.h.adminToken)).body;
    expect(rows.filter((r) => r.building_id === building)).toEqual([expect.objectContaining({ resource: 'heat', high_loss_pct: 7.5, updated_by: 'eng-import' })]);
    await c.byTestId(`threshold-${building}-heat`).waitFor();
    expect(await c.byTestId(`threshold-${building}-heat`).textContent()).toContain('7,5 %');

    const defaults = rows.filter((r) => r.building_id === null);
    await c.page.selectOption('[data-testid="threshold-building"]', '');
    await c.page.fill('[data-testid="threshold-high"]', '1');
    await c.byTestId('threshold-save').click();
    await c.byTestId('error').waitFor();
    expect(await c.byTestId('error').textContent()).toContain('Недостаточно прав');
    const after = (await c.h.call<typeof rows>('GET', '/imbalance-thresholds', c.h.adminToken)).body.filter((r) => r.building_id === null);
    expect(after).toEqual(defaults);
  }, 60_000);

  it('both languages and viewports, axe', async () => {
    const r = await checkScreen(c, 'thresholds', '/thresholds', 'thresholds-table');
    expect(r.problems).toEqual([]);
  }, 120_000);
});
