/**
 * The one way out: a metering point's consumption for a period, from its counting readings per
 * register. Billing (apartments, ОДН, heating), imbalance, collection and the feed all ask this
 * function, so a rolled-over register, a replaced meter, a zone register or a reading taken in the
 * collection window counts the same everywhere. Pure: the readings come from consumption-store.ts.
 *
 * What it decides:
 *  - which reading counts at each instant (provenance: staff/import > telemetry > resident, then the
 *    latest version; rejected on review excluded; estimates are not readings);
 *  - rollover and replacement (vee/register.ts, the same arithmetic validation uses): a drop that is
 *    neither a plausible rollover nor a replacement is never a negative quantity but an
 *    'implausible_drop' result, so billing falls back and reports it;
 *  - period attribution (ПП 354 п. 31(к), 42): a manually read meter's month M is its closing reading
 *    in M (the latest counting reading dated in the month, i.e. taken in M's collection window) minus
 *    the previous closing reading; a telemetered meter (any telemetry reading in the period), or any
 *    meter of a building set to 'calendar', is interpolated to the month's bounds.
 */
import type { ReadingSource } from '@amr/protocols';
import { preferredReading } from '../billing/provenance.js';
import { cumulativeAt, weakerMethod, type ReadingPeriod, type ValueMethod } from '../vee/period.js';
import { toCumulative, type ConsumptionVia } from '../vee/register.js';
import type { MeterFacts, Replacement } from '../vee/types.js';

/** The building setting (buildings.period_attribution): 'window' = manual readings by their collection window, 'calendar' = always interpolate. */
export type PeriodAttribution = 'window' | 'calendar';
/** How a result was attributed to the period: by the closing readings of the windows, or interpolated to the bounds. */
export type AttributedBy = 'window' | 'interpolation';

/** One stored reading version of a register. Without `source` it is taken as already chosen (one per instant). */
export interface CountingReading {
  time: Date;
  value: number;
  source?: ReadingSource | 'estimate';
  version?: number;
  /** The latest review of this version rejected it. */
  rejected?: boolean;
  /** The meter of the metering point it was read from (a replacement chain has several). */
  meterId?: number;
}

/** A reading a result was computed from; version 0 = a replacement record's value, not a reading row. */
export interface UsedReading {
  time: Date;
  value: number;
  meterId?: number;
  version?: number;
  source?: string;
}

export interface ConsumptionInput {
  /** The reporting period [start, end): the calendar month as the building's local instants. */
  period: ReadingPeriod;
  /** Readings per register quantity (e.g. volume_m3, or energy_t1_kwh and energy_t2_kwh of a zone meter), all versions. */
  registers: Readonly<Record<string, readonly CountingReading[]>>;
  registerDigits?: number | null;
  /** Replacements inside the chain the readings come from (removal / installation readings), for all registers or per register. */
  replacements?: readonly Replacement[] | Readonly<Record<string, readonly Replacement[]>>;
  /** Usual monthly consumption per register (or one for all), for the rollover plausibility. */
  usualMonthly?: number | null | Readonly<Record<string, number | null>>;
  /** The building's setting; 'window' by default. */
  attribution?: PeriodAttribution;
  /** Interpolation only: the part of the period the point stood there (a meter installed or removed inside it). */
  span?: ReadingPeriod;
  /**
   * The meter failed or its verification expired at this instant: no reading after it counts. When
   * interpolating, the last reading before it stands at it (the rest of the month is the fallback's).
   */
  unusableFrom?: Date | null;
  /** Interpolation only: how far a bound may be extrapolated past the readings (0 = not at all, billing's rule). */
  maxExtrapolationMs?: number;
  /** Interpolation only: a reading inside the span is needed (billing: yes, so a month is never bridged blind; imbalance: no). */
  requireReadingInside?: boolean;
}

