/**
 * The administration screens in Chromium on the real head-end (embedded database, the test Redis for
 * background jobs), clock stopped at 5 November 2026: an admin makes an engineer and grants one
 * building, and that engineer then sees only it; an API key is shown once and, revoked from the
 * screen, is refused by the API; a reading the ingest writer quarantined is resolved from the screen
 * with a reason the API keeps with who; an engineer typing the admin addresses gets "no right" and no
 * data, and sees only the quarantine of their own organisation; every screen passes the screen check.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkScreen, startConsole, type Console } from './console.js';
import { JobRunner } from '../../src/jobs/index.js';
import { writeReadings } from '../../src/ingest/writer.js';
import { fixedClock } from '../../src/util/clock.js';
import { readings } from '../ingest/fixtures.js';
import { REDIS_URL, removeRedisKeys } from '../redis.js';

const clock = fixedClock('2026-11-05T09:00:00Z');
const prefix = `amrtest-admin-${randomUUID()}`;
const jobs = new JobRunner({ redisUrl: REDIS_URL, prefix, logger: pino({ level: 'silent' }) });

let c: Console;
const ids = { orgA: 0, orgB: 0, buildingA: 0, buildingB: 0, qUnknown: 0, qA: 0, qB: 0 };
const ADDRESS_A = 'ул. Садовая, 12';
const ADDRESS_B = 'пр. Мира, 40';
const ENGINEER_PASSWORD = 'Quiet-river-2026';

async function ok<T>(r: Promise<{ status: number; body: T }>, expected = [200, 201]): Promise<T> {
  const res = await r;
  if (!expected.includes(res.status)) throw new Error(`seed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** A job that completes and one that fails, so the jobs screen has a last run and a last error. */
