/**
 * Registry import through POST /import/registry on a real embedded PGlite-TimescaleDB: Excel workbook
 * with all four sheets, CSV per kind; one bad row → nothing applied and the row named; dry run changes
 * nothing; re-import is a no-op; updates show the changed fields.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { startHarness, type Harness } from '../api/harness.js';
import type { ImportReport } from '../../src/import/apply.js';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
let h: Harness;
let orgId: number;

async function workbook(sheets: Record<string, (string | number | Date | null)[][]>): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  for (const [name, rows] of Object.entries(sheets)) wb.addWorksheet(name).addRows(rows);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

async function upload(body: Buffer | string, query: string, contentType: string, token = h.adminToken) {
  const r = await h.app.inject({ method: 'POST', url: `/import/registry?org_id=${orgId}&${query}`, headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, payload: body });
  // The import's report, on 200 and 422 alike; of the one refused caller (403) only the status is read.
  return { status: r.statusCode, body: JSON.parse(r.body) as ImportReport };
}

const count = async (table: string) => (await h.opened.db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n as number;
const counts = async () => ({ buildings: await count('buildings'), premises: await count('premises'), accounts: await count('personal_accounts'), meters: await count('meters'), audit: await count('audit_log') });

const GOOD = {
  buildings: [['building', 'address', 'city', 'floors', 'total_area_m2'], ['B-17', 'ул. Садовая, 17', 'Казань', 9, 4520.5]],
  premises: [['building', 'number', 'kind', 'area_m2', 'residents'], ['B-17', '1', 'residential', 45.2, 2], ['B-17', '2', 'residential', '61,8', 3], ['B-17', 'Н-1', 'non_residential', 120, 0]],
  accounts: [['account', 'building', 'premise', 'holder_name'], ['7001', 'B-17', '1', 'Петров П.П.'], ['7002', 'B-17', '2', 'Сидорова А.А.']],
  meters: [
    ['building', 'premise', 'resource', 'make', 'model', 'serial_number', 'register_digits', 'commissioned_on', 'next_verification_on', 'place', 'remote_reading'],
    ['B-17', '1', 'cold_water', 'Пульсар', 'Ду15', '000123', 5, '01.03.2023', '2029-03-01', '', 'нет'],
    ['B-17', '2', 'cold_water', 'Пульсар', 'Ду15', '000124', 5, '2023-03-01', '2029-03-01', '', 'нет'],
    ['B-17', '', 'heat', 'Логика', 'СПТ-944', 'H-17', 8, '2022-10-01', '2026-10-01', 'ИТП', 'да'],
  ],
};

beforeAll(async () => {
  h = await startHarness();
  orgId = (await h.call('POST', '/organisations', h.adminToken, { name: 'УК Садовая' })).body.id;
}, 120_000);
afterAll(async () => { await h?.close(); });

describe('registry import', () => {
  it('a workbook with one bad row applies nothing and names the row, column and problem', async () => {
    const bad = structuredClone(GOOD);
    bad.meters.push(['B-17', '99', 'cold_water', 'Пульсар', 'Ду15', '000125', 'пять', '2023-03-01', '', '', '']);
    const before = await counts();
    const r = await upload(await workbook(bad), '', XLSX);
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ ok: false, applied: false });
    expect(r.body.errors).toEqual(expect.arrayContaining([
      expect.objectContaining({ sheet: 'meters', row: 5, column: 'register_digits', message: expect.stringContaining('"пять"') }),
    ]));
    expect(r.body.errors.every((e) => e.sheet === 'meters' && e.row === 5)).toBe(true);
    expect(await counts()).toEqual(before);
  });

  it('a row referring to a premise that does not exist is named, and nothing is applied', async () => {
    const bad = structuredClone(GOOD);
    bad.accounts.push(['7003', 'B-17', '42', 'Нет Такой']);
    const before = await counts();
    const r = await upload(await workbook(bad), '', XLSX);
    expect(r.status).toBe(422);
    expect(r.body.errors).toEqual([{ sheet: 'accounts', row: 4, column: 'premise', message: 'premise "42" not found in building "B-17"' }]);
    expect(await counts()).toEqual(before);
  });

  it('dry run reports what would be created and changes nothing', async () => {
    const before = await counts();
    const r = await upload(await workbook(GOOD), 'dry_run=true', XLSX);
    expect(r.status, JSON.stringify(r.body.errors)).toBe(200);
    expect(r.body).toMatchObject({ ok: true, dry_run: true, applied: false });
    expect(r.body.summary).toEqual({
      buildings: { create: 1, update: 0, unchanged: 0 }, premises: { create: 3, update: 0, unchanged: 0 },
      accounts: { create: 2, update: 0, unchanged: 0 }, meters: { create: 3, update: 0, unchanged: 0 },
    });
    expect(await counts()).toEqual(before);
  });

  it('applies a good workbook in one go, with an audit row per entity; a second import changes nothing', async () => {
    const r = await upload(await workbook(GOOD), '', XLSX);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true, applied: true });
    const m = (await h.opened.db.query("SELECT m.*, p.number AS premise FROM meters m LEFT JOIN premises p ON p.id = m.premise_id WHERE serial_number IN ('000123', 'H-17') ORDER BY serial_number")).rows;
    expect(m.map((x) => [x.serial_number, x.placement, x.premise, x.register_digits, x.remote_reading])).toEqual([
      ['000123', 'apartment', '1', 5, false], ['H-17', 'building', null, 8, true],
    ]);
    const area = (await h.opened.db.query("SELECT area_m2 FROM premises WHERE number = '2'")).rows[0].area_m2;
    expect(Number(area)).toBe(61.8);
    const audited = (await h.opened.db.query("SELECT count(*)::int AS n FROM audit_log WHERE reason = 'import' AND action = 'create'")).rows[0].n;
    expect(audited).toBe(1 + 3 + 2 + 3);
    const again = await upload(await workbook(GOOD), '', XLSX);
    expect(again.body.summary.meters).toEqual({ create: 0, update: 0, unchanged: 3 });
  });

  it('a CSV (semicolon-separated, as Russian Excel writes it) updates a field and reports from/to', async () => {
    const csv = '\ufeffbuilding;number;area_m2;residents\nB-17;1;45,2;4\n';
    const dry = await upload(csv, 'kind=premises&dry_run=true', 'text/csv');
    expect(dry.body.changes).toEqual([{ sheet: 'premises', row: 2, action: 'update', key: 'B-17/1', changes: { residents: { from: 2, to: 4 } } }]);
    expect((await h.opened.db.query("SELECT residents FROM premises WHERE number = '1'")).rows[0].residents).toBe(2);
    const r = await upload(csv, 'kind=premises', 'text/csv');
    expect(r.body.applied).toBe(true);
    expect((await h.opened.db.query("SELECT residents FROM premises WHERE number = '1'")).rows[0].residents).toBe(4);
  });

  it('a meter serial already registered elsewhere is a row error naming the meter', async () => {
    const csv = 'building,premise,resource,make,serial_number\nB-17,2,cold_water,Пульсар,000123\n';
    const r = await upload(csv, 'kind=meters', 'text/csv');
    expect(r.status).toBe(422);
    expect(r.body.errors[0]).toMatchObject({ row: 2, column: 'serial_number' });
    expect(r.body.errors[0].message).toMatch(/make "Пульсар" with serial number "000123" already exists elsewhere \(meter \d+/);
  });

  it('unknown columns and a CSV without kind are refused with a clear message', async () => {
    const r = await upload('building,adress\nB-1,x\n', 'kind=buildings', 'text/csv');
    expect(r.status).toBe(422);
    expect(r.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ row: 1, column: 'adress', message: expect.stringContaining('unknown column "adress"') })]));
    const nk = await upload('building,address\nB-1,x\n', '', 'text/csv');
    expect(nk.body.errors[0].message).toMatch(/give \?kind=/);
  });

  it('a broken file is reported, not a server error', async () => {
    const zip = await upload(Buffer.from('PK\x03\x04 definitely not a workbook'), '', XLSX);
    expect(zip.status).toBe(422);
    expect(zip.body.errors[0].message).toMatch(/cannot read the file/);
    const csv = await upload('building,address\n"B-1,unclosed\n', 'kind=buildings', 'text/csv');
    expect(csv.status).toBe(422);
    expect(csv.body.errors[0].message).toMatch(/cannot read the file: .*quote/i);
  });

  it('an operator may not import', async () => {
    const op = await h.userToken('operator');
    expect((await upload('building,address\nB-2,x\n', 'kind=buildings', 'text/csv', op)).status).toBe(403);
  });
});
