/**
 * Validation rules (VEE "V"): each rule is a pure function of the reading, the meter's recent history
 * and what we know about the meter; it returns a reason or nothing. `validateReading` runs them all
 * and takes the worst status. Thresholds come from ValidationSettings (per building/resource).
 */
import { HEAT_TEMP_RANGE_C, heatCoefficientKwhM3K } from '@amr/protocols';
import { consumptionBetween } from './register.js';
import type { MeterFacts, RegisterPoint, ValidationReason, ValidationResult, ValidationSettings, ValidationStatus } from './types.js';
import { DEFAULT_VALIDATION_SETTINGS } from './types.js';

/** What a heat meter showed at one instant: its two registers and the two temperatures. */
export interface HeatSample {
  time: Date;
  energyKwh: number | null;
  volumeM3: number | null;
  flowTempC: number | null;
  returnTempC: number | null;
}

export interface HeatContext {
  flowTempC?: number | null;
  returnTempC?: number | null;
  /**
   * The meter's samples over the recent window (`heatWindowMs`), oldest first, the last one at the
   * reading being judged: energy is compared with volume × ΔT over the whole window, not one poll
   * interval, so register resolution (1 kWh, 0.01 m³) does not dominate.
   */
  samples?: readonly HeatSample[];
}

export interface ReadingContext {
  meterTime?: Date | null;
  gatewayTime?: Date | null;
  /** Reverse-flow volume register increase over the interval (m³), when the meter has one. */
  reverseVolumeDelta?: number | null;
  /** Instantaneous volume flow at read time (m³/h); negative = the meter sees water going backwards. */
  volumeFlowM3h?: number | null;
  /** Meter error bit field (error_flags quantity), 0 = none. */
  errorFlags?: number | null;
  heat?: HeatContext;
}

const rank: Record<ValidationStatus, number> = { valid: 0, suspect: 1, invalid: 2 };

export function worstStatus(reasons: readonly ValidationReason[]): ValidationStatus {
  return reasons.reduce<ValidationStatus>((w, r) => (rank[r.status] > rank[w] ? r.status : w), 'valid');
}

/** Register went down: rollover (suspect, to confirm) vs replacement (fine) vs real decrease (invalid). */
export function ruleRegisterDecreased(cur: RegisterPoint, prev: RegisterPoint | undefined, facts: MeterFacts): ValidationReason | null {
  if (!prev) return null;
  const c = consumptionBetween(prev, cur, facts);
  if (c.decreased) {
    return { code: 'register_decreased', status: 'invalid', message: `register decreased from ${prev.value} to ${cur.value}`, details: { previous: prev.value, current: cur.value } };
  }
  if (c.via === 'rollover') {
    return { code: 'rollover', status: 'suspect', message: `register passed zero (${prev.value} → ${cur.value}); consumption ${c.consumption} if it rolled over`, details: { consumption: c.consumption } };
  }
  return null;
}

/**
 * Consumption far above what the meter usually does in an interval this long. "Usually" is the larger
 * of its mean rate over the window and its 90th-percentile interval rate — not the median of interval
 * rates: with a daily profile and a quantised register (10 L pulses) most night intervals show nothing,
 * the median is 0 and any morning shower would be a "spike"; and a mean alone sinks after a day or two
 * away from home, making the first ordinary evening a "spike". The window must span a day (or a full
 * spikeWindow) so the daily peak is in it, and the interval may carry one register digit more than it
 * used (the digit it was just short of).
 */
export function ruleSpike(cur: RegisterPoint, history: readonly RegisterPoint[], facts: MeterFacts, s: ValidationSettings): ValidationReason | null {
  if (history.length < 4) return null;
  const recent = history.slice(-(s.spikeWindow + 1));
  let used = 0;
  let span = 0;
  const rates: number[] = [];
  for (let i = 1; i < recent.length; i++) {
    const dt = recent[i].time.getTime() - recent[i - 1].time.getTime();
    const c = consumptionBetween(recent[i - 1], recent[i], facts);
    if (dt > 0 && !c.decreased) {
      used += c.consumption;
      span += dt;
      rates.push(c.consumption / dt);
    }
  }
  if (rates.length < 3 || (span < s.spikeBaselineMs && rates.length < s.spikeWindow)) return null;
  const prev = history[history.length - 1];
  const dt = cur.time.getTime() - prev.time.getTime();
  const c = consumptionBetween(prev, cur, facts);
  if (dt <= 0 || c.decreased) return null;
  // A typed array sorts numbers natively: a comparator function per comparison was a tenth of the rule.
  const sorted = Float64Array.from(rates).sort();
  const busy = sorted[Math.ceil(0.9 * sorted.length) - 1]; // nearest-rank 90th percentile
  const resolution = registerResolution([...recent.map((p) => p.value), cur.value]);
  const usual = Math.max(used / span, busy) * dt;
  if (c.consumption > s.spikeMinAbsolute && c.consumption - resolution > Math.max(usual, 1e-12) * s.spikeFactor) {
    return { code: 'spike', status: 'suspect', message: `consumption ${round(c.consumption)} is ${usual > 0 ? round(c.consumption / usual) + '×' : 'far above'} the usual for ${round(dt / 3_600_000)} h`, details: { consumption: c.consumption, usual, ratio: usual > 0 ? c.consumption / usual : null, resolution } };
  }
  return null;
}

