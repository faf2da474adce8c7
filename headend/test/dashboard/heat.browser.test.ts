/**
 * The heat meter's archive and the monthly heat statement in the console, in Chromium against the real
 * API on an embedded database, with a stopped clock (5 March 2026). A ТВ7 of organisation A has daily
 * records for every day of February 2026 (two НС days: 10th Δt below minimum for 2 h; 20th 6 h without
 * power, its heat calculated from the 3 normal days before), two of January, and three hourly records
 * of 10 February (one under НС), all delivered through the ingest writer as a gateway's back-fill.
 * Proves:
 *  - the statement screen shows the day rows and the totals worked out by hand here, the НС list in the
 *    user's language, downloads the Excel and PDF files, and signs off (who, when) from the screen;
 *    a sign-off that someone else made meanwhile is answered 409 and said so in words;
 *  - the meter page's archive card: the charts of t1/t2/ΔT and flow/power per day (and per hour when
 *    chosen), the НС list with reasons and Тнс, the empty state, and the archive's readings marked
 *    «из архива прибора»;
 *  - another organisation's engineer sees none of it;
 *  - a building with two heat meters asks which one, and shows the chosen meter's statement;
 *  - a signed month: its deliveries through the exchange (one delivered, one whose attempts are used
 *    up, with its error), and, once a record is corrected, "sign the corrected statement" (version 2);
 *  - a signed month whose mail used up its attempts: "not mailed, attempts used up (5 of 5)" with the
 *    last error, and "send again" with a required reason and the supplier's addresses pre-filled (the
 *    mistyped "suplier@…" corrected to "supplier@…": sent as email_to, shown, audited before/after);
 *  - both screens pass the screen check (RU/EN, desktop/phone, axe, no sideways scroll).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { archiveQuantity, type MeterReading, type ReadingsMessage } from '@amr/protocols';
import type { PageGlobals } from '../browser.js';
import { fixedClock } from '../../src/util/clock.js';
import { writeReadings } from '../../src/ingest/index.js';
import { runExchange } from '../../src/exchange/run.js';
import { registerGateway, type Fixture } from '../ingest/fixtures.js';
import { pdfPages } from '../collection/pdf-pages.js';
import { checkScreen, startConsole, type Console } from './console.js';

const NOW = '2026-03-05T09:00:00Z';
const POLL = { timeout: 15_000 };
let c: Console;
let A: Fixture & { building: number; meter: number };
let B: Fixture & { building: number; meter: number };
/** A building of a third organisation with two heat meters, each with a record of 1 February. */
let C: Fixture & { building: number; meter: number };

interface Rec { t1: number; t2: number; m1: number; m2: number; q: number; tr: number; tns: number; codes: string[] }
const NORMAL: Rec = { t1: 70.5, t2: 45.25, m1: 100.125, m2: 99.5, q: 2500.4, tr: 86_400, tns: 0, codes: [] };
const SPECIAL: Record<number, Rec> = {
  10: { t1: 60, t2: 57.5, m1: 96, m2: 95.5, q: 2300.1, tr: 79_200, tns: 7200, codes: ['dt_low'] },
  20: { t1: 70.5, t2: 45.25, m1: 75, m2: 74.625, q: 1875.3, tr: 64_800, tns: 0, codes: ['power_off'] },
};
const HOUR: Rec = { t1: 71.3, t2: 46.05, m1: 4.2, m2: 4.15, q: 104.5, tr: 3600, tns: 0, codes: [] };
const HOUR_NS: Rec = { t1: 60.1, t2: 57.95, m1: 4.05, m2: 4.0, q: 10.2, tr: 2400, tns: 1200, codes: ['dt_low'] };

