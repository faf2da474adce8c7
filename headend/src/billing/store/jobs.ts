/**
 * Billing jobs: a late or corrected reading of a closed period books adjustment lines in the
 * next open period by itself. The validator reports the building × resource stretches it touched;
 * each month of the building they reach that is closed for its organisation gets a `billing.recalc`
 * job calling recalculateClosed (which adds nothing when nothing changed).
 *
 * A reading moves every month bound interpolated across it, i.e. the bounds between its meter's
 * neighbouring readings, so the stretch is widened to the neighbours first (as the imbalance jobs do).
 * Duplicates coalesce like `imbalance.recompute`: the job id is per building + month + tumbling window,
 * delayed to the window's end, so a burst of corrections is one recalculation, and a change arriving
 * while a run is active lands in a later window (a new id), hence another run.
 */
import { z } from 'zod';
import type { Logger } from 'pino';
import type { Database } from '../../db/types.js';
import type { JobRunner } from '../../jobs/index.js';
import type { AffectedPeriod } from '../../imbalance/types.js';
import { widenToNeighbours } from '../../imbalance/jobs.js';
import { periodsBetween } from '../../imbalance/periods.js';
import { recalculateClosed } from './service.js';
import { BillingError } from './inputs.js';

export interface BillingJobDeps {
  db: Database;
  logger: Logger;
  /** Coalescing window of recalculation jobs, ms (default 60 s). */
  coalesceMs?: number;
}

export const RECALC_JOB = 'billing.recalc';
export const RecalcData = z.object({
  buildingId: z.number().int().positive(),
  /** First day of the month, 'YYYY-MM-01'. */
  period: z.string().regex(/^\d{4}-\d{2}-01$/),
});
export type RecalcData = z.infer<typeof RecalcData>;

const DEFAULT_COALESCE_MS = 60_000;
const MAX_MONTHS = 120;

const defined = new WeakMap<JobRunner, BillingJobDeps>();

export async function defineBillingJobs(jobs: JobRunner, deps: BillingJobDeps): Promise<void> {
  defined.set(jobs, deps);
  jobs.define({
    name: RECALC_JOB,
    data: RecalcData,
    handler: async (d, ctx) => {
      if (!(await closedFor(deps.db, d.buildingId, d.period))) return { skipped: 'not_closed' };
      try {
        const r = await recalculateClosed(deps.db, d.buildingId, d.period);
        if (r.lines > 0) ctx.log.info({ ...d, ...r }, `billing: recalculation of ${d.period.slice(0, 7)} booked ${r.lines} adjustment line(s) in ${r.target.slice(0, 7)}`);
        return r;
      } catch (e) {
        // Settings missing (tariff, norm): retrying will not help; staff see it when they compute.
        if (e instanceof BillingError) {
          ctx.log.warn({ ...d, reason: e.code, err: e.message }, 'billing: recalculation skipped');
          return { skipped: e.code, message: e.message };
        }
        throw e;
      }
    },
  });
}

async function closedFor(db: Database, buildingId: number, period: string): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM billing_periods p JOIN buildings b ON b.org_id = p.org_id WHERE b.id = $1 AND p.period = $2 AND p.status = 'closed'`, [buildingId, period]);
  return rows.length > 0;
}

/** The stretch grown to the nearest readings outside it (the imbalance jobs' rule: bounds are interpolated across them). */
function widen(db: Database, a: AffectedPeriod): Promise<{ lo: Date; hi: Date }> {
  return widenToNeighbours(db, a, a.from, a.to < a.from ? a.from : a.to);
}

/** Closed months of the building's organisation among the local months overlapping [lo, hi]. */
async function closedMonths(db: Database, buildingId: number, lo: Date, hi: Date): Promise<string[]> {
  const months = await periodsBetween(db, buildingId, 'month', lo, hi, MAX_MONTHS);
  if (!months || months.length === 0) return [];
  const { rows } = await db.query<{ period: string }>(
    `SELECT to_char(p.period, 'YYYY-MM-DD') AS period FROM billing_periods p JOIN buildings b ON b.org_id = p.org_id
      WHERE b.id = $1 AND p.status = 'closed'
        AND p.period = ANY(SELECT (s AT TIME ZONE b.timezone)::date FROM unnest($2::timestamptz[]) s)
      ORDER BY p.period`,
    [buildingId, months.map((m) => m.start)]);
  return rows.map((r) => r.period);
}

/** Enqueues a coalesced recalculation of every closed month the changes reach. */
export async function enqueueBillingRecalc(jobs: JobRunner, affected: AffectedPeriod[]): Promise<void> {
  const deps = defined.get(jobs);
  if (!deps) throw new Error('enqueueBillingRecalc: call defineBillingJobs on this runner first');
  const keys = new Map<string, RecalcData>();
  // The validator calls this after every batch, and most buildings have no closed month yet (or the
  // batch is today's telemetry): one indexed look first keeps the single embedded connection free.
  const buildings = [...new Set(affected.map((a) => a.buildingId))];
  const { rows: withClosed } = await deps.db.query<{ id: string }>(
    `SELECT DISTINCT b.id FROM buildings b JOIN billing_periods p ON p.org_id = b.org_id AND p.status = 'closed' WHERE b.id = ANY($1::bigint[])`, [buildings]);
  const closedSomewhere = new Set(withClosed.map((r) => Number(r.id)));
  for (const a of affected) {
    if (!closedSomewhere.has(a.buildingId)) continue;
    const span = await widen(deps.db, a);
    // A reading exactly at a bound is also the end value of the month before: hence − 1 ms.
    for (const period of await closedMonths(deps.db, a.buildingId, new Date(span.lo.getTime() - 1), span.hi)) {
      keys.set(`${a.buildingId}.${period}`, { buildingId: a.buildingId, period });
    }
  }
  const w = deps.coalesceMs ?? DEFAULT_COALESCE_MS;
  const now = Date.now();
  const window = Math.floor(now / w);
  for (const d of keys.values()) {
    await jobs.enqueue(RECALC_JOB, d, { jobId: `bill.${d.buildingId}.${d.period}.w${window}`, delay: (window + 1) * w - now });
  }
}
