/**
 * Invoices as one PDF: a page per personal account with its address, flat and account number, the
 * month, and its lines (resource, how charged, volume and unit, price, amount) with the account's total
 * — what an office prints or sends as the monthly notice (платёжный документ). Amounts are the stored
 * kopecks written as roubles by money.ts (never a float's digits); an account's total is the sum of its
 * lines in kopecks, so the page adds up exactly as the Excel export and the feed do.
 */
import PDFDocument from 'pdfkit';
import { RESOURCE_NAMES } from '@amr/protocols';
import { billingUnit, formatRoubles, sumKopecks } from '../index.js';
import type { StoredLine } from './service.js';
import type { AccountLabel } from './export.js';
import { collectPdf } from '../../util/pdf-fonts.js';

const METHOD: Record<string, string> = { measured: 'по прибору', average: 'по среднему', norm: 'по нормативу', common_house: 'ОДН', heating: 'по площади' };
const UNIT: Record<string, string> = { Gcal: 'Гкал', kWh: 'кВт·ч', m3: 'м³' };
const MONTH = new Intl.DateTimeFormat('ru-RU', { month: 'long', year: 'numeric', timeZone: 'UTC' });

/** «ноябрь 2026» from 'YYYY-MM' (the standalone month name, without the year's «г.»). */
export const monthRu = (period: string) => MONTH.format(new Date(`${period.slice(0, 7)}-01T00:00:00Z`)).replace(/\s*г\.$/, '');
/** 1005.87 → «1 005,87 ₽» (digits from the kopecks, grouped by thousands). */
export const rub = (k: number) => `${formatRoubles(k).replace('.', ',').replace(/\B(?=(\d{3})+(?!\d))(?=.*,)/g, '\u00a0')} ₽`;

export async function invoicesPdf(lines: readonly StoredLine[], labels: ReadonlyMap<string, AccountLabel>, period: string, orgName: string): Promise<Buffer> {
  const doc = new PDFDocument({ size: 'A4', margin: 48, autoFirstPage: false, info: { Title: `Начисления за ${monthRu(period)}`, Author: orgName } });
  const done = collectPdf(doc);
  const byAccount = new Map<string, StoredLine[]>();
  for (const l of lines) byAccount.set(l.accountId, [...(byAccount.get(l.accountId) ?? []), l]);
  const accounts = [...byAccount.keys()].sort((a, b) => (labels.get(a)?.number ?? a).localeCompare(labels.get(b)?.number ?? b, 'ru', { numeric: true }));
  const cols = [48, 200, 290, 370, 450];
  for (const acc of accounts) {
    const a = labels.get(acc);
    const own = byAccount.get(acc)!;
    doc.addPage();
    doc.font('bold').fontSize(14).text(`Начисления за ${monthRu(period)}`);
    doc.font('regular').fontSize(10).text(orgName).moveDown(0.5);
    doc.fontSize(11).text(`Лицевой счёт: ${a?.number ?? acc}`);
    doc.text(`Адрес: ${a?.address ?? ''}${a?.premise ? `, пом. ${a.premise}` : ''}`).moveDown(0.8);
    const head = ['Услуга', 'Как начислено', 'Объём', 'Тариф, ₽', 'Сумма'];
    let y = doc.y;
    doc.font('bold').fontSize(9);
    head.forEach((t, i) => doc.text(t, cols[i], y, { width: (cols[i + 1] ?? 548) - cols[i] - 6 }));
    doc.font('regular');
    for (const l of own) {
      y = doc.y + 4;
      const prices = [...new Set(l.parts.map((p) => p.price))];
      const cells = [
        RESOURCE_NAMES[l.resource].ru,
        `${METHOD[l.method] ?? l.method}${l.kind === 'adjustment' ? ` (перерасчёт за ${l.adjustsPeriod ? monthRu(l.adjustsPeriod.slice(0, 7)) : '—'})` : ''}`,
        `${String(l.quantity).replace('.', ',')} ${UNIT[billingUnit(l.resource)]}`,
        prices.length === 1 ? String(prices[0]).replace('.', ',') : l.parts.map((p) => `${p.label}: ${String(p.price).replace('.', ',')}`).join('; '),
        rub(l.amount),
      ];
      let bottom = y;
      cells.forEach((t, i) => { doc.text(t, cols[i], y, { width: (cols[i + 1] ?? 548) - cols[i] - 6 }); bottom = Math.max(bottom, doc.y); });
      doc.y = bottom;
    }
    doc.moveDown(1).font('bold').fontSize(12).text(`Итого к оплате: ${rub(sumKopecks(own.map((l) => l.amount)))}`, 48, doc.y);
  }
  doc.end();
  return done;
}
