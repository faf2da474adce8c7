/**
 * Mailing a signed heat statement (src/heat/mail.ts) through a real SMTP server, on a real database
 * (both engines): signed with the heat supplier's addresses → one mail to them with the PDF and the
 * Excel file attached (the PDF says who signed it); a second run sends nothing; a rejected delivery is
 * recorded and retried by the next run; a sign-off without addresses is never mailed; a malformed
 * address is refused at sign-off, naming it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { archiveQuantity, type ReadingsMessage } from '@amr/protocols';
import { startHarness, type Harness } from '../api/harness.js';
import { registerGateway, type Fixture } from '../ingest/fixtures.js';
import { startSmtpReceiver, type Mail, type SmtpReceiver } from '../alerts/receivers.js';
import { writeReadings } from '../../src/ingest/index.js';
import { createStatementMailer, sendSignedStatements } from '../../src/heat/mail.js';
import { fixedClock } from '../../src/util/clock.js';
import { pdfPages } from '../collection/pdf-pages.js';

let h: Harness;
let smtp: SmtpReceiver;
let rejectNext = false;
let engineer = '';
const clock = fixedClock('2026-03-05T09:00:00Z');
const sentClock = fixedClock('2026-03-05T09:05:00Z');

/** Two daily records (1 and 2 February, Moscow) of the building's heat meter, 1000 kWh each. */
async function seedBuilding(gw: string): Promise<Fixture & { building: number }> {
  const fx = await registerGateway(h.opened.db, gw, 1);
  const { rows } = await h.opened.db.query<{ building_id: number }>(`UPDATE meters SET make = 'Термотроник', model = 'ТВ7' WHERE id = $1 RETURNING building_id`, [fx.meterIds[0]]);
  const building = Number(rows[0].building_id);
  await h.opened.db.query(`UPDATE buildings SET address = $2 WHERE id = $1`, [building, `г. Тверь, ${gw}`]);
  const msg = (d: number): ReadingsMessage => {
    const time = new Date(Date.UTC(2026, 1, d) - 3 * 3600_000).toISOString();
    return {
      v: 1, gatewayId: gw, sentAt: '2026-03-01T08:00:00.000Z',
      readings: [{ seq: d, meter: { meterKey: 'tv7', bus: 'm1', protocol: 'modbus', address: '1' }, gatewayTime: '2026-03-01T08:00:00.000Z', quality: ['archive'],
        values: [['energy_delta_kwh', 1000, 'kWh'], ['operating_time_delta_s', 86_400, 's'], ['error_time_delta_s', 0, 's']].map(([quantity, value, unit]) =>
          ({ quantity: archiveQuantity(quantity as string, 'daily'), value: value as number, unit: unit as string, time, quality: ['archive' as const] })),
        archive: { kind: 'daily', record: `2026-02-0${d}T00:00:00`, stamp: 'start', seconds: 86_400, nsCodes: [] } }],
    };
  };
  await writeReadings(h.opened.db, [msg(1), msg(2)], { clock });
  return { ...fx, building };
}

/** The attachments of a multipart mail: filename → decoded bytes. */
function attachments(m: Mail): Map<string, Buffer> {
  const boundary = /boundary="?([^";]+)"?/.exec(m.headers['content-type'] ?? '')?.[1];
  const out = new Map<string, Buffer>();
  if (!boundary) return out;
  for (const part of m.body.split(`--${boundary}`)) {
    const cut = part.indexOf('\r\n\r\n');
    const head = part.slice(0, cut);
    const name = /filename="?([^";\r\n]+)"?/.exec(head)?.[1];
    if (name && /base64/i.test(head)) out.set(name, Buffer.from(part.slice(cut + 4).replace(/\s+/g, ''), 'base64'));
  }
  return out;
}

let A: Fixture & { building: number };
let C: Fixture & { building: number };
let D: Fixture & { building: number };
const mailer = () => createStatementMailer({ SMTP_URL: smtp.url, SMTP_FROM: 'amr@uk.example' });
const signOff = (building: number, body: object) => h.call('POST', `/buildings/${building}/heat-statement/sign-off`, engineer, { period: '2026-02', ...body });

beforeAll(async () => {
  smtp = await startSmtpReceiver(() => {
    const r = rejectNext;
    rejectNext = false;
    return r;
  });
  h = await startHarness({ clock });
  A = await seedBuilding('gw-heat-mail-a');
  C = await seedBuilding('gw-heat-mail-c');
  D = await seedBuilding('gw-heat-mail-d');
  engineer = await h.userToken('engineer', { buildingIds: [A.building, C.building, D.building], username: 'petrov' });
}, 120_000);
afterAll(async () => {
  await h?.close();
  await smtp?.close();
});

