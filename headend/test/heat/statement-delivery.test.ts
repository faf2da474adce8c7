/**
 * Signed heat statements delivered through the organisation's exchange (heat/delivery.ts, an exchange
 * configuration of direction heat_statements, run by exchange/run.ts as its schedule does): PDF and
 * XLSX in the configuration's folder under names that sort by building, month and version; once per
 * sign-off even when three runs overlap; a failed delivery recorded, shown and retried; organisation
 * B's statements never in A's folder and A's deliveries never readable by B; a corrected statement
 * (signed again) delivered as the next version, saying what it replaces. Both engines.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { startHarness, type Harness } from '../api/harness.js';
import { registerGateway, type Fixture, dailyArchiveMessage } from '../ingest/fixtures.js';
import { writeReadings } from '../../src/ingest/index.js';
import { runExchange } from '../../src/exchange/run.js';
import { deliveryFileNames } from '../../src/heat/delivery.js';
import { fixedClock } from '../../src/util/clock.js';
import { pdfPages } from '../collection/pdf-pages.js';
import { startFtp, startSshd, type TestFtp, type TestSshd } from '../exchange/servers.js';

let h: Harness;
let root: string;
const clock = fixedClock('2026-03-05T09:00:00Z');
const deliveredAt = fixedClock('2026-03-05T10:00:00Z');
let A: Fixture & { building: number; org: number };
let B: Fixture & { building: number; org: number };
let engineerA = '', engineerB = '';
let cfgA = 0, cfgB = 0;
let sshd: TestSshd;
let ftp: TestFtp;

const day = dailyArchiveMessage;

async function seed(gw: string): Promise<Fixture & { building: number; org: number }> {
  const fx = await registerGateway(h.opened.db, gw, 1);
  const { rows } = await h.opened.db.query<{ building_id: string; org_id: string }>(
    `SELECT m.building_id, b.org_id FROM meters m JOIN buildings b ON b.id = m.building_id WHERE m.id = $1`, [fx.meterIds[0]]);
  await writeReadings(h.opened.db, [day(fx, 1, 1000), day(fx, 2, 1000)], { clock });
  return { ...fx, building: Number(rows[0].building_id), org: Number(rows[0].org_id) };
}

/** A folder configuration made on 1 March, before the month is signed (5 March): it delivers what is signed from then on. */
async function config(org: number, folder: string, o: { createdAt?: string; since?: string } = {}): Promise<number> {
  const { rows } = await h.opened.db.query<{ id: string }>(
    `INSERT INTO exchange_configs (org_id, direction, folder, cron, period_days, transport, created_at, deliver_signed_since)
     VALUES ($1, 'heat_statements', $2, '*/15 * * * *', 1, 'folder', $3, $4) RETURNING id`, [org, folder, o.createdAt ?? '2026-03-01T00:00:00Z', o.since ?? null]);
  return Number(rows[0].id);
}

const run = (id: number) => runExchange({ db: h.opened.db, now: deliveredAt }, id);
const files = async (dir: string) => (await readdir(dir)).filter((f) => !f.startsWith('.')).sort();
const signOff = (building: number, token: string, body: object = {}) => h.call('POST', `/buildings/${building}/heat-statement/sign-off`, token, { period: '2026-02', ...body });
const statementOf = (building: number, token: string) => h.call('GET', `/buildings/${building}/heat-statement?period=2026-02`, token);

