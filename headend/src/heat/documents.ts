/**
 * The heat statement as the heat supplier receives it: Excel (exceljs) and PDF (pdfkit, the printed
 * documents' fonts from util/pdf-fonts.ts). Same content in both: the head (document name, period,
 * consumer, building address, meter make and serial, data source), one row per day with units in the
 * column heads, the totals row, the НС list with the calculated heat, and the signatures block (or who
 * signed it off and when).
 */
import ExcelJS from 'exceljs';
import PDFDocument from 'pdfkit';
import { collectPdf } from '../util/pdf-fonts.js';
import { safeCell } from '../util/spreadsheet-cell.js';
import type { HeatStatement } from './service.js';
import type { StatementRow } from './statement.js';

const MONTHS = ['январь', 'февраль', 'март', 'апрель', 'май', 'июнь', 'июль', 'август', 'сентябрь', 'октябрь', 'ноябрь', 'декабрь'];

export const TITLE = 'Ведомость учёта тепловой энергии и теплоносителя';
export const COLUMNS = ['Дата', 't1, °C', 't2, °C', 'M1, т', 'M2, т', 'M1−M2, т', 'Q, Гкал', 'Q, кВт·ч', 'Тр, ч', 'Тнс, ч', 'НС'] as const;
/** Decimals of each numeric column (t, M, Q, hours). */
const PLACES = [2, 2, 3, 3, 3, 3, 3, 2, 2];
export const NO_RECORDS_RU = 'За период нет архивных записей прибора учёта: ведомость не составлена (значения не подставляются нулями).';

const ddmmyyyy = (d: string) => `${d.slice(8, 10)}.${d.slice(5, 7)}.${d.slice(0, 4)}`;
const localTime = (iso: string) => `${ddmmyyyy(iso)} ${iso.slice(11, 16)}`;

export function headLines(s: HeatStatement): string[] {
  const p = s.statement.period;
  const days = s.statement.rows.length ? s.statement.rows : [{ date: `${p}-01` }];
  const last = new Date(Date.UTC(Number(p.slice(0, 4)), Number(p.slice(5, 7)), 0)).getUTCDate();
  const m = s.meter;
  return [
    `за ${MONTHS[Number(p.slice(5, 7)) - 1]} ${p.slice(0, 4)} г. (с ${ddmmyyyy(days[0].date)} по ${String(last).padStart(2, '0')}.${p.slice(5, 7)}.${p.slice(0, 4)})`,
    `Потребитель: ${s.building.orgName}`,
    `Адрес объекта: ${s.building.address}`,
    `Прибор учёта (ОДПУ): ${[m.make, m.model].filter(Boolean).join(' ')}, зав. № ${m.serial}${m.place ? `; место установки: ${m.place}` : ''}`,
    `Данные: ${s.statement.source === 'daily' ? 'суточный архив тепловычислителя' : s.statement.source === 'hourly' ? 'часовой архив тепловычислителя, суммы по суткам' : s.statement.source === 'mixed' ? 'суточный архив тепловычислителя; сутки без суточной записи — часовой архив, суммы по суткам' : 'нет архивных записей'} (часовой пояс ${s.building.timezone})`,
  ];
}

/**
 * The НС column of a day: НС, and "Q расч." when heat of off time was calculated in it; "искл. N" when
 * N of its records were left out, rejected on review (their time is missing data).
 */
function nsMark(s: HeatStatement, r: StatementRow): string {
  const calc = s.statement.calculated.some((c) => c.from.slice(0, 10) === r.date);
  const mark = !r.ns ? (r.records ? '' : 'нет данных') : calc ? 'НС, Q расч.' : 'НС';
  return r.rejected ? [mark, `искл. ${r.rejected}`].filter(Boolean).join(', ') : mark;
}

const rowValues = (r: Pick<StatementRow, 't1' | 't2' | 'm1' | 'm2' | 'dm' | 'qGcal' | 'qKwh' | 'workingHours' | 'nsHours'>) =>
  [r.t1, r.t2, r.m1, r.m2, r.dm, r.qGcal, r.qKwh, r.workingHours, r.nsHours];

const fmt = (v: number | null, places: number) => (v === null ? '—' : v.toFixed(places).replace('.', ','));

/** "исправленная ведомость, версия 2: заменяет версию 1, подписанную …" — a re-signed month says what it replaces; null for a first version. */
export function replacesText(s: HeatStatement): string | null {
  const r = s.signOff?.replaces;
  if (!s.signOff || !r) return null;
  const at = new Intl.DateTimeFormat('ru-RU', { timeZone: s.building.timezone, dateStyle: 'short', timeStyle: 'short' }).format(new Date(r.at));
  return `исправленная ведомость, версия ${s.signOff.version}: заменяет версию ${r.version}, подписанную ${r.by} ${at}`;
}

