/**
 * Metering points (pure): a meter and the meters that replaced it are one point, whose register
 * series is the old meter's readings up to the replacement, then the new one's, with the replacement
 * as a fact (removal / installation readings) so the swap is never read as a rollover. Which readings
 * count: the current version per instant, not rejected by an engineer, not judged invalid unless an
 * engineer accepted it.
 */
import type { RegisterPoint, Replacement } from '../vee/index.js';
import type { MeterPlacement } from './types.js';

export interface MeterRow {
  id: number;
  placement: MeterPlacement;
  registerDigits: number | null;
  remoteReading: boolean;
  /** In service at some time during the period (installation / decommissioning dates). */
  inService: boolean;
  /** Local midnight of the installation day, when known. */
  installedAt?: Date | null;
  /** Removed (decommissioned) without a successor: local midnight after the removal day. */
  removedBy?: Date | null;
}

export interface ReplacementRow {
  oldMeterId: number;
  newMeterId: number;
  replacedAt: Date;
  removalReading: number | null;
  installationReading: number | null;
}

/** Current version of one instant with its verdict and latest review. */
export interface ReadingRow {
  meterId: number;
  time: Date;
  value: number | null;
  verdict: 'valid' | 'suspect' | 'invalid' | null;
  decision: 'accept' | 'reject' | null;
}

export interface SeriesPoint extends RegisterPoint {
  flagged: boolean;
}

export interface MeteringPoint {
  /** The newest meter of the chain: the one the point is shown as. */
  meter: MeterRow;
  /** Earlier meters, oldest first. */
  replaced: MeterRow[];
  series: SeriesPoint[];
  replacements: Replacement[];
  registerDigits: number | null;
}

/** Whether a reading may be used, and whether it carries an unaccepted flag. */
export function usability(r: ReadingRow): { usable: boolean; flagged: boolean } {
  if (r.value === null || !Number.isFinite(r.value)) return { usable: false, flagged: false };
  if (r.decision === 'reject') return { usable: false, flagged: false };
  const accepted = r.decision === 'accept';
  if (r.verdict === 'invalid' && !accepted) return { usable: false, flagged: false };
  return { usable: true, flagged: (r.verdict === 'suspect' || r.verdict === 'invalid') && !accepted };
}

/** Chains old → new meter through the replacements (each meter is replaced at most once). */
export function chains(meters: readonly MeterRow[], reps: readonly ReplacementRow[]): MeterRow[][] {
  const byId = new Map(meters.map((m) => [m.id, m]));
  const next = new Map<number, ReplacementRow>();
  const hasPrev = new Set<number>();
  for (const r of reps) {
    if (!byId.has(r.oldMeterId) || !byId.has(r.newMeterId)) continue;
    next.set(r.oldMeterId, r);
    hasPrev.add(r.newMeterId);
  }
  const out: MeterRow[][] = [];
  const seen = new Set<number>();
  for (const m of meters) {
    if (hasPrev.has(m.id) || seen.has(m.id)) continue;
    const chain: MeterRow[] = [];
    let cur: MeterRow | undefined = m;
    while (cur && !seen.has(cur.id)) {
      seen.add(cur.id);
      chain.push(cur);
      const r = next.get(cur.id);
      cur = r ? byId.get(r.newMeterId) : undefined;
    }
    out.push(chain);
  }
  return out;
}

/**
 * The register series of a chain. Each meter contributes its usable readings inside its own life
 * (from its installation to its removal); a replacement without a recorded removal or installation
 * reading falls back to the old meter's last / the new meter's first reading.
 */
export function buildPoint(chain: readonly MeterRow[], reps: readonly ReplacementRow[], readings: ReadonlyMap<number, ReadingRow[]>): MeteringPoint {
  const repOf = new Map(reps.map((r) => [r.oldMeterId, r]));
  const series: SeriesPoint[] = [];
  const replacements: Replacement[] = [];
  let from = -Infinity;
  chain.forEach((m, i) => {
    const rep = i < chain.length - 1 ? repOf.get(m.id) : undefined;
    const until = rep ? rep.replacedAt.getTime() : Infinity;
    const own: SeriesPoint[] = [];
    for (const r of readings.get(m.id) ?? []) {
      const t = r.time.getTime();
      if (t < from || t >= until) continue;
      const u = usability(r);
      if (u.usable) own.push({ time: r.time, value: r.value as number, flagged: u.flagged });
    }
    if (i > 0) {
      // The installation reading opens the new meter at the replacement instant.
      const prev = repOf.get(chain[i - 1].id)!;
      const installation = prev.installationReading ?? own[0]?.value ?? null;
      const removal = prev.removalReading ?? series[series.length - 1]?.value ?? null;
      if (installation !== null && removal !== null && series.length > 0) {
        replacements.push({ time: prev.replacedAt, removalReading: removal, installationReading: installation });
        if (!own.some((p) => p.time.getTime() === prev.replacedAt.getTime())) {
          own.unshift({ time: prev.replacedAt, value: installation, flagged: false });
        }
      } else {
        // Nothing to bridge the swap with: the point starts afresh with the new meter.
        series.length = 0;
        replacements.length = 0;
        if (installation !== null && !own.some((p) => p.time.getTime() === prev.replacedAt.getTime())) {
          own.unshift({ time: prev.replacedAt, value: installation, flagged: false });
        }
      }
    }
    series.push(...own);
    from = until;
  });
  const meter = chain[chain.length - 1];
  return { meter, replaced: chain.slice(0, -1), series, replacements, registerDigits: meter.registerDigits };
}

/**
 * The stretch of the period a point was in place: a meter installed during the period counts from
 * its first reading on or after installation, one removed without a successor up to its last reading
 * before removal, so neither is mistaken for a meter without readings.
 */
export function pointPeriod(p: MeteringPoint, start: Date, end: Date): { start: Date; end: Date } {
  const first = p.replaced[0] ?? p.meter;
  let s = start;
  let e = end;
  if (first.installedAt && first.installedAt > start) {
    const pt = p.series.find((x) => x.time >= first.installedAt! && x.time < end);
    if (pt && pt.time > start) s = pt.time;
  }
  if (p.meter.removedBy && p.meter.removedBy < end) {
    const pt = [...p.series].reverse().find((x) => x.time < p.meter.removedBy! && x.time > s);
    if (pt && pt.time < end) e = pt.time;
  }
  return { start: s, end: e };
}

/** Whether any reading from the one at/before `start` to the one at/after `end` is flagged. */
export function flaggedWithin(series: readonly SeriesPoint[], start: Date, end: Date): boolean {
  let lo = 0;
  for (let i = 0; i < series.length; i++) if (series[i].time.getTime() <= start.getTime()) lo = i;
  let hi = series.length - 1;
  for (let i = series.length - 1; i >= 0; i--) if (series[i].time.getTime() >= end.getTime()) hi = i;
  for (let i = lo; i <= hi; i++) if (series[i].flagged) return true;
  return false;
}