async function runJobs() {
  const done = new Promise<void>((resolve) => jobs.define({ name: 'imbalance.recompute-all', data: z.object({}), handler: async () => { resolve(); } }));
  jobs.define({ name: 'alerts.notify', data: z.object({}), attempts: 1, handler: async () => { throw new Error('SMTP server refused the connection'); } });
  await jobs.enqueue('imbalance.recompute-all', {});
  await jobs.enqueue('alerts.notify', {});
  await done;
  for (let i = 0; i < 200; i++) {
    const last = await jobs.lastRuns();
    if (last['imbalance.recompute-all']?.completedAt && last['alerts.notify']?.failedAt) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the jobs did not finish');
}

beforeAll(async () => {
  c = await startConsole('admin', { clock, jobs });
  const { h } = c;
  const admin = h.adminToken;
  ids.orgA = (await ok(h.call('POST', '/organisations', admin, { name: 'УК «Садовая»', inn: '7701234567' }))).id;
  ids.orgB = (await ok(h.call('POST', '/organisations', admin, { name: 'ТСЖ «Мира»' }))).id;
  ids.buildingA = (await ok(h.call('POST', '/buildings', admin, { org_id: ids.orgA, address: ADDRESS_A }))).id;
  ids.buildingB = (await ok(h.call('POST', '/buildings', admin, { org_id: ids.orgB, address: ADDRESS_B }))).id;
  await ok(h.call('POST', '/gateways', admin, { id: 'gw-sad-1', building_id: ids.buildingA }));
  await ok(h.call('POST', '/gateways', admin, { id: 'gw-mira-1', building_id: ids.buildingB }));
  // Quarantined the way the head-end does it: the ingest writer, given what gateways sent.
  const res = await writeReadings(h.opened.db, [
    readings('gw-stray-9', [{ seq: 1, address: '5', value: 1234.5, time: '2026-11-05T08:00:00Z' }]), // a gateway nobody registered
    readings('gw-sad-1', [{ seq: 1, address: '7', value: 88, time: '2026-11-05T08:00:00Z' }]), // registered, the meter not bound
    readings('gw-mira-1', [{ seq: 1, address: '3', value: 41, time: '2026-11-05T08:00:00Z' }]),
  ], { clock });
  expect(res.quarantined).toEqual({ unknown_gateway: 1, unknown_meter: 2 });
  const items = await ok(h.call<{ id: number; gateway_id: string }[]>('GET', '/quarantine', admin));
  const idOf = (gw: string) => items.find((x) => x.gateway_id === gw)!.id;
  Object.assign(ids, { qUnknown: idOf('gw-stray-9'), qA: idOf('gw-sad-1'), qB: idOf('gw-mira-1') });
  await runJobs();
}, 120_000);

afterAll(async () => {
  await c?.close();
  await jobs.close();
  await removeRedisKeys(prefix);
});

describe('administration screens', () => {
  it('an admin creates an engineer and grants building A; signed in, the engineer sees A and not B', async () => {
    await c.signIn('admin', 'admin-password');
    await c.setLanguage('ru');
    await c.open('/admin/users', 'user-new');
    const form = c.byTestId('user-new');
    await form.locator('input[name="username"]').fill('eng-sadovaya');
    await form.locator('input[name="display_name"]').fill('Пётр Иванов');
    await form.locator('select[name="role"]').selectOption('engineer');
    // A weak password is refused with the policy's reason, and no user is made.
    await form.locator('input[name="password"]').fill('eng-sadovaya');
    await c.byTestId('user-create').click();
    await c.byTestId('user-new-error').waitFor();
    expect(await c.byTestId('user-new-error').textContent()).toBe('Пароль не принят: он совпадает с логином.');
    await form.locator('select[name="org"]').selectOption(String(ids.orgA));
    await form.locator('input[name="password"]').fill(ENGINEER_PASSWORD);
    await c.byTestId('user-create').click();
    await c.byTestId('user-grants').waitFor();
    await c.byTestId('grant-none').waitFor();
    // The organisation chosen narrows the buildings offered to its own.
    const offered = await c.byTestId('grant-building').locator('option').allTextContents();
    expect(offered).toContain(ADDRESS_A);
    expect(offered).not.toContain(ADDRESS_B);
    await c.byTestId('grant-building').selectOption(String(ids.buildingA));
    await c.byTestId('grant-submit').click();
    await c.byTestId(`grant-${ids.buildingA}`).waitFor();

    const users = await ok(c.h.call<{ id: number; username: string; role: string; active: boolean }[]>('GET', '/users', c.h.adminToken));
    const eng = users.find((u) => u.username === 'eng-sadovaya')!;
    expect(eng).toMatchObject({ role: 'engineer', active: true });
    expect(await ok(c.h.call('GET', `/users/${eng.id}/grants`, c.h.adminToken))).toEqual([ids.buildingA]);

    await c.signIn('eng-sadovaya', ENGINEER_PASSWORD);
    await c.page.getByText(ADDRESS_A).first().waitFor();
    const text = await c.page.locator('main').innerText();
    expect(text).toContain(ADDRESS_A);
    expect(text).not.toContain(ADDRESS_B);
  }, 60_000);

  it("an engineer typing the admin addresses is told there is no right and sees no data; the quarantine shows only their organisation's", async () => {
    await c.signIn('eng-sadovaya', ENGINEER_PASSWORD);
    await c.setLanguage('ru');
    for (const [route, table] of [['/admin/users', 'users-table'], ['/admin/jobs', 'jobs-table'], [`/admin/organisations/${ids.orgA}`, 'keys-table']] as const) {
      await c.open(route, 'error');
      expect(await c.byTestId('error').first().textContent(), route).toContain('Недостаточно прав');
      expect(await c.byTestId(table).count(), route).toBe(0);
    }
    await c.open('/admin/users', 'error');
    expect(await c.page.locator('main').innerText()).not.toContain('eng-sadovaya');
    await c.open('/admin/quarantine', 'quarantine-table');
    await c.byTestId(`q-row-${ids.qA}`).waitFor();
    expect(await c.byTestId(`q-row-${ids.qB}`).count()).toBe(0);
    expect(await c.byTestId(`q-row-${ids.qUnknown}`).count()).toBe(0);
  }, 60_000);

  it('an API key is shown once; revoked from the screen, the API refuses it', async () => {
    await c.signIn('admin', 'admin-password');
    await c.setLanguage('ru');
    await c.open(`/admin/organisations/${ids.orgA}`, 'org-keys');
    await c.byTestId('keys-table').waitFor();
    await c.page.fill('input[name="key-name"]', '1С: Расчёты');
    await c.byTestId('key-create').click();
    const key = (await c.byTestId('key-secret').textContent())!.trim();
    expect(key.length).toBeGreaterThan(20);
    const asKey = async () => (await c.h.app.inject({ method: 'GET', url: '/organisations', headers: { 'x-api-key': key } })).statusCode;
    expect(await asKey()).toBe(200);
    const [issued] = await ok(c.h.call<{ id: number; prefix: string; revoked_at: string | null }[]>('GET', `/organisations/${ids.orgA}/api-keys`, c.h.adminToken));
    expect(key.startsWith(issued.prefix)).toBe(true);
    // Opened again, the screen has only the prefix: the key itself is nowhere on it.
    await c.open('/admin/organisations', 'orgs-table');
    await c.open(`/admin/organisations/${ids.orgA}`, `key-row-${issued.id}`);
    expect(await c.byTestId('key-secret').count()).toBe(0);
    expect(await c.page.locator('main').innerText()).not.toContain(key);
    await c.byTestId(`key-revoke-${issued.id}`).click();
    await c.byTestId(`key-revoke-confirm-${issued.id}`).click();
    await c.byTestId(`key-row-${issued.id}`).getByText('отозван').waitFor();
    expect(await asKey()).toBe(401);
    const [after] = await ok(c.h.call<{ revoked_at: string | null }[]>('GET', `/organisations/${ids.orgA}/api-keys`, c.h.adminToken));
    expect(after.revoked_at).not.toBeNull();
  }, 60_000);

  it('a quarantined reading is resolved from the screen with a reason; the API shows it resolved, by whom and why', async () => {
    await c.signIn('admin', 'admin-password');
    await c.setLanguage('ru');
    await c.open('/admin/quarantine', `q-row-${ids.qUnknown}`);
    const row = c.byTestId(`q-row-${ids.qUnknown}`);
    expect(await row.innerText()).toContain('неизвестный шлюз');
    await c.byTestId(`q-resolve-${ids.qUnknown}`).click();
    // Too short to say anything: the screen says so and nothing is sent.
    await row.locator('textarea').fill('ok');
    await c.byTestId(`q-resolve-save-${ids.qUnknown}`).click();
    await row.getByText('не короче 3 символов').first().waitFor();
    await row.locator('textarea').fill('чужой шлюз подрядчика, показания отклонены');
    await c.byTestId(`q-resolve-save-${ids.qUnknown}`).click();
    await c.byTestId(`q-row-${ids.qUnknown}`).waitFor({ state: 'detached' });
    const resolved = await ok(c.h.call<{ id: number; resolved_by: string; resolution: string; resolved_at: string }[]>('GET', '/quarantine?state=resolved', c.h.adminToken));
    expect(resolved).toEqual([expect.objectContaining({ id: ids.qUnknown, resolved_by: 'admin', resolution: 'чужой шлюз подрядчика, показания отклонены' })]);
    const journal = await ok(c.h.call<{ actor_name: string; action: string; reason: string }[]>('GET', `/audit?entity=quarantine&entity_id=${ids.qUnknown}`, c.h.adminToken));
    expect(journal).toEqual([expect.objectContaining({ actor_name: 'admin', action: 'resolve', reason: 'чужой шлюз подрядчика, показания отклонены' })]);
    // The resolved list shows who and why.
    await c.open('/admin/quarantine?state=resolved', `q-resolution-${ids.qUnknown}`);
    expect(await c.byTestId(`q-resolution-${ids.qUnknown}`).innerText()).toContain('admin');
  }, 60_000);

  it('the audit journal filters by who did it', async () => {
    await c.signIn('admin', 'admin-password');
    const users = await ok(c.h.call<{ id: number; username: string }[]>('GET', '/users', c.h.adminToken));
    const eng = users.find((u) => u.username === 'eng-sadovaya')!;
    await c.open(`/admin/audit?actor=${eng.id}`, 'audit-table');
    await c.page.locator('[data-testid="audit-table"] tbody td.empty').waitFor();
    const adminId = users.find((u) => u.username === 'admin')!.id;
    await c.open(`/admin/audit?actor=${adminId}&entity=quarantine`, `audit-table`);
    await c.page.locator('[data-testid^="audit-row-"]').first().waitFor();
    expect(await c.page.locator('[data-testid^="audit-row-"]').count()).toBe(1);
  }, 30_000);

  it('users, organisations, quarantine, jobs and audit pass the screen check in both languages and viewports', async () => {
    await c.signIn('admin', 'admin-password');
    const screens: [string, string, string][] = [
      ['admin-users', '/admin/users', 'users-table'],
      ['admin-organisations', '/admin/organisations', 'orgs-table'],
      ['admin-organisation', `/admin/organisations/${ids.orgA}`, 'keys-table'],
      ['admin-quarantine', '/admin/quarantine?state=all', 'quarantine-table'],
      ['admin-jobs', '/admin/jobs', 'jobs-table'],
      ['admin-audit', '/admin/audit', 'audit-table'],
    ];
    const problems: string[] = [];
    for (const [name, route, testid] of screens) problems.push(...(await checkScreen(c, name, route, testid)).problems);
    expect(problems).toEqual([]);
    // The jobs screen carries the last failure in the job's own words.
    await c.open('/admin/jobs', 'job-error-alerts.notify');
    expect(await c.byTestId('job-error-alerts.notify').textContent()).toBe('SMTP server refused the connection');
    // Run now: queued, and journalled as the admin's.
    await c.byTestId('job-run-imbalance.recompute-all').click();
    await c.byTestId('job-queued').waitFor();
    const runs = await ok(c.h.call<{ actor_name: string; action: string; entity_id: string }[]>('GET', '/audit?entity=job', c.h.adminToken));
    expect(runs).toEqual([expect.objectContaining({ actor_name: 'admin', action: 'run', entity_id: 'imbalance.recompute-all' })]);
    expect(c.browser.pageErrors).toEqual([]);
  }, 120_000);
});
