/**
 * Billing recalculation jobs through real bullmq on the real Redis at 127.0.0.1:6379 (unique prefix,
 * removed afterwards), fed by the real validator on a real embedded database: a corrected reading of
 * a closed month becomes reversal + recalculated lines in the next open month by itself; nothing new
 * books nothing; open months are not touched; duplicates in one window coalesce into one run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { OpenedDb } from '../../../src/db/index.js';
import { openTestDb } from '../../engine.js';
import { JobRunner } from '../../../src/jobs/index.js';
import { startValidator, type Validator } from '../../../src/validation/index.js';
import { computePeriod, closePeriod, LINE_COLUMNS, rowToLine } from '../../../src/billing/store/index.js';
import { defineBillingJobs, enqueueBillingRecalc, RECALC_JOB } from '../../../src/billing/store/jobs.js';
import { REDIS_URL, removeRedisKeys } from '../../redis.js';

const prefix = `amrtest-billing-${randomUUID()}`;
const COALESCE_MS = 1000;

let opened: OpenedDb;
let runner: JobRunner;
let validator: Validator;
let queue: Queue;
let queueRedis: Redis;
const ids: Record<string, number> = {};

async function one<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T> {
  return (await opened.db.query(sql, params)).rows[0] as T;
}
async function reading(meterId: number, iso: string, value: number, version = 1, source = 'telemetry') {
  await opened.db.query(`INSERT INTO readings (meter_id, time, quantity, value, unit, source, version) VALUES ($1, $2, 'volume_m3', $3, 'm3', $4, $5)`, [meterId, iso, value, source, version]);
}
async function lines(period: string, buildingId: number) {
  const { rows } = await opened.db.query(`SELECT ${LINE_COLUMNS} FROM accrual_lines WHERE period = $1 AND building_id = $2 ORDER BY id`, [period, buildingId]);
  return rows.map(rowToLine);
}
async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}
const idle = async () => { const d = (await runner.depths())[RECALC_JOB]; return d.waiting + d.delayed + d.active === 0; };
const jobsDone = async () => (await queue.getJobs(['completed'])).map((j) => ({ data: j.data as { buildingId: number; period: string }, result: j.returnvalue }));

/** A building (UTC) with two flats, their cold-water meters read on 1 Jan and 1 Feb; January computed and closed. */
async function building(name: string, compute = true) {
  const b = Number((await one(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, $2, 'UTC') RETURNING id`, [ids.org, name])).id);
  const m: number[] = [];
  for (const [n, v0, v1] of [['1', 100, 107.5], ['2', 200, 212]] as const) {
    const p = Number((await one(`INSERT INTO premises (building_id, number, residents, area_m2) VALUES ($1, $2, 2, 50) RETURNING id`, [b, n])).id);
    await opened.db.query(`INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, $2, $3)`, [ids.org, `LS-${name}-${n}`, p]);
    const id = Number((await one(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number) VALUES ('apartment', $1, $2, 'cold_water', $3) RETURNING id`, [b, p, `CW-${name}-${n}`])).id);
    await reading(id, '2026-01-01T00:00:00Z', v0);
    await reading(id, '2026-02-01T00:00:00Z', v1);
    m.push(id);
  }
  if (compute) await computePeriod(opened.db, b, '2026-01-01');
  return { b, m };
}

beforeAll(async () => {
  opened = await openTestDb();
  ids.org = Number((await one(`INSERT INTO organisations (name) VALUES ('УК Запад') RETURNING id`)).id);
  await opened.db.query(`INSERT INTO billing_tariffs (org_id, resource, valid_from, tariff) VALUES ($1, 'cold_water', '2025-01-01', '{"kind":"single","price":50.93}')`, [ids.org]);
  runner = new JobRunner({ redisUrl: REDIS_URL, prefix, logger: pino({ level: 'silent' }) });
  await defineBillingJobs(runner, { db: opened.db, logger: pino({ level: 'silent' }), coalesceMs: COALESCE_MS });
  // Reads the finished jobs (data and results) of the runner's queue.
  queueRedis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  queue = new Queue(RECALC_JOB, { connection: queueRedis, prefix });
  validator = startValidator({ db: opened.db, logger: pino({ level: 'silent' }), intervalMs: 3_600_000, onAffected: (a) => enqueueBillingRecalc(runner, a) });
}, 120_000);

afterAll(async () => {
  await validator?.stop();
  await queue?.close();
  await queueRedis?.quit();
  await runner?.close();
  await removeRedisKeys(prefix);
  await opened?.close();
});

