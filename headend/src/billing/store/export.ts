/**
 * Invoice (accrual) lines as an Excel workbook for the accounting department: one row per line with
 * the account number and address the accountant searches by, the unit of the resource, the price
 * (one number, or each tariff part when a line has several), the amount in roubles, and a totals row
 * whose sum equals the lines to the kopeck (sums are taken in kopecks, then written as roubles from
 * kopecks by money.ts fromKopecks: 7270866 is the cell 72708.66, never a float division's digits).
 */
import ExcelJS from 'exceljs';
import type { Queryable } from '../../db/types.js';
import { billingUnit, fromKopecks, sumKopecks } from '../index.js';
import type { StoredLine } from './service.js';
import { safeCell } from '../../util/spreadsheet-cell.js';

export interface AccountLabel { number: string; address: string; premise: string }

export const XLSX_HEADER = [
  'Account', 'Address', 'Premise', 'Resource', 'Method', 'Quantity', 'Unit', 'Price, ₽', 'Amount, ₽', 'Kind', 'Adjusts period', 'Export id',
] as const;

export async function accountLabels(q: Queryable, accountIds: readonly string[]): Promise<Map<string, AccountLabel>> {
  if (accountIds.length === 0) return new Map();
  const { rows } = await q.query<{ id: string; number: string; address: string; premise: string }>(
    `SELECT a.id, a.number, b.address, p.number AS premise FROM personal_accounts a JOIN premises p ON p.id = a.premise_id JOIN buildings b ON b.id = p.building_id
      WHERE a.id = ANY($1::bigint[])`, [[...new Set(accountIds)]]);
  return new Map(rows.map((r) => [String(r.id), { number: r.number, address: r.address, premise: r.premise }]));
}

function price(l: StoredLine): number | string {
  const prices = [...new Set(l.parts.map((p) => p.price))];
  if (prices.length === 1) return prices[0];
  return l.parts.map((p) => `${p.label}: ${p.price}`).join('; ');
}

export async function linesXlsx(lines: readonly StoredLine[], labels: ReadonlyMap<string, AccountLabel>, title: string): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet(title.slice(0, 31));
  ws.addRow([...XLSX_HEADER]).font = { bold: true };
  for (const l of lines) {
    const a = labels.get(l.accountId);
    // Text cells through safeCell (util/spreadsheet-cell.ts): an address or note typed as a formula stays text.
    ws.addRow([
      a?.number ?? l.accountId, a?.address ?? '', a?.premise ?? '', l.resource, l.heatingMethod ? `${l.method} (${l.heatingMethod})` : l.method,
      l.quantity, billingUnit(l.resource), price(l), fromKopecks(l.amount),
      l.adjustmentKind ?? l.kind, l.adjustsPeriod ? l.adjustsPeriod.slice(0, 7) : null, l.exportId,
    ].map(safeCell));
  }
  const total = sumKopecks(lines.map((l) => l.amount));
  ws.addRow(['Total', '', '', '', '', null, '', null, fromKopecks(total), '', '', `${lines.length} line(s)`]).font = { bold: true };
  ws.getColumn(9).numFmt = '#,##0.00';
  ws.getColumn(6).numFmt = '0.######';
  ws.columns.forEach((c, i) => { c.width = [12, 28, 8, 12, 24, 12, 6, 12, 14, 13, 14, 34][i]; });
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/** The organisation's name, for the head of printed documents. */
export async function organisationName(q: Queryable, orgId: number): Promise<string> {
  const { rows } = await q.query<{ name: string }>('SELECT name FROM organisations WHERE id = $1', [orgId]);
  return rows[0]?.name ?? '';
}
