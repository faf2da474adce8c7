/**
 * "Send again" of a signed heat statement's e-mail whose attempts are used up (heat/mail.ts
 * sendMailAgain, POST /buildings/:id/heat-statement/mail/send-again), its `heat_mail_failed` alert, and
 * the corrected addresses it may carry — through a real SMTP server on a real database (both engines).
 *
 * Building A's February (2 daily records of 1 000 kWh) signed on 5 March with the heat supplier's address
 * mistyped (MISTYPED, "suplier@"); the SMTP server answers 550 "mailbox unavailable" to every message for
 * that mailbox (and, later, to all while `refusingAll`). The runs raise alerts through one webhook channel,
 * so each raise or clear writes exactly one notification row. Worked by hand:
 *   - run 1 fails: attempts 1 of 5 → send again 409 ("has attempts left (1 of 5)"), nothing changes; no alert;
 *   - runs 2–4 fail, no alert yet; run 5 fails (5 refused messages in all) and raises exactly one
 *     heat_mail_failed alert, subject `heat-mail:<A>:2026-02`, data {month 2026-02, version 1, email_to
 *     MISTYPED, attempts 5, error "… 550 mailbox unavailable (test)"}, one `raised` notification; run 6
 *     tries nothing (5 of 5) and raises nothing again (still one alert, one notification);
 *   - A's engineer sees it (params month/version/attempts/email_to/error; the message names the address
 *     "… поставщику (MISTYPED): 5 попыток исчерпаны" / "… (MISTYPED): all 5 attempts used");
 *     organisation B's engineer: not in the list, GET /alerts/<id> 404; B asks to send A's mail again:
 *     404, the sign-off and the audit journal unchanged; B's own month signed without addresses: 404;
 *     a reason of blanks: 400;
 *   - send again with email_to "supplier@teplo" (no dot in the domain): 400 naming email_to and the bad
 *     address; with email_to "": 400 "email_to is empty"; nothing changed (MISTYPED, 5 attempts, series 1,
 *     no audit row, the alert open);
 *   - send again with email_to FIXED: 200, signed_off says email_to FIXED, attempts 0, series 2 and
 *     who/when/why (the harness clock, 09:00Z); one audit row `resend` of heat_statement_mail
 *     `<A>:2026-02:v1` (before: series 1, 5 attempts, the 550 error, MISTYPED; after: series 2, 0 attempts,
 *     FIXED); the alert stays open (nothing went out yet);
 *   - the next run mails it once (sent 1, failed 0), to FIXED only (the SMTP envelope's recipients), at
 *     the run's clock (09:05Z), and clears the alert (reason "version 1 mailed to FIXED"; notifications
 *     raised, cleared); a further run mails nothing; sending it again now → 409 ("was mailed to FIXED"),
 *     no second audit row;
 *   - a third day (500 kWh) arrives and A's month is signed again (version 2): its mail starts over at
 *     series 1, attempts 0, nobody's "send again" on it, to FIXED (the corrected addresses are kept);
 *     the server now refuses everything: 5 runs fail and raise a second alert (version 2); a fourth day
 *     (500 kWh) and version 3 signed: the next run clears it before mailing (reason "signed again as
 *     version 3: its mail is due afresh"), whose attempt 1 fails and raises nothing (notifications:
 *     raised, cleared, raised, cleared; no open alert).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../api/harness.js';
import { registerGateway, dailyArchiveMessage, type Fixture } from '../ingest/fixtures.js';
import { startSmtpReceiver, type SmtpReceiver } from '../alerts/receivers.js';
import { writeReadings } from '../../src/ingest/index.js';
import { createStatementMailer, sendSignedStatements } from '../../src/heat/mail.js';
import { fixedClock } from '../../src/util/clock.js';

let h: Harness;
let smtp: SmtpReceiver;
const MISTYPED = 'suplier@teplo.example';
const FIXED = 'supplier@teplo.example';
let refusingAll = false;
const channels = [{ channel: 'webhook' as const, target: 'https://hooks.example.org/amr' }];
const clock = fixedClock('2026-03-05T09:00:00Z');
const sentClock = fixedClock('2026-03-05T09:05:00Z');
let A: Fixture & { building: number };
let B: Fixture & { building: number };
let engineerA = '', engineerB = '';
const REASON = 'пароль SMTP исправлен, отправляем снова';

async function seed(gw: string): Promise<Fixture & { building: number }> {
  const fx = await registerGateway(h.opened.db, gw, 1);
  const { rows } = await h.opened.db.query<{ building_id: string }>('SELECT building_id FROM meters WHERE id = $1', [fx.meterIds[0]]);
  await writeReadings(h.opened.db, [dailyArchiveMessage(fx, 1, 1000), dailyArchiveMessage(fx, 2, 1000)], { clock });
  return { ...fx, building: Number(rows[0].building_id) };
}

const mailer = () => createStatementMailer({ SMTP_URL: smtp.url, SMTP_FROM: 'amr@uk.example' });
/** One run of the mail job: [sent, failed]. */
const run = async () => {
  const r = await sendSignedStatements(h.opened.db, mailer(), { clock: sentClock, alertChannels: channels });
  return [r.sent, r.failed];
};
const sendAgain = (token: string, building: number, reason = REASON, extra: object = {}) =>
  h.call('POST', `/buildings/${building}/heat-statement/mail/send-again`, token, { period: '2026-02', reason, ...extra });