export type RegisterConsumption =
  | {
    status: 'measured';
    quantity: number;
    method: ValueMethod;
    startMethod: ValueMethod;
    endMethod: ValueMethod;
    via: ConsumptionVia;
    /** The readings the value rests on (opening, closing and those between; or those around the bounds). */
    readings: UsedReading[];
  }
  | { status: 'no_reading'; message: string }
  | { status: 'implausible_drop'; from: UsedReading; to: UsedReading; message: string };

export interface ConsumptionResult {
  attributedBy: AttributedBy;
  registers: Record<string, RegisterConsumption>;
}

const time = (r: { time: Date }) => r.time.getTime();

/**
 * The reading that counts at each instant (sorted by time): not rejected, not an estimate, then the
 * pure preferredReading. Readings without a source were chosen already: the highest version stands.
 */
export function countingSeries(readings: readonly CountingReading[]): CountingReading[] {
  const byTime = new Map<number, CountingReading[]>();
  for (const r of readings) {
    if (r.rejected || r.source === 'estimate') continue;
    const list = byTime.get(time(r));
    if (list) list.push(r);
    else byTime.set(time(r), [r]);
  }
  // The reading that counts is chosen among every version, a withdrawn one (value NaN: a NULL staff
  // version, registry/replacement.ts undo) included; an instant whose counting version is withdrawn has no reading.
  return [...byTime.keys()].sort((a, b) => a - b).map((t) => {
    const cands = byTime.get(t)!;
    const ranked = cands.filter((c): c is CountingReading & { source: ReadingSource } => c.source !== undefined && c.source !== 'estimate');
    if (ranked.length > 0) return preferredReading(ranked.map((c) => ({ ...c, version: c.version ?? 0 })))!;
    return cands.reduce((a, b) => ((b.version ?? 0) >= (a.version ?? 0) ? b : a));
  }).filter((r) => Number.isFinite(r.value));
}

/** A point is telemetered in a period when any telemetry reading of any register falls in it. */
export function isTelemetered(input: Pick<ConsumptionInput, 'registers' | 'period'>): boolean {
  const { start, end } = input.period;
  return Object.values(input.registers).some((rs) => rs.some((r) => r.source === 'telemetry' && !r.rejected && r.time >= start && r.time <= end));
}

function usualOf(input: ConsumptionInput, quantity: string): number | null {
  const u = input.usualMonthly;
  if (u === undefined || u === null || typeof u === 'number') return u ?? null;
  return u[quantity] ?? null;
}

const used = (r: CountingReading): UsedReading => ({ time: r.time, value: r.value, ...(r.meterId !== undefined ? { meterId: r.meterId } : {}), ...(r.version !== undefined ? { version: r.version } : {}), ...(r.source ? { source: r.source } : {}) });
const iso = (d: Date) => d.toISOString();

/**
 * Cumulative consumption over a stretch of the series; an interval that went down with neither a
 * plausible rollover nor a replacement to explain it makes the whole stretch an implausible drop.
 */
function across(series: readonly CountingReading[], facts: MeterFacts): { cum: number[]; via: ConsumptionVia; drop: { from: CountingReading; to: CountingReading } | null } {
  const cum = toCumulative(series, facts);
  let via: ConsumptionVia = 'plain';
  for (let i = 1; i < series.length; i++) {
    if (cum[i].decreased) return { cum: cum.map((c) => c.cumulative), via, drop: { from: series[i - 1], to: series[i] } };
    const prev = series[i - 1].value;
    const cur = series[i].value;
    const replaced = (facts.replacements ?? []).some((r) => r.time > series[i - 1].time && r.time <= series[i].time);
    if (replaced) via = 'replacement';
    else if (cur < prev && via === 'plain') via = 'rollover';
  }
  return { cum: cum.map((c) => c.cumulative), via, drop: null };
}

function dropResult(d: { from: CountingReading; to: CountingReading }, digits: number | null | undefined): RegisterConsumption {
  const why = digits ? `not a plausible rollover of a ${digits}-digit register` : 'the meter has no register digits for a rollover';
  return {
    status: 'implausible_drop', from: used(d.from), to: used(d.to),
    message: `register went down from ${d.from.value} (${iso(d.from.time)}) to ${d.to.value} (${iso(d.to.time)}): ${why}, nor a recorded replacement; not consumption — check the meter or record the replacement`,
  };
}

