/**
 * Readings import (POST /import/readings) and export (GET /readings/export) on a real embedded
 * PGlite-TimescaleDB: one bad row → nothing applied and the row and column named; dry run; versions
 * on re-import; CSV and XLSX exports parsed back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { parse as parseCsv } from 'csv-parse/sync';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createExchangeMailer, importReadingRows, runExchange } from '../../src/exchange/index.js';
import type { Database, Queryable } from '../../src/db/types.js';
import { writeReadings } from '../../src/readings/write.js';
import { startSmtpReceiver } from '../alerts/receivers.js';
import { startHarness, type Harness } from '../api/harness.js';
import { fixedClock } from '../../src/util/clock.js';
import { seedRegistry, type ExchangeRunOut, type Fixture } from './fixtures.js';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
let h: Harness;
let f: Fixture;

async function workbook(rows: (string | number)[][]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.addWorksheet('readings').addRows(rows);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

async function upload(body: Buffer | string, query: string, contentType: string, token = h.adminToken) {
  const r = await h.app.inject({ method: 'POST', url: `/import/readings?org_id=${f.orgId}&${query}`, headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, payload: body });
  return { status: r.statusCode, body: JSON.parse(r.body) };
}

/** The stored readings with their meter's serial, every version. */
interface StoredReading { serial: string; time: Date; value: number | null; version: number; source: string; created_by: string | null; reason: string | null }
const readings = async () => (await h.opened.db.query<StoredReading>(
  `SELECT m.serial_number AS serial, r.time, r.value, r.version, r.source, r.created_by, r.reason
   FROM readings r JOIN meters m ON m.id = r.meter_id ORDER BY serial, time, version`)).rows;

beforeAll(async () => {
  // The API's "now" (the import's future check) is fixed after the files' October 2026 dates, whatever day the suite runs.
  h = await startHarness({ clock: fixedClock('2026-11-15T12:00:00+03:00') });
  f = await seedRegistry(h.opened.db);
}, 120_000);
afterAll(async () => { await h?.close(); });

describe('readings import', () => {
  const HEADER = ['account', 'serial', 'date', 'value'];
  const GOOD = [HEADER, ['7001', 'CW-1', '01.10.2026', 12.5], ['7001', 'HW-1', '2026-10-01', '7,25'], ['7002', 'CW-2', '2026-10-01', 30]];

  it('a file with one bad row applies nothing and names the row and column of every problem', async () => {
    const bad = [...GOOD, ['7002', 'CW-1', '2026-10-01', 1], ['7001', 'NOPE', '2026-10-01', 1], ['7001', 'CW-1', '2099-01-01', 1], ['7001', 'CW-1', '2026-10-02', 'много']];
    const r = await upload(await workbook(bad), '', XLSX);
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ ok: false, applied: false });
    expect(r.body.errors).toEqual([
      expect.objectContaining({ row: 5, column: 'account', message: expect.stringContaining('not in the premise of account "7002"') }),
      expect.objectContaining({ row: 6, column: 'serial', message: expect.stringContaining('unknown meter "NOPE"') }),
      expect.objectContaining({ row: 7, column: 'date', message: expect.stringContaining('in the future') }),
      expect.objectContaining({ row: 8, column: 'value', message: expect.stringContaining('not a number: "много"') }),
    ]);
    expect(await readings()).toEqual([]);
  });

  it('dry run reports what would be inserted and stores nothing', async () => {
    const r = await upload(await workbook(GOOD), 'dry_run=true', XLSX);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true, dry_run: true, applied: false, summary: { insert: 3, unchanged: 0 } });
    expect(r.body.changes[1]).toMatchObject({ row: 3, action: 'insert', serial: 'HW-1', value: 7.25, version: 1, time: '2026-09-30T21:00:00.000Z' });
    expect(await readings()).toEqual([]);
  });

  it('a good file stores import versions with who and why; re-import adds a version only where the value differs', async () => {
    const r1 = await upload(await workbook(GOOD), 'file_name=october.xlsx', XLSX);
    expect(r1.status).toBe(200);
    expect(r1.body).toMatchObject({ ok: true, applied: true, summary: { insert: 3, unchanged: 0 } });
    const stored = await readings();
    expect(stored).toHaveLength(3);
    expect(stored[0]).toMatchObject({ serial: 'CW-1', value: 12.5, version: 1, source: 'import', created_by: 'admin', reason: 'october.xlsx' });

    // CSV (';', Russian Excel) by address + premise: CW-1 unchanged, CW-2 corrected.
    const csv = 'address;premise;serial;date;value\nул. Садовая, 17;1;CW-1;2026-10-01;12,5\nул. Садовая, 17;2;CW-2;2026-10-01;31\n';
    const r2 = await upload(csv, 'file_name=fix.csv', 'text/csv');
    expect(r2.status).toBe(200);
    expect(r2.body.summary).toEqual({ insert: 1, unchanged: 1 });
    const after = await readings();
    expect(after).toHaveLength(4);
    expect(after.filter((x) => x.serial === 'CW-2').map((x) => [x.value, x.version, x.reason])).toEqual([[30, 1, 'october.xlsx'], [31, 2, 'fix.csv']]);
    const auditRows = (await h.opened.db.query(`SELECT reason FROM audit_log WHERE action = 'import' AND entity = 'reading' ORDER BY id`)).rows;
    expect(auditRows.map((a) => a.reason)).toEqual(['october.xlsx', 'fix.csv']);
  });

  it('a value lower than the previous reading, or higher than the next, is refused with its column', async () => {
    const r = await upload('account,serial,date,value\n7001,CW-1,2026-11-01,12.4\n7002,CW-2,2026-09-01,40\n', '', 'text/csv');
    expect(r.status).toBe(422);
    expect(r.body.errors).toEqual([
      expect.objectContaining({ row: 2, column: 'value', message: expect.stringContaining('less than the previous reading 12.5') }),
      expect.objectContaining({ row: 3, column: 'value', message: expect.stringContaining('more than the next reading 31') }),
    ]);
  });

  it('an operator (no import:run) is refused', async () => {
    const token = await h.userToken('operator', { buildingIds: [f.buildingId] });
    expect((await upload('account,serial,date,value\n', '', 'text/csv', token)).status).toBe(403);
  });
});

