/**
 * End to end through real peers: the API on the embedded database, real Redis (bullmq, unique prefix,
 * removed afterwards), a real SMTP server and a real webhook receiver (the alerts tests' receivers).
 *   - A resident submits through the API → the digest job mails the one staff user who should hear of
 *     it (engineer granted the building, with an e-mail) — not a user of another building, not a role
 *     without readings:enter, not the resident — and calls the building's webhook once; a rerun sends
 *     nothing; a submission inside digest_minutes waits for the next digest.
 *   - The reminders job run for a chosen instant (the clock is the job's `now`): before the building's
 *     reminder hour nothing; at it, the right residents get the right e-mails; a rerun the same day
 *     sends nothing twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { JobRunner } from '../../src/jobs/index.js';
import { defineReminderJobs, DIGEST_JOB, REMINDERS_JOB } from '../../src/reminders/index.js';
import { startHarness, type Harness } from '../api/harness.js';
import { startSmtpReceiver, startWebhookReceiver, waitFor, type SmtpReceiver, type WebhookReceiver } from '../alerts/receivers.js';
import { REDIS_URL, removeRedisKeys } from '../redis.js';

const prefix = `amrtest-reminders-${randomUUID()}`;

let h: Harness;
let runner: JobRunner;
let smtp: SmtpReceiver;
let webhook: WebhookReceiver;
let b: number, b2: number, ls1: number, ls2: number, ls3: number;
let cw1: number, hw1: number, cw2: number;
let resident1: string;

/** What the notifications webhook receives (the fields this test reads): a digest of residents' submissions, or a day's reminders. */
interface NotificationHook {
  event: string; answered: number; authorization?: string;
  submissions?: { meter_id: number; value: number; version: number; accounts: string[]; premise: string }[];
  reminders?: { kind: string; account: string; emails: string[]; pending_meter_ids: number[] }[];
}
/** A row of GET /notification-settings. */
interface SettingsRow { org_id: number | null; building_id: number | null; resident_reminders: boolean }
/** A row of GET /notifications. */
interface LogRow { kind: string; recipient: string; status: string; attempts: number; building_ids: number[]; body: string }
/** The mail's text: nodemailer sends non-ASCII text base64-encoded. */
const text = (m: { headers: Record<string, string>; body: string }) =>
  (m.headers['content-transfer-encoding'] === 'base64' ? Buffer.from(m.body, 'base64').toString('utf8') : m.body);
const hooks = () => webhook.hooks as unknown as NotificationHook[];
const q = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => h.opened.db.query<T>(sql, params).then((r) => r.rows);
const logCount = async () => Number((await q('SELECT count(*)::int AS n FROM notification_log'))[0].n);
/** n rows planned and none left pending (sent, or failed for good). */
const allSettled = (n: number) => async () => {
  const rows = await q('SELECT status FROM notification_log');
  return rows.length === n && rows.every((r) => r.status !== 'pending');
};

/** Runs a job to completion (waits for one more completed job in its queue). */
async function runJob(name: string, data: object): Promise<void> {
  const done = async () => (await runner.depths())[name]?.completed ?? 0;
  const before = await done();
  await runner.enqueue(name, data);
  await waitFor(`${name} completed`, async () => (await done()) > before);
}

