/**
 * One validator batch, inside one short transaction: take queued instants, load what the rules need
 * with a handful of set-based queries, judge, store verdicts, remove the queue rows.
 */
import type { Queryable } from '../db/index.js';
import type { AffectedPeriod } from '../imbalance/types.js';
import { primaryQuantity } from '../api/services/readings.js';
import type { ValidationSettings } from '../vee/index.js';
import { historyDepth, judge, predecessorOf, type MeterRow, type TargetRow, type Verdict } from './judge.js';
import { deleteQueue, loadContext, loadHistory, loadMeters, loadSuccessors, loadTargets, takeQueue, upsertVerdicts, type QueueEntry } from './load.js';

export interface BatchResult {
  /** Queue rows taken (and removed). */
  taken: QueueEntry[];
  verdicts: Verdict[];
  affected: AffectedPeriod[];
}

const entryKey = (e: QueueEntry) => `${e.meterId}|${e.timeKey}`;

export async function runBatch(q: Queryable, opts: { batchSize: number; skipMeters: readonly number[]; settings: ValidationSettings; onlyMeters?: readonly number[] }): Promise<BatchResult> {
  const taken = await takeQueue(q, opts.batchSize, opts.skipMeters, opts.onlyMeters);
  if (!taken.length) return { taken, verdicts: [], affected: [] };
  const verdicts = await validateInstants(q, taken, opts.settings);
  await deleteQueue(q, taken);
  return { taken, verdicts: verdicts.verdicts, affected: affectedPeriods(verdicts.targets, verdicts.meters) };
}

/** Judges every register row at `entries` and at the reading right after each; stores the verdicts. */
export async function validateInstants(q: Queryable, entries: readonly QueueEntry[], settings: ValidationSettings): Promise<{ verdicts: Verdict[]; targets: TargetRow[]; meters: Map<number, MeterRow> }> {
  const meters = await loadMeters(q, [...new Set(entries.map((e) => e.meterId))]);
  const known = entries.filter((e) => meters.has(e.meterId));
  const quantityOf = (id: number) => primaryQuantity(meters.get(id)!.resource);

  const seen = new Set(known.map(entryKey));
  const successors = (await loadSuccessors(q, known, quantityOf)).filter((s) => !seen.has(entryKey(s)));
  const targets = await loadTargets(q, [...known, ...successors], quantityOf);
  if (!targets.length) return { verdicts: [], targets, meters };

  // Per meter: history from `depth` instants before the earliest target up to the latest one.
  const span = new Map<number, { min: TargetRow; max: TargetRow }>();
  for (const t of targets) {
    const s = span.get(t.meterId);
    if (!s) span.set(t.meterId, { min: t, max: t });
    else {
      if (t.time < s.min.time) s.min = t;
      if (t.time > s.max.time) s.max = t;
    }
  }
  const history = await loadHistory(
    q,
    [...span].map(([meterId, s]) => ({ meterId, quantity: quantityOf(meterId), t0: s.min.timeKey, t1: s.max.timeKey })),
    historyDepth(settings),
  );

  // Context quantities at each target instant and at its predecessor (for deltas).
  const instants = new Map<string, { meterId: number; time: Date }>();
  for (const t of targets) {
    instants.set(`${t.meterId}|${t.time.getTime()}`, { meterId: t.meterId, time: t.time });
    const prev = predecessorOf(history.get(t.meterId), t.time);
    if (prev) instants.set(`${t.meterId}|${prev.time.getTime()}`, { meterId: t.meterId, time: prev.time });
  }
  const context = await loadContext(q, [...instants.values()]);

  const verdicts = judge({ meters, history, targets, context, settings });
  await upsertVerdicts(q, verdicts);
  return { verdicts, targets, meters };
}

/** One period per building × resource: from the earliest to the latest instant judged. */
export function affectedPeriods(targets: readonly TargetRow[], meters: ReadonlyMap<number, MeterRow>): AffectedPeriod[] {
  const by = new Map<string, AffectedPeriod>();
  for (const t of targets) {
    const m = meters.get(t.meterId);
    if (!m) continue;
    const key = `${m.buildingId}|${m.resource}`;
    const p = by.get(key);
    if (!p) by.set(key, { buildingId: m.buildingId, resource: m.resource, from: t.time, to: t.time });
    else {
      if (t.time < p.from) p.from = t.time;
      if (t.time > p.to) p.to = t.time;
    }
  }
  return [...by.values()];
}
