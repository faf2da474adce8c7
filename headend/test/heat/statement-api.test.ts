/**
 * The monthly heat statement of a building over the API, on a real database (both engines): February
 * 2026 of a ТВ7's daily records delivered through the ingest writer (as a gateway's back-fill sends
 * them), with two НС days (Δt below minimum; 6 h without power) and one day missing. The statement is
 * checked line by line against values summed by hand here; its Excel file read back with exceljs, its
 * PDF's text read back; the sign-off once (409 the second time); another organisation's engineer gets
 * 404 and changes nothing; a month without records says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { archiveQuantity, type MeterReading, type ReadingsMessage } from '@amr/protocols';
import { startHarness, type Harness } from '../api/harness.js';
import { registerGateway, type Fixture } from '../ingest/fixtures.js';
import { writeReadings } from '../../src/ingest/index.js';
import { fixedClock } from '../../src/util/clock.js';
import { pdfPages } from '../collection/pdf-pages.js';

let h: Harness;
let A: Fixture & { building: number };
let B: Fixture & { building: number };
let engineerA = '';
let engineerB = '';
let billingA = '';
const clock = fixedClock('2026-03-05T09:00:00Z');

interface Day { t1: number; t2: number; m1: number; m2: number; q: number; tr: number; tns: number; codes: string[] }
const NORMAL: Day = { t1: 70.5, t2: 45.25, m1: 100.125, m2: 99.5, q: 2500.4, tr: 86_400, tns: 0, codes: [] };
const SPECIAL: Record<number, Day> = {
  // Δt below minimum for 2 h: the calculator counted those hours by its substitutes (Тнс 2 h).
  10: { t1: 60, t2: 57.5, m1: 96, m2: 95.5, q: 2300.1, tr: 79_200, tns: 7200, codes: ['dt_low'] },
  // 6 h without power: Тр 18 h, Тнс 0 → 6 h counted by nobody.
  20: { t1: 70.5, t2: 45.25, m1: 75, m2: 74.625, q: 1875.3, tr: 64_800, tns: 0, codes: ['power_off'] },
};
const MISSING = 28;

/** Day d of February 2026 as the daily record's message: start 00:00 Moscow = 21:00 UTC the day before. */
function dayMessage(fx: Fixture, d: number, seq: number): ReadingsMessage {
  const x = SPECIAL[d] ?? NORMAL;
  const time = new Date(Date.UTC(2026, 1, d) - 3 * 3600_000).toISOString();
  // A daily record's values under the day names (energy_day_kwh, …), as the gateway publishes them.
  const v = (quantity: string, value: number, unit: string) => ({ quantity: archiveQuantity(quantity, 'daily'), value, unit, time, quality: ['archive' as const] });
  const reading: MeterReading = {
    seq, meter: { meterKey: 'tv7', bus: 'm1', protocol: 'modbus', address: '1' }, gatewayTime: '2026-03-01T08:00:00.000Z', quality: ['archive'],
    values: [
      v('flow_temp_mean_c', x.t1, '°C'), v('return_temp_mean_c', x.t2, '°C'), v('mass_delta_t', x.m1, 't'), v('return_mass_delta_t', x.m2, 't'),
      v('energy_delta_kwh', x.q, 'kWh'), v('operating_time_delta_s', x.tr, 's'), v('error_time_delta_s', x.tns, 's'),
    ],
    archive: { kind: 'daily', record: `2026-02-${String(d).padStart(2, '0')}T00:00:00`, stamp: 'start', seconds: 86_400, nsCodes: x.codes },
  };
  return { v: 1, gatewayId: fx.gatewayId, sentAt: '2026-03-01T08:00:01.000Z', readings: [reading] };
}

async function seed(gw: string, address: string): Promise<Fixture & { building: number }> {
  const fx = await registerGateway(h.opened.db, gw, 1);
  const { rows } = await h.opened.db.query<{ building_id: number }>(
    `UPDATE meters SET make = 'Термотроник', model = 'ТВ7', place = 'ИТП' WHERE id = $1 RETURNING building_id`, [fx.meterIds[0]]);
  const building = Number(rows[0].building_id);
  await h.opened.db.query(`UPDATE buildings SET address = $2, timezone = 'Europe/Moscow' WHERE id = $1`, [building, address]);
  return { ...fx, building };
}

