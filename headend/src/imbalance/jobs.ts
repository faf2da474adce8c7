/**
 * Recomputation jobs.
 *
 * `imbalance.recompute` {buildingId, resource, kind, periodStart}. Duplicates coalesce through a
 * tumbling-window job id: a change at time t gets the id of window ⌊t / W⌋ and a delay to the end of
 * that window, so every change within a window lands on ONE waiting job, and that job starts only
 * after its window closed — a change arriving after it started belongs to a later window, hence a new
 * id and another run. (A fixed id per period would not do: bullmq ignores an add while a job with
 * that id is active, or kept among the completed ones by removeOnComplete.)
 *
 * `imbalance.recompute-all` (nightly): current and previous month of every building × resource with
 * a building meter, through the same coalescing.
 *
 * `imbalance.recompute-dirty` (every `dirtyEveryMs`): the periods the ingest writer marked because a
 * late reading changed them (dirty.ts), recomputed and unmarked.
 */
import { z } from 'zod';
import { Resource, registerQuantity } from '@amr/protocols';
import type { Logger } from 'pino';
import type { Db, Queryable } from '../db/index.js';
import type { JobRunner } from '../jobs/index.js';
import { wallClock, type Clock } from '../util/clock.js';
import { periodsBetween } from './periods.js';
import { computeBuildingImbalance, ImbalanceError } from './service.js';
import { recomputeDirty } from './dirty.js';
import type { AffectedPeriod, OnImbalanceReport, PeriodKind } from './types.js';

export interface ImbalanceDeps {
  db: Db;
  logger: Logger;
  onReport?: OnImbalanceReport;
  /** Coalescing window of recompute jobs, ms (default 60 s). */
  coalesceMs?: number;
  /** Cron of the nightly recompute-all (default 03:15 every day, UTC). */
  nightlyCron?: string;
  /** "Now" of the nightly run (which months are current and previous); coalescing stays on real time. */
  clock?: Clock;
  /** How often the marked periods (dirty.ts) are recomputed, ms (default 30 s). */
  dirtyEveryMs?: number;
}

export const RECOMPUTE_JOB = 'imbalance.recompute';
export const RECOMPUTE_ALL_JOB = 'imbalance.recompute-all';
export const RECOMPUTE_DIRTY_JOB = 'imbalance.recompute-dirty';
/** A late reading's report is at most this stale (plus one run) when nobody asks for it sooner. */
export const DEFAULT_DIRTY_EVERY_MS = 30_000;

export const RecomputeData = z.object({
  buildingId: z.number().int().positive(),
  resource: Resource,
  kind: z.enum(['month', 'day', 'hour']),
  periodStart: z.iso.datetime({ offset: true }),
});
export type RecomputeData = z.infer<typeof RecomputeData>;

/** Live telemetry changes the current month all the time: one recompute per building × resource a minute is plenty. */
const DEFAULT_COALESCE_MS = 60_000;
const MAX_MONTHS = 240;
const MAX_DAYS = 400;

/** The deps each runner's imbalance jobs were defined with (enqueue and the API find them here). */
const defined = new WeakMap<JobRunner, ImbalanceDeps>();

export function imbalanceDepsOf(runner: JobRunner | undefined): ImbalanceDeps | undefined {
  return runner ? defined.get(runner) : undefined;
}

