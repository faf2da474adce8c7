/**
 * Validation rules (VEE "V"): each rule is a pure function of the reading, the meter's recent history
 * and what we know about the meter; it returns a reason or nothing. `validateReading` runs them all
 * and takes the worst status. Thresholds come from ValidationSettings (per building/resource).
 */
import { consumptionBetween } from './register.js';
import type { MeterFacts, RegisterPoint, ValidationReason, ValidationResult, ValidationSettings, ValidationStatus } from './types.js';
import { DEFAULT_VALIDATION_SETTINGS } from './types.js';

/** Heat capacity of water used for the ΔT plausibility check, kWh per m³·K (at ~50–70 °C). */
export const WATER_HEAT_KWH_PER_M3K = 1.163;

export interface HeatContext {
  flowTempC?: number | null;
  returnTempC?: number | null;
  /** Over the same interval as the register reading being checked. */
  energyKwh?: number | null;
  volumeM3?: number | null;
  /** Mean ΔT over the interval, K; when absent, flow − return at read time is used. */
  meanDeltaTK?: number | null;
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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
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

/** Consumption rate far above the meter's own recent median rate. */
export function ruleSpike(cur: RegisterPoint, history: readonly RegisterPoint[], facts: MeterFacts, s: ValidationSettings): ValidationReason | null {
  if (history.length < 4) return null;
  const recent = history.slice(-(s.spikeWindow + 1));
  const rates: number[] = [];
  for (let i = 1; i < recent.length; i++) {
    const dt = recent[i].time.getTime() - recent[i - 1].time.getTime();
    const c = consumptionBetween(recent[i - 1], recent[i], facts);
    if (dt > 0 && !c.decreased) rates.push(c.consumption / dt);
  }
  if (rates.length < 3) return null;
  const prev = history[history.length - 1];
  const dt = cur.time.getTime() - prev.time.getTime();
  const c = consumptionBetween(prev, cur, facts);
  if (dt <= 0 || c.decreased) return null;
  const rate = c.consumption / dt;
  const med = median(rates);
  if (c.consumption > s.spikeMinAbsolute && rate > Math.max(med, 1e-12) * s.spikeFactor) {
    return { code: 'spike', status: 'suspect', message: `consumption ${round(c.consumption)} is ${med > 0 ? round(rate / med) + '×' : 'far above'} the recent median`, details: { consumption: c.consumption, ratio: med > 0 ? rate / med : null } };
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

/** Heat-meter physics: return hotter than flow; energy far from volume × ΔT × c. */
export function ruleHeatPhysics(ctx: ReadingContext, s: ValidationSettings): ValidationReason[] {
  const h = ctx.heat;
  if (!h) return [];
  const out: ValidationReason[] = [];
  if (h.flowTempC != null && h.returnTempC != null && h.returnTempC > h.flowTempC) {
    out.push({ code: 'return_hotter_than_flow', status: 'suspect', message: `return ${h.returnTempC} °C is hotter than flow ${h.flowTempC} °C`, details: { flowTempC: h.flowTempC, returnTempC: h.returnTempC } });
  }
  const dT = h.meanDeltaTK ?? (h.flowTempC != null && h.returnTempC != null ? h.flowTempC - h.returnTempC : null);
  if (dT != null && dT >= s.heatMinDeltaT && h.energyKwh != null && h.volumeM3 != null && h.volumeM3 > 0) {
    const expected = h.volumeM3 * dT * WATER_HEAT_KWH_PER_M3K;
    const rel = Math.abs(h.energyKwh - expected) / expected;
    if (rel > s.heatTolerance) {
      out.push({ code: 'heat_energy_mismatch', status: 'suspect', message: `energy ${round(h.energyKwh)} kWh vs ${round(expected)} kWh expected from volume and ΔT`, details: { energyKwh: h.energyKwh, expectedKwh: expected, relativeError: rel } });
    }
  }
  return out;
}

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
