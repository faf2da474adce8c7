/**
 * "Send again" of a signed heat statement's e-mail whose attempts are used up (heat/mail.ts
 * sendMailAgain, POST /buildings/:id/heat-statement/mail/send-again), through a real SMTP server on a
 * real database (both engines).
 *
 * Building A's February (2 daily records of 1 000 kWh) signed on 5 March with the heat supplier's
 * address; the SMTP server refuses every message (550) until it is "fixed". Worked by hand:
 *   - run 1 fails: attempts 1 of 5 left → send again 409 ("has attempts left (1 of 5)"), nothing changes;
 *   - runs 2–5 fail (5 refused messages in all), run 6 tries nothing (attempts used up, 5 of 5);
 *   - organisation B's engineer asks to send A's mail again: 404 (the building is not B's), the
 *     sign-off and the audit journal unchanged; B's own month signed without addresses: 404 (no mail);
 *     a reason of blanks: 400;
 *   - the server fixed, A's engineer sends it again: 200, signed_off says attempts 0, series 2 and
 *     who/when/why (the harness clock, 09:00Z); one audit row `resend` of heat_statement_mail
 *     `<A>:2026-02:v1` (before: series 1, 5 attempts, the 550 error; after: series 2, 0 attempts);
 *   - the next run mails it once (sent 1, failed 0; the server took exactly one message of A after the
 *     fix) at the run's clock (09:05Z); a further run mails nothing; sending it again now → 409 ("was
 *     mailed to"), no second audit row.
 *   - a third day (500 kWh) arrives and A's month is signed again (version 2): its mail starts over at
 *     series 1, attempts 0, nobody's "send again" on it.
 * The mail's failure raises no alert (nothing under alerts for A before or after): there is none to clear.
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
let refusing = true;
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
const run = () => sendSignedStatements(h.opened.db, mailer(), { clock: sentClock });
const sendAgain = (token: string, building: number, reason = REASON) =>
  h.call('POST', `/buildings/${building}/heat-statement/mail/send-again`, token, { period: '2026-02', reason });
const signOffRow = async (building: number) => (await h.opened.db.query<{ send_attempts: number; send_series: number; sent_at: Date | null; resent_by: string | null; resend_reason: string | null }>(
  'SELECT send_attempts, send_series, sent_at, resent_by, resend_reason FROM heat_statement_signoffs WHERE building_id = $1', [building])).rows;
const resendAudits = async () => (await h.opened.db.query<{ actor_name: string; entity: string; entity_id: string; reason: string; before: Record<string, unknown>; after: Record<string, unknown> }>(
  `SELECT actor_name, entity, entity_id, reason, before, after FROM audit_log WHERE action = 'resend' ORDER BY id`)).rows;
const mailsOf = (building: number) => smtp.mails.filter((m) => m.headers['x-amr-heat-statement'] === `${building}:2026-02`);
const alertsOf = async (building: number) => (await h.opened.db.query('SELECT kind FROM alerts WHERE building_id = $1', [building])).rows;

beforeAll(async () => {
  smtp = await startSmtpReceiver(() => refusing);
  h = await startHarness({ clock });
  A = await seed('gw-heat-mail-again-a');
  B = await seed('gw-heat-mail-again-b');
  engineerA = await h.userToken('engineer', { buildingIds: [A.building], username: 'orlova' });
  engineerB = await h.userToken('engineer', { buildingIds: [B.building], username: 'mallory' });
  const signed = await h.call('POST', `/buildings/${A.building}/heat-statement/sign-off`, engineerA, { period: '2026-02', email_to: 'supplier@teplo.example' });
  if (signed.status !== 200) throw new Error(`sign-off: ${signed.status}`);
}, 120_000);
afterAll(async () => {
  await h?.close();
  await smtp?.close();
});

describe('send the mail again', () => {
  it('attempts left: refused (the next run retries it anyway), nothing changes', async () => {
    expect(await run()).toEqual({ sent: 0, failed: 1 });
    const r = await sendAgain(engineerA, A.building);
    expect(r.status).toBe(409);
    expect(r.body.message).toContain('has attempts left (1 of 5)');
    expect((await signOffRow(A.building)).map((s) => [s.send_attempts, s.send_series, s.resent_by])).toEqual([[1, 1, null]]);
    expect(await resendAudits()).toEqual([]);
  });

  it('attempts used up: another organisation\'s engineer gets 404 and nothing changes; a month signed without addresses has no mail (404)', async () => {
    for (let i = 2; i <= 5; i++) expect(await run()).toEqual({ sent: 0, failed: 1 });
    expect(await run()).toEqual({ sent: 0, failed: 0 });
    expect(mailsOf(A.building)).toHaveLength(5);
    const shown = (await h.call('GET', `/buildings/${A.building}/heat-statement?period=2026-02`, engineerA)).body.signed_off;
    expect(shown).toMatchObject({ sent_at: null, send_attempts: 5, max_send_attempts: 5, send_series: 1, resent: null });
    expect(shown.send_error).toMatch(/550/);

    const foreign = await sendAgain(engineerB, A.building, 'I want it too');
    expect(foreign.status).toBe(404);
    expect((await signOffRow(A.building)).map((s) => [s.send_attempts, s.send_series, s.resent_by])).toEqual([[5, 1, null]]);
    expect(await resendAudits()).toEqual([]);
    expect(await run()).toEqual({ sent: 0, failed: 0 });

    expect((await h.call('POST', `/buildings/${B.building}/heat-statement/sign-off`, engineerB, { period: '2026-02' })).status).toBe(200);
    const noMail = await sendAgain(engineerB, B.building);
    expect(noMail.status).toBe(404);
    expect(noMail.body.message).toContain('signed without e-mail addresses');

    const blank = await sendAgain(engineerA, A.building, '   ');
    expect(blank.status).toBe(400);
    expect(await resendAudits()).toEqual([]);
  });

  it('the server fixed, sent again: a fresh series, audited; the next run mails it once', async () => {
    refusing = false;
    const r = await sendAgain(engineerA, A.building);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.signed_off).toMatchObject({ version: 1, sent_at: null, send_attempts: 0, send_series: 2,
      resent: { by: 'orlova', at: '2026-03-05T09:00:00.000Z', reason: REASON } });
    expect((await signOffRow(A.building)).map((s) => [s.send_attempts, s.send_series, s.resent_by, s.resend_reason])).toEqual([[0, 2, 'orlova', REASON]]);
    const audits = await resendAudits();
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ actor_name: 'orlova', entity: 'heat_statement_mail', entity_id: `${A.building}:2026-02:v1`, reason: REASON,
      before: { series: 1, attempts: 5, emailTo: 'supplier@teplo.example' }, after: { series: 2, attempts: 0 } });
    expect(String(audits[0].before.error)).toMatch(/550/);

    const before = mailsOf(A.building).length;
    expect(await run()).toEqual({ sent: 1, failed: 0 });
    expect(mailsOf(A.building).length - before).toBe(1);
    expect(mailsOf(A.building).at(-1)!.to).toEqual(['supplier@teplo.example']);
    expect(await run()).toEqual({ sent: 0, failed: 0 });
    expect(mailsOf(A.building).length - before).toBe(1);
    expect((await signOffRow(A.building)).map((s) => [s.send_attempts, s.send_series, s.sent_at?.toISOString()])).toEqual([[1, 2, '2026-03-05T09:05:00.000Z']]);
    expect(await alertsOf(A.building)).toEqual([]);

    const again = await sendAgain(engineerA, A.building);
    expect(again.status).toBe(409);
    expect(again.body.message).toContain('was mailed to supplier@teplo.example');
    expect(await resendAudits()).toHaveLength(1);
  });

  it('a corrected version starts its mail over: series 1, no "send again" on it', async () => {
    await writeReadings(h.opened.db, [dailyArchiveMessage(A, 3, 500)], { clock });
    const r = await h.call('POST', `/buildings/${A.building}/heat-statement/sign-off`, engineerA, { period: '2026-02', correct: true });
    expect(r.status).toBe(200);
    expect(r.body.signed_off).toMatchObject({ version: 2, sent_at: null, send_attempts: 0, send_series: 1, resent: null });
  });
});
