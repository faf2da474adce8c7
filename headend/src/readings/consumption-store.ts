/**
 * Loads what the pure consumption() needs for one metering point (a meter, or a replacement chain of
 * meters) and a period, and asks it: the stored reading versions of the registers (rejected ones and
 * estimates left out here already), the register digits, the replacements between the chain's meters,
 * the building's period attribution and, only when a register went down, its usual monthly consumption
 * for the rollover check. Callers (billing, imbalance's feed, collection) make one call.
 */
import type { ReadingSource } from '@amr/protocols';
import type { Queryable } from '../db/types.js';
import type { ReadingPeriod } from '../vee/period.js';
import type { Replacement } from '../vee/types.js';
import {
  chainSeries, consumption, countingSeries, hasDrop, usualMonthly, type ChainReplacement, type ConsumptionResult, type CountingReading, type PeriodAttribution,
} from './consumption.js';

const DAY = 86_400_000;
/** Readings beyond each bound kept for interpolation (manual readings are ~30 days apart). */
export const LOOKAROUND_DAYS = 45;
/** History of a manually read meter: the previous closing reading may be months back, and it gives the usual consumption. */
export const MANUAL_HISTORY_DAYS = 400;

/** A versions' latest review rejected it. */
export const NOT_REJECTED_SQL = (alias: string) => `NOT EXISTS (SELECT 1 FROM (SELECT decision FROM reading_reviews v
   WHERE v.meter_id = ${alias}.meter_id AND v.quantity = ${alias}.quantity AND v.time = ${alias}.time AND v.version = ${alias}.version
   ORDER BY v.reviewed_at DESC, v.id DESC LIMIT 1) last WHERE last.decision = 'reject')`;

/** Every version of the meters' registers in [from, to] that may count: value present, not an estimate, not rejected. */
export async function loadReadings(q: Queryable, meterIds: readonly number[], quantities: readonly string[], from: Date, to: Date): Promise<Map<number, Map<string, CountingReading[]>>> {
  const out = new Map<number, Map<string, CountingReading[]>>(meterIds.map((id) => [id, new Map(quantities.map((qn) => [qn, []]))]));
  if (meterIds.length === 0 || quantities.length === 0) return out;
  const { rows } = await q.query<{ meter_id: string; quantity: string; time: Date; value: number; version: number; source: ReadingSource }>(
    `SELECT r.meter_id, r.quantity, r.time, r.value, r.version, r.source FROM readings r
      WHERE r.meter_id = ANY($1::bigint[]) AND r.quantity = ANY($2::text[]) AND r.time BETWEEN $3 AND $4
        AND (r.value IS NOT NULL OR r.source = 'staff') AND r.source <> 'estimate' AND ${NOT_REJECTED_SQL('r')}
      ORDER BY r.time, r.version`,
    [meterIds, quantities, from, to],
  );
  for (const r of rows) {
    // A NULL staff version withdraws its instant (an undone replacement): NaN here, chosen like any version, then dropped (countingSeries).
    out.get(Number(r.meter_id))!.get(r.quantity)!.push({ time: new Date(r.time), value: r.value === null ? Number.NaN : Number(r.value), version: Number(r.version), source: r.source, meterId: Number(r.meter_id) });
  }
  return out;
}

/**
 * The reading that counts at each instant of one meter's register in [from, to] (provenance, rejected
 * and estimates excluded), with its version: for callers that show registers (the feed's bounds).
 */
export async function countingReadings(q: Queryable, meterId: number, quantity: string, from: Date, to: Date): Promise<Array<{ time: Date; value: number; version: number }>> {
  const rs = (await loadReadings(q, [meterId], [quantity], from, to)).get(meterId)!.get(quantity)!;
  return countingSeries(rs).map((r) => ({ time: r.time, value: r.value, version: r.version ?? 0 }));
}

export interface PointRequest {
  /** The metering point's meters, oldest first (one meter, or a replacement chain). */
  meterIds: readonly number[];
  /** Register quantities to measure (one total register, or the zone registers). */
  quantities: readonly string[];
  /** The register whose removal / installation readings the replacement records carry; the others bridge a swap by the meters' own readings. */
  recordQuantity?: string;
  period: ReadingPeriod;
  span?: ReadingPeriod;
  unusableFrom?: Date | null;
  /** Overrides the building's setting (heating over a year, imbalance: always interpolated). */
  attribution?: PeriodAttribution;
  maxExtrapolationMs?: number;
  /** A long span (heating over a year): only the readings around its two bounds are loaded, interpolated. */
  aroundBoundsOnly?: boolean;
}