const statement = (token: string, building: number, period: string, format = 'json') =>
  h.app.inject({ method: 'GET', url: `/buildings/${building}/heat-statement?period=${period}&format=${format}`, headers: { authorization: `Bearer ${token}` } });

async function snapshot() {
  const { rows } = await h.opened.db.query<{ s: number; a: number; n: number }>(
    `SELECT (SELECT count(*)::int FROM heat_statement_signoffs) AS s, (SELECT count(*)::int FROM audit_log) AS a, (SELECT count(*)::int FROM meter_archive_ns) AS n`);
  return rows[0];
}

beforeAll(async () => {
  h = await startHarness({ clock });
  A = await seed('gw-heat-a', 'г. Тверь, ул. Тёплая, 7');
  B = await seed('gw-heat-b', 'г. Тверь, ул. Другая, 1');
  const messages = [];
  for (let d = 1, seq = 1; d <= 28; d++) if (d !== MISSING) messages.push(dayMessage(A, d, seq++));
  expect(await writeReadings(h.opened.db, messages, { clock })).toMatchObject({ stored: 27 * 7, quarantined: {} });
  await writeReadings(h.opened.db, [dayMessage(B, 1, 1)], { clock });
  engineerA = await h.userToken('engineer', { buildingIds: [A.building], username: 'ivanov' });
  engineerB = await h.userToken('engineer', { buildingIds: [B.building] });
  billingA = await h.userToken('billing', { buildingIds: [A.building] });
}, 120_000);
afterAll(() => h?.close());

/** What each day's row must be, by hand: a normal day as recorded; the НС days below. */
const normalRow = (date: string) => ({
  date, records: 1, t1: 70.5, t2: 45.25, m1: 100.125, m2: 99.5, dm: 0.625,
  q_kwh: 2500.4, q_gcal: 2.15, // 2500.4 / 1163 = 2.14995… → 2.150
  q_measured_kwh: 2500.4, q_calculated_kwh: 0, working_hours: 24, ns_hours: 0, ns: false, rejected: 0,
});
const expectedRows = Array.from({ length: 28 }, (_, i) => {
  const date = `2026-02-${String(i + 1).padStart(2, '0')}`;
  if (i + 1 === 10) {
    return { date, records: 1, t1: 60, t2: 57.5, m1: 96, m2: 95.5, dm: 0.5, q_kwh: 2300.1, q_gcal: 1.978, // 2300.1 / 1163 = 1.97773…
      q_measured_kwh: 2300.1, q_calculated_kwh: 0, working_hours: 22, ns_hours: 2, ns: true, rejected: 0 };
  }
  if (i + 1 === 20) {
    // 6 h off: the normal days 17–19 (72 h before) give 3 × 2500.4 / 72 h = 104.18333… kWh/h; × 6 h = 625.1;
    // Q = 1875.3 + 625.1 = 2500.4 kWh → 2.150 Gcal.
    return { date, records: 1, t1: 70.5, t2: 45.25, m1: 75, m2: 74.625, dm: 0.375, q_kwh: 2500.4, q_gcal: 2.15,
      q_measured_kwh: 1875.3, q_calculated_kwh: 625.1, working_hours: 18, ns_hours: 0, ns: true, rejected: 0 };
  }
  if (i + 1 === MISSING) {
    return { date, records: 0, t1: null, t2: null, m1: null, m2: null, dm: null, q_kwh: null, q_gcal: null, q_measured_kwh: null, q_calculated_kwh: null, working_hours: null, ns_hours: null, ns: false, rejected: 0 };
  }
  return normalRow(date);
});
const expectedTotals = {
  records: 27,
  // Σ t1·M1 / Σ M1 = (25 × 70.5 × 100.125 + 60 × 96 + 70.5 × 75) / 2674.125 = 187 517.8125 / 2674.125 = 70.1230…
  t1: 70.12,
  // Σ t2·M2 / Σ M2 = (25 × 45.25 × 99.5 + 57.5 × 95.5 + 45.25 × 74.625) / 2657.625 = 121 427.40625 / 2657.625 = 45.6901…
  t2: 45.69,
  m1: 2674.125, // 25 × 100.125 + 96 + 75
  m2: 2657.625, // 25 × 99.5 + 95.5 + 74.625
  dm: 16.5, // 25 × 0.625 + 0.5 + 0.375
  q_kwh: 67310.5, // 25 × 2500.4 + 2300.1 + 2500.4
  q_gcal: 57.878, // 26 × 2.150 + 1.978 (the rounded days added up)
  q_measured_kwh: 66685.4, // 25 × 2500.4 + 2300.1 + 1875.3
  q_calculated_kwh: 625.1,
  working_hours: 640, // 25 × 24 + 22 + 18
  ns_hours: 2,
};

