/**
 * Recompute jobs through real bullmq on the real Redis at 127.0.0.1:6379 (unique prefix, removed
 * afterwards) against a real embedded database: changes map to month (and, for telemetered
 * apartments, day) reports; duplicates waiting in the queue coalesce; a change arriving while a run
 * is in progress triggers another run; the nightly recompute-all covers current and previous month.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import type { OpenedDb } from '../../src/db/index.js';
import { openTestDb } from '../engine.js';
import { JobRunner } from '../../src/jobs/index.js';
import { defineImbalanceJobs, enqueueImbalanceRecompute, RECOMPUTE_ALL_JOB, RECOMPUTE_DIRTY_JOB, RECOMPUTE_JOB, type StoredImbalanceReport } from '../../src/imbalance/index.js';
import * as f from './fixtures.js';
import { REDIS_URL, removeRedisKeys } from '../redis.js';

const prefix = `amrtest-imbalance-${randomUUID()}`;
const COALESCE_MS = 1500;

let opened: OpenedDb;
let runner: JobRunner;
let orgId: number;
const calls: Array<{ report: StoredImbalanceReport; previous: StoredImbalanceReport | null }> = [];
/** While set, the hook waits on it: keeps a job active so the test can enqueue during the run. */
let gate: Promise<void> | null = null;
let entered: (() => void) | null = null;
/** The jobs' "now" (which months recompute-all covers); set by the test that needs it. */
let clockAt = new Date('2026-06-15T12:00:00+03:00');

async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** Just after a coalescing window opens, so a few enqueues in a row share it. */
async function windowStart(): Promise<void> {
  while (Date.now() % COALESCE_MS > 200) await new Promise((r) => setTimeout(r, 20));
}

beforeAll(async () => {
  opened = await openTestDb();
  orgId = await f.org(opened.db);
  runner = new JobRunner({ redisUrl: REDIS_URL, prefix, logger: pino({ level: 'silent' }) });
  await defineImbalanceJobs(runner, {
    db: opened.db, logger: pino({ level: 'silent' }), coalesceMs: COALESCE_MS, clock: () => new Date(clockAt),
    onReport: async (report, previous) => {
      calls.push({ report, previous });
      if (gate) {
        entered?.();
        await gate;
      }
    },
  });
}, 120_000);

afterAll(async () => {
  await runner?.close();
  await removeRedisKeys(prefix);
  await opened?.close();
});

const of = (b: number) => calls.filter((c) => c.report.buildingId === b);