describe('readings export', () => {
  const get = (url: string, token = h.adminToken) => h.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });

  it('CSV: current versions, filtered by resource and searched by account, parse back', async () => {
    const r = await get(`/readings/export?format=csv&building_id=${f.buildingId}&resource=cold_water&from=2026-09-01&to=2026-11-01`);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-disposition']).toMatch(/attachment; filename="readings-.*\.csv"/);
    const rows = parseCsv<Record<string, string>>(r.rawPayload.toString('utf8').replace(/^\ufeff/, ''), { delimiter: ';', columns: true });
    expect(rows.map((x) => [x.serial, x.account, x.value, x.version, x.source])).toEqual([['CW-1', '7001', '12.5', '1', 'import'], ['CW-2', '7002', '31', '2', 'import']]);

    const byAccount = parseCsv<Record<string, string>>((await get('/readings/export?format=csv&q=7002')).rawPayload.toString('utf8').replace(/^\ufeff/, ''), { delimiter: ';', columns: true });
    expect(byAccount.map((x) => x.serial)).toEqual(['CW-2']);
    const none = parseCsv((await get('/readings/export?format=csv&channel=telemetry')).rawPayload.toString('utf8').replace(/^\ufeff/, ''), { delimiter: ';', columns: true });
    expect(none).toEqual([]);
  });

  it('XLSX: parses back with a header row; a user sees only granted buildings', async () => {
    const r = await get('/readings/export?format=xlsx&q=HW');
    expect(r.statusCode).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(r.rawPayload as unknown as ArrayBuffer);
    const ws = wb.getWorksheet('readings')!;
    expect((ws.getRow(1).values as unknown[]).slice(1)).toEqual(['address', 'premise', 'account', 'serial', 'resource', 'quantity', 'time', 'value', 'unit', 'source', 'version']);
    expect(ws.rowCount).toBe(2);
    expect((ws.getRow(2).values as unknown[]).slice(1)).toEqual(['ул. Садовая, 17', '1', '7001', 'HW-1', 'hot_water', 'volume_m3', '2026-09-30T21:00:00.000Z', 7.25, 'm3', 'import', 1]);

    const other = Number((await h.opened.db.query(`INSERT INTO buildings (org_id, address) VALUES ($1, 'ул. Другая, 1') RETURNING id`, [f.orgId])).rows[0].id);
    const token = await h.userToken('operator', { buildingIds: [other] });
    const csv = (await get('/readings/export?format=csv', token)).rawPayload.toString('utf8').replace(/^\ufeff/, '');
    expect(parseCsv(csv, { delimiter: ';', columns: true })).toEqual([]);
    expect((await get(`/readings/export?format=csv&building_id=${f.buildingId}`, token)).statusCode).toBe(404);
  });
});

