/**
 * Shapes shared by the imbalance service, the validator that triggers its recomputation and the
 * alerts that watch its results.
 */
import type { Resource } from '@amr/protocols';
import type { ImbalanceReport, ImbalanceStatus, ImbalanceThresholds, ValueMethod } from '../vee/index.js';

export type PeriodKind = 'month' | 'day' | 'hour';

/** A stretch of time in which a meter's data changed (late reading, correction, review). */
export interface AffectedPeriod {
  buildingId: number;
  resource: Resource;
  from: Date;
  to: Date;
}

export type MeterPlacement = 'building' | 'apartment' | 'common_area' | 'non_residential';

/** One meter's part of a report: what it consumed in the period and how that number was obtained. */
export interface ImbalanceMeterValue {
  meterId: number;
  placement: MeterPlacement;
  consumption: number | null;
  method: ValueMethod | null;
  /** Some reading used has a suspect/invalid verdict not accepted by an engineer. */
  flagged: boolean;
  /** Earlier meters of the same metering point (replaced during or around the period), oldest first. */
  replacedMeterIds?: number[];
  /** How each bound was aligned (measured / interpolated / estimated). */
  startMethod?: ValueMethod | null;
  endMethod?: ValueMethod | null;
  /** Usable readings the value was computed from. */
  readings?: number;
}

/**
 * A stored report's status: the maths' verdict, or not_applicable for a resource billed by area
 * (heat without apartment heat meters), which has no apartment side to compare the building meter with.
 */
export type StoredImbalanceStatus = ImbalanceStatus | 'not_applicable';

/** An imbalance report as stored (imbalance_reports) and served. */
export interface StoredImbalanceReport extends Omit<ImbalanceReport, 'status'> {
  status: StoredImbalanceStatus;
  buildingId: number;
  resource: Resource;
  periodKind: PeriodKind;
  periodStart: Date;
  periodEnd: Date;
  thresholds: ImbalanceThresholds;
  meters: ImbalanceMeterValue[];
  computedAt: Date;
}

/** Called after a report is stored, with the one it replaced (null for the first). */
export type OnImbalanceReport = (report: StoredImbalanceReport, previous: StoredImbalanceReport | null) => Promise<void> | void;
