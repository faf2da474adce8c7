/**
 * Building-level distribution (ОДН / КР на СОИ), ПП 354 appendix 2 formulas 10–11: common-house
 * volume V = ОДПУ − Σ ИПУ (including substituted values) − non-residential consumption; premise i's
 * share = V × Sᵢ / S_total, S_total being the area of ALL premises (the area base, area.ts); each
 * share is capped by norm × common area × Sᵢ / S_total — the excess is the managing organisation's,
 * reported, not billed. A negative volume is handled by the configured policy (nothing billed, or
 * credited) and always reported. Heating from the building meter is shared by the same area base
 * where apartments have no heat meters, with the fallback of п. 59(1)/60(1) for a month the building
 * meter did not measure (heatingFallback). Volumes and shares are decimal quantities (money.ts),
 * rounded to QUANTITY_DECIMALS: the share a line shows is the one billed.
 */
import { billingQuantity, proportion, subtractQuantities, sumQuantities } from './money.js';

export interface PremiseShare {
  premiseId: string;
  area: number;
}

export interface CommonHouseInput {
  buildingConsumption: number;
  apartmentsConsumption: number;
  nonResidentialConsumption: number;
  premises: readonly PremiseShare[];
  /** Area of common property (м² СОИ) × norm per m² = cap on the volume that may be billed; null = no cap. */
  capVolume: number | null;
  negativePolicy: 'zero' | 'credit';
}

export interface CommonHouseShare {
  premiseId: string;
  /** V × Sᵢ / S_total before the cap. */
  share: number;
  /** Formula 10's cap: norm × common area × Sᵢ / S_total; null = no cap. */
  cap: number | null;
  /** What the premise is billed: min(share, cap), or 0 / the credit for a negative volume. */
  volume: number;
  /** share − cap when over it: the organisation's, reported. */
  excess: number;
}

export interface CommonHouseResult {
  volume: number;
  /** Σ of the premises' billed volumes. */
  billedVolume: number;
  /** Σ of the premises' excess over their caps: reported (a loss the managing organisation bears), not billed. */
  excessOverCap: number;
  negative: boolean;
  totalArea: number;
  perPremise: CommonHouseShare[];
}

export function distributeByArea(volume: number, premises: readonly PremiseShare[]): Array<{ premiseId: string; volume: number }> {
  const total = sumQuantities(premises.map((p) => p.area));
  if (total <= 0) throw new Error('cannot share by area: total area of premises is 0');
  return premises.map((p) => ({ premiseId: p.premiseId, volume: proportion(volume, [p.area], total) }));
}

export function commonHouseVolume(input: CommonHouseInput): CommonHouseResult {
  const volume = subtractQuantities(input.buildingConsumption, input.apartmentsConsumption, input.nonResidentialConsumption);
  const cap = input.capVolume === null ? null : billingQuantity(input.capVolume);
  const negative = volume < 0;
  const shared = negative ? (input.negativePolicy === 'credit' ? volume : 0) : volume;
  const shares = distributeByArea(shared, input.premises);
  const caps = cap === null ? null : distributeByArea(cap, input.premises);
  const totalArea = sumQuantities(input.premises.map((p) => p.area));
  const perPremise = shares.map((s, i): CommonHouseShare => {
    const capI = caps ? caps[i].volume : null;
    // The cap limits a charge, not a credit: a negative share (credit policy) is never cut.
    const over = capI !== null && s.volume > capI;
    return { premiseId: s.premiseId, share: s.volume, cap: capI, volume: over ? capI : s.volume, excess: over ? subtractQuantities(s.volume, capI) : 0 };
  });
  return {
    volume, negative, totalArea, perPremise,
    billedVolume: sumQuantities(perPremise.map((p) => p.volume)),
    excessOverCap: sumQuantities(perPremise.map((p) => p.excess)),
  };
}

/**
 * Heating by the building meter, shared by area. 'season': this month's ОДПУ heat as it is;
 * 'evenly': last year's total / 12 each month, corrected once a year by `annualCorrection`.
 */
export function heatingShare(
  mode: { kind: 'season'; monthHeat: number } | { kind: 'evenly'; lastYearHeat: number },
  premises: readonly PremiseShare[],
): Array<{ premiseId: string; volume: number }> {
  const v = mode.kind === 'season' ? mode.monthHeat : proportion(mode.lastYearHeat, [], 12);
  return distributeByArea(v, premises);
}

/** Year-end correction of 'evenly' heating: actual year − what was charged, shared by area. */
export function annualHeatingCorrection(actualYearHeat: number, chargedYearHeat: number, premises: readonly PremiseShare[]) {
  return distributeByArea(subtractQuantities(actualYearHeat, chargedYearHeat), premises);
}