const signOffRow = async (building: number) => (await h.opened.db.query<{ email_to: string | null; send_attempts: number; send_series: number; sent_at: Date | null; resent_by: string | null; resend_reason: string | null }>(
  'SELECT email_to, send_attempts, send_series, sent_at, resent_by, resend_reason FROM heat_statement_signoffs WHERE building_id = $1', [building])).rows;
const resendAudits = async () => (await h.opened.db.query<{ actor_name: string; entity: string; entity_id: string; reason: string; before: Record<string, unknown>; after: Record<string, unknown> }>(
  `SELECT actor_name, entity, entity_id, reason, before, after FROM audit_log WHERE action = 'resend' ORDER BY id`)).rows;
const mailsOf = (building: number) => smtp.mails.filter((m) => m.headers['x-amr-heat-statement'] === `${building}:2026-02`);
const mailAlerts = async () => (await h.opened.db.query<{ id: string; subject: string; building_id: string; cleared_at: Date | null; data: Record<string, unknown> }>(
  `SELECT id, subject, building_id, cleared_at, data FROM alerts WHERE kind = 'heat_mail_failed' ORDER BY id`)).rows;
const notices = async () => (await h.opened.db.query<{ event: string }>(
  `SELECT n.event FROM alert_notifications n JOIN alerts a ON a.id = n.alert_id WHERE a.kind = 'heat_mail_failed' ORDER BY n.id`)).rows.map((r) => r.event);
const listed = (token: string) => h.call<{ id: number; building_id: number; message: string; params: Record<string, unknown> }[]>('GET', '/alerts?kind=heat_mail_failed', token);

beforeAll(async () => {
  smtp = await startSmtpReceiver((m) => refusingAll || m.to.includes(MISTYPED));
  h = await startHarness({ clock });
  A = await seed('gw-heat-mail-again-a');
  B = await seed('gw-heat-mail-again-b');
  engineerA = await h.userToken('engineer', { buildingIds: [A.building], username: 'orlova' });
  engineerB = await h.userToken('engineer', { buildingIds: [B.building], username: 'mallory' });
  const signed = await h.call('POST', `/buildings/${A.building}/heat-statement/sign-off`, engineerA, { period: '2026-02', email_to: MISTYPED });
  if (signed.status !== 200) throw new Error(`sign-off: ${signed.status}`);
}, 120_000);
afterAll(async () => {
  await h?.close();
  await smtp?.close();
});