beforeAll(async () => {
  h = await startHarness({ clock });
  root = await mkdtemp(join(tmpdir(), 'amr-heat-delivery-'));
  A = await seed('gw-heat-deliver-a');
  B = await seed('gw-heat-deliver-b');
  engineerA = await h.userToken('engineer', { buildingIds: [A.building], username: 'petrov' });
  engineerB = await h.userToken('engineer', { buildingIds: [B.building], username: 'mallory' });
  cfgA = await config(A.org, join(root, 'a'));
  cfgB = await config(B.org, join(root, 'b'));
  sshd = await startSshd();
  ftp = await startFtp();
}, 120_000);
afterAll(async () => {
  await h?.close();
  await sshd?.close();
  await ftp?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

const pad = (n: number) => String(n).padStart(6, '0');

describe('heat statements through the exchange', () => {
  it('file names sort by building, month and version', () => {
    expect(deliveryFileNames({ buildingId: 42, period: '2026-02', version: 1 })).toEqual({ pdf: 'heat-statement_b000042_2026-02_v01.pdf', xlsx: 'heat-statement_b000042_2026-02_v01.xlsx' });
    const names = [{ buildingId: 9, period: '2026-10', version: 1 }, { buildingId: 10, period: '2026-02', version: 2 }, { buildingId: 9, period: '2026-02', version: 10 }, { buildingId: 9, period: '2026-02', version: 2 }]
      .map((p) => deliveryFileNames(p).pdf).sort();
    expect(names).toEqual(['heat-statement_b000009_2026-02_v02.pdf', 'heat-statement_b000009_2026-02_v10.pdf', 'heat-statement_b000009_2026-10_v01.pdf', 'heat-statement_b000010_2026-02_v02.pdf']);
  });

  it('nothing signed: a run delivers nothing and says so', async () => {
    const r = await run(cfgA);
    expect([r.status, r.message, r.counts]).toEqual(['ok', '0 signed heat statement(s) delivered', { statements: 0, delivered: 0, failed: 0, files: 0 }]);
  });

  it('three overlapping runs deliver the signed statement once; B\'s statement never reaches A\'s folder', async () => {
    expect((await signOff(A.building, engineerA)).status).toBe(200);
    expect((await signOff(B.building, engineerB)).status).toBe(200);
    const runs = await Promise.all([run(cfgA), run(cfgA), run(cfgA)]);
    expect(runs.map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
    expect(runs.map((r) => r.counts.delivered).sort()).toEqual([0, 0, 1]);
    const a = `heat-statement_b${pad(A.building)}_2026-02_v01`;
    expect(await files(join(root, 'a'))).toEqual([`${a}.pdf`, `${a}.xlsx`]);
    expect(runs.find((r) => r.counts.delivered === 1)!.message).toBe(`1 signed heat statement(s) delivered: ${a}.pdf, ${a}.xlsx`);
    // The PDF is the signed statement: 2 000 kWh over two days, signed by petrov (09:00 UTC = 12:00 Moscow).
    const pdf = pdfPages(await readFile(join(root, 'a', `${a}.pdf`))).map((p) => p.text).join('\n');
    expect(pdf).toContain('Ведомость подписана: petrov, 05.03.2026, 12:00');
    expect(pdf).not.toContain('исправленная');
    // A fourth run: delivered already, nothing written.
    expect((await run(cfgA)).counts).toEqual({ statements: 0, delivered: 0, failed: 0, files: 0 });
    const rows = (await h.opened.db.query<{ building_id: string; attempts: number; delivered_at: Date }>(
      'SELECT building_id, attempts, delivered_at FROM heat_statement_deliveries WHERE config_id = $1', [cfgA])).rows;
    expect(rows.map((r) => [Number(r.building_id), r.attempts, new Date(r.delivered_at).toISOString()])).toEqual([[A.building, 1, '2026-03-05T10:00:00.000Z']]);
    // B's own configuration delivers B's statement to B's folder only.
    expect((await run(cfgB)).counts.delivered).toBe(1);
    expect(await files(join(root, 'b'))).toEqual([`heat-statement_b${pad(B.building)}_2026-02_v01.pdf`, `heat-statement_b${pad(B.building)}_2026-02_v01.xlsx`]);
    expect(await files(join(root, 'a'))).toEqual([`${a}.pdf`, `${a}.xlsx`]);
  });

  it('an engineer of organisation B reads neither A\'s statement nor its deliveries', async () => {
    const r = await statementOf(A.building, engineerB);
    expect(r.status).toBe(404);
    expect(JSON.stringify(r.body)).not.toContain('heat-statement_b');
    // Their own statement lists only their own configuration's delivery.
    const own = await statementOf(B.building, engineerB);
    expect(own.body.deliveries.map((d: { config_id: number }) => d.config_id)).toEqual([cfgB]);
  });

  it('a failed delivery is logged on the run and the statement, and retried by the next run', async () => {
    // A's folder becomes unusable: a plain file where the folder should be.
    const blocked = join(root, 'blocked');
    await writeFile(blocked, 'not a folder');
    await h.opened.db.query('UPDATE exchange_configs SET folder = $2 WHERE id = $1', [cfgA, join(blocked, 'inbox')]);
    // The month gets a third day: the statement changed, and is signed again (version 2).
    await writeReadings(h.opened.db, [day(A, 3, 500)], { clock });
    const unchangedB = await signOff(B.building, engineerB, { correct: true });
    expect(unchangedB.status).toBe(409);
    expect(unchangedB.body.message).toContain('has not changed since version 1 was signed off by mallory');
    const plain = await signOff(A.building, engineerA);
    expect(plain.status).toBe(409);
    expect(plain.body.message).toContain('a month is signed once — to hand over a corrected statement, sign it again with correct: true');
    const again = await signOff(A.building, engineerA, { correct: true });
    expect(again.status).toBe(200);
    expect(again.body.signed_off).toMatchObject({ by: 'petrov', version: 2, replaces: { version: 1, by: 'petrov', at: '2026-03-05T09:00:00.000Z' } });
    expect(again.body.totals.q_kwh).toBe(2500);

    const failed = await run(cfgA);
    expect(failed.status).toBe('failed');
    expect(failed.message).toMatch(new RegExp(`^0 signed heat statement\\(s\\) delivered; 1 failed, retried by the next run — building ${A.building} 2026-02 v2: .*(ENOTDIR|EEXIST|not a directory)`));
    const shown = (await statementOf(A.building, engineerA)).body.deliveries;
    expect(shown.map((d: { version: number; attempts: number; delivered_at: string | null; run_id: number }) => [d.version, d.attempts, d.delivered_at, d.run_id]))
      .toEqual([[2, 1, null, failed.id], [1, 1, '2026-03-05T10:00:00.000Z', expect.any(Number)]]);
    expect(shown[0].error).toMatch(/ENOTDIR|EEXIST|not a directory/);

    // Fixed: the next run delivers version 2 under its own names, next to version 1, and says what it replaces.
    await h.opened.db.query('UPDATE exchange_configs SET folder = $2 WHERE id = $1', [cfgA, join(root, 'a')]);
    const ok = await run(cfgA);
    const v1 = `heat-statement_b${pad(A.building)}_2026-02_v01`;
    const v2 = `heat-statement_b${pad(A.building)}_2026-02_v02`;
    expect([ok.status, ok.message]).toEqual(['ok', `1 signed heat statement(s) delivered: ${v2}.pdf, ${v2}.xlsx (replaces v01)`]);
    expect(await files(join(root, 'a'))).toEqual([`${v1}.pdf`, `${v1}.xlsx`, `${v2}.pdf`, `${v2}.xlsx`]);
    const after = (await statementOf(A.building, engineerA)).body.deliveries[0];
    expect([after.version, after.attempts, after.error, after.files]).toEqual([2, 2, null, [`${v2}.pdf`, `${v2}.xlsx`]]);
    const pdf = pdfPages(await readFile(join(root, 'a', `${v2}.pdf`))).map((p) => p.text).join('\n');
    expect(pdf).toContain('исправленная ведомость, версия 2: заменяет версию 1, подписанную petrov 05.03.2026, 12:00');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load((await readFile(join(root, 'a', `${v2}.xlsx`))) as unknown as ArrayBuffer);
    const cells: unknown[] = [];
    wb.worksheets[0].eachRow((row) => cells.push(...(row.values as unknown[]).slice(1)));
    expect(cells.some((c) => typeof c === 'string' && c.includes('исправленная ведомость, версия 2: заменяет версию 1'))).toBe(true);
    // The replaced version stays as it was signed; the re-signing is in the journal.
    const kept = (await h.opened.db.query<{ version: number; signed_by: string; totals: { qKwh: number } }>(
      'SELECT version, signed_by, totals FROM heat_statement_signoff_versions WHERE building_id = $1', [A.building])).rows;
    expect(kept.map((k) => [k.version, k.signed_by, k.totals.qKwh])).toEqual([[1, 'petrov', 2000]]);
    const audited = (await h.opened.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE entity = 'heat_statement' AND entity_id = $1 ORDER BY id`, [`${A.building}:2026-02`])).rows;
    expect(audited.map((x) => x.action)).toEqual(['sign_off', 're_sign_off']);
  });

  it('over SFTP: a configuration made through the API delivers the current version (v02) to the server, the documents intact', async () => {
    const folder = join(sshd.root, 'heat');
    // Made now (after the month was signed): it delivers the earlier statements only because it is told to.
    const c = await h.call<{ id: number; deliver_signed_since: string }>('POST', '/exchange/configs', h.adminToken, {
      org_id: A.org, direction: 'heat_statements', folder, cron: '0 6 * * *', enabled: false, deliver_signed_since: '2026-01-01T00:00:00Z',
      transport: 'sftp', host: '127.0.0.1', port: sshd.port, username: sshd.username, private_key: sshd.privateKey, host_key_sha256: sshd.hostKeySha256,
    });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    expect(new Date(c.body.deliver_signed_since).toISOString()).toBe('2026-01-01T00:00:00.000Z');
    const r = await run(c.body.id);
    const v2 = `heat-statement_b${pad(A.building)}_2026-02_v02`;
    expect([r.status, r.message]).toEqual(['ok', `1 signed heat statement(s) delivered: ${v2}.pdf, ${v2}.xlsx (replaces v01)`]);
    expect((await readdir(folder)).sort()).toEqual([`${v2}.pdf`, `${v2}.xlsx`]);
    const pdf = pdfPages(await readFile(join(folder, `${v2}.pdf`))).map((p) => p.text).join('\n');
    expect(pdf).toContain('заменяет версию 1');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load((await readFile(join(folder, `${v2}.xlsx`))) as unknown as ArrayBuffer);
    expect(wb.worksheets[0].name).toBe('Ведомость');
  }, 60_000);

  it('a configuration made after the month was signed does not send it; deliver_signed_since does', async () => {
    // Both made on 6 March, the day after A's month was signed (v1 and v2, 5 March 09:00 UTC).
    const fresh = await config(A.org, join(root, 'fresh'), { createdAt: '2026-03-06T00:00:00Z' });
    const told = await config(A.org, join(root, 'told'), { createdAt: '2026-03-06T00:00:00Z', since: '2026-03-05T00:00:00Z' });
    const r = await run(fresh);
    expect([r.status, r.message, r.counts]).toEqual(['ok', '0 signed heat statement(s) delivered', { statements: 0, delivered: 0, failed: 0, files: 0 }]);
    // A bound after the signing (09:00) excludes it too: the bound is the signing instant, not the month.
    const late = await config(A.org, join(root, 'late'), { createdAt: '2026-03-01T00:00:00Z', since: '2026-03-05T09:00:01Z' });
    expect((await run(late)).counts.delivered).toBe(0);
    const v2 = `heat-statement_b${pad(A.building)}_2026-02_v02`;
    const t = await run(told);
    expect([t.status, t.message]).toEqual(['ok', `1 signed heat statement(s) delivered: ${v2}.pdf, ${v2}.xlsx (replaces v01)`]);
    expect(await files(join(root, 'told'))).toEqual([`${v2}.pdf`, `${v2}.xlsx`]);
  });

  it('over FTP: a configuration made through the API delivers the current version to a real FTP server, the documents intact', async () => {
    const c = await h.call<{ id: number }>('POST', '/exchange/configs', h.adminToken, {
      org_id: A.org, direction: 'heat_statements', folder: '/heat', cron: '0 6 * * *', enabled: false, deliver_signed_since: '2026-03-01T00:00:00+03:00',
      transport: 'ftp', host: '127.0.0.1', port: ftp.port, username: ftp.username, password: ftp.password,
    });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    const r = await run(c.body.id);
    const v2 = `heat-statement_b${pad(A.building)}_2026-02_v02`;
    expect([r.status, r.message]).toEqual(['ok', `1 signed heat statement(s) delivered: ${v2}.pdf, ${v2}.xlsx (replaces v01)`]);
    expect(ftp.logins).toContain(ftp.username);
    expect((await readdir(join(ftp.root, 'heat'))).sort()).toEqual([`${v2}.pdf`, `${v2}.xlsx`]);
    const pdf = pdfPages(await readFile(join(ftp.root, 'heat', `${v2}.pdf`))).map((p) => p.text).join('\n');
    expect(pdf).toContain('исправленная ведомость, версия 2: заменяет версию 1');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load((await readFile(join(ftp.root, 'heat', `${v2}.xlsx`))) as unknown as ArrayBuffer);
    expect(wb.worksheets[0].name).toBe('Ведомость');
    // A second run: delivered already, the server is not written again.
    expect((await run(c.body.id)).counts).toEqual({ statements: 0, delivered: 0, failed: 0, files: 0 });
    // The bound is changed like any field; null goes back to "since the configuration was made".
    const patched = await h.call<{ deliver_signed_since: string | null }>('PATCH', `/exchange/configs/${c.body.id}`, h.adminToken, { deliver_signed_since: '2026-03-06T00:00:00Z' });
    expect([patched.status, new Date(patched.body.deliver_signed_since!).toISOString()]).toEqual([200, '2026-03-06T00:00:00.000Z']);
    const cleared = await h.call<{ deliver_signed_since: string | null }>('PATCH', `/exchange/configs/${c.body.id}`, h.adminToken, { deliver_signed_since: null });
    expect([cleared.status, cleared.body.deliver_signed_since]).toEqual([200, null]);
    const bad = await h.call<{ message: string }>('PATCH', `/exchange/configs/${c.body.id}`, h.adminToken, { deliver_signed_since: 'March' });
    expect([bad.status, bad.body.message]).toEqual([400, expect.stringContaining('deliver_signed_since')]);
  }, 60_000);
});
