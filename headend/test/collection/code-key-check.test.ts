/**
 * A replaced SECRETS_KEY under the residents' access codes (collection/code-key-check.ts): each start
 * keeps the code key's fingerprint (never the key) and counts the live codes made under another key;
 * when there are any, a warning names how many and what to do, and one alert is raised; when none are
 * left (key restored, codes re-issued), the alert clears. First the check start by start on this run's
 * database, then two real head-end starts on one database with different keys.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { openTestDb, testDatabase, dbEnv, TEST_ENGINE } from '../engine.js';
import type { OpenedDb } from '../../src/db/index.js';
import { CODE_KEY_SETTING, checkCodeKey } from '../../src/collection/code-key-check.js';
import { codeKeyFingerprint, codeKeyOf, prepareAccessCode, revokeAccessCode, storeAccessCode, type PreparedCode } from '../../src/collection/access.js';
import { loadConfig } from '../../src/config/index.js';
import { startHeadend } from '../../src/server/index.js';

const KEY_A = Buffer.alloc(32, 11).toString('base64');
const KEY_B = Buffer.alloc(32, 12).toString('base64');
const keyA = codeKeyOf(KEY_A)!;
const keyB = codeKeyOf(KEY_B)!;
const AT = new Date('2026-11-20T09:00:00Z');
const WEBHOOK = [{ channel: 'webhook' as const, target: 'https://hooks.example.org/amr' }];

let opened: OpenedDb;
let accounts: number[];

/** A logger that keeps what it was told. */
function recorder() {
  const lines: { level: string; msg: string; obj: unknown }[] = [];
  return {
    lines,
    warn: (obj: unknown, msg: string) => { lines.push({ level: 'warn', msg, obj }); },
    info: (msg: string) => { lines.push({ level: 'info', msg, obj: null }); },
  };
}
const check = (key: Buffer, log = recorder()) => checkCodeKey(opened.db, key, { channels: WEBHOOK, at: AT, logger: log as never }).then((r) => ({ r: r!, log }));
const openAlerts = async () => (await opened.db.query<{ severity: string; building_id: string | null; message: string; data: { codes: number; accounts: number } }>(
  "SELECT severity, building_id, message, data FROM alerts WHERE kind = 'access_code_key' AND cleared_at IS NULL")).rows;

