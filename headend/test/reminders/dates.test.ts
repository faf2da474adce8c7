/**
 * Residents' reminders planned by the `notifications.reminders` job run without `now`, i.e. at the
 * jobs' injected clock (ReminderDeps.clock), stopped in turn at the instants where Moscow (UTC+3 all
 * year) and UTC disagree on the day, month or year, and on the leap day. One real embedded database,
 * the real job runner on the shared Redis (prefix of this file); the webhook channel only, so the
 * planned body is read from the notification log and nothing is sent.
 *
 * Settings: window 1–31, reminders on days 1 and 31 (31 is a short month's last day), from 00:00.
 * By hand, per instant's Moscow date: the 1st → 'window_open' for the whole month; the month's last
 * day → 'window_due' of the month (closes today). A UTC date would turn each new-month instant below
 * into the previous month's last day.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startHarness, type Harness } from '../api/harness.js';
import { JobRunner } from '../../src/jobs/index.js';
import { defineReminderJobs, REMINDERS_JOB } from '../../src/reminders/index.js';
import { waitFor } from '../alerts/receivers.js';
import { REDIS_URL, removeRedisKeys } from '../redis.js';
import { handValues } from '../edge-instants.js';

// By hand, per instant's Moscow date (a UTC date would turn each new-month instant into the previous
// month's last day: 'window_due' of that month).
const DATES = handValues({
  '2026-03-01 12:00 MSK': { day: '2026-03-01', kind: 'window_open', window: { start: '2026-03-01', end: '2026-03-31' } },
  // The year's last half hour: due today.
  '2027-12-31 23:30 MSK': { day: '2027-12-31', kind: 'window_due', window: { start: '2027-12-01', end: '2027-12-31' } },
  '2028-01-01 00:00 MSK': { day: '2028-01-01', kind: 'window_open', window: { start: '2028-01-01', end: '2028-01-31' } },
  // Leap day: day 31 is the 29th.
  '2028-02-29 12:00 MSK': { day: '2028-02-29', kind: 'window_due', window: { start: '2028-02-01', end: '2028-02-29' } },
  '2028-03-01 00:30 MSK': { day: '2028-03-01', kind: 'window_open', window: { start: '2028-03-01', end: '2028-03-31' } },
});

const prefix = `amrtest-reminder-dates-${process.pid}`;
let h: Harness;
let runner: JobRunner;
let b = 0;
let clockAt = new Date(DATES[0].now);

/** Runs a job to completion (waits for one more completed job in its queue). */
async function runJob(name: string): Promise<void> {
  const done = async () => (await runner.depths())[name]?.completed ?? 0;
  const before = await done();
  await runner.enqueue(name, {});
  await waitFor(`${name} completed at ${clockAt.toISOString()}`, async () => (await done()) > before);
}

beforeAll(async () => {
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  runner = new JobRunner({ redisUrl: REDIS_URL, prefix, logger });
  h = await startHarness({ jobs: runner });
  await defineReminderJobs(runner, { db: h.opened.db, logger, config: { SMTP_URL: undefined, SMTP_FROM: 'uk@example.org' }, schedule: false, clock: () => new Date(clockAt) });
  const t = h.adminToken;
  const post = async (url: string, body: object) => {
    const r = await h.call('POST', url, t, body);
    if (r.status !== 201) throw new Error(`${url}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.id as number;
  };
  const org = await post('/organisations', { name: 'УК Календарь' });
  b = await post('/buildings', { org_id: org, address: 'ул. Високосная, 29', timezone: 'Europe/Moscow' });
  const flat = await post('/premises', { building_id: b, number: '1' });
  const acc = await post('/accounts', { org_id: org, number: 'LS-29', premise_id: flat });
  await post('/residents', { account_id: acc, full_name: 'Февралёв Касьян', email: 'kasyan@example.org' });
  await post('/meters', { placement: 'apartment', premise_id: flat, resource: 'cold_water', make: 'X', serial_number: 'CW-29' });
  const ok = async (url: string, body: object) => {
    const r = await h.call('PUT', url, t, body);
    if (r.status !== 200) throw new Error(`${url}: ${r.status} ${JSON.stringify(r.body)}`);
  };
  await ok('/collection-settings', { building_id: b, resource: null, enabled: true, window_start_day: 1, window_end_day: 31, integer_only: false, accept_expired_verification: false, reminder_days: [1, 31], warn_factor: 3 });
  await ok('/notification-settings', { building_id: b, enabled: true, staff_digest: false, resident_reminders: true, verification_days_before: 30, reminder_hour: 0, digest_minutes: 5, webhook_url: 'http://127.0.0.1:9/reminders' });
}, 120_000);

afterAll(async () => {
  await runner?.close();
  await h?.close();
  await removeRedisKeys(prefix);
});

describe.each(DATES)('residents\' reminders with the jobs\' clock at $name', (date) => {
  it(`the job without "now" plans the ${date.kind} reminder of the Moscow day`, async () => {
    clockAt = new Date(date.now);
    await runJob(REMINDERS_JOB);
    const rows = (await h.opened.db.query<{ kind: string; body: string }>(
      "SELECT kind, body FROM notification_log WHERE channel = 'webhook' AND dedup_key = $1", [`reminders:${b}:${date.day}`])).rows;
    expect(rows).toHaveLength(1);
    const body = JSON.parse(rows[0].body);
    expect(body).toMatchObject({ event: 'resident_reminders', date: date.day });
    expect(body.reminders.map((r: { kind: string; window: unknown; account: string; emails: string[] }) => [r.kind, r.window, r.account, r.emails]))
      .toEqual([[date.kind, date.window, 'LS-29', ['kasyan@example.org']]]);
  });
});
