/**
 * Estimation for gaps (VEE "E"): fills missing intervals of a cumulative register. A short gap is
 * linear in the register; a long one follows the meter's own historical profile (share of use per
 * hour of week), so a week without data isn't a flat line. Estimated points are marked, never
 * confused with measured ones, and always end exactly on the next real reading.
 */
import { toCumulative } from './register.js';
import type { MeterFacts, RegisterPoint } from './types.js';

export interface EstimatedPoint {
  time: Date;
  value: number;
  estimated: true;
  method: 'linear' | 'profile';
}

const HOUR = 3_600_000;
const WEEK_HOURS = 168;

/** Hour-of-week index (0 = Monday 00:00 UTC). */
function hourOfWeek(t: number): number {
  const d = new Date(t);
  return ((d.getUTCDay() + 6) % 7) * 24 + d.getUTCHours();
}

/** Average consumption rate per hour-of-week from a cumulative series; null where unknown. */
export function weeklyProfile(points: readonly RegisterPoint[], facts: MeterFacts = {}): Array<number | null> {
  const cum = toCumulative(points, facts);
  const sum = new Array<number>(WEEK_HOURS).fill(0);
  const hours = new Array<number>(WEEK_HOURS).fill(0);
  for (let i = 1; i < cum.length; i++) {
    const a = cum[i - 1];
    const b = cum[i];
    const dt = b.time.getTime() - a.time.getTime();
    if (dt <= 0 || dt > 6 * HOUR || b.decreased) continue; // only fine-grained, sane intervals
    const rate = (b.cumulative - a.cumulative) / dt;
    const h = hourOfWeek(a.time.getTime());
    sum[h] += rate * dt;
    hours[h] += dt;
  }
  return sum.map((s, i) => (hours[i] > 0 ? s / hours[i] : null));
}

/**
 * Points at every missing `intervalMs` step strictly between `a` and `b` (same register, no
 * decrease between them). `longGapMs`: from this length on, use the profile when it covers the gap.
 */
export function estimateGap(a: RegisterPoint, b: RegisterPoint, intervalMs: number, history: readonly RegisterPoint[] = [], longGapMs = 24 * HOUR, facts: MeterFacts = {}): EstimatedPoint[] {
  const t0 = a.time.getTime();
  const t1 = b.time.getTime();
  const steps: number[] = [];
  for (let t = t0 + intervalMs; t < t1; t += intervalMs) steps.push(t);
  if (steps.length === 0) return [];
  const total = b.value - a.value;
  const profile = t1 - t0 >= longGapMs ? weeklyProfile(history, facts) : null;
  const weightOf = (from: number, to: number): number | null => {
    if (!profile) return null;
    let w = 0;
    for (let t = from; t < to; t += HOUR) {
      const r = profile[hourOfWeek(t)];
      if (r === null) return null;
      w += r * Math.min(HOUR, to - t);
    }
    return w;
  };
  const whole = weightOf(t0, t1);
  if (whole !== null && whole > 0) {
    return steps.map((t) => ({ time: new Date(t), value: a.value + total * ((weightOf(t0, t) ?? 0) / whole), estimated: true, method: 'profile' }));
  }
  return steps.map((t) => ({ time: new Date(t), value: a.value + (total * (t - t0)) / (t1 - t0), estimated: true, method: 'linear' }));
}
