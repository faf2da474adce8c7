/**
 * Period alignment: a meter's register value at an instant and its consumption over a reporting
 * period [start, end), from irregular readings. Telemetry is interpolated to the bounds; a bound
 * outside the data is extrapolated from the recent rate only within a limit (then it is "estimated"),
 * beyond that there is no value. The method is reported with every number so an estimate is never
 * mistaken for a measurement.
 */
import { toCumulative } from './register.js';
import type { MeterFacts, RegisterPoint } from './types.js';

export type ValueMethod = 'measured' | 'interpolated' | 'estimated' | 'substituted';

/** Расчётный период: [start, end). */
export interface ReadingPeriod {
  start: Date;
  end: Date;
}

export interface AlignOptions {
  /** How far past the last (or before the first) reading a bound may be extrapolated. */
  maxExtrapolationMs?: number;
  /** Window of history the extrapolation rate is taken from. */
  rateWindowMs?: number;
}

const DAY = 86_400_000;
const DEFAULTS: Required<AlignOptions> = { maxExtrapolationMs: 3 * DAY, rateWindowMs: 14 * DAY };

export interface AlignedValue {
  /** Consumed since the series' first point (rollover and replacement resolved). */
  cumulative: number;
  method: ValueMethod;
}

const rank: Record<ValueMethod, number> = { measured: 0, interpolated: 1, estimated: 2, substituted: 3 };
export function weakerMethod(a: ValueMethod, b: ValueMethod): ValueMethod {
  return rank[a] >= rank[b] ? a : b;
}

/** Cumulative consumption at instant `t`, or null when the data can't say. */
export function cumulativeAt(points: readonly RegisterPoint[], t: Date, facts: MeterFacts = {}, opts: AlignOptions = {}): AlignedValue | null {
  const o = { ...DEFAULTS, ...opts };
  if (points.length === 0) return null;
  const cum = toCumulative(points, facts);
  const tt = t.getTime();
  let hi = cum.findIndex((p) => p.time.getTime() >= tt);
  if (hi === 0 && cum[0].time.getTime() === tt) return { cumulative: 0, method: 'measured' };
  if (hi > 0) {
    const b = cum[hi];
    if (b.time.getTime() === tt) return { cumulative: b.cumulative, method: 'measured' };
    const a = cum[hi - 1];
    const f = (tt - a.time.getTime()) / (b.time.getTime() - a.time.getTime());
    return { cumulative: a.cumulative + f * (b.cumulative - a.cumulative), method: 'interpolated' };
  }
  // Outside the data: extrapolate from the rate of the nearest window.
  if (hi === -1) hi = cum.length;
  const edge = hi === 0 ? cum[0] : cum[cum.length - 1];
  const dist = Math.abs(tt - edge.time.getTime());
  if (dist > o.maxExtrapolationMs || cum.length < 2) return null;
  const rate = rateNear(cum, hi === 0 ? 'start' : 'end', o.rateWindowMs);
  if (rate === null) return null;
  return { cumulative: edge.cumulative + rate * (tt - edge.time.getTime()), method: 'estimated' };
}

function rateNear(cum: Array<{ time: Date; cumulative: number }>, side: 'start' | 'end', windowMs: number): number | null {
  const pts = side === 'end' ? cum : [...cum].reverse();
  const last = pts[pts.length - 1];
  const first = pts.find((p) => Math.abs(last.time.getTime() - p.time.getTime()) <= windowMs) ?? pts[0];
  const dt = last.time.getTime() - first.time.getTime();
  if (dt === 0) return null;
  return (last.cumulative - first.cumulative) / dt;
}

export interface PeriodConsumption {
  consumption: number;
  method: ValueMethod;
  startMethod: ValueMethod;
  endMethod: ValueMethod;
}

/** Consumption over [start, end) of one metering point; null when a bound can't be aligned. */
export function periodConsumption(points: readonly RegisterPoint[], period: ReadingPeriod, facts: MeterFacts = {}, opts: AlignOptions = {}): PeriodConsumption | null {
  const a = cumulativeAt(points, period.start, facts, opts);
  const b = cumulativeAt(points, period.end, facts, opts);
  if (!a || !b) return null;
  return { consumption: b.cumulative - a.cumulative, method: weakerMethod(a.method, b.method), startMethod: a.method, endMethod: b.method };
}

/** Calendar month [1st 00:00, next 1st 00:00) in a fixed UTC offset (minutes), e.g. +180 for Moscow. */
export function monthPeriod(year: number, month1: number, utcOffsetMinutes = 0): ReadingPeriod {
  const off = utcOffsetMinutes * 60_000;
  return { start: new Date(Date.UTC(year, month1 - 1, 1) - off), end: new Date(Date.UTC(year, month1, 1) - off) };
}
