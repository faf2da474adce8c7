/**
 * Building-level distribution (ОДН / КР на СОИ): common-house volume = ОДПУ − Σ ИПУ (including
 * substituted values) − non-residential consumption, shared among premises in proportion to area,
 * capped by the common-property norm × area (the excess is reported, not billed). A negative volume
 * is handled by the configured policy (nothing billed, or credited) and always reported. Heating from
 * the building meter is shared by area where apartments have no heat meters. Volumes and shares are
 * decimal quantities (money.ts), rounded to QUANTITY_DECIMALS: the share a line shows is the one billed.
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

export interface CommonHouseResult {
  volume: number;
  billedVolume: number;
  /** Above the cap: reported (a loss the managing organisation bears), not billed. */
  excessOverCap: number;
  negative: boolean;
  perPremise: Array<{ premiseId: string; volume: number }>;
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
  let billed = negative ? (input.negativePolicy === 'credit' ? volume : 0) : volume;
  let excess = 0;
  if (!negative && cap !== null && billed > cap) {
    excess = subtractQuantities(billed, cap);
    billed = cap;
  }
  return { volume, billedVolume: billed, excessOverCap: excess, negative, perPremise: distributeByArea(billed, input.premises) };
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