/** Missing intervals before this reading (telemetry only). */
export function ruleGap(cur: RegisterPoint, prev: RegisterPoint | undefined, facts: MeterFacts, s: ValidationSettings): ValidationReason | null {
  if (!prev || !facts.pollIntervalMs) return null;
  const dt = cur.time.getTime() - prev.time.getTime();
  if (dt > facts.pollIntervalMs * s.gapFactor) {
    const missing = Math.round(dt / facts.pollIntervalMs) - 1;
    return { code: 'gap', status: 'suspect', message: `${missing} interval(s) missing before this reading`, details: { missingIntervals: missing, from: prev.time.toISOString(), to: cur.time.toISOString() } };
  }
  return null;
}

/**
 * No movement where movement is expected. A building supply meter: unchanged for `stuckIntervals`
 * readings. A meter without continuous flow (an apartment's): unchanged for `stuckIdleMs` although it
 * moved in the same span before, so a flat that was never used is not flagged but one that stopped is.
 */
export function ruleStuck(cur: RegisterPoint, history: readonly RegisterPoint[], facts: MeterFacts, s: ValidationSettings): ValidationReason | null {
  if (facts.expectsContinuousFlow) {
    if (history.length < s.stuckIntervals) return null;
    const window = [...history.slice(-s.stuckIntervals), cur];
    if (window.every((p) => p.value === cur.value)) {
      return { code: 'stuck_register', status: 'suspect', message: `register unchanged at ${cur.value} for ${s.stuckIntervals} intervals where flow is expected`, details: { since: window[0].time.toISOString() } };
    }
    return null;
  }
  let k = history.length;
  while (k > 0 && history[k - 1].value === cur.value) k--;
  if (k === history.length || k === 0) return null; // moved just now, or flat for all we know
  const flatSince = history[k].time.getTime();
  const idle = cur.time.getTime() - flatSince;
  if (idle < s.stuckIdleMs) return null;
  // Consumption in the same span before the flat stretch.
  const before = history.slice(0, k).filter((p) => p.time.getTime() >= flatSince - idle);
  const first = before[0] ?? history[k - 1];
  const moved = consumptionBetween(first, history[k - 1], facts);
  if (moved.decreased || moved.consumption <= s.spikeMinAbsolute) return null;
  return {
    code: 'stuck_register', status: 'suspect',
    message: `register unchanged at ${cur.value} for ${round(idle / 3_600_000)} h after ${round(moved.consumption)} consumed in the same span before`,
    details: { since: new Date(flatSince).toISOString(), idleHours: idle / 3_600_000, consumedBefore: moved.consumption },
  };
}

/** Reverse flow: a reverse-volume register that grew, or a negative flow rate at read time. */
export function ruleReverseFlow(ctx: ReadingContext): ValidationReason | null {
  if (ctx.reverseVolumeDelta != null && ctx.reverseVolumeDelta > 0) {
    return { code: 'reverse_flow', status: 'suspect', message: `reverse flow of ${round(ctx.reverseVolumeDelta)} m³`, details: { reverseVolume: ctx.reverseVolumeDelta } };
  }
  if (ctx.volumeFlowM3h != null && ctx.volumeFlowM3h < 0) {
    return { code: 'reverse_flow', status: 'suspect', message: `flow ${round(ctx.volumeFlowM3h)} m³/h runs backwards`, details: { flowM3h: ctx.volumeFlowM3h } };
  }
  return null;
}

export function ruleMeterError(cur: RegisterPoint, ctx: ReadingContext): ValidationReason | null {
  const q = cur.quality ?? [];
  if (q.includes('meter_error') || (ctx.errorFlags != null && ctx.errorFlags !== 0)) {
    return { code: 'meter_error', status: 'suspect', message: 'the meter reports an error', details: { errorFlags: ctx.errorFlags ?? null, quality: q } };
  }
  if (q.includes('value_overflow')) {
    return { code: 'meter_error', status: 'invalid', message: 'the meter marks the value as overflowed', details: { quality: q } };
  }
  return null;
}

