/**
 * The heat statement's alerts, through the alerts core: a delivery that used up its attempts
 * (heat/delivery.ts: one alert after the fifth failed run of a blocked folder, never a second, unseen
 * by another organisation, cleared when the month is delivered), and a signed month whose records
 * changed after signing (heat/outdated.ts: a late back-filled day and a corrected value raise one
 * alert naming each changed total as signed and as now; re-signing with correct: true clears it; an
 * unchanged month raises nothing). Both engines.
 *
 * Figures: a daily record of 1 000 kWh, 24 h of operation, no НС; a Гкал is 1 163 kWh, rounded to
 * 0.001 per day (1 000 kWh = 0.860 Гкал, 500 kWh = 0.430, 1 200 kWh = 1.032).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveQuantity } from '@amr/protocols';
import { startHarness, type Harness } from '../api/harness.js';
import { registerGateway, type Fixture, dailyArchiveMessage } from '../ingest/fixtures.js';
import { writeReadings } from '../../src/ingest/index.js';
import { runExchange } from '../../src/exchange/run.js';
import { DEFAULT_DELIVERY_ATTEMPTS } from '../../src/heat/delivery.js';
import { changedTotals, checkSignedStatements } from '../../src/heat/outdated.js';
import { fixedClock } from '../../src/util/clock.js';

let h: Harness;
let root: string;
const clock = fixedClock('2026-03-05T09:00:00Z');
const runAt = fixedClock('2026-03-05T10:00:00Z');
const checkAt = new Date('2026-03-06T08:00:00Z');
type Site = Fixture & { building: number; org: number };
let A: Site, B: Site, C: Site;
let engineerA = '', engineerB = '', engineerC = '';
const channels = [{ channel: 'webhook' as const, target: 'https://hooks.example.org/amr' }];

const day = dailyArchiveMessage;

async function seed(gw: string): Promise<Site> {
  const fx = await registerGateway(h.opened.db, gw, 1);
  const { rows } = await h.opened.db.query<{ building_id: string; org_id: string }>(
    `SELECT m.building_id, b.org_id FROM meters m JOIN buildings b ON b.id = m.building_id WHERE m.id = $1`, [fx.meterIds[0]]);
  await writeReadings(h.opened.db, [day(fx, 1, 1000), day(fx, 2, 1000)], { clock });
  return { ...fx, building: Number(rows[0].building_id), org: Number(rows[0].org_id) };
}

const signOff = (s: Site, token: string, body: object = {}) => h.call('POST', `/buildings/${s.building}/heat-statement/sign-off`, token, { period: '2026-02', ...body });
const alertsOf = (token: string, kind: string) => h.call<{ id: number; building_id: number; message: string; params: Record<string, unknown>; cleared_at: string | null }[]>('GET', `/alerts?kind=${kind}`, token);
const alertRows = async (kind: string) => (await h.opened.db.query<{ id: string; subject: string; cleared_at: Date | null; data: Record<string, unknown> }>(
  'SELECT id, subject, cleared_at, data FROM alerts WHERE kind = $1 ORDER BY id', [kind])).rows;
const notices = async (kind: string) => (await h.opened.db.query<{ event: string }>(
  'SELECT n.event FROM alert_notifications n JOIN alerts a ON a.id = n.alert_id WHERE a.kind = $1 ORDER BY n.id', [kind])).rows.map((r) => r.event);

beforeAll(async () => {
  h = await startHarness({ clock });
  root = await mkdtemp(join(tmpdir(), 'amr-heat-alerts-'));
  A = await seed('gw-heat-alert-a');
  B = await seed('gw-heat-alert-b');
  C = await seed('gw-heat-alert-c');
  engineerA = await h.userToken('engineer', { buildingIds: [A.building], username: 'ivanova' });
  engineerB = await h.userToken('engineer', { buildingIds: [B.building], username: 'mallory' });
  engineerC = await h.userToken('engineer', { buildingIds: [C.building], username: 'sidorov' });
}, 120_000);
afterAll(async () => {
  await h?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('a heat statement delivery that used up its attempts', () => {
  it('five failed runs of a blocked folder raise one alert naming the statement, the configuration and the error; B never sees it', async () => {
    expect((await signOff(A, engineerA)).status).toBe(200);
    // A plain file where the folder should be: every attempt fails.
    const blocked = join(root, 'blocked');
    await writeFile(blocked, 'not a folder');
    const folder = join(blocked, 'inbox');
    const cfg = Number((await h.opened.db.query<{ id: string }>(
      `INSERT INTO exchange_configs (org_id, direction, folder, cron, period_days, transport, created_at) VALUES ($1, 'heat_statements', $2, '*/15 * * * *', 1, 'folder', '2026-03-01T00:00:00Z') RETURNING id`,
      [A.org, folder])).rows[0].id);
    const run = () => runExchange({ db: h.opened.db, now: runAt, alertChannels: channels }, cfg);

    expect(DEFAULT_DELIVERY_ATTEMPTS).toBe(5);
    for (let i = 1; i <= 4; i++) {
      expect((await run()).counts.failed).toBe(1);
      expect(await alertRows('heat_delivery_failed'), `after run ${i}`).toEqual([]);
    }
    const fifth = await run();
    expect([fifth.status, fifth.counts.failed]).toEqual(['failed', 1]);
    // A sixth and seventh run try nothing (the attempts are used up) and raise nothing again.
    expect((await run()).counts).toEqual({ statements: 0, delivered: 0, failed: 0, files: 0 });
    expect((await run()).counts.statements).toBe(0);
    const rows = await alertRows('heat_delivery_failed');
    expect(rows.map((r) => [r.subject, r.cleared_at])).toEqual([[`heat-delivery:${cfg}:${A.building}:2026-02`, null]]);
    expect(await notices('heat_delivery_failed')).toEqual(['raised']);

    const seen = await alertsOf(engineerA, 'heat_delivery_failed');
    expect(seen.status).toBe(200);
    expect(seen.body).toHaveLength(1);
    const a = seen.body[0];
    expect(a.building_id).toBe(A.building);
    expect(a.params).toMatchObject({ month: '2026-02', version: 1, config_id: cfg, attempts: 5, location: folder });
    expect(a.params.error).toMatch(/ENOTDIR|EEXIST|not a directory/);
    const [ru, en] = a.message.split('\n');
    expect(ru).toContain(`Ведомость учёта тепла street gw-heat-alert-a, 2026-02, версия 1 не доставлена конфигурацией обмена ${cfg} (${folder}): 5 попыток исчерпаны, последняя ошибка: `);
    expect(en).toContain(`The heat statement of street gw-heat-alert-a, 2026-02, version 1 was not delivered by exchange configuration ${cfg} (${folder}): all 5 attempts used, last error: `);

    // Organisation B's engineer: not in the list, and the alert itself is a 404 like a missing one.
    expect((await alertsOf(engineerB, 'heat_delivery_failed')).body).toEqual([]);
    expect((await h.call('GET', `/alerts/${a.id}`, engineerB)).status).toBe(404);
    expect((await h.call('POST', `/alerts/${a.id}/ack`, engineerB, { comment: 'not mine' })).status).toBe(404);

    // Acknowledged like any alert: someone is on it, it stays open.
    const ack = await h.call('POST', `/alerts/${a.id}/ack`, engineerA, { comment: 'папка поставщика переполнена, звоним' });
    expect([ack.status, ack.body.acknowledged_by, ack.body.cleared_at]).toEqual([200, 'ivanova', null]);

    // The folder fixed and the month signed again (a third day): version 2 is delivered and clears the alert.
    await h.opened.db.query('UPDATE exchange_configs SET folder = $2 WHERE id = $1', [cfg, join(root, 'a')]);
    await writeReadings(h.opened.db, [day(A, 3, 500)], { clock });
    expect((await signOff(A, engineerA, { correct: true })).status).toBe(200);
    const ok = await run();
    expect([ok.status, ok.counts.delivered]).toEqual(['ok', 1]);
    const after = await alertRows('heat_delivery_failed');
    expect(after.map((r) => [r.cleared_at?.toISOString(), r.data.cleared_reason])).toEqual([['2026-03-05T10:00:00.000Z', `version 2 delivered by run ${ok.id}`]]);
    expect(await notices('heat_delivery_failed')).toEqual(['raised', 'cleared']);
  });
});

