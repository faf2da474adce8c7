/** A small housing registry written straight into the embedded DB: one building, two flats, ИПУ meters. */
import type { Queryable } from '../../src/db/types.js';
import type { Harness } from '../api/harness.js';
import type { Database } from '../../src/db/types.js';
import { insertVersion as insertReadingVersion } from '../../src/readings/write-store.js';

export interface Fixture { orgId: number; buildingId: number; meters: Record<string, number> }

export async function seedRegistry(q: Queryable, orgName = 'УК Садовая'): Promise<Fixture> {
  const one = async (sql: string, params: unknown[]) => Number((await q.query(sql, params)).rows[0].id);
  const orgId = await one('INSERT INTO organisations (name) VALUES ($1) RETURNING id', [orgName]);
  const buildingId = await one(`INSERT INTO buildings (org_id, external_id, address) VALUES ($1, 'B-17', 'ул. Садовая, 17') RETURNING id`, [orgId]);
  const p1 = await one(`INSERT INTO premises (building_id, number) VALUES ($1, '1') RETURNING id`, [buildingId]);
  const p2 = await one(`INSERT INTO premises (building_id, number) VALUES ($1, '2') RETURNING id`, [buildingId]);
  await q.query(`INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, '7001', $2), ($1, '7002', $3)`, [orgId, p1, p2]);
  const meter = (premise: number, resource: string, serial: string) => one(
    `INSERT INTO meters (placement, building_id, premise_id, resource, serial_number) VALUES ('apartment', $1, $2, $3, $4) RETURNING id`,
    [buildingId, premise, resource, serial]);
  const meters = {
    'CW-1': await meter(p1, 'cold_water', 'CW-1'),
    'HW-1': await meter(p1, 'hot_water', 'HW-1'),
    'CW-2': await meter(p2, 'cold_water', 'CW-2'),
  };
  return { orgId, buildingId, meters };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Polls until the condition holds; fails naming `what` after `ms` (a bound, not an assertion on time). */
export async function until<T>(fn: () => Promise<T | undefined | null | false>, what: string, ms = 25_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** An exchange run as GET /exchange/runs lists it. */
export interface ExchangeRunOut {
  id: number; config_id: number; status: 'running' | 'ok' | 'failed'; message: string | null; counts: Record<string, number>;
  started_at: string; finished_at: string | null;
}
/** An exchange config as the API shows it: no secret, ever (has_secret and secret_kind tell what is stored). */
export interface ExchangeConfigOut {
  id: number; org_id: number; building_id: number | null; direction: 'export' | 'import'; folder: string; cron: string; period_days: number;
  email_to: string | null; enabled: boolean; transport: 'folder' | 'ftp' | 'ftps' | 'sftp'; host: string | null; port: number | null;
  username: string | null; has_secret: boolean; secret_kind: 'password' | 'private_key' | null; host_key_sha256: string | null; location: string;
}

/** A config's finished runs from the operations log (newest first), as the API lists them. */
export const finishedRuns = async (h: Harness, configId: number) =>
  (await h.call<ExchangeRunOut[]>('GET', `/exchange/runs?config_id=${configId}`, h.adminToken)).body.filter((r) => r.status !== 'running');

/**
 * The readings every export test expects: CW-1 12.5 and CW-2 31 (a corrected version 2) an hour before
 * `at` (the test's fixed "now", the clock its exports run on), HW-1 5 ten days before (outside a one-day export).
 */
export async function seedExportReadings(db: Database, f: Fixture, at: Date): Promise<void> {
  const now = at.getTime();
  await db.tx(async (q) => {
    await insertReadingVersion(q, { meterId: f.meters['CW-1'], time: new Date(now - 3_600_000), quantity: 'volume_m3', value: 12.5, source: 'staff', createdBy: 'test' });
    await insertReadingVersion(q, { meterId: f.meters['CW-2'], time: new Date(now - 3_600_000), quantity: 'volume_m3', value: 30, source: 'staff', createdBy: 'test' });
    await insertReadingVersion(q, { meterId: f.meters['CW-2'], time: new Date(now - 3_600_000), quantity: 'volume_m3', value: 31, source: 'staff', createdBy: 'test', reason: 'typo' });
    await insertReadingVersion(q, { meterId: f.meters['HW-1'], time: new Date(now - 10 * 86_400_000), quantity: 'volume_m3', value: 5, source: 'staff', createdBy: 'test' });
  });
}