export function ruleVerificationExpired(cur: RegisterPoint, facts: MeterFacts): ValidationReason | null {
  if (facts.nextVerificationDate && cur.time >= facts.nextVerificationDate) {
    return { code: 'verification_expired', status: 'suspect', message: `verification expired on ${facts.nextVerificationDate.toISOString().slice(0, 10)}`, details: { nextVerificationDate: facts.nextVerificationDate.toISOString() } };
  }
  return null;
}

export function ruleClock(cur: RegisterPoint, ctx: ReadingContext, s: ValidationSettings): ValidationReason | null {
  const q = cur.quality ?? [];
  if (ctx.meterTime && ctx.gatewayTime) {
    const off = ctx.meterTime.getTime() - ctx.gatewayTime.getTime();
    if (Math.abs(off) > s.clockToleranceMs) return { code: 'clock_far_off', status: 'suspect', message: `meter clock off by ${Math.round(off / 1000)} s`, details: { offsetMs: off } };
    return null;
  }
  if (q.includes('clock_far_off') || q.includes('clock_unset')) return { code: 'clock_far_off', status: 'suspect', message: 'meter clock unset or far off', details: { quality: q } };
  return null;
}

/** Heat-meter physics: return hotter than flow; energy outside what volume × k × ΔT allows. */
export function ruleHeatPhysics(ctx: ReadingContext, s: ValidationSettings): ValidationReason[] {
  const h = ctx.heat;
  if (!h) return [];
  const out: ValidationReason[] = [];
  if (h.flowTempC != null && h.returnTempC != null && h.returnTempC > h.flowTempC) {
    out.push({ code: 'return_hotter_than_flow', status: 'suspect', message: `return ${h.returnTempC} °C is hotter than flow ${h.flowTempC} °C`, details: { flowTempC: h.flowTempC, returnTempC: h.returnTempC } });
  }
  const m = heatEnergyCheck(h.samples ?? [], s);
  if (m && !m.consistent) {
    out.push({
      code: 'heat_energy_mismatch', status: 'suspect',
      message: `energy ${round(m.energyKwh)} kWh over ${round(m.hours)} h, but volume ${round(m.volumeM3)} m³ at ΔT ${round(m.minDeltaTK)}…${round(m.maxDeltaTK)} K allows ${round(m.allowedMinKwh)}…${round(m.allowedMaxKwh)} kWh`,
      details: { ...m },
    });
  }
  return out;
}

export interface HeatEnergyCheck {
  from: string;
  to: string;
  hours: number;
  energyKwh: number;
  volumeM3: number;
  minDeltaTK: number;
  maxDeltaTK: number;
  /** Energy the volume and temperatures imply, before tolerances (lower and upper bound). */
  expectedMinKwh: number;
  expectedMaxKwh: number;
  /** …after the accuracy class and the registers' resolution. */
  allowedMinKwh: number;
  allowedMaxKwh: number;
  energyResolutionKwh: number;
  volumeResolutionM3: number;
  consistent: boolean;
}

/** Smallest decimal step among register values (1 for whole kWh, 0.01 for a 2-decimal volume). */
export function registerResolution(values: readonly number[]): number {
  let decimals = 0;
  for (const v of values) decimals = Math.max(decimals, decimalsOf(v));
  return 10 ** -decimals;
}

/**
 * Decimal places of a register value, float noise aside. Remembered per value: the validator asks
 * for each reading once per rule window it falls in (tens of times per batch), and the string work
 * was a tenth of a batch. Bounded: cleared when full.
 */
const decimalsSeen = new Map<number, number>();
function decimalsOf(v: number): number {
  if (Number.isInteger(v)) return 0;
  let d = decimalsSeen.get(v);
  if (d === undefined) {
    const t = String(Number(v.toPrecision(12)));
    const e = /e-(\d+)$/.exec(t);
    d = e ? Number(e[1]) : (t.split('.')[1]?.length ?? 0);
    if (decimalsSeen.size >= 10_000) decimalsSeen.clear();
    decimalsSeen.set(v, d);
  }
  return d;
}

/**
 * Is the energy register's increase over the window what the volume and temperatures allow?
 * A heat meter integrates Q = ∫ k(θ1, θ2) · (θ1 − θ2) dV; we see only samples, so each interval
 * between two samples is bounded by its lower and higher ΔT and by k with the flow sensor in either
 * pipe. Then the accuracy class (`heatTolerance`) and ±1 digit of each register at each end widen the
 * bounds. Intervals where a register went down (reverse flow, replacement, rollover) end the window:
 * other rules speak about those. Null when there is too little to judge.
 */