describe('send the mail again', () => {
  it('attempts left: refused (the next run retries it anyway), nothing changes, no alert yet', async () => {
    expect(await run()).toEqual([0, 1]);
    const r = await sendAgain(engineerA, A.building);
    expect(r.status).toBe(409);
    expect(r.body.message).toContain('has attempts left (1 of 5)');
    expect((await signOffRow(A.building)).map((s) => [s.send_attempts, s.send_series, s.resent_by])).toEqual([[1, 1, null]]);
    expect(await resendAudits()).toEqual([]);
    expect(await mailAlerts()).toEqual([]);
  });

  it('the last attempt failing raises exactly one heat_mail_failed alert with the error; B never sees it', async () => {
    for (let i = 2; i <= 4; i++) {
      expect(await run()).toEqual([0, 1]);
      expect(await mailAlerts(), `after run ${i}`).toEqual([]);
    }
    expect(await run()).toEqual([0, 1]);
    expect(await run()).toEqual([0, 0]);
    expect(mailsOf(A.building)).toHaveLength(5);
    const rows = await mailAlerts();
    expect(rows.map((r) => [r.subject, Number(r.building_id), r.cleared_at])).toEqual([[`heat-mail:${A.building}:2026-02`, A.building, null]]);
    expect(rows[0].data).toMatchObject({ month: '2026-02', version: 1, email_to: MISTYPED, attempts: 5 });
    expect(String(rows[0].data.error)).toContain('550 mailbox unavailable (test)');
    expect(await notices()).toEqual(['raised']);

    const seen = await listed(engineerA);
    expect(seen.status).toBe(200);
    expect(seen.body).toHaveLength(1);
    expect(seen.body[0].params).toMatchObject({ month: '2026-02', version: 1, attempts: 5, email_to: MISTYPED });
    expect(String(seen.body[0].params.error)).toContain('550');
    const [ru, en] = seen.body[0].message.split('\n');
    expect(ru).toContain(`2026-02, версия 1 не отправлена по e-mail поставщику (${MISTYPED}): 5 попыток исчерпаны, последняя ошибка: `);
    expect(en).toContain(`2026-02, version 1 was not mailed to the heat supplier (${MISTYPED}): all 5 attempts used, last error: `);

    expect((await listed(engineerB)).body).toEqual([]);
    expect((await h.call('GET', `/alerts/${seen.body[0].id}`, engineerB)).status).toBe(404);
  });

  it('attempts used up: another organisation\'s engineer gets 404 and nothing changes; a month signed without addresses has no mail (404)', async () => {
    const shown = (await h.call('GET', `/buildings/${A.building}/heat-statement?period=2026-02`, engineerA)).body.signed_off;
    expect(shown).toMatchObject({ sent_at: null, send_attempts: 5, max_send_attempts: 5, send_series: 1, resent: null });
    expect(shown.send_error).toMatch(/550/);

    const foreign = await sendAgain(engineerB, A.building, 'I want it too', { email_to: 'mallory@evil.example' });
    expect(foreign.status).toBe(404);
    expect((await signOffRow(A.building)).map((s) => [s.email_to, s.send_attempts, s.send_series, s.resent_by])).toEqual([[MISTYPED, 5, 1, null]]);
    expect(await resendAudits()).toEqual([]);
    expect(await run()).toEqual([0, 0]);

    expect((await h.call('POST', `/buildings/${B.building}/heat-statement/sign-off`, engineerB, { period: '2026-02' })).status).toBe(200);
    const noMail = await sendAgain(engineerB, B.building);
    expect(noMail.status).toBe(404);
    expect(noMail.body.message).toContain('signed without e-mail addresses');

    const blank = await sendAgain(engineerA, A.building, '   ');
    expect(blank.status).toBe(400);
    expect(await resendAudits()).toEqual([]);
  });

  it('a malformed email_to: 400 naming the field and the address, nothing changed', async () => {
    const bad = await sendAgain(engineerA, A.building, REASON, { email_to: 'supplier@teplo' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('email_to: "supplier@teplo" is not an e-mail address');
    const empty = await sendAgain(engineerA, A.building, REASON, { email_to: '' });
    expect(empty.status).toBe(400);
    expect(empty.body.message).toContain('email_to is empty');
    expect((await signOffRow(A.building)).map((s) => [s.email_to, s.send_attempts, s.send_series, s.resent_by])).toEqual([[MISTYPED, 5, 1, null]]);
    expect(await resendAudits()).toEqual([]);
    expect((await mailAlerts()).map((r) => r.cleared_at)).toEqual([null]);
  });

  it('sent again with the corrected address: a fresh series, audited with both address lists; the next run mails it once to the new address and clears the alert', async () => {
    const r = await sendAgain(engineerA, A.building, REASON, { email_to: FIXED });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.signed_off).toMatchObject({ version: 1, email_to: FIXED, sent_at: null, send_attempts: 0, send_series: 2,
      resent: { by: 'orlova', at: '2026-03-05T09:00:00.000Z', reason: REASON } });
    expect((await signOffRow(A.building)).map((s) => [s.email_to, s.send_attempts, s.send_series, s.resent_by, s.resend_reason])).toEqual([[FIXED, 0, 2, 'orlova', REASON]]);
    const audits = await resendAudits();
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ actor_name: 'orlova', entity: 'heat_statement_mail', entity_id: `${A.building}:2026-02:v1`, reason: REASON,
      before: { series: 1, attempts: 5, emailTo: MISTYPED }, after: { series: 2, attempts: 0, emailTo: FIXED } });
    expect(String(audits[0].before.error)).toMatch(/550/);
    // Nothing went out yet: the alert stays.
    expect((await mailAlerts()).map((a) => a.cleared_at)).toEqual([null]);

    const before = mailsOf(A.building).length;
    expect(await run()).toEqual([1, 0]);
    expect(mailsOf(A.building).length - before).toBe(1);
    expect(mailsOf(A.building).at(-1)!.to).toEqual([FIXED]);
    expect(await run()).toEqual([0, 0]);
    expect(mailsOf(A.building).length - before).toBe(1);
    expect((await signOffRow(A.building)).map((s) => [s.send_attempts, s.send_series, s.sent_at?.toISOString()])).toEqual([[1, 2, '2026-03-05T09:05:00.000Z']]);
    const alerts = await mailAlerts();
    expect(alerts.map((a) => [a.cleared_at?.toISOString(), a.data.cleared_reason])).toEqual([['2026-03-05T09:05:00.000Z', `version 1 mailed to ${FIXED}`]]);
    expect(await notices()).toEqual(['raised', 'cleared']);

    const again = await sendAgain(engineerA, A.building);
    expect(again.status).toBe(409);
    expect(again.body.message).toContain(`was mailed to ${FIXED}`);
    expect(await resendAudits()).toHaveLength(1);
  });

  it('a corrected version starts its mail over (series 1, the corrected address); its alert is cleared when the month is signed again', async () => {
    await writeReadings(h.opened.db, [dailyArchiveMessage(A, 3, 500)], { clock });
    const r = await h.call('POST', `/buildings/${A.building}/heat-statement/sign-off`, engineerA, { period: '2026-02', correct: true });
    expect(r.status).toBe(200);
    expect(r.body.signed_off).toMatchObject({ version: 2, email_to: FIXED, sent_at: null, send_attempts: 0, send_series: 1, resent: null });

    refusingAll = true;
    for (let i = 1; i <= 5; i++) expect(await run()).toEqual([0, 1]);
    const open = (await mailAlerts()).filter((a) => a.cleared_at === null);
    expect(open.map((a) => [a.data.version, a.data.email_to, a.data.attempts])).toEqual([[2, FIXED, 5]]);

    await writeReadings(h.opened.db, [dailyArchiveMessage(A, 4, 500)], { clock });
    expect((await h.call('POST', `/buildings/${A.building}/heat-statement/sign-off`, engineerA, { period: '2026-02', correct: true })).status).toBe(200);
    expect(await run()).toEqual([0, 1]);
    const all = await mailAlerts();
    expect(all.map((a) => [a.data.version, a.cleared_at?.toISOString(), a.data.cleared_reason])).toEqual([
      [1, '2026-03-05T09:05:00.000Z', `version 1 mailed to ${FIXED}`],
      [2, '2026-03-05T09:05:00.000Z', 'signed again as version 3: its mail is due afresh'],
    ]);
    expect(await notices()).toEqual(['raised', 'cleared', 'raised', 'cleared']);
  });

  it('two engineers send one used-up mail again at once: one fresh series and one audit row, the other 409; the corrected address refused as well: the month\'s one open alert names it and its error', async () => {
    // Building C, signed with the mistyped address while the server refuses everything: its 5 attempts
    // are used up by 5 runs (A's version 3 takes its remaining attempts in the same runs).
    refusingAll = true;
    const C = await seed('gw-heat-mail-again-c');
    const engineerC = await h.userToken('engineer', { buildingIds: [C.building], username: 'petrov' });
    const engineerC2 = await h.userToken('engineer', { buildingIds: [C.building], username: 'sidorova' });
    expect((await h.call('POST', `/buildings/${C.building}/heat-statement/sign-off`, engineerC, { period: '2026-02', email_to: MISTYPED })).status).toBe(200);
    for (let i = 1; i <= 5; i++) await run();
    expect((await signOffRow(C.building)).map((s) => [s.send_attempts, s.send_series])).toEqual([[5, 1]]);
    const cAlerts = async () => (await mailAlerts()).filter((a) => Number(a.building_id) === C.building);
    const cNotices = async () => (await h.opened.db.query<{ event: string }>(
      `SELECT n.event FROM alert_notifications n JOIN alerts a ON a.id = n.alert_id WHERE a.kind = 'heat_mail_failed' AND a.building_id = $1 ORDER BY n.id`, [C.building])).rows.map((r) => r.event);
    expect((await cAlerts()).map((a) => [a.data.email_to, a.cleared_at])).toEqual([[MISTYPED, null]]);
    expect(await cNotices()).toEqual(['raised']);

    const FIXED_C = 'teplo@supplier.example';
    const auditsBefore = (await resendAudits()).length;
    const both = await Promise.all([
      sendAgain(engineerC, C.building, REASON, { email_to: FIXED_C }),
      sendAgain(engineerC2, C.building, 'я тоже исправила адрес', { email_to: FIXED_C }),
    ]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
    const loser = both.find((r) => r.status === 409)!;
    expect(loser.body.message).toMatch(/has attempts left \(0 of 5\)|changed meanwhile/);
    expect((await signOffRow(C.building)).map((s) => [s.email_to, s.send_attempts, s.send_series])).toEqual([[FIXED_C, 0, 2]]);
    const audits = (await resendAudits()).slice(auditsBefore);
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ entity_id: `${C.building}:2026-02:v1`, before: { series: 1, attempts: 5, emailTo: MISTYPED }, after: { series: 2, attempts: 0, emailTo: FIXED_C } });

    // The corrected address is refused too: the second series used up, the month's open alert now names
    // the address that failed last and its error — one alert, not two, and no second "raised" notice.
    for (let i = 1; i <= 5; i++) await run();
    expect((await signOffRow(C.building)).map((s) => [s.send_attempts, s.send_series, s.sent_at])).toEqual([[5, 2, null]]);
    expect(mailsOf(C.building).filter((m) => m.to.includes(FIXED_C))).toHaveLength(5);
    const open = await cAlerts();
    expect(open.map((a) => [a.data.email_to, a.data.attempts, a.cleared_at])).toEqual([[FIXED_C, 5, null]]);
    expect(String(open[0].data.error)).toContain('550');
    expect(await cNotices()).toEqual(['raised']);
    const seen = (await listed(engineerC)).body.filter((a) => a.building_id === C.building);
    expect(seen.map((a) => a.params.email_to)).toEqual([FIXED_C]);
  });
});