describe('the monthly heat statement', () => {
  it('JSON: every day of February as summed by hand, the totals, the НС list with the calculated heat', async () => {
    const res = await statement(engineerA, A.building, '2026-02');
    expect(res.statusCode).toBe(200);
    const s = res.json();
    expect(s.building).toMatchObject({ id: A.building, address: 'г. Тверь, ул. Тёплая, 7', timezone: 'Europe/Moscow' });
    expect(s.meter).toMatchObject({ id: A.meterIds[0], make: 'Термотроник', model: 'ТВ7', place: 'ИТП' });
    expect([s.source, s.records, s.message, s.signed_off]).toEqual(['daily', 27, null, null]);
    expect(s.rows).toHaveLength(28);
    s.rows.forEach((row: unknown, i: number) => expect(row, `row ${i + 1}`).toEqual(expectedRows[i]));
    expect(s.totals).toEqual(expectedTotals);
    expect(s.ns.map((n: { from: string; to: string; codes: string[]; text: string }) => [n.from, n.to, n.codes, n.text])).toEqual([
      ['2026-02-10T00:00', '2026-02-11T00:00', ['dt_low'], 'Разность температур ниже минимальной (Δt < Δtmin); Время работы в НС (Тнс): 2 ч'],
      ['2026-02-20T00:00', '2026-02-21T00:00', ['power_off'],
        'Отключение питания тепловычислителя; Отключение питания тепловычислителя: 6 ч; Q за 6 ч рассчитано по среднечасовому Q нормальной работы (104,183 кВт·ч/ч): +625,1 кВт·ч'],
    ]);
    expect(s.calculated).toHaveLength(1);
    expect(s.calculated[0].calculation).toMatchObject({ basis: 'mean_hourly', off_seconds: 21_600, basis_records: 3, added_kwh: 625.1 });
  });

  it('Excel: the same rows and totals read back with exceljs, the head and the НС list', async () => {
    const res = await statement(engineerA, A.building, '2026-02', 'xlsx');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/spreadsheetml/);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(res.rawPayload as unknown as ArrayBuffer);
    const ws = wb.getWorksheet('Ведомость')!;
    const rows: unknown[][] = [];
    ws.eachRow((r) => rows.push((r.values as unknown[]).slice(1)));
    const text = rows.map((r) => r.join(' | '));
    expect(text[0]).toBe('Ведомость учёта тепловой энергии и теплоносителя');
    expect(text).toContain('Адрес объекта: г. Тверь, ул. Тёплая, 7');
    expect(text.some((t) => t.includes('Термотроник ТВ7, зав. №'))).toBe(true);
    const head = rows.findIndex((r) => r[0] === 'Дата');
    expect(rows[head]).toEqual(['Дата', 't1, °C', 't2, °C', 'M1, т', 'M2, т', 'M1−M2, т', 'Q, Гкал', 'Q, кВт·ч', 'Тр, ч', 'Тнс, ч', 'НС']);
    expect(rows[head + 1]).toEqual(['01.02.2026', 70.5, 45.25, 100.125, 99.5, 0.625, 2.15, 2500.4, 24, 0, '']);
    expect(rows[head + 10]).toEqual(['10.02.2026', 60, 57.5, 96, 95.5, 0.5, 1.978, 2300.1, 22, 2, 'НС']);
    expect(rows[head + 20]).toEqual(['20.02.2026', 70.5, 45.25, 75, 74.625, 0.375, 2.15, 2500.4, 18, 0, 'НС, Q расч.']);
    // The missing day: empty cells, said so — not zeros.
    expect(rows[head + 28].filter((c) => c !== null && c !== undefined)).toEqual(['28.02.2026', 'нет данных']);
    expect(rows[head + 29]).toEqual(['Итого', 70.12, 45.69, 2674.125, 2657.625, 16.5, 57.878, 67310.5, 640, 2, 'НС: 2']);
    expect(text.some((t) => t.startsWith('20.02.2026 00:00 — 21.02.2026 00:00 | power_off | Отключение питания'))).toBe(true);
    expect(text.some((t) => t.startsWith('Представитель теплоснабжающей организации'))).toBe(true);
  });

  it('PDF: the head, the totals and the НС in its text', async () => {
    const res = await statement(engineerA, A.building, '2026-02', 'pdf');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/pdf');
    const text = pdfPages(res.rawPayload).map((p) => p.text).join('\n');
    for (const s of ['Ведомость учёта тепловой энергии и теплоносителя', 'за февраль 2026 г. (с 01.02.2026 по 28.02.2026)', 'Адрес объекта: г. Тверь, ул. Тёплая, 7',
      'Итого', '2674,125', '57,878', '67310,500', '640,00', 'НС, Q расч.', 'Представитель потребителя']) {
      expect(text, s).toContain(s);
    }
    expect(text).toMatch(/20\.02\.2026 00:00 — 21\.02\.2026 00:00 \[power_off\]: Отключение питания/);
    expect(text).not.toContain('Ведомость подписана');
  });

  it('another organisation\'s engineer: 404 for the statement and the sign-off, nothing changes; billing reads but does not sign', async () => {
    const before = await snapshot();
    expect((await statement(engineerB, A.building, '2026-02')).statusCode).toBe(404);
    expect((await statement(engineerB, A.building, '2026-02', 'pdf')).statusCode).toBe(404);
    expect((await h.call('POST', `/buildings/${A.building}/heat-statement/sign-off`, engineerB, { period: '2026-02' })).status).toBe(404);
    expect((await statement(billingA, A.building, '2026-02')).statusCode).toBe(200);
    expect((await h.call('POST', `/buildings/${A.building}/heat-statement/sign-off`, billingA, { period: '2026-02' })).status).toBe(403);
    expect(await snapshot()).toEqual(before);
  });

  it('a month without records says so (no rows, no zeros) and cannot be signed off', async () => {
    const s = (await statement(engineerA, A.building, '2026-03')).json();
    expect(s).toMatchObject({ source: null, records: 0, rows: [], totals: null, ns: [] });
    expect(s.message).toMatch(/no archive records .* 2026-03/);
    const xlsx = new ExcelJS.Workbook();
    await xlsx.xlsx.load((await statement(engineerA, A.building, '2026-03', 'xlsx')).rawPayload as unknown as ArrayBuffer);
    const cells: unknown[] = [];
    xlsx.getWorksheet('Ведомость')!.eachRow((r) => cells.push(...(r.values as unknown[]).slice(1)));
    expect(cells).toContain('За период нет архивных записей прибора учёта: ведомость не составлена (значения не подставляются нулями).');
    expect(cells).not.toContain('Итого');
    const r = await h.call('POST', `/buildings/${A.building}/heat-statement/sign-off`, engineerA, { period: '2026-03' });
    expect(r.status).toBe(409);
    expect(r.body.message).toMatch(/no archive records/);
  });

  it('signs off once: who and when stored and audited, shown on the statement; a second sign-off is 409', async () => {
    const r = await h.call('POST', `/buildings/${A.building}/heat-statement/sign-off`, engineerA, { period: '2026-02' });
    expect(r.status).toBe(200);
    expect(r.body.signed_off).toEqual({ by: 'ivanov', at: '2026-03-05T09:00:00.000Z', email_to: null, sent_at: null, send_error: null, version: 1, replaces: null,
      send_attempts: 0, max_send_attempts: 5, send_series: 1, resent: null });
    const again = await h.call('POST', `/buildings/${A.building}/heat-statement/sign-off`, engineerA, { period: '2026-02' });
    expect(again.status).toBe(409);
    expect(again.body.message).toMatch(/signed off by ivanov at 2026-03-05T09:00:00.000Z/);
    const audited = await h.opened.db.query<{ action: string; entity_id: string; actor_name: string }>(
      `SELECT action, entity_id, actor_name FROM audit_log WHERE entity = 'heat_statement'`);
    expect(audited.rows).toEqual([{ action: 'sign_off', entity_id: `${A.building}:2026-02`, actor_name: 'ivanov' }]);
    const s = (await statement(billingA, A.building, '2026-02')).json();
    expect([s.signed_off, s.changed_since_sign_off]).toEqual([{ by: 'ivanov', at: '2026-03-05T09:00:00.000Z', email_to: null, sent_at: null, send_error: null, version: 1, replaces: null,
      send_attempts: 0, max_send_attempts: 5, send_series: 1, resent: null }, false]);
    const pdf = pdfPages((await statement(engineerA, A.building, '2026-02', 'pdf')).rawPayload).map((p) => p.text).join('\n');
    expect(pdf).toContain('Ведомость подписана: ivanov, 05.03.2026, 12:00'); // 09:00 UTC in Moscow
    // The missing day arrives after the sign-off: the statement says it differs from what was signed.
    await writeReadings(h.opened.db, [dayMessage(A, MISSING, 100)], { clock });
    const later = (await statement(engineerA, A.building, '2026-02')).json();
    expect([later.records, later.totals.q_kwh, later.changed_since_sign_off]).toEqual([28, 69810.9, true]); // 67 310.5 + 2 500.4
  });

  it('hourly records only: summed to days of the building\'s zone (Moscow), not of UTC', async () => {
    // B has the daily record of 1 February (from 31 Jan 21:00 UTC); hourly records at 19:00 and 20:00 UTC
    // are 22:00 and 23:00 on 31 January in Moscow (on UTC's 31 January too); 22:00 UTC is 01:00 on 1 February
    // in Moscow, on UTC's 31 January.
    const hourMsg = (utcHour: number, q: number, seq: number): ReadingsMessage => {
      const time = new Date(Date.UTC(2026, 0, 31, utcHour)).toISOString();
      const local = `${utcHour + 3 >= 24 ? '2026-02-01' : '2026-01-31'}T${String((utcHour + 3) % 24).padStart(2, '0')}:00:00`;
      return {
        v: 1, gatewayId: B.gatewayId, sentAt: '2026-02-01T08:00:00.000Z',
        readings: [{ seq, meter: { meterKey: 'tv7', bus: 'm1', protocol: 'modbus', address: '1' }, gatewayTime: '2026-02-01T08:00:00.000Z', quality: ['archive'],
          values: [{ quantity: 'energy_delta_kwh', value: q, unit: 'kWh', time, quality: ['archive'] }, { quantity: 'operating_time_delta_s', value: 3600, unit: 's', time, quality: ['archive'] },
            { quantity: 'error_time_delta_s', value: 0, unit: 's', time, quality: ['archive'] }],
          archive: { kind: 'hourly', record: local, stamp: 'start', seconds: 3600, nsCodes: [] } }],
      };
    };
    expect(await writeReadings(h.opened.db, [hourMsg(19, 100, 10), hourMsg(20, 110, 11), hourMsg(22, 120, 12)], { clock })).toMatchObject({ stored: 9, quarantined: {} });
    const jan = (await statement(engineerB, B.building, '2026-01')).json();
    // 100 + 110: the 01:00 hour of 1 February is not January's.
    expect([jan.source, jan.records, jan.rows[30].date, jan.rows[30].q_kwh, jan.rows[30].working_hours, jan.totals.q_kwh]).toEqual(['hourly', 2, '2026-01-31', 210, 2, 210]);
    // February has B's daily record: the daily source wins, the two hourly records of 1 February are not added to it.
    const feb = (await statement(engineerB, B.building, '2026-02')).json();
    expect([feb.source, feb.records, feb.rows[0].q_kwh]).toEqual(['daily', 1, 2500.4]);
  });
});
