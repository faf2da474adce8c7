/**
 * Reads an uploaded registry file into plain tables of strings: CSV (csv-parse) or Excel (exceljs).
 * Everything becomes text here — typing is the row schemas' job — so "00123" stays "00123" and a
 * meter serial is never turned into a number. Row numbers are the ones the user sees in the file
 * (header = row 1).
 */
import ExcelJS from 'exceljs';
import { parse as parseCsv } from 'csv-parse/sync';
import { parse as parseCsvStream } from 'csv-parse';
import { checkZipInflatedSize, XLSX_MAX_INFLATED_BYTES } from './zip-limit.js';

export interface SourceRow { row: number; values: Record<string, string> }
export interface SourceTable { sheet: string; columns: string[]; rows: SourceRow[] }

export type FileFormat = 'csv' | 'xlsx';

/** Header cells → column keys: trimmed, lower-case, spaces and dashes to underscores ("Serial No" → serial_no). */
export function columnKey(header: string): string {
  return header.trim().toLowerCase().replace(/[\s-]+/g, '_');
}

function isBlank(values: Record<string, string>): boolean {
  return Object.values(values).every((v) => v === '');
}

/** The file's text (without Excel's BOM) and its delimiter: Russian Excel writes ';'-separated CSV; detected from the header line. */
function csvText(buf: Buffer): { text: string; delimiter: string } {
  let text = buf.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // Excel's UTF-8 BOM
  const firstLine = text.split(/\r?\n/, 1)[0] ?? '';
  const delimiter = (firstLine.match(/;/g)?.length ?? 0) > (firstLine.match(/,/g)?.length ?? 0) ? ';' : ',';
  return { text, delimiter };
}

const CSV_OPTIONS = { relax_column_count: true, skip_empty_lines: false, trim: true } as const;

function tableOf(records: string[][], sheet: string): SourceTable {
  const [header = [], ...body] = records;
  const columns = header.map(columnKey);
  const rows: SourceRow[] = [];
  body.forEach((cells, i) => {
    const values = Object.fromEntries(columns.map((c, j) => [c, cells[j] ?? '']));
    if (!isBlank(values)) rows.push({ row: i + 2, values });
  });
  return { sheet, columns, rows };
}

export function readCsv(buf: Buffer, sheet: string): SourceTable {
  const { text, delimiter } = csvText(buf);
  return tableOf(parseCsv(text, { delimiter, ...CSV_OPTIONS }), sheet);
}

/** Characters of CSV parsed per turn of the event loop (about 2 000 readings rows). */
const CSV_SLICE = 64 * 1024;

/**
 * readCsv for a large upload (a readings file of 100 000 rows): the same table, parsed a slice of
 * text at a time with the event loop handed back in between; one parse of it took the event loop,
 * and so the embedded database running on it, for most of a second. A malformed file rejects with
 * csv-parse's error as readCsv throws it (its `lines` says where).
 */
export async function readCsvInSlices(buf: Buffer, sheet: string): Promise<SourceTable> {
  const { text, delimiter } = csvText(buf);
  const parser = parseCsvStream({ delimiter, ...CSV_OPTIONS });
  const records: string[][] = [];
  let failed: unknown = null;
  const done = new Promise<void>((resolve, reject) => {
    parser.on('data', (r: string[]) => records.push(r));
    parser.on('end', resolve);
    parser.on('error', (e) => { failed = e; reject(e); });
  });
  done.catch(() => undefined);
  for (let i = 0; i < text.length && !failed; i += CSV_SLICE) {
    parser.write(text.slice(i, i + CSV_SLICE));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (!failed) parser.end();
  await done;
  return tableOf(records, sheet);
}

function cellText(v: ExcelJS.CellValue): string {
  if (v == null) return '';
  if (v instanceof Date) {
    // exceljs gives dates as UTC midnight for date-only cells; keep the time only when there is one.
    const iso = v.toISOString();
    return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
  }
  if (typeof v === 'object') {
    if ('richText' in v) return v.richText.map((t) => t.text).join('');
    if ('text' in v) return v.text; // a hyperlink
    if ('error' in v) return v.error;
    // A formula (plain or shared): its cached result, none when the workbook was never calculated.
    return cellText(v.result);
  }
  return String(v).trim();
}

/** `maxInflatedBytes`: the workbook's unpacked size is checked first (zip-limit.ts): no zip bomb reaches exceljs. */
export async function readXlsx(buf: Buffer, maxInflatedBytes = XLSX_MAX_INFLATED_BYTES): Promise<SourceTable[]> {
  checkZipInflatedSize(buf, maxInflatedBytes);
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buf as unknown as ArrayBuffer);
  const tables: SourceTable[] = [];
  wb.eachSheet((ws) => {
    const header = ws.getRow(1);
    const columns: string[] = [];
    header.eachCell({ includeEmpty: true }, (cell, col) => { columns[col - 1] = columnKey(cellText(cell.value)); });
    const rows: SourceRow[] = [];
    ws.eachRow({ includeEmpty: false }, (r, rowNumber) => {
      if (rowNumber === 1) return;
      const values: Record<string, string> = {};
      columns.forEach((c, j) => { if (c) values[c] = cellText(r.getCell(j + 1).value); });
      if (!isBlank(values)) rows.push({ row: rowNumber, values });
    });
    tables.push({ sheet: ws.name.trim().toLowerCase(), columns: columns.filter(Boolean), rows });
  });
  return tables;
}

export function detectFormat(contentType: string | undefined, buf: Buffer): FileFormat {
  // .xlsx is a zip: "PK\x03\x04".
  if (buf.length >= 4 && buf.readUInt32LE(0) === 0x04034b50) return 'xlsx';
  if (contentType?.includes('spreadsheetml')) return 'xlsx';
  return 'csv';
}
