/**
 * Pure part of the validator: from what was loaded for a batch (meter facts, register history,
 * the reading rows to judge and the other quantities at the same instants) to one verdict per row.
 * No I/O here, so the assembly is testable without a database.
 */
import type { Resource } from '@amr/protocols';
import { validateReading, type HeatSample, type MeterFacts, type ReadingContext, type RegisterPoint, type ValidationResult, type ValidationSettings } from '../vee/index.js';

export interface MeterRow {
  id: number;
  buildingId: number;
  resource: Resource;
  placement: string;
  registerDigits: number | null;
  /** 'YYYY-MM-DD' */
  nextVerificationOn: string | null;
  remoteReading: boolean;
  /** Median spacing of the meter's recent telemetry, ms; null without telemetry. */
  pollMs: number | null;
}

/** One stored reading row (one version) of the register quantity at a target instant. */
export interface TargetRow {
  meterId: number;
  quantity: string;
  time: Date;
  /** The instant as the database printed it: the exact key for writing back (µs precision). */
  timeKey: string;
  version: number;
  value: number | null;
  quality: string[];
}

/** Values of the context quantities (current versions) at one instant. */
export type InstantValues = Partial<Record<ContextQuantity, number | null>>;
export const CONTEXT_QUANTITIES = ['volume_reverse_m3', 'volume_flow_m3h', 'error_flags', 'flow_temp_c', 'return_temp_c', 'energy_kwh', 'volume_m3'] as const;
export type ContextQuantity = (typeof CONTEXT_QUANTITIES)[number];

export interface Verdict extends ValidationResult {
  meterId: number;
  quantity: string;
  timeKey: string;
  version: number;
}

const FLOW_RESOURCES: ReadonlySet<string> = new Set(['heat', 'hot_water', 'cold_water', 'electricity']);

export function factsOf(m: MeterRow): MeterFacts {
  return {
    registerDigits: m.registerDigits,
    nextVerificationDate: m.nextVerificationOn ? new Date(`${m.nextVerificationOn}T00:00:00Z`) : null,
    // A building supply meter read remotely sees flow every interval; a flat register there is a fault.
    expectsContinuousFlow: m.placement === 'building' && FLOW_RESOURCES.has(m.resource) && m.pollMs !== null,
    pollIntervalMs: m.pollMs,
  };
}

const delta = (a: number | null | undefined, b: number | null | undefined): number | null => (a != null && b != null ? a - b : null);

/**
 * Reverse flow, error flags and heat physics at `cur`, deltas against the previous register instant;
 * a heat meter's samples over the heat window (oldest first, ending at `cur`).
 */
export function contextOf(resource: Resource, cur: InstantValues, prev: InstantValues | undefined, heatSamples: readonly HeatSample[] = []): ReadingContext {
  const ctx: ReadingContext = {
    reverseVolumeDelta: prev ? delta(cur.volume_reverse_m3, prev.volume_reverse_m3) : null,
    volumeFlowM3h: cur.volume_flow_m3h ?? null,
    errorFlags: cur.error_flags ?? null,
  };
  if (resource === 'heat') {
    ctx.heat = { flowTempC: cur.flow_temp_c ?? null, returnTempC: cur.return_temp_c ?? null, samples: heatSamples };
  }
  return ctx;
}

/** Index of the first point at or after `t` in a time-sorted series. */
export function lowerBound(points: readonly RegisterPoint[], t: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid].time.getTime() < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface JudgeInput {
  meters: ReadonlyMap<number, MeterRow>;
  /** Per meter: current, not-rejected register points, sorted by time. */
  history: ReadonlyMap<number, readonly RegisterPoint[]>;
  targets: readonly TargetRow[];
  /** Context values keyed by `${meterId}|${epoch ms}`. */
  context: ReadonlyMap<string, InstantValues>;
  settings: ValidationSettings;
}

export const instantKey = (meterId: number, t: Date | number): string => `${meterId}|${typeof t === 'number' ? t : t.getTime()}`;

/** How many earlier points the rules need (spike window + the interval before it, stuck run). */
export function historyDepth(s: ValidationSettings): number {
  return Math.max(s.spikeWindow + 1, s.stuckIntervals) + 1;
}

/** A heat meter's samples at its register instants within the heat window before `t`, and at `t`. */
export function heatSamples(meterId: number, before: readonly RegisterPoint[], t: Date, context: ReadonlyMap<string, InstantValues>, s: ValidationSettings): HeatSample[] {
  const times = [...before.filter((p) => t.getTime() - p.time.getTime() <= s.heatWindowMs).map((p) => p.time), t];
  return times.map((time) => {
    const v = context.get(instantKey(meterId, time)) ?? {};
    return { time, energyKwh: v.energy_kwh ?? null, volumeM3: v.volume_m3 ?? null, flowTempC: v.flow_temp_c ?? null, returnTempC: v.return_temp_c ?? null };
  });
}

export function judge(input: JudgeInput): Verdict[] {
  const out: Verdict[] = [];
  for (const row of input.targets) {
    const m = input.meters.get(row.meterId);
    if (!m) continue; // meter row gone: nothing to judge against (cannot happen with the FK)
    const base = { meterId: row.meterId, quantity: row.quantity, timeKey: row.timeKey, version: row.version };
    if (row.value === null || !Number.isFinite(row.value)) {
      out.push({ ...base, status: 'invalid', reasons: [{ code: 'meter_error', status: 'invalid', message: 'the meter reported the register without a usable value', details: { quality: row.quality } }] });
      continue;
    }
    const series = input.history.get(row.meterId) ?? [];
    const end = lowerBound(series, row.time.getTime());
    // The rules look back at most this far; slicing more would copy the batch's history per row.
    const before = series.slice(Math.max(0, end - historyDepth(input.settings)), end);
    const prev = before[before.length - 1];
    const cur = input.context.get(instantKey(row.meterId, row.time)) ?? {};
    const prevCtx = prev ? input.context.get(instantKey(row.meterId, prev.time)) ?? {} : undefined;
    const samples = m.resource === 'heat' ? heatSamples(row.meterId, before, row.time, input.context, input.settings) : [];
    const result = validateReading({ time: row.time, value: row.value, quality: row.quality }, before, factsOf(m), contextOf(m.resource, cur, prevCtx, samples), input.settings);
    out.push({ ...base, ...result });
  }
  return out;
}