function merge(a: Map<number, Map<string, CountingReading[]>>, b: Map<number, Map<string, CountingReading[]>>): Map<number, Map<string, CountingReading[]>> {
  for (const [id, regs] of b) {
    for (const [qn, rs] of regs) {
      const seen = new Set(a.get(id)!.get(qn)!.map((r) => `${r.time.getTime()}|${r.version}`));
      a.get(id)!.get(qn)!.push(...rs.filter((r) => !seen.has(`${r.time.getTime()}|${r.version}`)));
      a.get(id)!.get(qn)!.sort((x, y) => x.time.getTime() - y.time.getTime());
    }
  }
  return a;
}

export interface PointConsumption extends ConsumptionResult {
  registerDigits: number | null;
}

/** One metering point's consumption in a period (see the head comment). */
export async function loadPointConsumption(q: Queryable, req: PointRequest): Promise<PointConsumption> {
  const ids = [...req.meterIds];
  const head = ids[ids.length - 1];
  const meta = (await q.query<{ register_digits: number | null; period_attribution: PeriodAttribution }>(
    `SELECT m.register_digits, b.period_attribution FROM meters m JOIN buildings b ON b.id = m.building_id WHERE m.id = $1`, [head])).rows[0];
  if (!meta) throw new Error(`meter ${head} not found`);
  const attribution = req.attribution ?? meta.period_attribution;
  const { start, end } = req.period;
  // Interpolated when the building says so or the point is telemetered in the period (any telemetry reading).
  const interpolate = attribution === 'calendar' || (await q.query(
    `SELECT 1 FROM readings WHERE meter_id = ANY($1::bigint[]) AND quantity = ANY($2::text[]) AND source = 'telemetry' AND time BETWEEN $3 AND $4 LIMIT 1`,
    [ids, req.quantities, start, end])).rows.length > 0;
  const from = new Date(start.getTime() - (interpolate ? LOOKAROUND_DAYS : MANUAL_HISTORY_DAYS) * DAY);
  const to = new Date(end.getTime() + LOOKAROUND_DAYS * DAY);
  // Replacements inside the chain, and the one that installed its first meter (its installation reading opens the series).
  const reps: ChainReplacement[] = (await q.query<{ old_meter_id: string; new_meter_id: string; replaced_at: Date; removal_reading: number | null; installation_reading: number | null }>(
    `SELECT old_meter_id, new_meter_id, replaced_at, removal_reading, installation_reading FROM meter_replacements
      WHERE new_meter_id = ANY($1::bigint[]) ORDER BY replaced_at`, [ids])).rows.map((r) => ({
    oldMeterId: Number(r.old_meter_id), newMeterId: Number(r.new_meter_id), replacedAt: new Date(r.replaced_at),
    removalReading: r.removal_reading === null ? null : Number(r.removal_reading), installationReading: r.installation_reading === null ? null : Number(r.installation_reading),
  }));
  const byMeter = req.aroundBoundsOnly
    ? merge(await loadReadings(q, ids, req.quantities, new Date(start.getTime() - LOOKAROUND_DAYS * DAY), new Date(start.getTime() + LOOKAROUND_DAYS * DAY)),
      await loadReadings(q, ids, req.quantities, new Date(end.getTime() - LOOKAROUND_DAYS * DAY), to))
    : await loadReadings(q, ids, req.quantities, from, to);
  const registers: Record<string, CountingReading[]> = {};
  const usual: Record<string, number | null> = {};
  const replacements: Record<string, Replacement[]> = {};
  for (const qn of req.quantities) {
    // The replacement record's readings are of the total register; a zone register bridges by its own readings.
    const ownReps = qn === (req.recordQuantity ?? req.quantities[0]) ? reps : reps.map((r) => ({ ...r, removalReading: null, installationReading: null }));
    const chain = chainSeries(ids.map((id) => ({ meterId: id, readings: byMeter.get(id)!.get(qn)! })), ownReps);
    registers[qn] = chain.readings;
    replacements[qn] = chain.replacements;
    usual[qn] = hasDrop(chain.readings) ? usualMonthly(chain.readings.filter((r) => r.time < start)) : null;
  }
  const result = consumption({
    period: req.period, registers, registerDigits: meta.register_digits === null ? null : Number(meta.register_digits), replacements,
    usualMonthly: usual, attribution: interpolate ? 'calendar' : attribution, span: req.span, unusableFrom: req.unusableFrom, maxExtrapolationMs: req.maxExtrapolationMs,
  });
  return { ...result, registerDigits: meta.register_digits === null ? null : Number(meta.register_digits) };
}