export async function defineImbalanceJobs(runner: JobRunner, deps: ImbalanceDeps): Promise<void> {
  defined.set(runner, deps);
  runner.define({
    name: RECOMPUTE_JOB,
    data: RecomputeData,
    handler: async (d, ctx) => {
      try {
        const { report } = await computeBuildingImbalance(deps.db, d.buildingId, d.resource, d.kind, new Date(d.periodStart), { onReport: deps.onReport });
        return { status: report.status, imbalancePct: report.imbalancePct };
      } catch (e) {
        // Not an error worth retrying: the building is gone or its meters do not support the kind.
        if (e instanceof ImbalanceError) {
          ctx.log.info({ ...d, reason: e.code }, `imbalance recompute skipped: ${e.message}`);
          return { skipped: e.code };
        }
        throw e;
      }
    },
  });
  runner.define({
    name: RECOMPUTE_ALL_JOB,
    data: z.object({}),
    handler: async () => {
      const now = (deps.clock ?? wallClock)();
      // From the 15th of the previous month in the building's own zone: in the first hours of a month
      // in Moscow, UTC is still in the month before, and a UTC "previous month" would add a third one.
      const { rows } = await deps.db.query<{ building_id: string; resource: Resource; prev_mid: Date }>(
        `SELECT DISTINCT m.building_id, m.resource,
                (date_trunc('month', $1::timestamptz AT TIME ZONE b.timezone) - interval '1 month' + interval '14 days') AT TIME ZONE b.timezone AS prev_mid
           FROM meters m JOIN buildings b ON b.id = m.building_id
          WHERE m.placement = 'building' AND m.status <> 'removed' ORDER BY 1, 2`, [now]);
      const affected = rows.map((r): AffectedPeriod => ({ buildingId: Number(r.building_id), resource: r.resource, from: new Date(r.prev_mid), to: now }));
      const n = await enqueueMonths(runner, deps, affected);
      return { buildings: rows.length, enqueued: n };
    },
  });
  runner.define({
    name: RECOMPUTE_DIRTY_JOB,
    data: z.object({}),
    // A failed period keeps its mark for the next run; retrying the whole job would only repeat it.
    attempts: 1,
    handler: async (_d, ctx) => recomputeDirty(deps.db, {
      onReport: deps.onReport,
      onError: (m, e) => ctx.log.warn({ ...m, err: e.message }, 'imbalance: marked period not recomputed; kept for the next run'),
    }),
  });
  runner.schedule(RECOMPUTE_DIRTY_JOB, 'imbalance-dirty', { everyMs: deps.dirtyEveryMs ?? DEFAULT_DIRTY_EVERY_MS }, {})
    .catch((e: Error) => deps.logger.warn({ err: e.message }, 'imbalance: recompute of late readings\' periods not scheduled'));
  // Scheduling waits for Redis; start-up must not (Redis may be down now and come back later), so the
  // schedule is written in the background and a failure is logged.
  runner.schedule(RECOMPUTE_ALL_JOB, 'imbalance-nightly', { cron: deps.nightlyCron ?? '15 3 * * *' }, {})
    .catch((e: Error) => deps.logger.warn({ err: e.message }, 'imbalance: nightly recompute-all not scheduled'));
}

async function enqueueOne(runner: JobRunner, deps: ImbalanceDeps, d: RecomputeData, now: number): Promise<void> {
  const w = deps.coalesceMs ?? DEFAULT_COALESCE_MS;
  const window = Math.floor(now / w);
  const jobId = `imb.${d.buildingId}.${d.resource}.${d.kind}.${Date.parse(d.periodStart)}.w${window}`;
  await runner.enqueue(RECOMPUTE_JOB, d, { jobId, delay: (window + 1) * w - now });
}

async function enqueueMonths(runner: JobRunner, deps: ImbalanceDeps, affected: AffectedPeriod[]): Promise<number> {
  return enqueueAffected(runner, deps, affected, { withDays: false, widen: false });
}

/** How far a changed reading's neighbours are looked for (as far as the service looks beyond a bound). */
const NEIGHBOUR_DAYS = 45;

/**
 * A changed reading moves every bound interpolated across it, i.e. the bounds between its meter's
 * neighbouring readings: a manual reading on Jan 20 (neighbours Dec 20 and Feb 20) changes December's
 * end, January and February's start. The change names no meter, so the meters with readings in the
 * stretch are taken, and the stretch grows to their nearest readings outside it.
 */