/** One record as the gateway's back-fill sends it; `register`: the meter's heat total at the record, if given. */
function message(fx: Fixture, seq: number, kind: 'hourly' | 'daily', utc: string, local: string, x: Rec, register?: number, address = '1'): ReadingsMessage {
  const v = (quantity: string, value: number, unit: string) => ({ quantity: archiveQuantity(quantity, kind), value, unit, time: utc, quality: ['archive' as const] });
  const values = [
    v('flow_temp_mean_c', x.t1, '°C'), v('return_temp_mean_c', x.t2, '°C'), v('mass_delta_t', x.m1, 't'), v('return_mass_delta_t', x.m2, 't'),
    v('energy_delta_kwh', x.q, 'kWh'), v('operating_time_delta_s', x.tr, 's'), v('error_time_delta_s', x.tns, 's'),
  ];
  if (register !== undefined) values.push({ quantity: 'energy_kwh', value: register, unit: 'kWh', time: utc, quality: ['archive' as const] });
  const reading: MeterReading = {
    seq, meter: { meterKey: `tv7-${address}`, bus: 'm1', protocol: 'modbus', address }, gatewayTime: '2026-03-01T08:00:00.000Z', quality: ['archive'], values,
    archive: { kind, record: local, stamp: 'start', seconds: kind === 'daily' ? 86_400 : 3600, nsCodes: x.codes },
  };
  return { v: 1, gatewayId: fx.gatewayId, sentAt: '2026-03-01T08:00:01.000Z', readings: [reading] };
}

/** Day `d` of month `m` (1-based) 2026, 00:00 in Moscow = 21:00 UTC the day before. */
const dayUtc = (m: number, d: number) => new Date(Date.UTC(2026, m - 1, d) - 3 * 3600_000).toISOString();
const dayLocal = (m: number, d: number) => `2026-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}T00:00:00`;

async function seedOrg(gw: string, address: string, meters = 1): Promise<Fixture & { building: number; meter: number }> {
  const fx = await registerGateway(c.h.opened.db, gw, meters);
  const { rows } = await c.h.opened.db.query<{ building_id: number }>(
    `UPDATE meters SET make = 'Термотроник', model = 'ТВ7', place = 'ИТП' WHERE id = $1 RETURNING building_id`, [fx.meterIds[0]]);
  const building = Number(rows[0].building_id);
  await c.h.opened.db.query(`UPDATE buildings SET address = $2, timezone = 'Europe/Moscow' WHERE id = $1`, [building, address]);
  return { ...fx, building, meter: fx.meterIds[0] };
}

beforeAll(async () => {
  c = await startConsole('heat', { clock: fixedClock(NOW) });
  A = await seedOrg('gw-heat-ui-a', 'г. Тверь, ул. Тёплая, 7');
  B = await seedOrg('gw-heat-ui-b', 'г. Тверь, ул. Чужая, 1');
  const msgs: ReadingsMessage[] = [];
  let seq = 1;
  // February: every day, the register's total at the start of each day 100 000 + 2 500 per day before.
  for (let d = 1; d <= 28; d++) msgs.push(message(A, seq++, 'daily', dayUtc(2, d), dayLocal(2, d), SPECIAL[d] ?? NORMAL, 100_000 + 2500 * (d - 1)));
  for (const d of [30, 31]) msgs.push(message(A, seq++, 'daily', dayUtc(1, d), dayLocal(1, d), NORMAL));
  msgs.push(message(A, seq++, 'hourly', '2026-02-09T23:00:00.000Z', '2026-02-10T02:00:00', HOUR));
  msgs.push(message(A, seq++, 'hourly', '2026-02-10T00:00:00.000Z', '2026-02-10T03:00:00', HOUR_NS));
  msgs.push(message(A, seq++, 'hourly', '2026-02-10T01:00:00.000Z', '2026-02-10T04:00:00', HOUR));
  expect(await writeReadings(c.h.opened.db, msgs, { clock: fixedClock(NOW) })).toMatchObject({ stored: 28 * 8 + 2 * 7 + 3 * 7, quarantined: {} });
  C = await seedOrg('gw-heat-ui-c', 'г. Тверь, ул. Двойная, 2', 2);
  // The second meter: 1163 kWh = 1,000 Гкал on 1 February.
  expect(await writeReadings(c.h.opened.db, [
    message(C, 1, 'daily', dayUtc(2, 1), dayLocal(2, 1), NORMAL),
    message(C, 2, 'daily', dayUtc(2, 1), dayLocal(2, 1), { ...NORMAL, q: 1163 }, undefined, '2'),
  ], { clock: fixedClock(NOW) })).toMatchObject({ stored: 14, quarantined: {} });
  await c.h.userToken('engineer', { buildingIds: [C.building], username: 'sidorov' });
  await c.h.userToken('engineer', { buildingIds: [A.building], username: 'ivanov' });
  await c.h.userToken('engineer', { buildingIds: [B.building], username: 'eng-other' });
}, 120_000);