describe('a signed month changed after signing', () => {
  // Without the margin (a mark of a month not signed yet is kept 10 minutes), so the seeding's marks of
  // B's and C's months, not signed yet, are dropped by the first check below.
  const check = () => checkSignedStatements(h.opened.db, { at: checkAt, channels, margin: '0 seconds' });

  it('changed totals: signed vs now, only the totals that differ, by the API\'s names', () => {
    expect(changedTotals({ qKwh: 2000, records: 2, t1: null }, { qKwh: 2500, records: 2, t1: null })).toEqual([{ total: 'q_kwh', signed: 2000, now: 2500 }]);
    expect(changedTotals({ qKwh: 2000 }, null)).toEqual([{ total: 'q_kwh', signed: 2000, now: null }]);
    expect(changedTotals({ qKwh: 2000 }, { qKwh: 2000 })).toEqual([]);
  });

  it('no change: the check compares each signed month once and raises nothing', async () => {
    // Leave earlier tests' months compared (A re-signed above: its version 2 matches).
    await check();
    expect((await signOff(C, engineerC)).status).toBe(200);
    expect((await signOff(B, engineerB)).status).toBe(200);
    const first = await check();
    expect([first.checked, first.outdated, first.cleared, first.skipped]).toEqual([2, 0, 0, []]);
    // Nothing written since: nothing to compare.
    expect((await check()).checked).toBe(0);
    // With the production margin too: the months' records were written moments ago, but before they
    // were signed (their marks were taken by the first check), so there is nothing to compare again.
    const margin = await checkSignedStatements(h.opened.db, { at: checkAt, channels });
    expect([margin.marks, margin.checked, margin.outdated, margin.cleared]).toEqual([0, 0, 0, 0]);
    expect(await alertRows('heat_statement_outdated')).toEqual([]);
  });

  it('a late back-filled day raises one alert with the changed totals; a correction refreshes it; re-signing clears it', async () => {
    // Day 3 arrives after the month was signed (a resumed back-fill): 500 kWh more.
    await writeReadings(h.opened.db, [day(C, 3, 500)], { clock });
    const r = await check();
    expect([r.checked, r.outdated, r.cleared]).toEqual([1, 1, 0]);
    const rows = await alertRows('heat_statement_outdated');
    expect(rows.map((x) => [x.subject, x.cleared_at])).toEqual([[`heat-statement:${C.building}:2026-02`, null]]);
    // 2 days → 3; 2 000 → 2 500 kWh; 0.860 × 2 = 1.720 → + 0.430 = 2.150 Гкал; 48 → 72 h.
    const changes = [
      { total: 'q_gcal', signed: 1.72, now: 2.15 }, { total: 'q_kwh', signed: 2000, now: 2500 }, { total: 'q_measured_kwh', signed: 2000, now: 2500 },
      { total: 'records', signed: 2, now: 3 }, { total: 'working_hours', signed: 48, now: 72 },
    ];
    expect(rows[0].data).toMatchObject({ month: '2026-02', version: 1, signed_by: 'sidorov', changes });
    const seen = (await alertsOf(engineerC, 'heat_statement_outdated')).body;
    expect(seen.map((a) => [a.building_id, a.params.version, a.params.changes])).toEqual([[C.building, 1, changes]]);
    const [ru, en] = seen[0].message.split('\n');
    expect(ru).toBe('Подписанная ведомость учёта тепла street gw-heat-alert-c, 2026-02 (версия 1, sidorov, 2026-03-05 09:00 UTC) устарела: записи архива изменились после подписания, итоги теперь другие (подписано → сейчас): q_gcal 1.72 → 2.15, q_kwh 2000 → 2500, q_measured_kwh 2000 → 2500, records 2 → 3, working_hours 48 → 72. Подпишите исправленную ведомость (correct: true).');
    expect(en).toContain('is outdated: archive records changed after it was signed and its totals differ (signed → now): q_gcal 1.72 → 2.15, q_kwh 2000 → 2500');
    expect(en).toContain('Sign the corrected statement (correct: true).');
    // Other organisations never see it.
    expect((await alertsOf(engineerB, 'heat_statement_outdated')).body).toEqual([]);
    expect((await alertsOf(engineerA, 'heat_statement_outdated')).body).toEqual([]);

    // An engineer corrects day 3 (500 → 1 200 kWh, a new version): the one alert is refreshed with the new figures, not notified again.
    // (Day 3, upwards: the correction's judge takes a day record's heat for a register reading today, so a
    // value below the day before, or above the day after, is refused.)
    const time = new Date(Date.UTC(2026, 1, 3) - 3 * 3600_000).toISOString();
    const corr = await h.call('POST', `/meters/${C.meterIds[0]}/readings/corrections`, engineerC, { time, quantity: archiveQuantity('energy_delta_kwh', 'daily'), value: 1200, reason: 'архив перечитан: сутки 3 записаны не полностью' });
    expect(corr.status, JSON.stringify(corr.body)).toBe(201);
    const again = await check();
    expect([again.checked, again.outdated]).toEqual([1, 1]);
    const refreshed = await alertRows('heat_statement_outdated');
    expect(refreshed).toHaveLength(1);
    // 1 000 + 1 000 + 1 200 = 3 200 kWh; 0.860 + 0.860 + 1.032 = 2.752 Гкал.
    expect((refreshed[0].data.changes as { total: string; now: number }[]).filter((c) => c.total.startsWith('q_')))
      .toEqual([{ total: 'q_gcal', signed: 1.72, now: 2.752 }, { total: 'q_kwh', signed: 2000, now: 3200 }, { total: 'q_measured_kwh', signed: 2000, now: 3200 }]);
    expect(await notices('heat_statement_outdated')).toEqual(['raised']);

    // The screen says the same: the statement changed since it was signed.
    const shown = await h.call('GET', `/buildings/${C.building}/heat-statement?period=2026-02`, engineerC);
    expect(shown.body.changed_since_sign_off).toBe(true);

    // Signed again (version 2): the next check clears the alert.
    const re = await signOff(C, engineerC, { correct: true });
    expect([re.status, re.body.signed_off.version, re.body.totals.q_kwh]).toEqual([200, 2, 3200]);
    const cleared = await check();
    expect([cleared.checked, cleared.outdated, cleared.cleared]).toEqual([1, 0, 1]);
    const done = await alertRows('heat_statement_outdated');
    expect(done.map((x) => [x.cleared_at?.toISOString(), x.data.cleared_reason])).toEqual([[checkAt.toISOString(), 'version 2 matches the statement']]);
    expect(await notices('heat_statement_outdated')).toEqual(['raised', 'cleared']);
    // B was never changed: nothing for B.
    expect((await alertsOf(engineerB, 'heat_statement_outdated')).body).toEqual([]);
  });
});
