/**
 * "Send again" of a heat statement delivery whose attempts are used up (heat/delivery.ts
 * sendDeliveryAgain, POST /buildings/:id/heat-statement/deliveries/:config_id/send-again). Both engines.
 *
 * Building A's February (2 daily records of 1 000 kWh) signed on 5 March; a folder configuration of
 * A's organisation whose folder is blocked (a plain file where the folder should be): each run fails.
 *   - after 1 failed run: attempts left (1 of 5) → 409, nothing changes;
 *   - after 5: the heat_delivery_failed alert is open, the row says attempts 5, series 1;
 *   - organisation B's engineer asks to send it again: 404 (the building is not B's), the row and the
 *     audit journal unchanged; a configuration id A's month was never delivered through: 404;
 *   - A's engineer, the folder fixed, sends it again with a reason: 200, the row is series 2 with
 *     attempts 0 and who/when/why, one audit row `resend` (before: series 1, 5 attempts and the last
 *     error; after: series 2, 0 attempts);
 *   - the next run delivers it once (1 statement, 2 files in the folder) and clears the alert; a
 *     further run delivers nothing; sending a delivered statement again → 409.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../api/harness.js';
import { registerGateway, type Fixture, dailyArchiveMessage } from '../ingest/fixtures.js';
import { writeReadings } from '../../src/ingest/index.js';
import { runExchange } from '../../src/exchange/run.js';
import { fixedClock } from '../../src/util/clock.js';

let h: Harness;
let root: string;
const clock = fixedClock('2026-03-05T09:00:00Z');
const runAt = fixedClock('2026-03-05T10:00:00Z');
let A: Fixture & { building: number; org: number };
let engineerA = '', engineerB = '';
let cfg = 0;
let folder = '';
const channels = [{ channel: 'webhook' as const, target: 'https://hooks.example.org/amr' }];

async function seed(gw: string): Promise<Fixture & { building: number; org: number }> {
  const fx = await registerGateway(h.opened.db, gw, 1);
  const { rows } = await h.opened.db.query<{ building_id: string; org_id: string }>(
    `SELECT m.building_id, b.org_id FROM meters m JOIN buildings b ON b.id = m.building_id WHERE m.id = $1`, [fx.meterIds[0]]);
  await writeReadings(h.opened.db, [dailyArchiveMessage(fx, 1, 1000), dailyArchiveMessage(fx, 2, 1000)], { clock });
  return { ...fx, building: Number(rows[0].building_id), org: Number(rows[0].org_id) };
}

const run = () => runExchange({ db: h.opened.db, now: runAt, alertChannels: channels }, cfg);
const sendAgain = (token: string, configId: number, reason = 'папка освобождена, отправляем снова') =>
  h.call('POST', `/buildings/${A.building}/heat-statement/deliveries/${configId}/send-again`, token, { period: '2026-02', reason });
const delivery = async () => (await h.opened.db.query<{ attempts: number; series: number; delivered_at: Date | null; resent_by: string | null; resend_reason: string | null }>(
  'SELECT attempts, series, delivered_at, resent_by, resend_reason FROM heat_statement_deliveries WHERE config_id = $1', [cfg])).rows;
const resendAudits = async () => (await h.opened.db.query<{ actor_name: string; entity_id: string; reason: string; before: Record<string, unknown>; after: Record<string, unknown> }>(
  `SELECT actor_name, entity_id, reason, before, after FROM audit_log WHERE action = 'resend' ORDER BY id`)).rows;
const openAlerts = async () => (await h.opened.db.query<{ subject: string }>(
  `SELECT subject FROM alerts WHERE kind = 'heat_delivery_failed' AND cleared_at IS NULL ORDER BY id`)).rows.map((r) => r.subject);

beforeAll(async () => {
  h = await startHarness({ clock });
  root = await mkdtemp(join(tmpdir(), 'amr-heat-send-again-'));
  A = await seed('gw-heat-again-a');
  const B = await seed('gw-heat-again-b');
  engineerA = await h.userToken('engineer', { buildingIds: [A.building], username: 'orlova' });
  engineerB = await h.userToken('engineer', { buildingIds: [B.building], username: 'mallory' });
  const signed = await h.call('POST', `/buildings/${A.building}/heat-statement/sign-off`, engineerA, { period: '2026-02' });
  if (signed.status !== 200) throw new Error(`sign-off: ${signed.status}`);
  await writeFile(join(root, 'blocked'), 'not a folder');
  folder = join(root, 'blocked', 'inbox');
  cfg = Number((await h.opened.db.query<{ id: string }>(
    `INSERT INTO exchange_configs (org_id, direction, folder, cron, period_days, transport, created_at) VALUES ($1, 'heat_statements', $2, '*/15 * * * *', 1, 'folder', '2026-03-01T00:00:00Z') RETURNING id`,
    [A.org, folder])).rows[0].id);
}, 120_000);
afterAll(async () => {
  await h?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('send again', () => {
  it('attempts left: refused (the next run retries it anyway), nothing changes', async () => {
    expect((await run()).counts.failed).toBe(1);
    const r = await sendAgain(engineerA, cfg);
    expect(r.status).toBe(409);
    expect(r.body.message).toContain('has attempts left (1 of 5)');
    expect((await delivery()).map((d) => [d.attempts, d.series])).toEqual([[1, 1]]);
    expect(await resendAudits()).toEqual([]);
  });

  it('attempts used up: another organisation\'s engineer gets 404 and nothing changes; an unknown configuration is a 404', async () => {
    for (let i = 2; i <= 5; i++) expect((await run()).counts.failed).toBe(1);
    expect(await openAlerts()).toEqual([`heat-delivery:${cfg}:${A.building}:2026-02`]);
    expect((await run()).counts.statements).toBe(0);

    const foreign = await sendAgain(engineerB, cfg, 'I want it too');
    expect(foreign.status).toBe(404);
    const unknown = await sendAgain(engineerA, cfg + 1000);
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toContain(`exchange configuration ${cfg + 1000} has no delivery`);
    expect((await delivery()).map((d) => [d.attempts, d.series, d.resent_by])).toEqual([[5, 1, null]]);
    expect(await resendAudits()).toEqual([]);
    expect((await run()).counts.statements).toBe(0);
  });

  it('the folder fixed, sent again: a fresh series, audited; the next run delivers it once and clears the alert', async () => {
    await rm(join(root, 'blocked'));
    await mkdir(join(root, 'blocked'));
    const r = await sendAgain(engineerA, cfg);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const shown = r.body.deliveries.find((d: { config_id: number }) => d.config_id === cfg);
    expect(shown).toMatchObject({ version: 1, attempts: 0, series: 2, delivered_at: null, resent: { by: 'orlova', at: '2026-03-05T09:00:00.000Z', reason: 'папка освобождена, отправляем снова' } });
    expect((await delivery()).map((d) => [d.attempts, d.series, d.resent_by, d.resend_reason])).toEqual([[0, 2, 'orlova', 'папка освобождена, отправляем снова']]);
    const audits = await resendAudits();
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ actor_name: 'orlova', entity_id: `${cfg}:${A.building}:2026-02:v1`, reason: 'папка освобождена, отправляем снова', after: { series: 2, attempts: 0 } });
    expect(audits[0].before).toMatchObject({ series: 1, attempts: 5 });
    expect(String(audits[0].before.error)).toMatch(/ENOTDIR|EEXIST|not a directory/);

    const ok = await run();
    expect([ok.status, ok.counts.statements, ok.counts.delivered, ok.counts.files]).toEqual(['ok', 1, 1, 2]);
    expect((await readdir(folder)).filter((f) => !f.startsWith('.')).sort()).toEqual([
      `heat-statement_b${String(A.building).padStart(6, '0')}_2026-02_v01.pdf`, `heat-statement_b${String(A.building).padStart(6, '0')}_2026-02_v01.xlsx`]);
    expect(await openAlerts()).toEqual([]);
    expect((await run()).counts.statements).toBe(0);
    expect((await delivery()).map((d) => [d.attempts, d.series, d.delivered_at !== null])).toEqual([[1, 2, true]]);

    const again = await sendAgain(engineerA, cfg);
    expect(again.status).toBe(409);
    expect(again.body.message).toContain('was delivered by configuration');
    expect(await resendAudits()).toHaveLength(1);
  });
});