afterAll(async () => { await c?.close(); });

/** The ECharts instance on a test id: its series (id, number of points) and y-axis names. */
function chart(testid: string) {
  return c.page.evaluate((id) => {
    const g = globalThis as unknown as PageGlobals;
    const inst = g.echarts.getInstanceByDom(g.document.querySelector(`[data-testid="${id}"]`));
    if (!inst) return null;
    const o = inst.getOption() as unknown as { yAxis: { name?: string }[]; series: { id: string; data: { value: [string, number | null] }[] }[] };
    return { axes: o.yAxis.map((y) => y.name ?? null), series: o.series.map((s) => ({ id: s.id, points: s.data.length, first: s.data[0]?.value ?? null })) };
  }, testid);
}

const cellTexts = (testid: string) => c.byTestId(testid).locator('td').allInnerTexts();
/** A number as the Russian screen writes it, without the (narrow) no-break spaces Intl puts in. */
const bare = (s: string) => s.replace(/\s/g, '');

describe('heat statement screen', () => {
  it('February: the days and the totals worked out by hand, the НС list in Russian, Excel and PDF downloaded', async () => {
    await c.signIn('ivanov');
    await c.setLanguage('ru');
    await expect(c.byTestId('nav-heat').innerText()).resolves.toBe('Ведомость тепла');
    await c.open(`/heat?building=${A.building}&period=2026-02`, 'heat-table');
    await expect(c.byTestId('heat-source').innerText()).resolves.toBe('суточные записи архива прибора');
    await expect(c.byTestId('heat-device').innerText()).resolves.toMatch(/^Термотроник ТВ7, зав\. № gw-heat-ui-a-1-/);
    // A normal day: as recorded; 2500.4 kWh / 1163 = 2.14995… → 2,150 Гкал.
    expect((await cellTexts('heat-row-2026-02-01')).slice(0, 9).map(bare)).toEqual(['01.02.2026', '70,50', '45,25', '100,125', '99,500', '0,625', '2,150', '24,00', '0,00']);
    // 10th: Δt low 2 h; 2300.1 / 1163 = 1.97773… → 1,978.
    expect((await cellTexts('heat-row-2026-02-10')).map(bare)).toEqual(['10.02.2026', '60,00', '57,50', '96,000', '95,500', '0,500', '1,978', '22,00', '2,00', 'НС']);
    // 20th: 6 h off, + 3 × 2500.4 / 72 h × 6 h = 625.1 kWh → 1875.3 + 625.1 = 2500.4 kWh → 2,150 Гкал.
    expect((await cellTexts('heat-row-2026-02-20')).map(bare)).toEqual(['20.02.2026', '70,50', '45,25', '75,000', '74,625', '0,375', '2,150', '18,00', '0,00', 'НС,Qрасчётное']);
    // Totals: t by mass over every record: Σ t1·M1 / Σ M1 = 194 576.625 / 2 774.25 = 70.1366… → 70,14;
    // Σ t2·M2 / Σ M2 = 125 928.16… / 2 757.125 = 45.6743… → 45,67; M1 = 26 × 100.125 + 96 + 75 = 2 774.25;
    // M2 = 26 × 99.5 + 95.5 + 74.625 = 2 757.125; M1−M2 = 26 × 0.625 + 0.5 + 0.375 = 17.125;
    // Q = 27 × 2.150 + 1.978 = 60.028 Гкал (the rounded days added up); Тр = 26 × 24 + 22 + 18 = 664 h; Тнс = 2 h.
    expect((await cellTexts('heat-row-total')).map(bare)).toEqual(['Итого', '70,14', '45,67', '2774,250', '2757,125', '17,125', '60,028', '664,00', '2,00', 'НС:2']);
    await expect(c.byTestId('heat-q-total').getAttribute('data-value')).resolves.toBe('60.028');
    expect(await c.byTestId('heat-ns-table').locator('tbody tr').count()).toBe(2);
    expect(await cellTexts('heat-ns-2026-02-10T00:00')).toEqual([
      '10.02.2026 00:00 — 11.02.2026 00:00', 'разность температур ниже минимальной (Δt < Δtmin); время работы в НС (Тнс): 2 ч', '—']);
    expect(await cellTexts('heat-ns-2026-02-20T00:00')).toEqual([
      '20.02.2026 00:00 — 21.02.2026 00:00', 'отключение питания тепловычислителя; отключение питания тепловычислителя: 6 ч',
      'за 6 ч рассчитано по среднечасовому Q нормальной работы: +625,1 кВт·ч']);
    await expect(c.byTestId('heat-unsigned').innerText()).resolves.toBe('Ведомость ещё не подписана.');

    const [xlsx] = await Promise.all([c.page.waitForEvent('download'), c.byTestId('heat-xlsx').click()]);
    expect(xlsx.suggestedFilename()).toBe(`heat-statement-${A.building}-2026-02.xlsx`);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load((await readFile((await xlsx.path()))) as unknown as ArrayBuffer);
    const rows: unknown[][] = [];
    wb.getWorksheet('Ведомость')!.eachRow((r) => rows.push((r.values as unknown[]).slice(1)));
    expect(rows.find((r) => r[0] === 'Итого')?.slice(0, 7)).toEqual(['Итого', 70.14, 45.67, 2774.25, 2757.125, 17.125, 60.028]);
    const [pdf] = await Promise.all([c.page.waitForEvent('download'), c.byTestId('heat-pdf').click()]);
    expect(pdf.suggestedFilename()).toBe(`heat-statement-${A.building}-2026-02.pdf`);
    expect(pdfPages(await readFile((await pdf.path()))).map((p) => p.text).join('\n')).toContain('Адрес объекта: г. Тверь, ул. Тёплая, 7');
  });

  it('passes the screen check in both languages and on a phone', async () => {
    const found = await checkScreen(c, 'heat-statement', `/heat?building=${A.building}&period=2026-02`, 'heat-table');
    expect(found.problems).toEqual([]);
    await c.setLanguage('en');
    await c.open(`/heat?building=${A.building}&period=2026-02`, 'heat-table');
    expect(await cellTexts('heat-ns-2026-02-10T00:00')).toEqual([
      '10/02/2026 00:00 — 11/02/2026 00:00', 'temperature difference below minimum (Δt < Δtmin); time under abnormal situation (Tns): 2 h', '—']);
    await c.setLanguage('ru');
  });

  it('signs February off from the screen: who and when shown, stored once', async () => {
    await c.open(`/heat?building=${A.building}&period=2026-02`, 'heat-sign');
    await c.byTestId('heat-sign').click();
    // 09:00 UTC is 12:00 in Moscow, the building's zone.
    await expect(c.byTestId('heat-signed').innerText(POLL)).resolves.toBe('Ведомость подписана: ivanov, 05.03.2026, 12:00');
    expect(await c.byTestId('heat-sign').count()).toBe(0);
    const { rows } = await c.h.opened.db.query<{ signed_by: string; period: string }>(
      `SELECT signed_by, to_char(period, 'YYYY-MM') AS period FROM heat_statement_signoffs WHERE building_id = $1`, [A.building]);
    expect(rows).toEqual([{ signed_by: 'ivanov', period: '2026-02' }]);
  });

  it('a sign-off someone made meanwhile: the 409 said in words, with who signed', async () => {
    await c.open(`/heat?building=${A.building}&period=2026-01`, 'heat-sign');
    // January: two days only; the others are "нет данных", never zeros.
    expect((await cellTexts('heat-row-2026-01-05')).map(bare)).toEqual(['05.01.2026', '—', '—', '—', '—', '—', '—', '—', '—', 'нетданных']);
    const petrov = await c.h.userToken('engineer', { buildingIds: [A.building], username: 'petrov' });
    expect((await c.h.call('POST', `/buildings/${A.building}/heat-statement/sign-off`, petrov, { period: '2026-01' })).status).toBe(200);
    await c.byTestId('heat-sign').click();
    // The statement reloaded after the refusal names who signed; the refusal says it in words.
    await expect(c.byTestId('heat-signed').innerText(POLL)).resolves.toBe('Ведомость подписана: petrov, 05.03.2026, 12:00');
    await expect(c.byTestId('heat-sign-error').innerText()).resolves.toBe('Ведомость за этот месяц уже подписана (petrov, 05.03.2026, 12:00): месяц подписывают один раз.');
  });

  it('a month without records says so, with nothing to download or sign', async () => {
    await c.open(`/heat?building=${A.building}&period=2025-12`, 'heat-empty');
    await expect(c.byTestId('heat-empty').innerText()).resolves.toBe('За декабрь 2025 нет архивных записей прибора: ведомость не составлена (нули не подставляются).');
    expect([await c.byTestId('heat-table').count(), await c.byTestId('heat-sign').count(), await c.byTestId('heat-xlsx').isDisabled()]).toEqual([0, 0, true]);
  });
});

