/**
 * The readings list behind the Excel/CSV export and the XML exchange: the current version of each
 * reading (highest version per meter, quantity and instant), with the meter's place and account.
 */
import { z } from 'zod';
import ExcelJS from 'exceljs';
import type { Queryable } from '../db/types.js';
import { safeCell } from '../util/spreadsheet-cell.js';

export const ReadingsFilter = z.object({
  org_id: z.coerce.number().int().positive().optional().describe('Only this organisation'),
  building_id: z.coerce.number().int().positive().optional().describe('Only this building'),
  resource: z.enum(['heat', 'hot_water', 'cold_water', 'wastewater', 'electricity', 'gas']).optional().describe('Only meters of this resource'),
  from: z.iso.datetime({ offset: true }).or(z.iso.date()).optional().describe('Readings at or after this date or instant'),
  to: z.iso.datetime({ offset: true }).or(z.iso.date()).optional().describe('Readings before this date or instant'),
  channel: z.enum(['telemetry', 'meter_archive', 'resident', 'staff', 'import', 'estimate']).optional().describe('Only readings that came this way'),
  q: z.string().max(200).optional().describe('Searches address, personal account and meter serial (substring, case-insensitive)'),
});
export type ReadingsFilter = z.infer<typeof ReadingsFilter>;

export interface ListedReading {
  time: Date; value: number | null; unit: string; quantity: string; source: string; version: number;
  meter_id: number; serial: string; resource: string; building_id: number; address: string; premise: string | null; account: string | null;
}

export const MAX_EXPORT_ROWS = 200_000;

/** `scope`: building ids the caller sees, null = all. */
export async function listReadings(q: Queryable, f: ReadingsFilter, scope: ReadonlySet<number> | null): Promise<ListedReading[]> {
  const params: unknown[] = [];
  const where: string[] = [];
  const p = (v: unknown) => { params.push(v); return `$${params.length}`; };
  if (scope !== null) where.push(`b.id = ANY(${p([...scope])}::bigint[])`);
  if (f.org_id) where.push(`b.org_id = ${p(f.org_id)}`);
  if (f.building_id) where.push(`b.id = ${p(f.building_id)}`);
  if (f.resource) where.push(`m.resource = ${p(f.resource)}`);
  if (f.from) where.push(`r.time >= ${p(f.from)}::timestamptz`);
  if (f.to) where.push(`r.time < ${p(f.to)}::timestamptz`);
  if (f.q) {
    const like = p(`%${f.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    where.push(`(b.address ILIKE ${like} OR m.serial_number ILIKE ${like} OR EXISTS (SELECT 1 FROM personal_accounts pa WHERE pa.premise_id = m.premise_id AND pa.number ILIKE ${like}))`);
  }
  // The channel filter applies to the current version: a telemetry value corrected by staff is "staff".
  const channel = f.channel ? `WHERE source = ${p(f.channel)}` : '';
  const { rows } = await q.query(
    `SELECT * FROM (
       SELECT DISTINCT ON (r.meter_id, r.quantity, r.time)
              r.time, r.value, r.unit, r.quantity, r.source, r.version, r.meter_id, m.serial_number AS serial, m.resource,
              b.id AS building_id, b.address, p.number AS premise,
              (SELECT string_agg(pa.number, ',' ORDER BY pa.number) FROM personal_accounts pa WHERE pa.premise_id = m.premise_id AND pa.active) AS account
       FROM readings r JOIN meters m ON m.id = r.meter_id JOIN buildings b ON b.id = m.building_id
       LEFT JOIN premises p ON p.id = m.premise_id
       WHERE ${where.length ? where.join(' AND ') : 'TRUE'}
       ORDER BY r.meter_id, r.quantity, r.time, r.version DESC
     ) cur ${channel}
     ORDER BY address, premise NULLS FIRST, serial, quantity, time
     LIMIT ${MAX_EXPORT_ROWS + 1}`, params);
  if (rows.length > MAX_EXPORT_ROWS) throw new Error(`more than ${MAX_EXPORT_ROWS} readings match; narrow the filter (period, building)`);
  return rows.map((r) => ({ ...r, value: r.value === null ? null : Number(r.value), version: Number(r.version), meter_id: Number(r.meter_id), building_id: Number(r.building_id) }));
}

const HEADER = ['address', 'premise', 'account', 'serial', 'resource', 'quantity', 'time', 'value', 'unit', 'source', 'version'] as const;
// Text cells pass through safeCell: an address or label typed as =HYPERLINK(…) must not run as a formula.
const cells = (r: ListedReading) => [r.address, r.premise ?? '', r.account ?? '', r.serial, r.resource, r.quantity, r.time.toISOString(), r.value, r.unit, r.source, r.version].map(safeCell);

function csvCell(v: string | number | null | undefined): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[";\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** ';'-separated with a BOM: what Russian Excel opens correctly; the import reads it back. */
export function readingsCsv(rows: ListedReading[]): Buffer {
  const lines = [HEADER.join(';'), ...rows.map((r) => cells(r).map(csvCell).join(';'))];
  return Buffer.from(`\ufeff${lines.join('\r\n')}\r\n`, 'utf8');
}

export async function readingsXlsx(rows: ListedReading[]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('readings');
  ws.addRow([...HEADER]);
  for (const r of rows) ws.addRow(cells(r));
  ws.getRow(1).font = { bold: true };
  return Buffer.from(await wb.xlsx.writeBuffer());
}
