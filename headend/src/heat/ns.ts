/**
 * НС (нештатные ситуации — abnormal situations) of a heat meter's archive records, and the heat of
 * the time the meter did not count. Pure: no database, no clock.
 *
 * ## Reasons of one record (`nsReasons`)
 * 1. The meter's own НС codes, as the register map names them (protocols/src/modbus/maps/tv7.ts,
 *    `nsCodes`: the five НС kinds ТВ7 keeps time counters for, from the maker's totals archive as an
 *    open-source ТВ7 reader shows it; their BITS in the НС word are the map's assumption, the kinds are
 *    not):
 *      flow_low   (G < Gmin)                  → ns_flow_low
 *      flow_high  (G > Gmax)                  → ns_flow_high
 *      dt_low     (Δt < Δtmin)                → ns_dt_low
 *      power_off  (отключение питания)        → ns_power_off
 *      temp_fault (неисправность датчика t)   → ns_sensor
 *      anything else (a bit the map does not name, `bit<n>`) → ns_unknown, the code kept.
 * 2. The record's working time (assumption of this module, not the manual's wording): Тр (time of
 *    normal counting) + Тнс (time under НС) should cover the interval. Less means the calculator
 *    counted nothing for the rest — it was off (no power) → ns_power_off with that time. Тнс > 0 →
 *    ns_time with Тнс (the meter says some of the interval was under НС, even when it names no code).
 *    A record without Тр or Тнс (a quantity not reported) is not judged on time.
 *
 * ## Heat of НС time (`accountedHeat`) — ПП 1034 (Правила коммерческого учёта тепловой энергии,
 * п. 114–123) and the Минстрой methodology (order 99/пр)
 * - Δt below minimum, flow below (or above) its limit, a sensor fault: the calculator itself counts
 *   those hours by its configured substitutes (contract values) and reports the result in the record;
 *   the methodology accepts that calculated value, so Q of the record is taken as the meter gives it.
 * - Time the meter was off (the shortfall of item 2 above): nothing was counted. The methodology takes
 *   the heat of such time from the average of the preceding period of normal operation (at most 3 days
 *   back). Implemented here, simplified: the mean hourly Q of the NORMAL records (no reason at all)
 *   of the same statement (never before its first record's period start) that started within the 72
 *   hours before the record, Σ Q ÷ Σ hours; the record's Q = its measured Q + that mean × its off
 *   hours. A record with off time and no normal record in that window keeps its measured Q and says
 *   so (`basis: 'none'`) — the engineer decides; nothing is invented. Not implemented: the
 *   methodology's further cases (contract loads corrected by outdoor temperature when there is no
 *   normal period, the 15/30-day limits after which the meter counts as absent, per-pipe mass
 *   substitution).
 * Arithmetic in exact decimals (decimal.js), the added heat rounded half up to 0.001 kWh.
 */
import * as decimalJs from 'decimal.js';

const Decimal = decimalJs.default as unknown as typeof decimalJs.Decimal;
const D = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP, toExpNeg: -40, toExpPos: 40 });
type Dec = InstanceType<typeof D>;
/** A double as the decimal a person reads (String(x)), never its binary expansion. */
const dec = (x: number): Dec => new D(String(x));

export const NS_REASONS = ['ns_flow_low', 'ns_flow_high', 'ns_dt_low', 'ns_power_off', 'ns_sensor', 'ns_time', 'ns_unknown'] as const;
export type NsReasonCode = (typeof NS_REASONS)[number];

/** The meter's НС code (register map name) → the reason. */
export const METER_CODE_REASON: Readonly<Record<string, NsReasonCode>> = {
  flow_low: 'ns_flow_low',
  flow_high: 'ns_flow_high',
  dt_low: 'ns_dt_low',
  power_off: 'ns_power_off',
  temp_fault: 'ns_sensor',
};

/** The reason in the statement's words (RU): what the heat supplier reads. */
export const REASON_TEXT_RU: Readonly<Record<NsReasonCode, string>> = {
  ns_flow_low: 'Расход ниже минимального (G < Gmin)',
  ns_flow_high: 'Расход выше максимального (G > Gmax)',
  ns_dt_low: 'Разность температур ниже минимальной (Δt < Δtmin)',
  ns_power_off: 'Отключение питания тепловычислителя',
  ns_sensor: 'Неисправность датчика температуры (t1/t2)',
  ns_time: 'Время работы в НС (Тнс)',
  ns_unknown: 'НС прибора, не описанная в карте регистров',
};