describe('exchange run now without a job runner', () => {
  it('runs in the request and returns the logged run; a report e-mail goes to email_to', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'amr-exchange-sync-'));
    const smtp = await startSmtpReceiver();
    try {
      const c = await h.call('POST', '/exchange/configs', h.adminToken, { org_id: f.orgId, direction: 'export', folder, cron: '0 2 * * *', period_days: 366, email_to: 'billing@example.org' });
      expect(c.status).toBe(201);
      const patched = await h.call('PATCH', `/exchange/configs/${c.body.id}`, h.adminToken, { cron: '0 3 * * *' });
      expect(patched.body).toMatchObject({ cron: '0 3 * * *', period_days: 366, enabled: true, email_to: 'billing@example.org' });
      expect((await h.call('PATCH', `/exchange/configs/${c.body.id}`, h.adminToken, { folder: 'relative/../x' })).status).toBe(400);
      const r = await h.call('POST', `/exchange/configs/${c.body.id}/run`, h.adminToken);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ config_id: c.body.id, status: 'ok', counts: { files: 1 } });
      expect((await readdir(folder)).filter((n) => n.endsWith('.xml'))).toHaveLength(1);
      const runs = await h.call<ExchangeRunOut[]>('GET', `/exchange/runs?config_id=${c.body.id}`, h.adminToken);
      expect(runs.body.map((x) => x.id)).toEqual([r.body.id]);

      const run = await runExchange({ db: h.opened.db, mailer: createExchangeMailer({ SMTP_URL: smtp.url, SMTP_FROM: 'amr@example.org' }) }, c.body.id);
      expect(run.status).toBe('ok');
      expect(smtp.mails).toHaveLength(1);
      expect(smtp.mails[0]).toMatchObject({ to: ['billing@example.org'], subject: `[AMR] exchange export #${c.body.id}: ok` });
      expect(smtp.mails[0].headers['x-amr-exchange-run']).toBe(String(run.id));
      expect(smtp.mails[0].body).toContain(`Run #${run.id}: ok`); // the body is quoted-printable: check an unwrapped line
    } finally {
      await smtp.close();
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe('readings import racing another writer', () => {
  const fileRow = [{ row: 2, values: { account: '7002', serial: 'CW-2', date: '2026-10-15', value: '33' } }];
  const fileOptions = {
    orgId: 0, dryRun: false, fileName: 'race.csv', buildingIds: null, now: new Date('2026-10-20T12:00:00Z'),
    actor: { kind: 'system' as const, id: null, name: 'importer' }, rights: { write: true, outsideWindow: true, correct: true },
  };
  /**
   * The database, with `between` run after the file's rows were judged and staged, before the switch:
   * the import's transactions are the opening of its hidden rows, one chunk (one row here), the switch.
   */
  const racing = (between: () => Promise<void>): Database => {
    let txs = 0;
    return {
      query: (sql, params) => h.opened.db.query(sql, params),
      tx: async (fn) => {
        if (++txs === 3) await between();
        return h.opened.db.tx(fn);
      },
    };
  };

  it('a staff reading of one of the file\'s meters written after the file judged it: nothing imported, "run the import again", its hidden rows gone', async () => {
    const meter = f.meters['CW-2'];
    // 15 Oct 2026 00:00 in Moscow = 2026-10-14T21:00Z. The staff reading is at another instant (16 Oct):
    // the file's 33 was judged without it, so the judgement is stale whatever the values.
    const report = await importReadingRows(racing(async () => {
      await h.opened.db.tx((q) => writeReadings(q, [{ meterId: meter, value: 34, time: new Date('2026-10-15T21:00:00Z') }], {
        source: 'staff', actor: { kind: 'system', id: null, name: 'racer' }, rights: { write: true, outsideWindow: true, correct: true }, scope: { orgId: f.orgId },
        now: new Date('2026-10-20T12:00:00Z'), confirm: true,
      }));
      // While the file is staged, its 33 is not visible to anyone.
      const seen = (await h.opened.db.query(`SELECT count(*)::int AS n FROM readings WHERE meter_id = $1 AND time = '2026-10-14T21:00:00Z'`, [meter])).rows[0].n;
      expect(seen).toBe(0);
    }), 'readings', ['account', 'serial', 'date', 'value'], fileRow, { ...fileOptions, orgId: f.orgId });
    expect(report).toMatchObject({ ok: false, applied: false, changes: [] });
    expect(report.errors).toEqual([{ sheet: 'readings', row: 0, message: `meters ${meter} got readings while the file was being checked; nothing was imported, run the import again` }]);
    // The racer's reading stands; the file's row is neither visible nor left hidden in the hypertable.
    expect((await h.opened.db.query(`SELECT value, version, created_by FROM readings WHERE meter_id = $1 AND time = '2026-10-15T21:00:00Z'`, [meter])).rows)
      .toEqual([{ value: 34, version: 1, created_by: 'racer' }]);
    expect((await h.opened.db.query(`SELECT count(*)::int AS n FROM reading_rows WHERE meter_id = $1 AND time = '2026-10-14T21:00:00Z'`, [meter])).rows[0].n).toBe(0);
    expect((await h.opened.db.query(`SELECT count(*)::int AS n FROM reading_imports WHERE file_name = 'race.csv'`)).rows[0].n).toBe(0);
  });

  it('a raw insert taking the version the file staged: refused by UNIQUE, the file is not hurt and its switch still happens', async () => {
    const meter = f.meters['HW-1'];
    let refused = '';
    const report = await importReadingRows(racing(async () => {
      try {
        await h.opened.db.query(`INSERT INTO readings (meter_id, time, quantity, value, unit, source, version, created_by)
          VALUES ($1, '2026-10-14T21:00:00Z', 'volume_m3', 9, 'm3', 'staff', 1, 'racer')`, [meter]);
      } catch (e) {
        refused = (e as { code?: string }).code ?? '';
      }
    }), 'readings', ['account', 'serial', 'date', 'value'], [{ row: 2, values: { account: '7001', serial: 'HW-1', date: '2026-10-15', value: '8' } }], { ...fileOptions, orgId: f.orgId, fileName: 'race-raw.csv' });
    // SQL by hand does not pass the core (nothing marks the import stale); UNIQUE still keeps one version 1.
    expect(refused).toBe('23505');
    expect(report).toMatchObject({ ok: true, applied: true, summary: { insert: 1, unchanged: 0 } });
    expect((await h.opened.db.query(`SELECT value, version, created_by FROM readings WHERE meter_id = $1 AND time = '2026-10-14T21:00:00Z'`, [meter])).rows)
      .toEqual([{ value: 8, version: 1, created_by: 'importer' }]);
  });

  it('a chunk whose connection is lost after it staged (rolled back with it) runs once more: the row stored once', async () => {
    const meter = f.meters['HW-1'];
    let txs = 0;
    let lost = 0;
    // The import's transactions: open, the one chunk, the switch, the settle. The chunk's first try
    // stages its row, then its connection is really closed — embedded, as the engine's watchdog closes
    // one; on a server, its backend killed — and the transaction's next statement fails: rolled back.
    const loseConnection = async (q: Queryable) => {
      if (h.opened.embedded) expect(h.opened.embedded.closeSilentHolder(0)).toBe(true);
      else {
        const pid = (await q.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
        await h.opened.db.query('SELECT pg_terminate_backend($1)', [pid]);
      }
      await q.query('SELECT 1');
    };
    const losing: Database = {
      query: (sql, params) => h.opened.db.query(sql, params),
      tx: async (fn, o) => {
        if (++txs !== 2) return h.opened.db.tx(fn, o);
        // The chunk's transaction: its first run loses its connection after staging; the database
        // layer runs it once more because the import asked it to.
        return h.opened.db.tx(async (q) => {
          const out = await fn(q);
          if (lost++ === 0) await loseConnection(q);
          return out;
        }, o);
      },
    };
    // HW-1 holds 7.25 (1 Oct) and 8 (15 Oct): 9 on 20 Oct (2026-10-19T21:00Z in Moscow) is a new row.
    const report = await importReadingRows(losing, 'readings', ['account', 'serial', 'date', 'value'],
      [{ row: 2, values: { account: '7001', serial: 'HW-1', date: '2026-10-20', value: '9' } }], { ...fileOptions, orgId: f.orgId, fileName: 'lost.csv' });
    expect(lost).toBe(2); // run twice: lost, then committed
    expect(report).toMatchObject({ ok: true, applied: true, summary: { insert: 1, unchanged: 0 }, errors: [] });
    expect((await h.opened.db.query(`SELECT value, version, created_by FROM readings WHERE meter_id = $1 AND time = '2026-10-19T21:00:00Z'`, [meter])).rows)
      .toEqual([{ value: 9, version: 1, created_by: 'importer' }]);
    expect((await h.opened.db.query(`SELECT count(*)::int AS n FROM reading_rows WHERE meter_id = $1 AND time = '2026-10-19T21:00:00Z'`, [meter])).rows[0].n).toBe(1);
  });
});