/** Window attribution: closing reading in the period − the previous closing reading. */
function byWindow(series: readonly CountingReading[], input: ConsumptionInput, facts: MeterFacts): RegisterConsumption {
  const { start, end } = input.period;
  const cut = input.unusableFrom ?? null;
  const ok = series.filter((r) => !cut || r.time <= cut);
  const closingIdx = ok.map((r) => r.time >= start && r.time < end).lastIndexOf(true);
  if (closingIdx < 0) return { status: 'no_reading', message: `no reading dated in the period ${iso(start)} – ${iso(end)}${cut && cut < end ? ` up to ${iso(cut)}` : ''}` };
  const openingIdx = ok.map((r) => r.time < start).lastIndexOf(true);
  if (openingIdx < 0) return { status: 'no_reading', message: `no reading before ${iso(start)} to count the period's consumption from` };
  const stretch = ok.slice(openingIdx, closingIdx + 1);
  const a = across(stretch, facts);
  if (a.drop) return dropResult(a.drop, facts.registerDigits);
  return { status: 'measured', quantity: a.cum[a.cum.length - 1], method: 'measured', startMethod: 'measured', endMethod: 'measured', via: a.via, readings: stretch.map(used) };
}

/** Interpolation to the bounds of the span (billing: a reading inside it is needed, nothing extrapolated). */
function byInterpolation(series: readonly CountingReading[], input: ConsumptionInput, facts: MeterFacts): RegisterConsumption {
  const span = input.span ?? input.period;
  const cut = input.unusableFrom ?? null;
  const start = span.start;
  let end = span.end;
  let pts = [...series];
  if (cut && cut < end) {
    if (cut <= start) return { status: 'no_reading', message: `meter unusable since ${iso(cut)}, before the period` };
    end = cut;
    pts = pts.filter((p) => p.time <= cut);
    const last = pts[pts.length - 1];
    if (last && last.time > start && last.time < cut) pts.push({ ...last, time: cut, version: 0 });
  }
  if ((input.requireReadingInside ?? true) && !pts.some((p) => p.time > start && p.time <= end)) return { status: 'no_reading', message: `no reading in the period ${iso(start)} – ${iso(end)}` };
  const opts = { maxExtrapolationMs: input.maxExtrapolationMs ?? 0 };
  const a = cumulativeAt(pts, start, facts, opts);
  const b = cumulativeAt(pts, end, facts, opts);
  if (!a || !b) return { status: 'no_reading', message: `no reading on both sides of ${!a ? iso(start) : iso(end)} to interpolate it` };
  // Only the intervals the bounds lie in or between matter for a drop.
  let lo = 0;
  for (let i = 0; i < pts.length; i++) if (pts[i].time <= start) lo = i;
  let hi = pts.length - 1;
  for (let i = pts.length - 1; i >= 0; i--) if (pts[i].time >= end) hi = i;
  const stretch = pts.slice(lo, hi + 1);
  const x = across(stretch, facts);
  if (x.drop) return dropResult(x.drop, facts.registerDigits);
  return {
    status: 'measured', quantity: b.cumulative - a.cumulative, method: weakerMethod(a.method, b.method), startMethod: a.method, endMethod: b.method, via: x.via,
    readings: stretch.filter((p) => p.time >= start && p.time <= end).map(used),
  };
}

/** The period's consumption of each register of a metering point (see the head comment). */
export function consumption(input: ConsumptionInput): ConsumptionResult {
  const attributedBy: AttributedBy = (input.attribution ?? 'window') === 'calendar' || isTelemetered(input) ? 'interpolation' : 'window';
  const registers: Record<string, RegisterConsumption> = {};
  for (const [quantity, readings] of Object.entries(input.registers)) {
    const reps = input.replacements;
    const replacements = reps === undefined ? [] : Array.isArray(reps) ? reps : ((reps as Readonly<Record<string, readonly Replacement[]>>)[quantity] ?? []);
    const facts: MeterFacts = { registerDigits: input.registerDigits ?? null, replacements, usualMonthlyConsumption: usualOf(input, quantity) };
    const series = countingSeries(readings);
    registers[quantity] = attributedBy === 'window' ? byWindow(series, input, facts) : byInterpolation(series, input, facts);
  }
  return { attributedBy, registers };
}