/** One archive record as the judge needs it. */
export interface RecordFacts {
  /** Start of the record's interval, UTC ms. */
  startMs: number;
  /** Length of the interval, seconds. */
  seconds: number;
  /** The meter's НС codes for the interval (register map names). */
  codes: readonly string[];
  /** Тр, seconds; null when not reported. */
  workingSeconds: number | null;
  /** Тнс, seconds; null when not reported. */
  nsSeconds: number | null;
  /** Q of the interval as the meter counted it, kWh; null when not reported. */
  energyKwh: number | null;
}

export interface NsReason {
  code: NsReasonCode;
  /** 'meter': one of the meter's codes; 'working_time': found from Тр and Тнс. */
  from: 'meter' | 'working_time';
  /** The meter's code it comes from (from = 'meter'). */
  meterCode?: string;
  /** Duration, seconds (working-time reasons). */
  seconds?: number;
}

/** Seconds of the interval the meter counted nothing (neither Тр nor Тнс); 0 when not known. */
export function offSeconds(r: RecordFacts): number {
  if (r.workingSeconds === null || r.nsSeconds === null) return 0;
  return Math.max(0, r.seconds - r.workingSeconds - r.nsSeconds);
}

/** The reasons a record is not normal, in a fixed order (meter codes as given, then time); [] = normal. */
export function nsReasons(r: RecordFacts): NsReason[] {
  const out: NsReason[] = r.codes.map((c) => ({ code: METER_CODE_REASON[c] ?? 'ns_unknown', from: 'meter', meterCode: c }));
  const off = offSeconds(r);
  if (off > 0) out.push({ code: 'ns_power_off', from: 'working_time', seconds: off });
  if ((r.nsSeconds ?? 0) > 0) out.push({ code: 'ns_time', from: 'working_time', seconds: r.nsSeconds! });
  return out;
}

export const isNormal = (r: RecordFacts): boolean => nsReasons(r).length === 0;

/** How far back the normal records that stand for off time may lie (the methodology's 3 days). */
export const BASIS_WINDOW_MS = 72 * 3600_000;

export type Calculation =
  | {
      /** The mean hourly Q of the normal records in the window, kWh/h (not rounded). */
      basis: 'mean_hourly';
      offSeconds: number;
      meanHourlyKwh: number;
      /** How many normal records, and their first start (UTC ms). */
      basisRecords: number;
      basisFromMs: number;
      /** Heat added for the off time, kWh (rounded to 0.001). */
      addedKwh: number;
    }
  | { basis: 'none'; offSeconds: number; addedKwh: 0 };

export interface Accounted {
  /** Q as the meter counted it, kWh (0 when not reported). */
  measuredKwh: number;
  /** Q accounted: measured + the calculated heat of the off time, kWh. */
  kwh: number;
  /** Present when the record had off time. */
  calculation?: Calculation;
}

/**
 * Q accounted per record (same order as given), by the rule in the file head. `records` are of one
 * meter and one kind, in any order; `periodStartMs`: the statement's first instant (no basis before).
 */
export function accountedHeat(records: readonly RecordFacts[], periodStartMs: number): Accounted[] {
  const normal = records.filter(isNormal).sort((a, b) => a.startMs - b.startMs);
  return records.map((r) => {
    const measured = r.energyKwh ?? 0;
    const off = offSeconds(r);
    if (off === 0) return { measuredKwh: measured, kwh: measured };
    const from = Math.max(periodStartMs, r.startMs - BASIS_WINDOW_MS);
    const basis = normal.filter((n) => n.startMs >= from && n.startMs < r.startMs && n.energyKwh !== null);
    if (!basis.length) return { measuredKwh: measured, kwh: measured, calculation: { basis: 'none', offSeconds: off, addedKwh: 0 } };
    const q = basis.reduce((s, n) => s.plus(dec(n.energyKwh!)), new D(0));
    const hours = basis.reduce((s, n) => s.plus(n.seconds), new D(0)).div(3600);
    const mean = q.div(hours);
    const added = mean.times(off).div(3600).toDecimalPlaces(3);
    return {
      measuredKwh: measured,
      kwh: dec(measured).plus(added).toNumber(),
      calculation: { basis: 'mean_hourly', offSeconds: off, meanHourlyKwh: mean.toNumber(), basisRecords: basis.length, basisFromMs: basis[0].startMs, addedKwh: added.toNumber() },
    };
  });
}
