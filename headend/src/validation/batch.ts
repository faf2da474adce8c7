/**
 * One validator batch, inside one short transaction: take queued instants, load what the rules need
 * with a handful of set-based queries, judge, store verdicts, remove the queue rows.
 */
import { registerQuantity } from '@amr/protocols';
import type { Queryable } from '../db/index.js';
import type { AffectedPeriod } from '../imbalance/types.js';
import type { ValidationSettings } from '../vee/index.js';
import { historyDepth, judge, judgeArchive, lowerBound, type MeterRow, type TargetRow, type Verdict } from './judge.js';
import { ByMeter } from './by-meter.js';
import { deleteQueue, loadArchiveTargets, loadHistory, loadInstants, loadMeters, stillQueued, takeQueue, upsertVerdicts, type QueueEntry } from './load.js';

export interface BatchResult {
  /** Queue rows taken (and removed). */
  taken: QueueEntry[];
  verdicts: Verdict[];
  affected: AffectedPeriod[];
}

export async function runBatch(
  q: Queryable,
  opts: { batchSize: number; skipMeters: readonly number[]; settings: ValidationSettings; onlyMeters?: readonly number[]; /** The sweep's position: the queue is taken from the next meter on (takeQueue). */ after?: number },
): Promise<BatchResult> {
  const taken = await takeQueue(q, opts.batchSize, opts.skipMeters, opts.onlyMeters, opts.after);
  if (!taken.length) return { taken, verdicts: [], affected: [] };
  const verdicts = await validateInstants(q, taken, opts.settings);
  await deleteQueue(q, taken);
  return { taken, verdicts: verdicts.verdicts, affected: affectedPeriods(verdicts.targets, verdicts.meters) };
}

/**
 * Judges every register row at `entries` and at the reading right after each (its gap, spike and
 * decrease verdicts depend on its predecessor, which a late reading or a review just changed; the one
 * after that keeps its predecessor, so only one) unless that reading waits in the queue itself, and
 * the heat amount of every archive record at `entries` (its НС, judgeArchive). Stores the verdicts.
 */
export async function validateInstants(q: Queryable, entries: readonly QueueEntry[], settings: ValidationSettings): Promise<{ verdicts: Verdict[]; targets: TargetRow[]; meters: Map<number, MeterRow> }> {
  const meters = await loadMeters(q, [...new Set(entries.map((e) => e.meterId))]);
  const registerOf = (id: number) => registerQuantity(meters.get(id)!.resource);

  // Per meter: the span of queued instants; history reaches `depth` points before it and one after.
  const span = new Map<number, { min: QueueEntry; max: QueueEntry }>();
  for (const e of entries) {
    if (!meters.has(e.meterId)) continue;
    const s = span.get(e.meterId);
    if (!s) span.set(e.meterId, { min: e, max: e });
    else {
      if (e.time < s.min.time) s.min = e;
      if (e.time > s.max.time) s.max = e;
    }
  }
  if (!span.size) return { verdicts: [], targets: [], meters };
  const history = await loadHistory(
    q,
    [...span].map(([meterId, s]) => ({ meterId, quantity: registerOf(meterId), t0: s.min.timeKey, t1: s.max.timeKey })),
    historyDepth(settings),
  );

  // Instants to load: the queued ones, their successors, and the predecessors of both (for deltas).
  // Keyed per meter by the database's text of the instant (by-meter.ts: no key string per look-up).
  const queued = new ByMeter<string, true>();
  for (const e of entries) queued.set(e.meterId, e.timeKey, true);
  const successors = new ByMeter<string, { meterId: number; timeKey: string }>();
  const instants = new ByMeter<string, { meterId: number; timeKey: string; register: string }>();
  const add = (meterId: number, timeKey: string) => {
    if (!instants.has(meterId, timeKey)) instants.set(meterId, timeKey, { meterId, timeKey, register: registerOf(meterId) });
  };
  for (const e of entries) {
    if (!meters.has(e.meterId)) continue;
    add(e.meterId, e.timeKey);
    const pts = history.get(e.meterId) ?? [];
    const at = lowerBound(pts, e.time.getTime());
    const self = pts[at]?.timeKey === e.timeKey;
    if (at > 0) add(e.meterId, pts[at - 1].timeKey);
    // The next reading of the register, even when this instant's own row is rejected or missing.
    const next = pts[self ? at + 1 : at];
    if (next && !queued.has(e.meterId, next.timeKey)) {
      add(e.meterId, next.timeKey);
      successors.set(e.meterId, next.timeKey, { meterId: e.meterId, timeKey: next.timeKey });
      const before = pts[self ? at : at - 1];
      if (before) add(e.meterId, before.timeKey);
    }
  }
  // A successor still in the queue is judged by its own entry (in a later batch, after this one's
  // verdicts are stored), not twice.
  if (successors.size) {
    const waiting = await stillQueued(q, [...successors.values()]);
    for (const k of [...successors.values()]) if (waiting.has(k.meterId, k.timeKey)) successors.delete(k.meterId, k.timeKey);
  }
  const judged = (meterId: number, timeKey: string) => queued.has(meterId, timeKey) || successors.has(meterId, timeKey);
  // Heat meters: every register instant within the heat window before each instant judged, for the
  // energy vs volume × ΔT check over the window (heatSamples in judge.ts). The instant of a key from
  // the history, else from the queue (a map: not a scan of both per instant).
  const timeOf = new ByMeter<string, number>();
  for (const e of entries) timeOf.set(e.meterId, e.timeKey, e.time.getTime());
  for (const [meterId, pts] of history) {
    if (meters.get(meterId)!.resource !== 'heat') continue;
    for (const p of pts) timeOf.set(meterId, p.timeKey, p.time.getTime());
  }
  for (const i of [...instants.values()]) {
    if (meters.get(i.meterId)!.resource !== 'heat' || !judged(i.meterId, i.timeKey)) continue;
    const pts = history.get(i.meterId) ?? [];
    const t = timeOf.get(i.meterId, i.timeKey);
    if (t === undefined) continue;
    // Only the points judge() looks at: its `before` is the last historyDepth points, and the heat
    // samples are those within the window. The whole window instead made a batch cost quadratic in
    // a meter's instants per batch (a deep queue hands a batch hundreds of one meter's instants).
    const end = lowerBound(pts, t);
    for (let k = Math.max(lowerBound(pts, t - settings.heatWindowMs), end - historyDepth(settings)); k < end; k++) add(i.meterId, pts[k].timeKey);
  }
  const loaded = await loadInstants(q, [...instants.values()]);
  // Register rows at predecessor-only instants were loaded for context, not to be judged again.
  const targets = loaded.targets.filter((t) => judged(t.meterId, t.timeKey));
  // A queued instant that is an archive record's: its heat amount rows get the record's НС verdict
  // (neighbours do not change it, so only the queued instants).
  const archive = await loadArchiveTargets(q, entries.filter((e) => meters.has(e.meterId)));
  const verdicts = [...judge({ meters, history, targets, context: loaded.context, settings }), ...judgeArchive(archive)];
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