describe('meter page: the archive', () => {
  const route = (q = '') => `/meters/${A.meter}?from=2026-02-01&to=2026-02-28${q}`;

  it('daily records: both charts per day, the НС days with reasons and Тнс, the readings marked as from the archive', async () => {
    await c.open(route(), 'archive-ns');
    await expect(c.byTestId('archive-kind-daily').getAttribute('aria-pressed')).resolves.toBe('true');
    await expect(c.byTestId('archive-kind-hourly').innerText()).resolves.toBe('По часам (3)');
    await expect(c.byTestId('archive-source').innerText()).resolves.toMatch(/^28 записей из архива прибора/);
    await c.page.waitForFunction(() => (globalThis as unknown as PageGlobals).echarts.getInstanceByDom(
      (globalThis as unknown as PageGlobals).document.querySelector('[data-testid="archive-flow"]')) !== undefined, undefined, POLL);
    expect(await chart('archive-temps')).toEqual({
      axes: ['°C'],
      series: [
        { id: 't1', points: 28, first: ['2026-01-31T21:00:00.000Z', 70.5] },
        { id: 't2', points: 28, first: ['2026-01-31T21:00:00.000Z', 45.25] },
        { id: 'dt', points: 28, first: ['2026-01-31T21:00:00.000Z', 25.25] },
      ],
    });
    // Per day: 100.125 t / 24 h = 4.171875 → 4.172 t/h; 2500.4 kWh / 24 h = 104.18333… → 104.183 kW.
    expect(await chart('archive-flow')).toEqual({
      axes: ['т/ч', 'кВт'],
      series: [{ id: 'flow', points: 28, first: ['2026-01-31T21:00:00.000Z', 4.172] }, { id: 'power', points: 28, first: ['2026-01-31T21:00:00.000Z', 104.183] }],
    });
    expect(await cellTexts('archive-ns-2026-02-10T00:00')).toEqual([
      '10.02.2026 00:00 — 11.02.2026 00:00', 'разность температур ниже минимальной (Δt < Δtmin); время работы в НС (Тнс): 2 ч', '2']);
    expect(await cellTexts('archive-ns-2026-02-20T00:00')).toEqual([
      '20.02.2026 00:00 — 21.02.2026 00:00', 'отключение питания тепловычислителя; отключение питания тепловычислителя: 6 ч', '0']);
    expect(await c.byTestId('archive-ns').locator('tbody tr').count()).toBe(2);
    // The register totals the archive carried: in the readings table, their source said in words.
    const sources = await c.byTestId('readings-table').locator('tbody td[data-label="Источник"]').allInnerTexts();
    expect([sources.length, new Set(sources)]).toEqual([28, new Set(['из архива прибора'])]);
  });

  it('hourly records when chosen; a period without records says so', async () => {
    await c.byTestId('archive-kind-hourly').click();
    await expect.poll(() => c.byTestId('archive-kind-hourly').getAttribute('aria-pressed'), POLL).toBe('true');
    await c.byTestId('archive-ns-2026-02-10T03:00').waitFor(POLL);
    expect(await c.byTestId('archive-ns').locator('tbody tr').count()).toBe(1);
    // Δt 60.1 − 57.95 = 2.15; Тнс 1200 s = 0.33 h.
    expect(await cellTexts('archive-ns-2026-02-10T03:00')).toEqual([
      '10.02.2026 03:00 — 10.02.2026 04:00', 'разность температур ниже минимальной (Δt < Δtmin); время работы в НС (Тнс): 0,33 ч', '0,33']);
    expect((await chart('archive-temps'))?.series.map((s) => s.points)).toEqual([3, 3, 3]);
    await c.open(`/meters/${A.meter}?from=2026-03-01&to=2026-03-04`, 'archive-empty');
    await expect(c.byTestId('archive-empty').innerText()).resolves.toBe('Нет данных за этот период');
  });

  it('passes the screen check in both languages and on a phone', async () => {
    const found = await checkScreen(c, 'meter-archive', route(), 'archive-ns');
    expect(found.problems).toEqual([]);
    await c.setLanguage('ru');
  });
});