describe('billing recalculation jobs', () => {
  it('a corrected reading of a closed month books adjustments in the next open month by itself; open months are not recalculated', async () => {
    const { b, m } = await building('Запад-1');
    await closePeriod(opened.db, ids.org, '2026-01-01', 'test');
    // The first verdicts: January is closed and reached, but nothing changed → the job books nothing.
    await validator.drain();
    await until(async () => (await jobsDone()).some((j) => j.data.buildingId === b), 'the first recalculation');
    await until(idle, 'an empty queue');
    expect(await lines('2026-02-01', b)).toEqual([]);
    // Staff on site: flat 1's register on 1 Feb was 109.5, not 107.5 (a new version).
    await reading(m[0], '2026-02-01T00:00:00Z', 109.5, 2, 'staff');
    await validator.drain();
    await until(async () => (await lines('2026-02-01', b)).length > 0, 'the adjustment lines');
    await until(idle, 'an empty queue');
    const feb = await lines('2026-02-01', b);
    // Reversal of 7.5 m³ × 50.93 = 381.98 ₽; recalculated 9.5 m³ × 50.93 = 483.835 → 483.84 ₽.
    expect(feb.map((l) => [l.kind, l.adjustmentKind, l.adjustsPeriod, l.meterId, l.quantity, l.amount])).toEqual([
      ['adjustment', 'reversal', '2026-01-01', String(m[0]), -7.5, -38198],
      ['adjustment', 'recalculated', '2026-01-01', String(m[0]), 9.5, 48384],
    ]);
    // Only closed months get jobs: February (open) was never enqueued for this building.
    const mine = (await jobsDone()).filter((j) => j.data.buildingId === b);
    expect(mine.every((j) => j.data.period === '2026-01-01')).toBe(true);
    expect(mine.some((j) => (j.result as { lines?: number }).lines === 2)).toBe(true);
  });

  it('duplicate changes waiting in the queue coalesce into one run', async () => {
    const { b } = await building('Запад-2', false);
    // January of the organisation is closed already (previous test).
    const before = (await jobsDone()).filter((j) => j.data.buildingId === b).length;
    // Just after a coalescing window opens, so the enqueues below share it.
    while (Date.now() % COALESCE_MS > 200) await new Promise((r) => setTimeout(r, 20));
    const change = { buildingId: b, resource: 'cold_water' as const, from: new Date('2026-01-15T00:00:00Z'), to: new Date('2026-01-15T00:00:00Z') };
    await enqueueBillingRecalc(runner, [change]);
    await enqueueBillingRecalc(runner, [change, change]);
    await until(async () => (await jobsDone()).filter((j) => j.data.buildingId === b).length > before, 'the recalculation');
    await until(idle, 'an empty queue');
    expect((await jobsDone()).filter((j) => j.data.buildingId === b).length - before).toBe(1);
  });

  it('a meter failure dated through the API after the month was closed recalculates that month by itself', async () => {
    const { createApiServer } = await import('../../../src/api/index.js');
    const { Registry } = await import('prom-client');
    const { createUser } = await import('../../../src/auth/index.js');
    const app = await createApiServer({ db: opened.db, config: { TOKEN_TTL: 3600 }, logger: pino({ level: 'silent' }), registry: new Registry(), jobs: runner });
    try {
      await opened.db.tx((q) => createUser(q, { username: 'fail-admin', password: 'admin-password', role: 'admin' }));
      const token = JSON.parse((await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'fail-admin', password: 'admin-password' } })).body).token;
      // An organisation of its own: its January is computed, then closed.
      const org = Number((await one(`INSERT INTO organisations (name) VALUES ('УК Отказ') RETURNING id`)).id);
      await opened.db.query(`INSERT INTO billing_tariffs (org_id, resource, valid_from, tariff) VALUES ($1, 'cold_water', '2025-01-01', '{"kind":"single","price":50.93}')`, [org]);
      await opened.db.query(`INSERT INTO billing_norms (org_id, resource, basis, valid_from, per_resident) VALUES ($1, 'cold_water', 'resident', '2025-01-01', 6.935)`, [org]);
      const b = Number((await one(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, 'Запад-3', 'UTC') RETURNING id`, [org])).id);
      const p = Number((await one(`INSERT INTO premises (building_id, number, residents, area_m2) VALUES ($1, '1', 2, 50) RETURNING id`, [b])).id);
      await opened.db.query(`INSERT INTO personal_accounts (org_id, number, premise_id) VALUES ($1, 'LS-Z3-1', $2)`, [org, p]);
      const m = Number((await one(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number) VALUES ('apartment', $1, $2, 'cold_water', 'CW-Z3') RETURNING id`, [b, p])).id);
      await reading(m, '2026-01-01T00:00:00Z', 100);
      await reading(m, '2026-02-01T00:00:00Z', 106);
      await computePeriod(opened.db, b, '2026-01-01');
      await closePeriod(opened.db, org, '2026-01-01', 'test');
      // The verdicts of those readings reach the closed month too (nothing changed → nothing booked).
      await validator.drain();
      await until(idle, 'an empty queue');
      expect(await lines('2026-02-01', b)).toEqual([]);

      const r = await app.inject({ method: 'PATCH', url: `/meters/${m}`, headers: { authorization: `Bearer ${token}` }, payload: { status: 'failed', failed_on: '2026-01-17' } });
      expect(r.statusCode, r.body).toBe(200);
      await until(async () => (await lines('2026-02-01', b)).length > 0, 'adjustments after the failure was dated');
      await until(idle, 'an empty queue');
      const feb = await lines('2026-02-01', b);
      // The original 6 m³ measured is reversed; the recalculation no longer charges the whole month as measured.
      expect(feb.filter((l) => l.adjustmentKind === 'reversal').map((l) => [l.adjustsPeriod, l.method, l.quantity])).toEqual([['2026-01-01', 'measured', -6]]);
      const recalculated = feb.filter((l) => l.adjustmentKind === 'recalculated');
      expect(recalculated.length).toBeGreaterThan(0);
      expect(recalculated.every((l) => l.adjustsPeriod === '2026-01-01')).toBe(true);
      expect(recalculated.map((l) => `${l.method} ${l.quantity}`).join(', ')).not.toBe('measured 6');
    } finally {
      await app.close();
    }
  }, 60_000);
});