/**
 * The usual monthly consumption of a register from its counting readings before a period: the
 * plain rises (drops skipped, they are what is being judged) over the months they span. Null with
 * less than a month of history.
 */
export function usualMonthly(readings: readonly CountingReading[]): number | null {
  const s = countingSeries(readings);
  if (s.length < 2) return null;
  const months = (time(s[s.length - 1]) - time(s[0])) / (30.4375 * 86_400_000);
  if (months < 1) return null;
  let rise = 0;
  for (let i = 1; i < s.length; i++) if (s[i].value >= s[i - 1].value) rise += s[i].value - s[i - 1].value;
  return rise / months;
}

/** Whether a series goes down anywhere (then the usual consumption is worth loading for the rollover check). */
export function hasDrop(readings: readonly CountingReading[]): boolean {
  const s = countingSeries(readings);
  return s.some((r, i) => i > 0 && r.value < s[i - 1].value);
}

/**
 * A replacement chain as one register series: each meter's readings inside its own life (before its
 * removal), the new meter's installation reading standing at the replacement instant when no reading
 * row is there, and the replacements as facts, so the swap is never read as a rollover. A missing
 * removal / installation reading falls back to the old meter's last / the new meter's first reading.
 */
export interface ChainMeter { meterId: number; readings: readonly CountingReading[] }
export interface ChainReplacement { oldMeterId: number; newMeterId: number; replacedAt: Date; removalReading: number | null; installationReading: number | null }

export function chainSeries(meters: readonly ChainMeter[], reps: readonly ChainReplacement[]): { readings: CountingReading[]; replacements: Replacement[] } {
  const out: CountingReading[] = [];
  const replacements: Replacement[] = [];
  meters.forEach((m, i) => {
    const into = i > 0 ? reps.find((r) => r.oldMeterId === meters[i - 1].meterId && r.newMeterId === m.meterId) : undefined;
    // The first meter of the chain may have replaced one outside it (in an earlier period): its installation reading opens it.
    const entry = i === 0 ? reps.find((r) => r.newMeterId === m.meterId && !meters.some((x) => x.meterId === r.oldMeterId)) : undefined;
    if (entry && entry.installationReading !== null && !m.readings.some((r) => time(r) === entry.replacedAt.getTime())) {
      out.push({ time: entry.replacedAt, value: entry.installationReading, version: 0, meterId: m.meterId });
    }
    const outOf = i < meters.length - 1 ? reps.find((r) => r.oldMeterId === m.meterId && r.newMeterId === meters[i + 1].meterId) : undefined;
    const own = m.readings
      .filter((r) => (!into || r.time >= into.replacedAt) && (!entry || r.time >= entry.replacedAt) && (!outOf || r.time < outOf.replacedAt))
      .map((r) => ({ ...r, meterId: m.meterId }));
    if (into) {
      const before = countingSeries(out);
      const mine = countingSeries(own);
      const removal = into.removalReading ?? before[before.length - 1]?.value ?? null;
      const installation = into.installationReading ?? mine[0]?.value ?? null;
      if (removal !== null && installation !== null && before.length > 0) {
        replacements.push({ time: into.replacedAt, removalReading: removal, installationReading: installation });
      } else {
        // Nothing to bridge the swap with: the point starts afresh with the new meter.
        out.length = 0;
      }
      if (installation !== null && !own.some((r) => time(r) === into.replacedAt.getTime())) {
        own.unshift({ time: into.replacedAt, value: installation, version: 0, meterId: m.meterId });
      }
    }
    out.push(...own);
  });
  return { readings: out, replacements };
}