function signedLine(s: HeatStatement): string | null {
  if (!s.signOff) return null;
  const at = new Intl.DateTimeFormat('ru-RU', { timeZone: s.building.timezone, dateStyle: 'short', timeStyle: 'short' }).format(new Date(s.signOff.at));
  return `Ведомость подписана: ${s.signOff.by}, ${at}${replacesText(s) ? `; ${replacesText(s)}` : ''}${s.changedSinceSignOff ? ' (после подписания записи за месяц изменились: итоги ниже отличаются от подписанных)' : ''}`;
}

const SIGNATURES = [
  'Представитель потребителя: ______________________ / ______________________ /',
  'Представитель теплоснабжающей организации: ______________________ / ______________________ /',
  'Дата: «____» ______________ 20___ г.',
];

export async function statementXlsx(s: HeatStatement): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Ведомость');
  ws.addRow([TITLE]).font = { bold: true, size: 13 };
  for (const l of headLines(s)) ws.addRow([safeCell(l)]);
  ws.addRow([]);
  if (!s.statement.records) {
    ws.addRow([NO_RECORDS_RU]).font = { bold: true };
  } else {
    ws.addRow([...COLUMNS]).font = { bold: true };
    for (const r of s.statement.rows) ws.addRow([ddmmyyyy(r.date), ...rowValues(r), nsMark(s, r)]);
    const t = s.statement.totals!;
    ws.addRow(['Итого', ...rowValues(t), s.statement.ns.length ? `НС: ${s.statement.ns.length}` : '']).font = { bold: true };
    PLACES.forEach((p, i) => { ws.getColumn(i + 2).numFmt = p === 2 ? '0.00' : '0.000'; });
    ws.addRow([]);
    ws.addRow(['Нештатные ситуации']).font = { bold: true };
    if (!s.statement.ns.length) ws.addRow(['нет']);
    for (const n of s.statement.ns) ws.addRow([`${localTime(n.from)} — ${localTime(n.to)}`, safeCell(n.codes.join(', ')), safeCell(n.text)]);
  }
  ws.addRow([]);
  const signed = signedLine(s);
  if (signed) ws.addRow([safeCell(signed)]).font = { bold: true };
  for (const l of SIGNATURES) ws.addRow([l]);
  ws.columns.forEach((c, i) => { c.width = [22, 9, 9, 11, 11, 11, 10, 12, 8, 8, 14][i] ?? 10; });
  return Buffer.from(await wb.xlsx.writeBuffer());
}

export async function statementPdf(s: HeatStatement): Promise<Buffer> {
  const doc = new PDFDocument({ size: 'A4', layout: 'landscape', margin: 36, info: { Title: `${TITLE} ${s.statement.period}`, Author: s.building.orgName } });
  const done = collectPdf(doc);
  const left = 36;
  const bottom = doc.page.height - 48;
  doc.font('bold').fontSize(13).text(TITLE, { align: 'center' });
  doc.font('regular').fontSize(9);
  for (const l of headLines(s)) doc.text(l);
  doc.moveDown(0.5);
  const widths = [70, 55, 55, 65, 65, 65, 65, 75, 50, 50, 80];
  const xs = widths.map((_, i) => left + widths.slice(0, i).reduce((a, b) => a + b, 0));
  const line = (cells: string[], bold = false) => {
    if (doc.y + 12 > bottom) doc.addPage();
    const y = doc.y;
    doc.font(bold ? 'bold' : 'regular').fontSize(8);
    cells.forEach((c, i) => doc.text(c, xs[i], y, { width: widths[i] - 4, lineBreak: false }));
    doc.x = left;
    doc.y = y + 12;
  };
  if (!s.statement.records) {
    doc.font('bold').fontSize(10).text(NO_RECORDS_RU, left, doc.y);
  } else {
    line([...COLUMNS], true);
    for (const r of s.statement.rows) line([ddmmyyyy(r.date), ...rowValues(r).map((v, i) => fmt(v, PLACES[i])), nsMark(s, r)]);
    const t = s.statement.totals!;
    line(['Итого', ...rowValues(t).map((v, i) => fmt(v, PLACES[i])), s.statement.ns.length ? `НС: ${s.statement.ns.length}` : ''], true);
    doc.moveDown(0.5).font('bold').fontSize(9).text('Нештатные ситуации', left, doc.y);
    doc.font('regular').fontSize(8);
    if (!s.statement.ns.length) doc.text('нет', left);
    for (const n of s.statement.ns) {
      if (doc.y + 12 > bottom) doc.addPage();
      doc.text(`${localTime(n.from)} — ${localTime(n.to)} [${n.codes.join(', ') || '—'}]: ${n.text}`, left, doc.y, { width: doc.page.width - 2 * left });
    }
  }
  doc.moveDown(1);
  if (doc.y + 60 > bottom) doc.addPage();
  const signed = signedLine(s);
  if (signed) doc.font('bold').fontSize(9).text(signed, left, doc.y).moveDown(0.5);
  doc.font('regular').fontSize(9);
  for (const l of SIGNATURES) doc.text(l, left, doc.y).moveDown(0.6);
  doc.end();
  return done;
}