describe('another organisation', () => {
  it('its engineer sees none of A\'s statement or archive', async () => {
    await c.signIn('eng-other');
    await c.setLanguage('ru');
    // Naming A's building: the screen falls back to the user's own building, whose month has no records.
    await c.open(`/heat?building=${A.building}&period=2026-02`, 'heat-empty');
    expect(await c.byTestId('heat-building').locator('option').allInnerTexts()).toEqual(['г. Тверь, ул. Чужая, 1']);
    const text = await c.page.locator('body').innerText();
    expect([text.includes('Тёплая'), text.includes('60,028'), await c.byTestId('heat-table').count()]).toEqual([false, false, 0]);
    await c.open(`/meters/${A.meter}?from=2026-02-01&to=2026-02-28`, 'error');
    expect([await c.byTestId('archive-card').count(), await c.byTestId('meter-screen').count()]).toEqual([0, 0]);
    await expect(c.byTestId('error').innerText()).resolves.toMatch(/Не найдено/);
  });
});

describe('a building with two heat meters', () => {
  it('asks which meter, and shows the chosen one\'s statement', async () => {
    await c.signIn('sidorov');
    await c.setLanguage('ru');
    await c.open(`/heat?building=${C.building}&period=2026-02`, 'heat-choose-meter');
    const options = await c.byTestId('heat-meter-select').locator('option').allInnerTexts();
    expect(options).toEqual(['выберите прибор', expect.stringMatching(/^Термотроник ТВ7 gw-heat-ui-c-1-/), expect.stringMatching(/^TEST gw-heat-ui-c-2-/)]);
    await c.byTestId('heat-meter-select').selectOption(String(C.meterIds[1]));
    await c.byTestId('heat-table').waitFor(POLL);
    await expect(c.byTestId('heat-q-2026-02-01').getAttribute('data-value')).resolves.toBe('1');
    await expect(c.byTestId('heat-device').innerText()).resolves.toMatch(/зав\. № gw-heat-ui-c-2-/);
  });
});