describe('imbalance jobs', () => {
  it('coalesces duplicate changes waiting in the queue into one run', async () => {
    const { b } = await f.buildingWithOdpu(opened.db, orgId, 0.00875);
    await f.threeApartments(opened.db, b);
    const change = { buildingId: b, resource: 'cold_water' as const, from: new Date('2026-01-10T09:00:00Z'), to: new Date('2026-01-10T09:00:00Z') };
    await windowStart();
    await enqueueImbalanceRecompute(runner, [change]);
    await enqueueImbalanceRecompute(runner, [change, change]);
    await until(() => of(b).length >= 1, 'the recompute');
    await until(async () => { const d = (await runner.depths())[RECOMPUTE_JOB]; return d.waiting + d.delayed + d.active === 0; }, 'an empty queue');
    expect(of(b)).toHaveLength(1);
    expect((await runner.depths())[RECOMPUTE_JOB].completed).toBe(1);
    const r = of(b)[0].report;
    expect(r.periodKind).toBe('month');
    expect(r.periodStart.getTime()).toBe(Date.parse(f.JAN_START));
    expect(r.imbalancePct).toBeCloseTo((1.84 / 26.04) * 100, 9);
  });

  it('a change arriving while the run is in progress triggers another run', async () => {
    const { b } = await f.buildingWithOdpu(opened.db, orgId, 0.00875);
    const [a1] = await f.threeApartments(opened.db, b);
    // Mid-January telemetry (neighbours 15 min away): January only.
    const first = { buildingId: b, resource: 'cold_water' as const, from: new Date('2026-01-10T09:00:00Z'), to: new Date('2026-01-10T09:00:00Z') };
    let release!: () => void;
    gate = new Promise<void>((r) => (release = r));
    const inHook = new Promise<void>((r) => (entered = r));
    await enqueueImbalanceRecompute(runner, [first]);
    await inHook; // the January job is active now
    // A correction at the month's end bound: January's end value and February's start value.
    await f.readings(opened.db, a1, [[f.JAN_END, 111]], { version: 2 });
    await enqueueImbalanceRecompute(runner, [{ buildingId: b, resource: 'cold_water', from: new Date(f.JAN_END), to: new Date(f.JAN_END) }]);
    gate = null;
    release();
    await until(() => of(b).filter((c) => c.report.periodStart.getTime() === Date.parse(f.JAN_START)).length >= 2, 'the second January run');
    const jan = of(b).filter((c) => c.report.periodStart.getTime() === Date.parse(f.JAN_START));
    expect(jan[0].previous).toBeNull();
    expect(jan[0].report.apartmentsConsumption).toBeCloseTo(24.2, 9);
    expect(jan[1].report.apartmentsConsumption).toBeCloseTo(25.2, 9);
    expect(jan[1].previous!.apartmentsConsumption).toBeCloseTo(24.2, 9);
    // February too: its job is a separate one and may finish after January's second run.
    await until(() => of(b).some((c) => c.report.periodStart.getTime() === Date.parse(f.JAN_END)), 'the February run');
  });

  it('a manual reading moves the bounds between its neighbours: every month they fall in is recomputed', async () => {
    const { b } = await f.buildingWithOdpu(opened.db, orgId, 0.00875);
    await f.threeApartments(opened.db, b); // A2 read Dec 16, Jan 15, Feb 14 (21:00Z)
    const at = new Date('2026-01-15T21:00:00Z');
    await enqueueImbalanceRecompute(runner, [{ buildingId: b, resource: 'cold_water', from: at, to: at }]);
    await until(() => of(b).length >= 3, 'three months');
    await until(async () => { const d = (await runner.depths())[RECOMPUTE_JOB]; return d.waiting + d.delayed + d.active === 0; }, 'an empty queue');
    // Jan 1 lies between Dec 16 and Jan 15 (December's end, January's start), Feb 1 between Jan 15 and Feb 14.
    expect(of(b).map((c) => c.report.periodStart.toISOString()).sort()).toEqual(['2025-11-30T21:00:00.000Z', '2025-12-31T21:00:00.000Z', '2026-01-31T21:00:00.000Z']);
  });

  it('maps a change to the month and, with telemetered apartment meters, to the local days it touches', async () => {
    const q = opened.db;
    const { b } = await f.buildingWithOdpu(q, orgId, 0.00875);
    const apt = await f.meter(q, b, { placement: 'apartment', remote: true });
    await f.telemetry(q, apt, '2026-01-10T00:00:00Z', '2026-01-20T00:00:00Z', 10, 0.005);
    await enqueueImbalanceRecompute(runner, [{ buildingId: b, resource: 'cold_water', from: new Date('2026-01-14T12:00:00Z'), to: new Date('2026-01-15T12:00:00Z') }]);
    await until(() => of(b).length >= 3, 'three reports');
    await until(async () => { const d = (await runner.depths())[RECOMPUTE_JOB]; return d.waiting + d.delayed + d.active === 0; }, 'an empty queue');
    const got = of(b).map((c) => `${c.report.periodKind} ${c.report.periodStart.toISOString()}`).sort();
    expect(got).toEqual(['day 2026-01-13T21:00:00.000Z', 'day 2026-01-14T21:00:00.000Z', 'month 2025-12-31T21:00:00.000Z']);
    const day = of(b).find((c) => c.report.periodStart.toISOString() === '2026-01-13T21:00:00.000Z')!.report;
    expect(day.buildingConsumption).toBeCloseTo(0.84, 9);
    expect(day.apartmentsConsumption).toBeCloseTo(0.48, 9);
  });

  it('recompute-all stores the current and previous month of every building with a building meter, by the building\'s calendar', async () => {
    const { b } = await f.buildingWithOdpu(opened.db, orgId, 0.00875);
    const noOdpu = await f.building(opened.db, orgId);
    await f.meter(opened.db, noOdpu, { placement: 'apartment' });
    // The jobs' clock: 2028-03-01 00:30 in Moscow, still 2028-02-29 21:30 in UTC. By hand: current =
    // March (starts 2028-03-01 00:00 MSK = 2028-02-29T21:00Z), previous = February (2028-02-01 00:00
    // MSK = 2028-01-31T21:00Z); not January, which a UTC "previous month" would add.
    clockAt = new Date('2028-03-01T00:30:00+03:00');
    await runner.enqueue(RECOMPUTE_ALL_JOB, {});
    await until(() => of(b).length >= 2, 'both months');
    await until(async () => { const d = (await runner.depths())[RECOMPUTE_JOB]; return d.waiting + d.delayed + d.active === 0; }, 'an empty queue');
    const starts = of(b).map((c) => c.report.periodStart.toISOString()).sort();
    expect(starts).toEqual(['2028-01-31T21:00:00.000Z', '2028-02-29T21:00:00.000Z']);
    expect(of(b).every((c) => c.report.periodKind === 'month' && c.report.status === 'insufficient_data')).toBe(true);
    expect(of(noOdpu)).toHaveLength(0);
  });

  it('schedules the nightly recompute-all, and defining the jobs does not wait for an unreachable Redis', async () => {
    const r = new Redis(REDIS_URL);
    try {
      await until(async () => (await r.zrange(`${prefix}:${RECOMPUTE_ALL_JOB}:repeat`, 0, -1)).includes('imbalance-nightly'), 'the nightly schedule');
      // And the recompute of the periods late readings marked (dirty.ts), on its own schedule.
      await until(async () => (await r.zrange(`${prefix}:${RECOMPUTE_DIRTY_JOB}:repeat`, 0, -1)).includes('imbalance-dirty'), 'the late readings\' schedule');
    } finally {
      await r.quit();
    }
    const down = new JobRunner({ redisUrl: 'redis://127.0.0.1:1', prefix: `${prefix}-down`, logger: pino({ level: 'silent' }) });
    try {
      // Resolves (a hang would time the test out) although the schedule cannot be written.
      await expect(defineImbalanceJobs(down, { db: opened.db, logger: pino({ level: 'silent' }) })).resolves.toBeUndefined();
      expect(down.names().sort()).toEqual([RECOMPUTE_JOB, RECOMPUTE_ALL_JOB, RECOMPUTE_DIRTY_JOB].sort());
    } finally {
      await down.close();
    }
  });
});