export function heatEnergyCheck(samples: readonly HeatSample[], s: ValidationSettings): HeatEnergyCheck | null {
  const cur = samples[samples.length - 1];
  if (!cur || !complete(cur) || cur.flowTempC! - cur.returnTempC! < s.heatMinDeltaT) return null;
  const window: HeatSample[] = [cur];
  for (let i = samples.length - 2; i >= 0; i--) {
    const p = samples[i];
    const next = window[0];
    if (!complete(p) || cur.time.getTime() - p.time.getTime() > s.heatWindowMs) break;
    if (next.energyKwh! < p.energyKwh! || next.volumeM3! < p.volumeM3!) break;
    window.unshift(p);
  }
  if (window.length < 2) return null;
  let lo = 0;
  let hi = 0;
  let minDT = Infinity;
  let maxDT = -Infinity;
  let maxK = 0;
  for (let i = 1; i < window.length; i++) {
    const a = window[i - 1];
    const b = window[i];
    const dV = b.volumeM3! - a.volumeM3!;
    const dts = [a.flowTempC! - a.returnTempC!, b.flowTempC! - b.returnTempC!].map((x) => Math.max(0, x));
    const ks = [a, b].flatMap((x) => kBounds(x));
    const kLo = Math.min(...ks);
    const kHi = Math.max(...ks);
    lo += dV * kLo * Math.min(...dts);
    hi += dV * kHi * Math.max(...dts);
    minDT = Math.min(minDT, ...dts);
    maxDT = Math.max(maxDT, ...dts);
    maxK = Math.max(maxK, kHi);
  }
  const first = window[0];
  const energy = cur.energyKwh! - first.energyKwh!;
  const volume = cur.volumeM3! - first.volumeM3!;
  const rE = registerResolution(window.map((x) => x.energyKwh!));
  const rV = registerResolution(window.map((x) => x.volumeM3!));
  // Each register may be up to one digit short at either end: the energy difference is known to ±rE,
  // and the volume difference to ±rV, which is worth up to k × ΔT × rV of energy.
  const slack = rE + maxK * maxDT * rV;
  const allowedMin = lo * (1 - s.heatTolerance) - slack;
  const allowedMax = hi * (1 + s.heatTolerance) + slack;
  return {
    from: first.time.toISOString(), to: cur.time.toISOString(), hours: (cur.time.getTime() - first.time.getTime()) / 3_600_000,
    energyKwh: energy, volumeM3: volume, minDeltaTK: minDT, maxDeltaTK: maxDT,
    expectedMinKwh: lo, expectedMaxKwh: hi, allowedMinKwh: allowedMin, allowedMaxKwh: allowedMax,
    energyResolutionKwh: rE, volumeResolutionM3: rV,
    consistent: energy >= allowedMin && energy <= allowedMax,
  };
}

const complete = (x: HeatSample) => x.energyKwh != null && x.volumeM3 != null && x.flowTempC != null && x.returnTempC != null;

/** k with the flow sensor in the flow or in the return pipe; nothing outside the tabulated range. */
function kBounds(x: HeatSample): number[] {
  const f = clampTemp(x.flowTempC!);
  const r = clampTemp(x.returnTempC!);
  if (f <= r) return [heatCoefficientKwhM3K(f, f, f)];
  return [heatCoefficientKwhM3K(f, r, f), heatCoefficientKwhM3K(f, r, r)];
}
const clampTemp = (t: number) => Math.min(HEAT_TEMP_RANGE_C.max, Math.max(HEAT_TEMP_RANGE_C.min, t));

/**
 * Runs every rule. `history` holds the meter's earlier readings of the same register, sorted by
 * time, all before `cur`.
 */
export function validateReading(
  cur: RegisterPoint,
  history: readonly RegisterPoint[],
  facts: MeterFacts = {},
  ctx: ReadingContext = {},
  settings: ValidationSettings = DEFAULT_VALIDATION_SETTINGS,
): ValidationResult {
  const prev = history[history.length - 1];
  const reasons = [
    ruleRegisterDecreased(cur, prev, facts),
    ruleSpike(cur, history, facts, settings),
    ruleGap(cur, prev, facts, settings),
    ruleStuck(cur, history, facts, settings),
    ruleReverseFlow(ctx),
    ruleMeterError(cur, ctx),
    ruleVerificationExpired(cur, facts),
    ruleClock(cur, ctx, settings),
    ...ruleHeatPhysics(ctx, settings),
  ].filter((r): r is ValidationReason => r !== null);
  if ((cur.quality ?? []).includes('estimated')) reasons.push({ code: 'estimated', status: 'suspect', message: 'the meter marks this value as estimated' });
  return { status: worstStatus(reasons), reasons };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