describe('mailing the signed heat statement', () => {
  it('a malformed address is refused at sign-off, naming it; nothing is signed', async () => {
    const r = await signOff(A.building, { email_to: 'supplier@teplo.example, not-an-address' });
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('"not-an-address" is not an e-mail address');
    expect((await h.opened.db.query('SELECT 1 FROM heat_statement_signoffs')).rows).toEqual([]);
  });

  it('mails the signed statement once to the supplier with the PDF and the Excel file; a sign-off without addresses is not mailed', async () => {
    expect((await signOff(A.building, { email_to: 'supplier@teplo.example; dispatch@teplo.example' })).status).toBe(200);
    expect((await signOff(C.building, {})).status).toBe(200);
    // First delivery rejected by the server: recorded, not sent.
    rejectNext = true;
    expect(await sendSignedStatements(h.opened.db, mailer(), { clock: sentClock })).toEqual({ sent: 0, failed: 1, notificationIds: [] });
    const failed = (await h.call('GET', `/buildings/${A.building}/heat-statement?period=2026-02`, engineer)).body.signed_off;
    expect(failed).toMatchObject({ email_to: 'supplier@teplo.example, dispatch@teplo.example', sent_at: null });
    expect(failed.send_error).toMatch(/^e-mail via smtp:\/\/127\.0\.0\.1:\d+: .*550/);
    // The next run delivers it.
    expect(await sendSignedStatements(h.opened.db, mailer(), { clock: sentClock })).toEqual({ sent: 1, failed: 0, notificationIds: [] });
    expect(smtp.mails).toHaveLength(2);
    const m = smtp.mails[1];
    expect(m.to).toEqual(['supplier@teplo.example', 'dispatch@teplo.example']);
    expect(m.subject).toBe('Ведомость учёта тепловой энергии и теплоносителя: г. Тверь, gw-heat-mail-a, 2026-02');
    expect(m.headers['x-amr-heat-statement']).toBe(`${A.building}:2026-02`);
    const files = attachments(m);
    expect([...files.keys()]).toEqual([`heat-statement-${A.building}-2026-02.pdf`, `heat-statement-${A.building}-2026-02.xlsx`]);
    const pdf = pdfPages(files.get(`heat-statement-${A.building}-2026-02.pdf`)!).map((p) => p.text).join('\n');
    expect(pdf).toContain('Ведомость подписана: petrov, 05.03.2026, 12:00');
    expect(pdf).toContain('2000,000'); // Q of the month: 1000 + 1000 kWh
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(files.get(`heat-statement-${A.building}-2026-02.xlsx`)! as unknown as ArrayBuffer);
    const cells: unknown[] = [];
    wb.getWorksheet('Ведомость')!.eachRow((r) => cells.push(...(r.values as unknown[]).slice(1)));
    expect(cells).toContain('Адрес объекта: г. Тверь, gw-heat-mail-a');
    // Sent: recorded; a rerun mails nothing more, and C (no addresses) never.
    const sent = (await h.call('GET', `/buildings/${A.building}/heat-statement?period=2026-02`, engineer)).body.signed_off;
    expect([sent.sent_at, sent.send_error]).toEqual(['2026-03-05T09:05:00.000Z', null]);
    expect(await sendSignedStatements(h.opened.db, mailer(), { clock: sentClock })).toEqual({ sent: 0, failed: 0, notificationIds: [] });
    expect(smtp.mails).toHaveLength(2);
    expect(smtp.mails.flatMap((x) => x.headers['x-amr-heat-statement'] ?? [])).not.toContain(`${C.building}:2026-02`);
  });

  it('two runs at once (the schedule and "run now", or two replicas): the statement is mailed once', async () => {
    expect((await signOff(D.building, { email_to: 'supplier@teplo.example' })).status).toBe(200);
    const before = smtp.mails.length;
    const runs = await Promise.all([1, 2, 3].map(() => sendSignedStatements(h.opened.db, mailer(), { clock: sentClock })));
    expect(runs.reduce((n, r) => n + r.sent, 0)).toBe(1);
    expect(runs.reduce((n, r) => n + r.failed, 0)).toBe(0);
    expect(smtp.mails.slice(before).map((m) => m.headers['x-amr-heat-statement'])).toEqual([`${D.building}:2026-02`]);
  });

  it('a corrected statement (the month signed again) is mailed again, saying it is version 2 and what it replaces', async () => {
    // A third day of 500 kWh arrives for A after its mail: the statement changed; signed again.
    const msg = {
      v: 1 as const, gatewayId: A.gatewayId, sentAt: '2026-03-01T08:00:00.000Z',
      readings: [{ seq: 3, meter: { meterKey: 'tv7', bus: 'm1', protocol: 'modbus' as const, address: '1' }, gatewayTime: '2026-03-01T08:00:00.000Z', quality: ['archive' as const],
        values: [['energy_delta_kwh', 500, 'kWh'], ['operating_time_delta_s', 86_400, 's'], ['error_time_delta_s', 0, 's']].map(([quantity, value, unit]) =>
          ({ quantity: archiveQuantity(quantity as string, 'daily'), value: value as number, unit: unit as string, time: '2026-02-02T21:00:00.000Z', quality: ['archive' as const] })),
        archive: { kind: 'daily' as const, record: '2026-02-03T00:00:00', stamp: 'start' as const, seconds: 86_400, nsCodes: [] } }],
    };
    await writeReadings(h.opened.db, [msg], { clock });
    const again = await signOff(A.building, { correct: true });
    expect(again.status).toBe(200);
    expect(again.body.signed_off).toMatchObject({ version: 2, email_to: 'supplier@teplo.example, dispatch@teplo.example', sent_at: null, send_error: null });
    const before = smtp.mails.length;
    expect(await sendSignedStatements(h.opened.db, mailer(), { clock: sentClock })).toEqual({ sent: 1, failed: 0, notificationIds: [] });
    const m = smtp.mails[before];
    expect(m.subject).toBe('Ведомость учёта тепловой энергии и теплоносителя: г. Тверь, gw-heat-mail-a, 2026-02 (исправленная, версия 2)');
    expect(m.to).toEqual(['supplier@teplo.example', 'dispatch@teplo.example']);
    const pdf = pdfPages(attachments(m).get(`heat-statement-${A.building}-2026-02.pdf`)!).map((p) => p.text).join('\n');
    expect(pdf).toContain('исправленная ведомость, версия 2: заменяет версию 1, подписанную petrov 05.03.2026, 12:00');
    expect(pdf).toContain('2500,000'); // 1000 + 1000 + 500 kWh
  });
});