export type HeatingMethod = 'monthly_actual' | 'even_over_year' | 'heating_season';

export interface HeatingMonthInput {
  method: HeatingMethod;
  /** Calendar month 1–12 of the period. */
  month: number;
  seasonMonths: readonly number[];
  /** The building meter's heat in the month (Gcal), null = not measured. */
  monthHeat: number | null;
  /** The building meter's heat in the previous calendar year (Gcal), null = not measured. */
  lastYearHeat: number | null;
}

/**
 * The building's heat to charge in one month by the method of the rules, or null when nothing is
 * to be charged (outside the season) or the needed measurement is missing (`missing` says which).
 */
export function heatingMonthVolume(i: HeatingMonthInput): { volume: number } | { volume: null; missing: 'month' | 'last_year' | null } {
  if (i.method === 'heating_season' && !i.seasonMonths.includes(i.month)) return { volume: null, missing: null };
  if (i.method === 'even_over_year') {
    return i.lastYearHeat === null ? { volume: null, missing: 'last_year' } : { volume: proportion(i.lastYearHeat, [], 12) };
  }
  return i.monthHeat === null ? { volume: null, missing: 'month' } : { volume: i.monthHeat };
}

/**
 * Year-end correction per premise when what each premise was charged is known (a premise may have
 * joined mid-year): its area share of the actual year − what it was charged. Equals
 * annualHeatingCorrection when the charges were shared by the same areas all year.
 */
export function annualHeatingCorrectionByPremise(actualYearHeat: number, premises: readonly PremiseShare[], charged: ReadonlyMap<string, number>) {
  return distributeByArea(actualYearHeat, premises).map((s) => ({ premiseId: s.premiseId, volume: subtractQuantities(s.volume, charged.get(s.premiseId) ?? 0) }));
}

export interface HeatingFallbackInput {
  /** Calendar month 1–12 of the period. */
  month: number;
  seasonMonths: readonly number[];
  /**
   * The building meter's heat (Gcal) of the calendar months right before the period, oldest first
   * ('YYYY-MM'); null = no reading that month. Twelve months are enough: the average is over the last
   * heating season and the count of months already without a reading stops at averageMaxPeriods.
   */
  history: ReadonlyArray<{ month: string; heat: number | null }>;
  /** How many consecutive months without a reading the average may stand in for (rules.heating.averageMaxPeriods). */
  averageMaxPeriods: number;
  /** Heating norm, Gcal per m² of premises per month of the heating season; null = none set. */
  normPerM2: number | null;
  totalArea: number;
}

export type HeatingFallback =
  | { kind: 'building_average'; volume: number; months: string[]; monthsWithoutReadingBefore: number }
  | { kind: 'norm'; volume: number; normPerM2: number; totalArea: number; monthsWithoutReadingBefore: number }
  | { kind: 'none'; reason: string; monthsWithoutReadingBefore: number };

/**
 * A month the building heat meter did not measure (ПП 354 п. 59(1), 60(1)): its average monthly heat
 * over the heating-season months it measured in the last twelve (for a month outside the season, over
 * the measured months outside it, since summer heat is not winter heat), for at most
 * `averageMaxPeriods` consecutive months without a reading; after that, or without any measured month
 * to average, the heating norm per m² × S_total — in the heating season only (the norm is a
 * heating-season norm): outside it nothing is charged and the reason is given.
 */
export function heatingFallback(i: HeatingFallbackInput): HeatingFallback {
  let before = 0;
  for (let k = i.history.length - 1; k >= 0 && i.history[k].heat === null; k--) before++;
  const inSeason = i.seasonMonths.includes(i.month);
  if (before < i.averageMaxPeriods) {
    const pool = i.history.filter((h) => h.heat !== null && i.seasonMonths.includes(Number(h.month.slice(5, 7))) === inSeason);
    if (pool.length > 0) {
      return { kind: 'building_average', volume: proportion(sumQuantities(pool.map((h) => h.heat!)), [1], pool.length), months: pool.map((h) => h.month), monthsWithoutReadingBefore: before };
    }
  }
  if (!inSeason) return { kind: 'none', reason: 'outside the heating season the heating norm does not apply', monthsWithoutReadingBefore: before };
  if (i.normPerM2 === null) {
    return { kind: 'none', reason: 'no heating norm per m² (billing norm of heat with basis heating_m2) to charge by', monthsWithoutReadingBefore: before };
  }
  return { kind: 'norm', volume: proportion(i.normPerM2, [i.totalArea], 1), normPerM2: i.normPerM2, totalArea: i.totalArea, monthsWithoutReadingBefore: before };
}