beforeAll(async () => {
  opened = await openTestDb();
  const q = async (sql: string, params: unknown[]) => Number((await opened.db.query<{ id: string }>(sql, params)).rows[0].id);
  const org = await q(`INSERT INTO organisations (name) VALUES ('УК Ключ') RETURNING id`, []);
  const building = await q(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, 'ул. Ключевая, 2', 'Europe/Moscow') RETURNING id`, [org]);
  accounts = [];
  for (let i = 1; i <= 5; i++) {
    const premise = await q('INSERT INTO premises (building_id, number) VALUES ($1, $2) RETURNING id', [building, String(i)]);
    accounts.push(await q('INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, $2, $3) RETURNING id', [org, `KEY-${i}`, premise]));
  }
}, 60_000);
afterAll(async () => { await opened?.close(); });

describe('checkCodeKey, start by start', () => {
  it('first start: nothing to compare; the fingerprint is kept (not the key), older keyed codes are attributed to this key', async () => {
    // A keyed code from before fingerprints were stored.
    const legacy = await prepareAccessCode(keyA);
    const unmarked: PreparedCode = { code: legacy.code, hash: legacy.hash };
    await storeAccessCode(opened.db, accounts[0], unmarked, null, 14);
    const { r, log } = await check(keyA);
    expect(r).toEqual({ changed: false, codes: 0, accounts: 0, alert: 'none', notificationIds: [] });
    expect(log.lines).toEqual([]);
    const kept = (await opened.db.query<{ value: string }>('SELECT value FROM headend_settings WHERE name = $1', [CODE_KEY_SETTING])).rows[0].value;
    expect(kept).toBe(codeKeyFingerprint(keyA));
    expect(kept).toMatch(/^[0-9a-f]{32}$/);
    expect(kept).not.toContain(KEY_A);
    expect(kept).not.toContain(keyA.toString('hex'));
    expect(codeKeyFingerprint(keyB)).not.toBe(kept);
    const fp = (await opened.db.query<{ key_fingerprint: string }>('SELECT key_fingerprint FROM resident_access_codes WHERE account_id = $1', [accounts[0]])).rows[0].key_fingerprint;
    expect(fp).toBe(kept);
  });

  it('started with another key: the live keyed codes of the old one are counted, logged with what to do, and alerted once', async () => {
    // Under key A: accounts 2 and 3 get live codes; account 4 one that is spent, account 5 one revoked
    // and then a scrypt code (no key: any SECRETS_KEY checks it). Live under A: accounts 1, 2, 3.
    for (const i of [1, 2, 3, 4]) await storeAccessCode(opened.db, accounts[i], await prepareAccessCode(keyA), null, 14);
    await opened.db.query('UPDATE resident_access_codes SET used_at = now() WHERE account_id = $1', [accounts[3]]);
    await revokeAccessCode(opened.db, accounts[4], null);
    await storeAccessCode(opened.db, accounts[4], await prepareAccessCode(null), null, 14);
    const { r, log } = await check(keyB);
    expect(r).toMatchObject({ changed: true, codes: 3, accounts: 3, alert: 'raised' });
    expect(r.notificationIds).toHaveLength(1);
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0].level).toBe('warn');
    expect(log.lines[0].msg).toMatch(/^The head-end started with another SECRETS_KEY than last time: 3 live residents' access codes \(3 accounts\) no longer work/);
    expect(log.lines[0].msg).toMatch(/Restore the previous SECRETS_KEY .* or issue those accounts new codes/);
    const alerts = await openAlerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ severity: 'critical', building_id: null, data: { codes: 3, accounts: 3 } });
    expect(alerts[0].message.split('\n')).toHaveLength(2); // Russian, then English
  });

  it('started again with the new key: still 3, warned again, the one alert refreshed (no new notification)', async () => {
    const { r, log } = await check(keyB);
    expect(r).toEqual({ changed: false, codes: 3, accounts: 3, alert: 'refreshed', notificationIds: [] });
    expect(log.lines[0].msg).toMatch(/^SECRETS_KEY was replaced earlier: 3 live/);
    expect(await openAlerts()).toHaveLength(1);
  });

  it('the old key restored: the codes issued under the interim key are the broken ones now; once they are gone the alert clears', async () => {
    await storeAccessCode(opened.db, accounts[1], await prepareAccessCode(keyB), null, 14); // replaces account 2's code from key A
    const restored = await check(keyA);
    // Live: account 1 (A), account 2 (B, its A code expired by the new one), account 3 (A), account 5 (scrypt).
    expect(restored.r).toMatchObject({ changed: true, codes: 1, accounts: 1, alert: 'refreshed' });
    expect((await openAlerts())[0].data).toMatchObject({ codes: 1, accounts: 1 });
    await revokeAccessCode(opened.db, accounts[1], null);
    const clean = await check(keyA);
    expect(clean.r).toMatchObject({ changed: false, codes: 0, accounts: 0, alert: 'cleared' });
    expect(clean.r.notificationIds).toHaveLength(1);
    expect(clean.log.lines.map((l) => l.level)).toEqual(['info']);
    expect(await openAlerts()).toEqual([]);
  });

  it('no key (an API without SECRETS_KEY): nothing to check', async () => {
    expect(await checkCodeKey(opened.db, null, { channels: [], at: AT, logger: recorder() as never })).toBeNull();
  });
});

describe('a head-end started again with another SECRETS_KEY', () => {
  let dataDir: string | undefined;
  const db = { drop: async () => {} } as Awaited<ReturnType<typeof testDatabase>>;
  let database = db;
  beforeAll(async () => {
    database = await testDatabase();
    // Embedded: a data directory on disk, so the second start finds what the first one stored.
    if (TEST_ENGINE === 'embedded') dataDir = await mkdtemp(join(tmpdir(), 'amr-code-key-'));
  });
  afterAll(async () => {
    await database.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const start = async (secretsKey: string, lines: { level: number; msg: string; codes?: number }[]) => {
    const config = loadConfig({
      DATA_DIR: dataDir ?? 'memory://', ...dbEnv(database), MQTT_HOST: '127.0.0.1', MQTT_PORT: '0', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'warn', SECRETS_KEY: secretsKey,
    });
    const logger = pino({ level: 'warn' }, { write: (s: string) => { lines.push(JSON.parse(s)); } });
    return startHeadend({ config, logger, jobs: false, api: false });
  };

  it('logs how many codes no longer work and what to do, and raises the alert', async () => {
    const first: { level: number; msg: string; codes?: number }[] = [];
    const he1 = await start(KEY_A, first);
    const q = async (sql: string, params: unknown[]) => Number((await he1.db.query<{ id: string }>(sql, params)).rows[0].id);
    const org = await q(`INSERT INTO organisations (name) VALUES ('УК Рестарт') RETURNING id`, []);
    const building = await q(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, 'ул. Новая, 1', 'Europe/Moscow') RETURNING id`, [org]);
    for (const n of ['1', '2']) {
      const premise = await q('INSERT INTO premises (building_id, number) VALUES ($1, $2) RETURNING id', [building, n]);
      const account = await q('INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, $2, $3) RETURNING id', [org, `RS-${n}`, premise]);
      await storeAccessCode(he1.db, account, await prepareAccessCode(codeKeyOf(KEY_A)), null, 14);
    }
    await he1.close();
    expect(first.filter((l) => /access codes/.test(l.msg))).toEqual([]);

    const second: { level: number; msg: string; codes?: number }[] = [];
    const he2 = await start(KEY_B, second);
    try {
      const warned = second.filter((l) => /access codes/.test(l.msg));
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatchObject({ level: 40, codes: 2 });
      expect(warned[0].msg).toMatch(/2 live residents' access codes \(2 accounts\) no longer work .* Restore the previous SECRETS_KEY/);
      const alerts = (await he2.db.query<{ n: number }>("SELECT count(*)::int AS n FROM alerts WHERE kind = 'access_code_key' AND cleared_at IS NULL")).rows[0].n;
      expect(alerts).toBe(1);
    } finally {
      await he2.close();
    }
  }, 180_000);
});