beforeAll(async () => {
  smtp = await startSmtpReceiver();
  webhook = await startWebhookReceiver();
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  runner = new JobRunner({ redisUrl: REDIS_URL, prefix, logger });
  h = await startHarness({ jobs: runner });
  await defineReminderJobs(runner, { db: h.opened.db, logger, config: { SMTP_URL: smtp.url, SMTP_FROM: 'uk@example.org' }, sendAttempts: 2, webhookTimeoutMs: 5000, schedule: false });

  const t = h.adminToken;
  const post = async (url: string, body: object) => {
    const r = await h.call('POST', url, t, body);
    if (r.status !== 201) throw new Error(`${url}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.id as number;
  };
  const org = await post('/organisations', { name: 'УК Сбор' });
  b = await post('/buildings', { org_id: org, external_id: 'N1', address: 'ул. Уведомлений, 1', timezone: 'Europe/Moscow' });
  b2 = await post('/buildings', { org_id: org, external_id: 'N2', address: 'ул. Другая, 2', timezone: 'Europe/Moscow' });
  const flat = async (n: string) => post('/premises', { building_id: b, number: n });
  const [f1, f2, f3] = [await flat('1'), await flat('2'), await flat('3')];
  ls1 = await post('/accounts', { org_id: org, number: 'LS-1', premise_id: f1 });
  ls2 = await post('/accounts', { org_id: org, number: 'LS-2', premise_id: f2 });
  ls3 = await post('/accounts', { org_id: org, number: 'LS-3', premise_id: f3 });
  await post('/residents', { account_id: ls1, full_name: 'Иванов Иван', email: 'ivan@example.org' });
  await post('/residents', { account_id: ls1, full_name: 'Иванова Мария', email: 'maria@example.org' });
  await post('/residents', { account_id: ls1, full_name: 'Иванов-младший' });
  await post('/residents', { account_id: ls2, full_name: 'Петров Пётр', email: 'petr@example.org' });
  await post('/residents', { account_id: ls3, full_name: 'Сидоров (выехал)', email: 'sidorov@example.org' });
  const meter = (premise: number, resource: string, serial: string, next_verification_on = '2031-01-01') =>
    post('/meters', { placement: 'apartment', premise_id: premise, resource, serial_number: serial, make: 'X', next_verification_on });
  cw1 = await meter(f1, 'cold_water', 'CW-1');
  hw1 = await meter(f1, 'hot_water', 'HW-1');
  cw2 = await meter(f2, 'cold_water', 'CW-2', '2027-02-20');
  await meter(f3, 'cold_water', 'CW-3');
  await post('/meters', { placement: 'apartment', premise_id: await post('/premises', { building_id: b2, number: '1' }), resource: 'cold_water', serial_number: 'CW-B2', make: 'X' });
  // LS-3 is closed: its resident is not reminded even though CW-3 is never submitted.
  await q('UPDATE personal_accounts SET active = false, closed_on = current_date WHERE id = $1', [ls3]);

  // Staff: only the engineer of building b with an e-mail should hear of b's submissions.
  const user = async (username: string, role: string, email: string | undefined, grants: number[]) => {
    const id = await post('/users', { username, password: 'password-123', role, ...(email ? { email } : {}) });
    for (const g of grants) expect((await h.call('POST', `/users/${id}/grants`, t, { building_id: g })).status).toBeLessThan(300);
    return id;
  };
  await user('eng-b', 'engineer', 'eng@example.org', [b]);
  await user('eng-nomail', 'engineer', undefined, [b]);
  await user('op-b2', 'operator', 'op2@example.org', [b2]);
  await user('bill-b', 'billing', 'bill@example.org', [b]);
  await user('admin-nogrant', 'admin', 'boss@example.org', []);

  // Collection open all month (the submission happens at the real now).
  expect((await h.call('PUT', '/collection-settings', t, {
    building_id: b, resource: null, enabled: true, window_start_day: 1, window_end_day: 31, integer_only: false, accept_expired_verification: false, reminder_days: [], warn_factor: 3,
  })).status).toBe(200);

  const code = (await h.call('POST', `/accounts/${ls1}/access-code`, t, {})).body.code;
  const signed = await h.call('POST', '/resident/sign-in', null, { account_number: 'LS-1', code });
  expect(signed.status).toBe(200);
  resident1 = signed.body.token;
  // The resident's own user gets an e-mail too: residents are never sent the staff digest.
  await q('UPDATE users SET email = $1 WHERE id = $2', ['resident-user@example.org', signed.body.user_id]);
}, 120_000);

afterAll(async () => {
  await runner?.close();
  await h?.close();
  await webhook?.close();
  await smtp?.close();
  await removeRedisKeys(prefix);
});

describe('notification settings API', () => {
  it('PUT a building\'s settings (audited, webhook password hidden), GET shows them; bad input is named', async () => {
    const url = webhook.url.replace('http://', 'http://hook:secret@');
    const body = { building_id: b, enabled: true, staff_digest: true, resident_reminders: true, verification_days_before: 30, reminder_hour: 10, digest_minutes: 5, webhook_url: url };
    const put = await h.call('PUT', '/notification-settings', h.adminToken, body);
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ building_id: b, org_id: null, resident_reminders: true, webhook_url: webhook.url.replace('http://', 'http://hook:***@') });
    // Sending the hidden form back keeps the stored password.
    expect((await h.call('PUT', '/notification-settings', h.adminToken, { ...body, webhook_url: put.body.webhook_url })).status).toBe(200);
    expect((await q('SELECT webhook_url FROM notification_settings WHERE building_id = $1', [b]))[0].webhook_url).toBe(url);
    const got = await h.call<{ items: SettingsRow[] }>('GET', `/notification-settings?building_id=${b}`, h.adminToken);
    expect(got.body.items.map((r) => [r.org_id, r.building_id, r.resident_reminders])).toEqual([[null, null, false], [null, b, true]]);
    const audited = await q(`SELECT action, after FROM audit_log WHERE entity = 'notification_settings' ORDER BY id`);
    expect(audited.map((r) => r.action)).toEqual(['create', 'update']);
    expect(JSON.stringify(audited)).not.toContain('secret');

    const bad = await h.call('PUT', '/notification-settings', h.adminToken, { ...body, webhook_url: 'ftp://x/y' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/webhook_url/);
    const both = await h.call('PUT', '/notification-settings', h.adminToken, { ...body, org_id: 1 });
    expect(both.status).toBe(400);
    const engineer = await h.userToken('engineer', { buildingIds: [b] });
    expect((await h.call('PUT', '/notification-settings', engineer, { ...body, building_id: null, webhook_url: null })).status).toBe(403);
    expect((await h.call('PUT', '/notification-settings', engineer, { ...body, building_id: b2 })).status).toBe(404);
    // An organisation's row: admin-only to set, shown to those who see one of its buildings.
    const org = (await q('SELECT org_id FROM buildings WHERE id = $1', [b]))[0].org_id;
    const orgPut = await h.call('PUT', '/notification-settings', h.adminToken, { ...body, building_id: null, org_id: Number(org), webhook_url: null });
    expect(orgPut.status).toBe(200);
    expect((await h.call('PUT', '/notification-settings', engineer, { ...body, building_id: null, org_id: Number(org), webhook_url: null })).status).toBe(403);
    expect((await h.call<{ items: SettingsRow[] }>('GET', '/notification-settings', engineer)).body.items.map((r) => [r.org_id, r.building_id])).toEqual([[null, null], [Number(org), null], [null, b]]);
    const otherOrg = (await h.call('POST', '/organisations', h.adminToken, { name: 'Другая УК' })).body.id;
    const otherB = (await h.call('POST', '/buildings', h.adminToken, { org_id: otherOrg, external_id: 'X', address: 'ул. Чужая, 3' })).body.id;
    const outsider = await h.userToken('engineer', { buildingIds: [otherB] });
    expect((await h.call<{ items: SettingsRow[] }>('GET', '/notification-settings', outsider)).body.items.map((r) => [r.org_id, r.building_id])).toEqual([[null, null]]);
    // Another organisation's building: 404 like a missing one, for reading and for setting, and its row stays as it was.
    const rowBefore = await q('SELECT * FROM notification_settings WHERE building_id = $1', [b]);
    expect((await h.call('PUT', '/notification-settings', outsider, { ...body, building_id: b, enabled: false, webhook_url: null })).status).toBe(404);
    expect(await q('SELECT * FROM notification_settings WHERE building_id = $1', [b])).toEqual(rowBefore);
    expect((await h.call('GET', `/notification-settings?building_id=${b}`, outsider)).status).toBe(404);
    expect((await h.call('GET', `/notifications?building_id=${b}`, outsider)).status).toBe(404);
    // Back to the defaults for the rest of the file (the building's own row is what counts below).
    expect((await h.call('PUT', '/notification-settings', h.adminToken, { ...body, building_id: null, org_id: Number(org), webhook_url: null, resident_reminders: false })).status).toBe(200);
    const operator = await h.userToken('operator', { buildingIds: [b] });
    expect((await h.call('GET', '/notification-settings', operator)).status).toBe(403);
  });
});

describe('staff digest of residents\' submissions', () => {
  it('one e-mail to the engineer of the building only, one webhook call; a rerun sends nothing', async () => {
    const sub = await h.call('POST', '/resident/readings', resident1, { readings: [{ meter_id: cw1, value: 12.5 }, { meter_id: hw1, value: 7 }] });
    expect(sub.status).toBe(201);
    await runJob(DIGEST_JOB, {});
    await waitFor('digest e-mail and webhook sent', allSettled(2));
    expect(smtp.mails.map((m) => m.to)).toEqual([['eng@example.org']]);
    const mail = smtp.mails[0];
    expect(mail.from).toBe('uk@example.org');
    expect(mail.subject).toBe('[AMR] Показания от жителей: 2 — ул. Уведомлений, 1');
    expect(mail.headers['x-amr-notification-kind']).toBe('submissions');
    expect(text(mail)).toMatch(/^Жители передали показания приборов учёта\.\n\nул\. Уведомлений, 1 \(дом \d+\) — 2:\n— \d\d\.\d\d\.\d{4} \d\d:\d\d: пом\. 1, ЛС LS-1, Холодная вода № CW-1: 12\.5\n— .*Горячая вода № HW-1: 7\n/);
    expect(hooks()).toHaveLength(1);
    const hook = hooks()[0];
    expect(hook.authorization).toBe(`Basic ${Buffer.from('hook:secret').toString('base64')}`);
    expect(hook).toMatchObject({ event: 'resident_submissions', building: { id: b, address: 'ул. Уведомлений, 1' } });
    expect(hook.submissions?.map((s) => [s.meter_id, s.value, s.accounts, s.premise])).toEqual([[cw1, 12.5, ['LS-1'], '1'], [hw1, 7, ['LS-1'], '1']]);

    const before = await logCount();
    await runJob(DIGEST_JOB, {});
    expect(await logCount()).toBe(before);
    expect(smtp.mails).toHaveLength(1);
    expect(hooks()).toHaveLength(1);
  });

  it('a submission within digest_minutes of the last digest waits for the next one; staff entries are not digested', async () => {
    // An edit is a new version: digested too, as a correction.
    expect((await h.call('POST', '/resident/readings', resident1, { readings: [{ meter_id: cw1, value: 13 }] })).status).toBe(201);
    expect((await h.call('POST', '/premises/' + (await q<{ premise_id: number }>('SELECT premise_id FROM meters WHERE id = $1', [cw2]))[0].premise_id + '/readings', h.adminToken, { readings: [{ meter_id: cw2, value: 3 }] })).status).toBe(201);
    await runJob(DIGEST_JOB, {});
    expect(await logCount()).toBe(2);
    await runJob(DIGEST_JOB, { now: new Date(Date.now() + 6 * 60_000).toISOString() });
    await waitFor('second digest sent', allSettled(4));
    expect(smtp.mails.map((m) => m.to[0])).toEqual(['eng@example.org', 'eng@example.org']);
    expect(smtp.mails[1].subject).toBe('[AMR] Показания от жителей: 1 — ул. Уведомлений, 1');
    expect(text(smtp.mails[1])).toContain('Холодная вода № CW-1: 13 (исправление, версия 2)');
    expect(hooks()[1].submissions?.map((s) => [s.meter_id, s.version])).toEqual([[cw1, 2]]);
  });

  it('a webhook that keeps failing is retried, then recorded as failed with the receiver\'s answer', async () => {
    const refusing = await startWebhookReceiver(() => 500);
    try {
      const put = await h.call('PUT', '/notification-settings', h.adminToken, {
        building_id: b2, enabled: true, staff_digest: true, resident_reminders: false, verification_days_before: 30, reminder_hour: 10, digest_minutes: 5, webhook_url: refusing.url,
      });
      expect(put.status).toBe(200);
      const m = (await q<{ id: number }>(`SELECT id FROM meters WHERE building_id = $1`, [b2]))[0].id;
      await q(`INSERT INTO audit_log (actor_kind, actor_name, action, entity, entity_id, building_id, after)
               VALUES ('user', 'account-x', 'submit', 'reading', $1, $2, '{"value": 1, "version": 1}')`, [`${m}/volume_m3/2026-11-01T00:00:00.000Z`, b2]);
      await runJob(DIGEST_JOB, {});
      const failed = await waitFor('webhook failed for good', async () =>
        (await q(`SELECT status, attempts, last_error, recipient FROM notification_log WHERE channel = 'webhook' AND building_ids = ARRAY[$1]::bigint[] AND status = 'failed'`, [b2]))[0]);
      expect(failed).toMatchObject({ attempts: 2, recipient: refusing.url });
      expect(failed.last_error).toMatch(/HTTP 500 receiver says no/);
      expect(refusing.hooks).toHaveLength(2);
      // The operator of b2 has an e-mail and readings:enter: told of b2 only.
      expect(smtp.mails.filter((x) => x.to.includes('op2@example.org'))).toHaveLength(1);
    } finally {
      await refusing.close();
    }
  });

  it('the log lists what was sent, filtered and scoped', async () => {
    const all = await h.call<{ items: LogRow[] }>('GET', `/notifications?kind=submissions&channel=email`, h.adminToken);
    expect(all.status).toBe(200);
    // Newest first by planning time (the second digest ran with its clock 6 minutes ahead).
    expect(all.body.items.map((r) => [r.recipient, r.status, r.attempts, r.building_ids])).toEqual([
      ['eng@example.org', 'sent', 1, [b]], ['op2@example.org', 'sent', 1, [b2]], ['eng@example.org', 'sent', 1, [b]],
    ]);
    const other = await h.userToken('engineer', { buildingIds: [b2] });
    expect((await h.call<{ items: LogRow[] }>('GET', '/notifications', other)).body.items.map((r) => r.building_ids)).toEqual([[b2], [b2]]);
    expect((await h.call('GET', `/notifications?building_id=${b}`, other)).status).toBe(404);
    expect((await h.call('GET', '/notifications?from=yesterday', h.adminToken)).status).toBe(400);
  });
});

describe('residents\' reminders', () => {
  // Window 25–5 crossing the month end; reminders on the 25th, the 3rd and the 5th.
  const at = (iso: string) => ({ now: new Date(iso).toISOString() });
  const mailsTo = (to: string) => smtp.mails.filter((m) => m.to.includes(to));

  it('run for a chosen day: before the reminder hour nothing; then the right residents get the right e-mails, once', async () => {
    expect((await h.call('PUT', '/collection-settings', h.adminToken, {
      building_id: b, resource: null, enabled: true, window_start_day: 25, window_end_day: 5, integer_only: false, accept_expired_verification: false, reminder_days: [25, 3, 5], warn_factor: 3,
    })).status).toBe(200);
    // Period from 25.01.2027 00:00 MSK: LS-1 submitted cold water only; LS-2 its one meter.
    for (const m of [cw1, cw2]) {
      await q(`INSERT INTO readings (meter_id, time, quantity, value, unit, source) VALUES ($1, '2027-01-24T21:00:00Z', 'volume_m3', 20, 'm3', 'resident')`, [m]);
    }
    const mailsBefore = smtp.mails.length;
    const logBefore = await logCount();
    await runJob(REMINDERS_JOB, at('2027-02-03T05:00:00Z')); // 08:00 in Moscow, before 10:00
    expect(await logCount()).toBe(logBefore);

    await runJob(REMINDERS_JOB, at('2027-02-03T07:30:00Z')); // 10:30 in Moscow
    await waitFor('reminders sent', allSettled(logBefore + 4));
    const sent = smtp.mails.slice(mailsBefore);
    expect(sent.map((m) => m.to[0]).sort()).toEqual(['ivan@example.org', 'maria@example.org', 'petr@example.org']);
    const ivan = mailsTo('ivan@example.org')[0];
    expect(ivan.subject).toBe('До конца приёма показаний осталось 2 дня (до 05.02.2027)');
    expect(ivan.headers['x-amr-notification-kind']).toBe('window_due');
    expect(text(ivan)).toContain('Здравствуйте, Иванов Иван!');
    expect(text(ivan)).toContain('лицевой счёт № LS-1, ул. Уведомлений, 1, помещение 1) приём показаний закрывается 05.02.2027, через 2 дня (период с 25.01.2027 по 05.02.2027)');
    expect(mailsTo('maria@example.org')[0].subject).toBe(ivan.subject);
    expect(text(mailsTo('maria@example.org')[0])).toContain('Здравствуйте, Иванова Мария!');
    const petr = mailsTo('petr@example.org')[0];
    expect(petr.subject).toBe('Срок поверки счётчика № CW-2 истекает 20.02.2027');
    expect(text(petr)).toContain('истекает 20.02.2027 (через 17 дней)');
    expect(mailsTo('sidorov@example.org')).toEqual([]);
    expect(await q('SELECT id FROM notification_log WHERE account_id = $1', [ls3])).toEqual([]);
    const hook = hooks().at(-1)!;
    expect(hook).toMatchObject({ event: 'resident_reminders', building: { id: b }, date: '2027-02-03' });
    expect(hook.reminders?.map((r) => [r.kind, r.account, r.emails])).toEqual([
      ['window_due', 'LS-1', ['ivan@example.org', 'maria@example.org']], ['verification', 'LS-2', ['petr@example.org']],
    ]);
    expect(hook.reminders?.[0].pending_meter_ids).toEqual([hw1]);
    const logged = (await h.call<{ items: LogRow[] }>('GET', `/notifications?account_id=${ls1}`, h.adminToken)).body.items;
    expect(logged.map((r) => [r.kind, r.recipient, r.status]).sort()).toEqual([['window_due', 'ivan@example.org', 'sent'], ['window_due', 'maria@example.org', 'sent']]);
    expect(logged[0].body).toContain('Не переданы показания 1 из 2 счётчиков:\n— Горячая вода, счётчик № HW-1');

    // Rerun later the same day: nothing new planned, nothing sent twice.
    const count = await logCount();
    await runJob(REMINDERS_JOB, at('2027-02-03T15:00:00Z'));
    expect(await logCount()).toBe(count);
    expect(smtp.mails.length).toBe(mailsBefore + 3);
  });

  it('the window\'s last day reminds again those still missing a meter; once HW-1 is in, LS-1 hears nothing', async () => {
    const before = smtp.mails.length;
    await q(`INSERT INTO readings (meter_id, time, quantity, value, unit, source) VALUES ($1, '2027-01-24T21:00:00Z', 'volume_m3', 5, 'm3', 'resident')`, [hw1]);
    await runJob(REMINDERS_JOB, at('2027-02-05T08:00:00Z'));
    // LS-2's verification reminder was sent on the 3rd (same meter and date): not again.
    expect(smtp.mails.length).toBe(before);
    const n = await logCount();
    await runJob(REMINDERS_JOB, at('2027-02-24T08:00:00Z')); // not a reminder day; CW-2's date has passed
    expect(await logCount()).toBe(n);
  });

  it('run now: 202 with a job id; needs collection:configure', async () => {
    const r = await h.call('POST', '/notifications/run/digest', h.adminToken);
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ job: 'digest', job_id: expect.any(String) });
    expect((await h.call('POST', '/notifications/run/other', h.adminToken)).status).toBe(400);
    expect((await h.call('POST', '/notifications/run/reminders', await h.userToken('operator', { buildingIds: [b] }))).status).toBe(403);
  });

  it('defined for real (no test switch), the jobs write their schedules: digest every minute, reminders hourly', async () => {
    const schedPrefix = `${prefix}-sched`;
    const logger = pino({ level: 'silent' });
    const second = new JobRunner({ redisUrl: REDIS_URL, prefix: schedPrefix, logger });
    const redis = new Redis(REDIS_URL);
    try {
      await defineReminderJobs(second, { db: h.opened.db, logger, config: { SMTP_FROM: 'uk@example.org' } });
      const schedulers = async (name: string) => {
        const queue = new Queue(name, { connection: redis, prefix: schedPrefix });
        try { return await queue.getJobSchedulers(); } finally { await queue.close(); }
      };
      const digest = await waitFor('digest schedule', async () => (await schedulers(DIGEST_JOB))[0]);
      const reminders = await waitFor('reminders schedule', async () => (await schedulers(REMINDERS_JOB))[0]);
      expect([digest.key, Number(digest.every)]).toEqual(['notifications-digest-every-minute', 60_000]);
      expect([reminders.key, reminders.pattern, reminders.tz]).toEqual(['notifications-reminders-hourly', '0 * * * *', 'UTC']);
    } finally {
      await second.close();
      const keys = await redis.keys(`${schedPrefix}:*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    }
  });
});