describe('a signed month: deliveries and the corrected statement', () => {
  let root = '';
  afterAll(async () => { if (root) await rm(root, { recursive: true, force: true }); });

  it('lists the deliveries, offers the corrected statement once a record changed, and signs it as version 2', async () => {
    root = await mkdtemp(join(tmpdir(), 'amr-heat-ui-'));
    const blocked = join(root, 'blocked');
    await writeFile(blocked, 'not a folder');
    const org = Number((await c.h.opened.db.query<{ org_id: string }>('SELECT org_id FROM buildings WHERE id = $1', [A.building])).rows[0].org_id);
    const config = async (folder: string) => Number((await c.h.opened.db.query<{ id: string }>(
      `INSERT INTO exchange_configs (org_id, building_id, direction, folder, cron, period_days, transport, created_at)
       VALUES ($1, $2, 'heat_statements', $3, '0 6 * * *', 1, 'folder', '2026-03-01T00:00:00Z') RETURNING id`, [org, A.building, folder])).rows[0].id);
    const good = await config(join(root, 'supplier'));
    const bad = await config(join(blocked, 'inbox'));
    const run = (id: number) => runExchange({ db: c.h.opened.db, now: fixedClock(NOW) }, id);
    expect((await run(good)).counts.delivered).toBe(2);
    for (let i = 0; i < 5; i++) expect((await run(bad)).counts.failed).toBe(2);

    await c.signIn('ivanov');
    await c.setLanguage('ru');
    await c.open(`/heat?building=${A.building}&period=2026-02`, 'heat-deliveries-table');
    const v1 = `heat-statement_b${String(A.building).padStart(6, '0')}_2026-02_v01`;
    // 09:00 UTC = 12:00 in Moscow.
    expect(await cellTexts(`heat-delivery-${good}-v1`)).toEqual([`№ ${good}: ${join(root, 'supplier')}`, '1', '1 из 5', `${v1}.pdf, ${v1}.xlsx`, '—', 'доставлена 05.03.2026, 12:00']);
    const failed = await cellTexts(`heat-delivery-${bad}-v1`);
    expect(failed.slice(0, 4)).toEqual([`№ ${bad}: ${join(blocked, 'inbox')}`, '1', '5 из 5', '—']);
    expect(failed[4]).toMatch(/ENOTDIR|EEXIST|not a directory/);
    expect(failed[5]).toMatch(/^не доставлена: попытки исчерпаны \(последняя /);
    // Signed and unchanged: nothing to correct.
    expect([await c.byTestId('heat-changed').count(), await c.byTestId('heat-resign').count()]).toEqual([0, 0]);
    // Attempts used up: only that delivery offers "send again"; the reason is required, and the fresh series shows who started it.
    expect([await c.byTestId(`heat-send-again-${good}`).count(), await c.byTestId(`heat-send-again-${bad}`).count()]).toEqual([0, 1]);
    await expect(c.byTestId(`heat-send-again-${bad}-submit`).isDisabled()).resolves.toBe(true);
    await c.byTestId(`heat-send-again-${bad}-reason`).fill('папка поставщика освобождена');
    await c.byTestId(`heat-send-again-${bad}-submit`).click();
    await expect(c.byTestId(`heat-resent-${bad}`).innerText(POLL)).resolves.toMatch(/^отправлена снова: ivanov, \d\d\.\d\d\.\d{4}, \d\d:\d\d — папка поставщика освобождена$/);
    expect((await cellTexts(`heat-delivery-${bad}-v1`))[2]).toBe('0 из 5');
    expect(await c.byTestId(`heat-send-again-${bad}`).count()).toBe(0);
    expect((await c.h.opened.db.query(`SELECT actor_name, reason FROM audit_log WHERE action = 'resend'`)).rows).toEqual([{ actor_name: 'ivanov', reason: 'папка поставщика освобождена' }]);
    // Each given-up delivery (February and January, both signed) is an alert of the building, worded on the alerts screen.
    const alert = (await c.h.opened.db.query<{ id: string; subject: string }>(`SELECT id, subject FROM alerts WHERE kind = 'heat_delivery_failed' AND building_id = $1 ORDER BY subject`, [A.building])).rows;
    expect(alert.map((x) => x.subject)).toEqual([`heat-delivery:${bad}:${A.building}:2026-01`, `heat-delivery:${bad}:${A.building}:2026-02`]);
    alert.shift();
    const group = `${A.building}-heat_delivery_failed`;
    await c.open(`/alerts?open=${group}`, `group-alerts-${group}`);
    await expect(c.byTestId(`alert-${alert[0].id}-text`).innerText()).resolves
      .toMatch(new RegExp(`^Ведомость тепла за февраль 2026, версия 1, не доставлена конфигурацией обмена № ${bad} \\(.*inbox\\): попытки исчерпаны \\(5\\), последняя ошибка: .*(ENOTDIR|EEXIST|not a directory)`));

    // An engineer corrects the heat of 28 February: 2 500.4 → 2 600 kWh (2,236 Гкал instead of 2,150).
    const kozlov = await c.h.userToken('engineer', { buildingIds: [A.building], username: 'kozlov' });
    const corr = await c.h.call('POST', `/meters/${A.meter}/readings/corrections`, kozlov, {
      time: dayUtc(2, 28), quantity: archiveQuantity('energy_delta_kwh', 'daily'), value: 2600, reason: 'архив перечитан: сутки 28 неполные' });
    expect(corr.status, JSON.stringify(corr.body)).toBe(201);
    // Away and back: the screen loads the statement again.
    await c.open(`/heat?building=${A.building}&period=2026-01`, 'heat-table');
    await c.open(`/heat?building=${A.building}&period=2026-02`, 'heat-resign');
    await expect(c.byTestId('heat-changed').innerText()).resolves.toBe('После подписания данные месяца изменились: итоги отличаются от подписанных.');
    await expect(c.byTestId('heat-resign').innerText()).resolves.toBe('Подписать исправленную ведомость (версия 2)');
    // 60,028 − 2,150 + 2,236 = 60,114 Гкал.
    await expect(c.byTestId('heat-q-total').getAttribute('data-value')).resolves.toBe('60.114');

    await c.byTestId('heat-resign').click();
    await expect(c.byTestId('heat-version').innerText(POLL)).resolves.toBe('Версия 2: заменяет версию 1, подписанную ivanov 05.03.2026, 12:00.');
    expect([await c.byTestId('heat-changed').count(), await c.byTestId('heat-resign').count()]).toEqual([0, 0]);
    const { rows } = await c.h.opened.db.query<{ version: number; totals: { qGcal: number } }>('SELECT version, totals FROM heat_statement_signoffs WHERE building_id = $1 AND period = $2', [A.building, '2026-02-01']);
    expect(rows.map((r) => [r.version, r.totals.qGcal])).toEqual([[2, 60.114]]);

    // In English: the card, the version line and the delivery states.
    await c.setLanguage('en');
    await c.open(`/heat?building=${A.building}&period=2026-02`, 'heat-deliveries-table');
    await expect(c.byTestId('heat-version').innerText()).resolves.toBe('Version 2: replaces version 1, signed off by ivanov 05/03/2026, 12:00.');
    expect((await cellTexts(`heat-delivery-${good}-v1`)).slice(1, 3).concat((await cellTexts(`heat-delivery-${good}-v1`))[5])).toEqual(['1', '1 of 5', 'delivered 05/03/2026, 12:00']);
    // Sent again above: a fresh series the next run tries.
    expect((await cellTexts(`heat-delivery-${bad}-v1`))[5]).toMatch(/^not delivered \(attempt .*\); the next run retries\s+sent again: ivanov, /);
    const found = await checkScreen(c, 'heat-statement-deliveries', `/heat?building=${A.building}&period=2026-02`, 'heat-deliveries-table');
    expect(found.problems).toEqual([]);
    await c.setLanguage('ru');
  });
});

describe('a signed month whose mail used up its attempts', () => {
  it('says so with the last error, and sends it again with a reason and the corrected address', async () => {
    // January of A, signed above; its mail set as five refused attempts to a mistyped address left it (the
    // mail itself is test/heat/statement-mail-send-again.test.ts's, through a real SMTP server).
    await c.h.opened.db.query(
      `UPDATE heat_statement_signoffs SET email_to = 'suplier@teplo.example', send_attempts = 5, send_error = 'e-mail via smtp://127.0.0.1:2525: 550 mailbox unavailable'
        WHERE building_id = $1 AND period = '2026-01-01'`, [A.building]);
    await c.signIn('ivanov');
    await c.setLanguage('ru');
    await c.open(`/heat?building=${A.building}&period=2026-01`, 'heat-mail');
    await expect(c.byTestId('heat-mail-state').innerText()).resolves
      .toBe('Не отправлена по e-mail (suplier@teplo.example): попытки исчерпаны (5 из 5).\nПоследняя ошибка: e-mail via smtp://127.0.0.1:2525: 550 mailbox unavailable');
    await expect(c.byTestId('heat-mail-send-again-email-to').inputValue()).resolves.toBe('suplier@teplo.example');
    await expect(c.byTestId('heat-mail-send-again-submit').isDisabled()).resolves.toBe(true);
    await c.byTestId('heat-mail-send-again-email-to').fill('supplier@teplo.example');
    await c.byTestId('heat-mail-send-again-reason').fill('адрес поставщика исправлен');
    await c.byTestId('heat-mail-send-again-submit').click();
    await expect(c.byTestId('heat-mail-resent').innerText(POLL)).resolves.toBe('отправлена снова: ivanov, 05.03.2026, 12:00 — адрес поставщика исправлен');
    expect(await c.byTestId('heat-mail-send-again').count()).toBe(0);
    await expect(c.byTestId('heat-mail-state').innerText()).resolves.toMatch(/^Будет отправлена по e-mail \(supplier@teplo\.example\) ближайшим запуском рассылки\./);
    expect((await c.h.opened.db.query(`SELECT actor_name, entity, reason, before->>'emailTo' AS was, after->>'emailTo' AS now FROM audit_log WHERE action = 'resend' AND entity = 'heat_statement_mail'`)).rows)
      .toEqual([{ actor_name: 'ivanov', entity: 'heat_statement_mail', reason: 'адрес поставщика исправлен', was: 'suplier@teplo.example', now: 'supplier@teplo.example' }]);
  });
});
