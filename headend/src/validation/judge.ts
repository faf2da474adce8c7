/**
 * Pure part of the validator: from what was loaded for a batch (meter facts, register history,
 * the reading rows to judge and the other quantities at the same instants) to one verdict per row.
 * No I/O here, so the assembly is testable without a database.
 */
import type { Resource } from '@amr/protocols';
import { ByMeter } from './by-meter.js';
import { nsReasons, REASON_TEXT_RU, type NsReason } from '../heat/ns.js';
import { validateReading, type HeatSample, type MeterFacts, type ReadingContext, type RegisterPoint, type ValidationReason, type ValidationResult, type ValidationSettings, type ValidationStatus } from '../vee/index.js';

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
  /** Context values by meter and instant (epoch ms). */
  context: Context;
  settings: ValidationSettings;
}

/** What each meter measured at each instant (epoch ms): the context quantities' current versions. */
export type Context = ByMeter<number, InstantValues>;

/** How many earlier points the rules need (spike window + the interval before it, stuck run). */
export function historyDepth(s: ValidationSettings): number {
  return Math.max(s.spikeWindow + 1, s.stuckIntervals) + 1;
}

/** A heat meter's samples at its register instants within the heat window before `t`, and at `t`. */
export function heatSamples(meterId: number, before: readonly RegisterPoint[], t: Date, context: Context, s: ValidationSettings): HeatSample[] {
  const out: HeatSample[] = [];
  const sample = (time: Date) => {
    const v = context.get(meterId, time.getTime());
    out.push({ time, energyKwh: v?.energy_kwh ?? null, volumeM3: v?.volume_m3 ?? null, flowTempC: v?.flow_temp_c ?? null, returnTempC: v?.return_temp_c ?? null });
  };
  const tMs = t.getTime();
  for (const p of before) if (tMs - p.time.getTime() <= s.heatWindowMs) sample(p.time);
  sample(t);
  return out;
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
    const cur = input.context.get(row.meterId, row.time.getTime()) ?? {};
    const prevCtx = prev ? input.context.get(row.meterId, prev.time.getTime()) ?? {} : undefined;
    const samples = m.resource === 'heat' ? heatSamples(row.meterId, before, row.time, input.context, input.settings) : [];
    const result = validateReading({ time: row.time, value: row.value, quality: row.quality }, before, factsOf(m), contextOf(m.resource, cur, prevCtx, samples), input.settings);
    out.push({ ...base, ...result });
  }
  return out;
}

/**
 * One row (version) of an archive record's heat amount (`energy_delta_kwh` of an hourly record,
 * `energy_day_kwh` of a daily one) with what meter_archive_ns and the record's own values say of it.
 */
export interface ArchiveTarget extends TargetRow {
  kind: 'hourly' | 'daily';
  /** The record's interval, seconds. */
  seconds: number;
  /** The meter's НС codes for the interval (register map names). */
  codes: string[];
  /** Тр and Тнс of the record (current versions), seconds; null when not reported. */
  workingSeconds: number | null;
  nsSeconds: number | null;
}

/**
 * The status of one НС reason (validation README, reason table): the meter counted nothing in the
 * interval (power off and Тр = 0) → invalid, its Q is no measurement of the interval; every other НС
 * → suspect: the calculator counted the НС time by its substitutes (Δt, flow, sensor), or counted part
 * of the interval (power off for a part), which the statement accepts or completes (heat/ns.ts
 * accountedHeat) — an engineer looks at it.
 */
export function nsStatus(r: NsReason, t: Pick<ArchiveTarget, 'workingSeconds'>): ValidationStatus {
  return r.code === 'ns_power_off' && t.workingSeconds === 0 ? 'invalid' : 'suspect';
}

const WORST: Record<ValidationStatus, number> = { valid: 0, suspect: 1, invalid: 2 };

/**
 * Verdicts of archive records' heat rows: the record's НС reasons, by the one НС judge (heat/ns.ts
 * nsReasons), each with its status (nsStatus); no reason → valid. The register rules (spike, gap, …)
 * do not apply: a record's amount is no register.
 */
export function judgeArchive(targets: readonly ArchiveTarget[]): Verdict[] {
  return targets.map((t) => {
    const found = nsReasons({ startMs: t.time.getTime(), seconds: t.seconds, codes: t.codes, workingSeconds: t.workingSeconds, nsSeconds: t.nsSeconds, energyKwh: t.value });
    const reasons: ValidationReason[] = found.map((r) => ({
      code: r.code,
      status: nsStatus(r, t),
      message: `${REASON_TEXT_RU[r.code]}${r.seconds !== undefined ? `: ${r.seconds} s of the ${t.kind} record` : ` (meter code ${r.meterCode})`}`,
      details: { kind: t.kind, from: r.from, ...(r.meterCode !== undefined ? { meterCode: r.meterCode } : {}), ...(r.seconds !== undefined ? { seconds: r.seconds } : {}), workingSeconds: t.workingSeconds, nsSeconds: t.nsSeconds },
    }));
    const status = reasons.reduce<ValidationStatus>((s, r) => (WORST[r.status] > WORST[s] ? r.status : s), 'valid');
    return { meterId: t.meterId, quantity: t.quantity, timeKey: t.timeKey, version: t.version, status, reasons };
  });
}
