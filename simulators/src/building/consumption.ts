// True consumption of every consumer as a pure function of simulated time and the seed.
// Hourly rates follow a daily profile, a weekly factor, a season (heat) and seeded per-hour noise;
// cumulative use is the prefix sum of hourly rates (linear inside an hour), cached per consumer.
// Building (ОДПУ) use = (Σ apartments) × (1 + common share) / (1 − loss share), so
// ОДПУ = Σ apartments + common + loss holds exactly per resource and any period.
import type { Resource } from './config.js';

const HOUR = 3_600_000;

/** Mean daily use of an average apartment (kWh or m³). */
const BASE_PER_DAY: Record<Resource, number> = { heat: 45, cold_water: 0.28, hot_water: 0.14, electricity: 7.5 };

/** Relative use by hour of day (mean ≈ 1): night low, morning and evening peaks. */
const WATER_DAY = [0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.6, 2.4, 1.9, 1.1, 0.9, 0.9, 1.0, 0.9, 0.8, 0.8, 0.9, 1.2, 1.6, 1.9, 2.0, 1.7, 1.1, 0.6];
const ELEC_DAY = [0.5, 0.4, 0.4, 0.4, 0.4, 0.5, 0.9, 1.3, 1.1, 0.9, 0.9, 0.9, 1.0, 0.9, 0.9, 0.9, 1.0, 1.3, 1.7, 2.0, 2.0, 1.8, 1.3, 0.8];
const HEAT_DAY = [1.1, 1.1, 1.15, 1.15, 1.15, 1.1, 1.05, 1.0, 0.95, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.95, 1.0, 1.0, 1.0, 1.0, 1.05, 1.05, 1.1];

function norm(a: number[]): number[] {
  const m = a.reduce((s, x) => s + x, 0) / a.length;
  return a.map((x) => x / m);
}
const PROFILE: Record<Resource, number[]> = {
  heat: norm(HEAT_DAY), cold_water: norm(WATER_DAY), hot_water: norm(WATER_DAY), electricity: norm(ELEC_DAY),
};

/** 32-bit integer hash → [0,1): deterministic noise without state. */
export function hash01(...xs: number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) {
    h = Math.imul(h ^ (x | 0), 0x01000193);
    h ^= h >>> 13;
    h = Math.imul(h, 0x5bd1e995);
    h ^= h >>> 15;
  }
  return (h >>> 0) / 4294967296;
}

export function seasonFactor(resource: Resource, t: Date): number {
  const doy = (t.getTime() - Date.UTC(t.getUTCFullYear(), 0, 1)) / 86_400_000;
  const c = Math.cos((2 * Math.PI * (doy - 15)) / 365);
  if (resource === 'heat') return Math.max(0.03, 0.5 + 0.55 * c); // heating season
  if (resource === 'electricity') return 1 + 0.15 * c; // more light in winter
  return 1;
}

/** One consumer (an apartment's use of one resource). */
export class ConsumerSeries {
  private prefix: number[] = [0];

  constructor(
    readonly resource: Resource,
    private readonly startMs: number,
    private readonly seed: number,
    private readonly index: number,
    /** Apartment size/habits: multiplies the base rate. */
    readonly scale: number,
  ) {}

  /** Use during hour h after the start (kWh or m³). */
  hourly(h: number): number {
    const t = new Date(this.startMs + h * HOUR);
    const base = (BASE_PER_DAY[this.resource] / 24) * this.scale;
    const dow = t.getUTCDay();
    const week = this.resource === 'heat' ? 1 : dow === 0 || dow === 6 ? 1.15 : 0.94;
    const noise = 0.6 + 0.8 * hash01(this.seed, this.index, RESOURCE_CODE[this.resource], h);
    // Some apartments stand empty for a day now and then (no one home: water/electricity near zero).
    const away = this.resource !== 'heat' && hash01(this.seed, this.index, 99, Math.floor(h / 24)) < 0.05 ? 0.05 : 1;
    return base * PROFILE[this.resource][t.getUTCHours()] * week * seasonFactor(this.resource, t) * noise * away;
  }

  /** Cumulative use from the start to `tMs` (0 before the start). */
  cumulative(tMs: number): number {
    return prefixCumulative(this.prefix, this.startMs, tMs, (h) => this.hourly(h));
  }

  /** Current rate per hour (for power / flow registers). */
  ratePerHour(tMs: number): number {
    const h = Math.floor((tMs - this.startMs) / HOUR);
    return h < 0 ? 0 : this.hourly(h);
  }
}

const RESOURCE_CODE: Record<Resource, number> = { heat: 1, cold_water: 2, hot_water: 3, electricity: 4 };

/**
 * Cumulative amount from `startMs` to `tMs` given an amount per whole hour: the prefix sum of the
 * hourly amounts (cached, grown on demand), linear inside an hour. Shared by every simulated register
 * that integrates an hourly rate (consumers, heat meters' volume).
 */
export function prefixCumulative(prefix: number[], startMs: number, tMs: number, hourly: (h: number) => number): number {
  const hours = (tMs - startMs) / HOUR;
  if (hours <= 0) return 0;
  const whole = Math.floor(hours);
  while (prefix.length <= whole + 1) {
    const h = prefix.length - 1;
    prefix.push(prefix[h] + hourly(h));
  }
  return prefix[whole] + (hours - whole) * (prefix[whole + 1] - prefix[whole]);
}