export async function widenToNeighbours(db: Queryable, a: AffectedPeriod, from: Date, to: Date): Promise<{ lo: Date; hi: Date }> {
  const { rows } = await db.query(
    `SELECT min(p.prev) AS lo, max(n.next) AS hi FROM meters m
       CROSS JOIN LATERAL (SELECT max(time) AS prev FROM readings r
                            WHERE r.meter_id = m.id AND r.quantity = $5 AND r.time < $3 AND r.time >= $3::timestamptz - make_interval(days => $6)) p
       CROSS JOIN LATERAL (SELECT min(time) AS next FROM readings r
                            WHERE r.meter_id = m.id AND r.quantity = $5 AND r.time > $4 AND r.time <= $4::timestamptz + make_interval(days => $6)) n
      WHERE m.building_id = $1 AND m.resource = $2
        AND EXISTS (SELECT 1 FROM readings r WHERE r.meter_id = m.id AND r.quantity = $5 AND r.time >= $3 AND r.time <= $4)`,
    [a.buildingId, a.resource, from, to, registerQuantity(a.resource), NEIGHBOUR_DAYS]);
  const lo = rows[0]?.lo ? new Date(rows[0].lo) : from;
  const hi = rows[0]?.hi ? new Date(rows[0].hi) : to;
  return { lo: lo < from ? lo : from, hi: hi > to ? hi : to };
}

/** Each stretch maps to every period it touches (widened to the changed meters' neighbouring readings). */
async function enqueueAffected(runner: JobRunner, deps: ImbalanceDeps, affected: AffectedPeriod[], o: { withDays: boolean; widen: boolean }): Promise<number> {
  const keys = new Map<string, RecomputeData>();
  const telemetered = new Map<string, boolean>();
  for (const a of affected) {
    const from = a.from;
    const to = a.to < a.from ? a.from : a.to;
    const span = o.widen ? await widenToNeighbours(deps.db, a, from, to) : { lo: from, hi: to };
    // A reading exactly at a bound is also the end value of the period before: hence − 1 ms.
    const lo = new Date(span.lo.getTime() - 1);
    const kinds: PeriodKind[] = ['month'];
    if (o.withDays) {
      const k = `${a.buildingId}.${a.resource}`;
      if (!telemetered.has(k)) telemetered.set(k, await isTelemetered(deps.db, a.buildingId, a.resource));
      if (telemetered.get(k)) kinds.push('day');
    }
    for (const kind of kinds) {
      const max = kind === 'month' ? MAX_MONTHS : MAX_DAYS;
      const periods = await periodsBetween(deps.db, a.buildingId, kind, lo, span.hi, max);
      if (!periods) continue;
      if (periods.length > max) {
        deps.logger.warn({ ...a, kind }, `imbalance: change spans more than ${max} ${kind} periods; only the first ${max} are recomputed`);
      }
      for (const p of periods.slice(0, max)) {
        const d: RecomputeData = { buildingId: a.buildingId, resource: a.resource, kind, periodStart: p.start.toISOString() };
        keys.set(`${d.buildingId}.${d.resource}.${d.kind}.${d.periodStart}`, d);
      }
    }
  }
  const now = Date.now();
  for (const d of keys.values()) await enqueueOne(runner, deps, d, now);
  return keys.size;
}

/** Every apartment meter of the resource read remotely (and at least one): day reports apply. */
async function isTelemetered(db: Db, buildingId: number, resource: string): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT count(*) > 0 AND bool_and(remote_reading) AS t FROM meters
      WHERE building_id = $1 AND resource = $2 AND placement = 'apartment' AND status <> 'removed'`, [buildingId, resource]);
  return rows[0]?.t === true;
}

/** Enqueues recomputation of every month (and, for telemetered apartments, day) the changes touch. */
export async function enqueueImbalanceRecompute(runner: JobRunner, affected: AffectedPeriod[]): Promise<void> {
  const deps = defined.get(runner);
  if (!deps) throw new Error('enqueueImbalanceRecompute: call defineImbalanceJobs on this runner first');
  if (affected.length === 0) return;
  await enqueueAffected(runner, deps, affected, { withDays: true, widen: true });
}
