/**
 * Invite letters for residents, one A4 page per personal account: the address, flat and account, the
 * one-time code, the residents' page link carrying account and code (what /resident/?account=…&code=…
 * accepts), a QR code of that link and short instructions in Russian. The codes exist only here and in
 * the hashes in the database.
 *
 * The QR code is drawn as vector squares (one rectangle per run of dark modules): sharp on any printer,
 * and the page's content says exactly which modules are dark.
 */
import PDFDocument from 'pdfkit';
import QRCode from 'qrcode';
import type { BuildingFacts, InviteLetter } from './access-store.js';
import { collectPdf } from '../util/pdf-fonts.js';

/** The link a letter carries: the residents' page with the account and the code in its query. */
export function inviteLink(origin: string, accountNumber: string, code: string): string {
  return `${origin.replace(/\/+$/, '')}/resident/?${new URLSearchParams({ account: accountNumber, code }).toString()}`;
}

/** The QR code's error correction: M survives a crease or a smudge and keeps the symbol small. */
export const QR_OPTIONS = { errorCorrectionLevel: 'M' } as const;

const MARGIN = 56;
const QR_MODULE_PT = 4;

/** The letters as one PDF; `origin` is the head-end's address as residents reach it (https://…). */
export async function renderInviteLetters(building: BuildingFacts, letters: InviteLetter[], origin: string): Promise<Buffer> {
  const doc = new PDFDocument({ size: 'A4', margin: MARGIN, autoFirstPage: false, info: { Title: `Приглашения жильцам: ${building.address}`, Author: building.orgName } });
  const done = collectPdf(doc);
  const date = new Intl.DateTimeFormat('ru-RU', { timeZone: building.timezone, day: '2-digit', month: '2-digit', year: 'numeric' });
  const address = [building.city, building.address].filter(Boolean).join(', ');

  for (const l of letters) {
    doc.addPage();
    const width = doc.page.width - 2 * MARGIN;
    const link = inviteLink(origin, l.accountNumber, l.code);
    doc.font('regular').fontSize(10).fillColor('#444444').text(building.orgName, { width });
    doc.moveDown(0.5);
    doc.font('bold').fontSize(18).fillColor('black').text('Показания счётчиков — онлайн', { width });
    doc.moveDown(0.6);
    doc.font('regular').fontSize(12);
    doc.text(`Адрес: ${address}, кв. ${l.premiseNumber}`, { width });
    doc.text(`Лицевой счёт: ${l.accountNumber}`, { width });
    if (l.holderName) doc.text(`Владелец: ${l.holderName}`, { width });
    doc.moveDown(0.8);
    doc.font('regular').fontSize(12).text('Ваш одноразовый код:', { width });
    doc.font('mono').fontSize(26).text(l.code, { width, characterSpacing: 3 });
    doc.font('regular').fontSize(11).text(`Код действует до ${date.format(l.expiresAt)} и только для одного входа.`, { width });
    doc.moveDown(1);

    const qrTop = doc.y;
    const qrSize = drawQr(doc, link, MARGIN, qrTop);
    doc.font('regular').fontSize(11).text('Наведите камеру телефона на QR-код — откроется страница для передачи показаний, уже с вашим счётом и кодом.',
      MARGIN + qrSize + 20, qrTop, { width: width - qrSize - 20 });
    doc.x = MARGIN;
    doc.y = Math.max(doc.y, qrTop + qrSize) + 14;
    doc.font('regular').fontSize(11).text('Или откройте ссылку:', { width });
    doc.font('mono').fontSize(9).text(link, { width });
    doc.moveDown(1);

    doc.font('bold').fontSize(13).text('Как передавать показания', { width });
    doc.moveDown(0.3);
    doc.font('regular').fontSize(11);
    const steps = [
      'Откройте ссылку или отсканируйте QR-код: номер лицевого счёта и код подставятся сами.',
      `Если открываете страницу вручную (${origin.replace(/\/+$/, '')}/resident/), введите номер лицевого счёта и код с этого письма.`,
      'Код одноразовый: после первого входа он больше не действует. Не передавайте его посторонним.',
      'Передавайте показания в дни приёма, указанные на странице; там же видны прошлые показания и расход.',
      `Письмо потерялось или код не подходит — обратитесь в ${building.orgName}: вам выдадут новый код.`,
    ];
    steps.forEach((s, i) => doc.text(`${i + 1}. ${s}`, { width, paragraphGap: 4 }));
  }
  doc.end();
  return done;
}

/** Draws the link's QR code with its top-left dark module at (x, y) (the quiet zone is the page's margin); its side in points. */
function drawQr(doc: PDFKit.PDFDocument, text: string, x: number, y: number): number {
  const { modules } = QRCode.create(text, QR_OPTIONS);
  const n = modules.size;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n;) {
      if (!modules.get(r, c)) { c++; continue; }
      let end = c;
      while (end < n && modules.get(r, end)) end++;
      doc.rect(x + c * QR_MODULE_PT, y + r * QR_MODULE_PT, (end - c) * QR_MODULE_PT, QR_MODULE_PT);
      c = end;
    }
  }
  doc.fillColor('black').fill();
  return n * QR_MODULE_PT;
}
