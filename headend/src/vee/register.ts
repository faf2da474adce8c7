/**
 * Cumulative-register arithmetic: consumption between two readings across rollover and meter
 * replacement. The domain's trap: a removal reading lower than the last one "looks like" a rollover —
 * we never guess that; a decrease is only a rollover when the register digits make it plausible.
 */
import type { MeterFacts, RegisterPoint, Replacement } from './types.js';

export type ConsumptionVia = 'plain' | 'rollover' | 'replacement';

export interface IntervalConsumption {
  consumption: number;
  via: ConsumptionVia;
  /** Set when the register went down and neither rollover nor replacement explains it. */
  decreased: boolean;
}

export function registerModulus(registerDigits: number | null | undefined): number | null {
  return registerDigits && registerDigits > 0 ? 10 ** registerDigits : null;
}

/**
 * A decrease is read as a rollover only if the wrapped consumption is small against the register's
 * range (the previous value was near the top). Otherwise it's a real decrease and goes to validation.
 */
export const ROLLOVER_MAX_SHARE = 0.1;
/**
 * …and, when the meter's usual monthly consumption is known, at most this many times it per month
 * elapsed (at least one month): 5 000 → 10 on a 5-digit register is 95 010 m³ "if it rolled over",
 * absurd for a flat using 5 m³ a month, so it is a fault or an unrecorded replacement, not consumption.
 */
export const ROLLOVER_MAX_USUAL_FACTOR = 10;
const MONTH_MS = 30.4375 * 86_400_000;

/**
 * The one rollover rule (validation, billing, imbalance and collection all call it): the consumption
 * of a register with `registerDigits` digits that went from `prev` down to `cur`, or null when
 * reading the drop as a wrap past 10^N is not plausible.
 */
export function rolloverConsumption(prev: number, cur: number, registerDigits: number | null | undefined, usualMonthly?: number | null, elapsedMs?: number): number | null {
  const modulus = registerModulus(registerDigits);
  if (modulus === null || cur >= prev) return null;
  const wrapped = modulus - prev + cur;
  if (wrapped < 0 || wrapped > modulus * ROLLOVER_MAX_SHARE) return null;
  if (usualMonthly != null && usualMonthly > 0) {
    const months = Math.max(1, (elapsedMs ?? 0) / MONTH_MS);
    if (wrapped > usualMonthly * ROLLOVER_MAX_USUAL_FACTOR * months) return null;
  }
  return wrapped;
}

const NONE: Replacement[] = [];

function replacementsBetween(facts: MeterFacts, from: Date, to: Date): Replacement[] {
  // Most meters were never replaced: the validator asks this about a hundred intervals per reading.
  if (!facts.replacements?.length) return NONE;
  return facts.replacements
    .filter((r) => r.time > from && r.time <= to)
    .sort((a, b) => a.time.getTime() - b.time.getTime());
}

function simpleDelta(prev: number, cur: number, facts: MeterFacts, elapsedMs: number): IntervalConsumption {
  if (cur >= prev) return { consumption: cur - prev, via: 'plain', decreased: false };
  const wrapped = rolloverConsumption(prev, cur, facts.registerDigits, facts.usualMonthlyConsumption, elapsedMs);
  if (wrapped !== null) return { consumption: wrapped, via: 'rollover', decreased: false };
  return { consumption: cur - prev, via: 'plain', decreased: true };
}

/** Consumption from `prev` to `cur` of one metering point (whatever meter stood there). */
export function consumptionBetween(prev: RegisterPoint, cur: RegisterPoint, facts: MeterFacts = {}): IntervalConsumption {
  const reps = replacementsBetween(facts, prev.time, cur.time);
  if (reps.length === 0) return simpleDelta(prev.value, cur.value, facts, cur.time.getTime() - prev.time.getTime());
  let total = 0;
  let decreased = false;
  let start = prev.value;
  let from = prev.time.getTime();
  for (const r of reps) {
    const part = simpleDelta(start, r.removalReading, facts, r.time.getTime() - from);
    total += part.consumption;
    decreased ||= part.decreased;
    start = r.installationReading;
    from = r.time.getTime();
  }
  const last = simpleDelta(start, cur.value, facts, cur.time.getTime() - from);
  return { consumption: total + last.consumption, via: 'replacement', decreased: decreased || last.decreased };
}

/**
 * Turns a register series (sorted by time) into a continuous "consumed since the first point"
 * series, so interpolation works across rollover and replacement.
 */
export function toCumulative(points: readonly RegisterPoint[], facts: MeterFacts = {}): Array<{ time: Date; cumulative: number; decreased: boolean }> {
  const out: Array<{ time: Date; cumulative: number; decreased: boolean }> = [];
  let acc = 0;
  points.forEach((p, i) => {
    if (i === 0) {
      out.push({ time: p.time, cumulative: 0, decreased: false });
      return;
    }
    const c = consumptionBetween(points[i - 1], p, facts);
    acc += c.consumption;
    out.push({ time: p.time, cumulative: acc, decreased: c.decreased });
  });
  return out;
}
