/**
 * Shapes the validation rules work on. Deliberately small and storage-free: the rules are pure
 * functions over a meter's recent history, so they run the same for telemetry at ingest time, for a
 * resident's submission and for a recomputation job.
 */
import { z } from 'zod';
import { NS_REASONS } from '../heat/ns.js';

export const ValidationStatus = z.enum(['valid', 'suspect', 'invalid']);
export type ValidationStatus = z.infer<typeof ValidationStatus>;

/** Machine-readable reasons; the UI translates them. */
export const REASON_CODES = [
  'register_decreased',
  'rollover',
  'replacement',
  'spike',
  'gap',
  'stuck_register',
  'reverse_flow',
  'meter_error',
  'verification_expired',
  'clock_far_off',
  'return_hotter_than_flow',
  'heat_energy_mismatch',
  'estimated',
  // An archive record's НС (heat/ns.ts names them; validation/judge.ts judgeArchive gives their status).
  ...NS_REASONS,
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export interface ValidationReason {
  code: ReasonCode;
  status: ValidationStatus;
  message: string;
  details?: Record<string, unknown>;
}

export interface ValidationResult {
  status: ValidationStatus;
  reasons: ValidationReason[];
}

/** One value of a cumulative register (показание). */
export interface RegisterPoint {
  time: Date;
  value: number;
  /** Quality flags from the contract (gateway/meter side). */
  quality?: readonly string[];
}

/** A meter replacement (замена): the old register ends at `removal`, the new one starts at `installation`. */
export interface Replacement {
  time: Date;
  removalReading: number;
  installationReading: number;
}

export interface MeterFacts {
  /** Register digits before the decimal point, for rollover (e.g. 5 → wraps at 100 000). */
  registerDigits?: number | null;
  nextVerificationDate?: Date | null;
  /** A building meter on a supply line is expected to see flow every interval. */
  expectsContinuousFlow?: boolean;
  /** Nominal telemetry interval in ms (e.g. 15 min); absent for manually read meters. */
  pollIntervalMs?: number | null;
  replacements?: readonly Replacement[];
  /**
   * The meter's usual consumption per month (register units), when known: a rollover is accepted only
   * when the wrapped consumption is small against it (see register.ts rolloverConsumption).
   */
  usualMonthlyConsumption?: number | null;
}

export const ValidationSettings = z.object({
  /** Consumption above the usual (max of the mean and the 90th-percentile interval rate) × this is a spike. */
  spikeFactor: z.number().positive().default(5),
  /** The mean rate a spike is judged against must span this long (ms; a day holds the daily peak), or a full spikeWindow. */
  spikeBaselineMs: z.number().int().positive().default(86_400_000),
  /** …and above this absolute consumption per interval (register units), so tiny noise isn't a spike. */
  spikeMinAbsolute: z.number().nonnegative().default(0.05),
  /** How many previous intervals the usual rate is taken over. */
  spikeWindow: z.number().int().min(3).default(96),
  /** A gap is a missing stretch longer than interval × this. */
  gapFactor: z.number().positive().default(2.5),
  /** Zero consumption for this many intervals in a row, where flow is expected, is a stuck register. */
  stuckIntervals: z.number().int().min(2).default(8),
  /**
   * A meter where no continuous flow is expected (an apartment's) is stuck when its register has not
   * moved for this long although it moved by more than spikeMinAbsolute in the same span before.
   */
  stuckIdleMs: z.number().int().positive().default(3 * 86_400_000),
  /** Meter clock vs gateway clock tolerance, ms. */
  clockToleranceMs: z.number().int().positive().default(5 * 60_000),
  /**
   * Heat energy vs volume × k × ΔT tolerance (relative): the accuracy class. EN 1434 class 2 allows
   * the calculator 0.5 + ΔΘmin/ΔΘ % and the temperature pair 0.5 + 3·ΔΘmin/ΔΘ %: with ΔΘmin = 3 K that
   * is ≤ 5 % from ΔΘ = 3 K up. Register resolution is allowed for separately (±1 digit at each end).
   */
  heatTolerance: z.number().positive().default(0.05),
  /** The heat check compares energy with volume × ΔT over this span of samples (ms), so resolution stays small. */
  heatWindowMs: z.number().int().positive().default(86_400_000),
  /** Below this ΔT (K) the heat check says nothing: sensors' error dominates. */
  heatMinDeltaT: z.number().nonnegative().default(3),
});
export type ValidationSettings = z.infer<typeof ValidationSettings>;
export const DEFAULT_VALIDATION_SETTINGS: ValidationSettings = ValidationSettings.parse({});
