/**
 * Billing rules, versioned by the date they take effect: each period is computed by the rules in
 * force at its start (editions of the regulations differ in how long an average may stand in for a
 * missing reading, and whether a norm multiplier applies).
 */
import { z } from 'zod';

const addsUpToOne = (shares: number[]) => Math.abs(shares.reduce((s, x) => s + x, 0) - 1) < 1e-9;

export const BillingRules = z.object({
  effectiveFrom: z.coerce.date(),
  /** Average of up to `averageMaxMonths` last months of history, needing at least `averageMinMonths`. */
  averageMaxMonths: z.number().int().min(1).default(6),
  averageMinMonths: z.number().int().min(1).default(3),
  /** 'monthly': mean monthly consumption; 'daily': mean daily × days in the period. */
  averageMode: z.enum(['monthly', 'daily']).default('monthly'),
  /** How many consecutive periods the average may replace a missing reading. */
  averageMaxPeriods: z.number().int().min(0).default(3),
  /** Applied to norm × residents after the average ran out (e.g. 1.5 where regulations say so). */
  normMultiplier: z.number().positive().default(1),
  /** What to do with a negative common-house volume: bill nothing, or credit it among premises. */
  negativeCommonHouse: z.enum(['zero', 'credit']).default('zero'),
  /**
   * Heating by area where the flats have no heat meters (the building heat meter's Gcal shared by
   * area at the ₽/Gcal tariff). 'monthly_actual': each month the meter's heat of that month (the
   * domain's "heating by the building meter shared by area", hence the default); 'even_over_year':
   * each month 1/12 of the previous calendar year's heat, corrected once a year in `correctionMonth`
   * (actual year − charged, by area); 'heating_season': the month's heat, only in `seasonMonths`.
   */
  heating: z.object({
    method: z.enum(['monthly_actual', 'even_over_year', 'heating_season']).default('monthly_actual'),
    /** Months (1–12) of the heating season; October to April by default. */
    seasonMonths: z.array(z.number().int().min(1).max(12)).min(1).default([1, 2, 3, 4, 10, 11, 12]),
    /** Month (1–12) whose accruals carry the correction of the previous calendar year (even_over_year). */
    correctionMonth: z.number().int().min(1).max(12).default(1),
    /**
     * A month the building heat meter did not measure (ПП 354 п. 59(1), 60(1)): its average monthly
     * heat over the heating-season months it measured stands in for at most this many consecutive
     * months (3, as for apartment meters), then the heating norm per m² × area.
     */
    averageMaxPeriods: z.number().int().min(0).default(3),
  }).prefault({}),
  /**
   * A zone (day/night, peak) tariff charged without zone readings — an unmetered premise, a month
   * charged by average or norm, a zone reading missing — splits the quantity by these fixed shares
   * (T1 first; each set adds up to 1): 70/30 for two zones, 60/25/15 for three by default.
   */
  zoneShares: z.object({
    two: z.array(z.number().nonnegative()).length(2).refine(addsUpToOne, 'zoneShares.two must add up to 1 (e.g. [0.7, 0.3])').default([0.7, 0.3]),
    three: z.array(z.number().nonnegative()).length(3).refine(addsUpToOne, 'zoneShares.three must add up to 1 (e.g. [0.6, 0.25, 0.15])').default([0.6, 0.25, 0.15]),
  }).prefault({}),
});
export type BillingRules = z.infer<typeof BillingRules>;

export function rulesFor(editions: readonly BillingRules[], periodStart: Date): BillingRules {
  const r = editions.filter((e) => e.effectiveFrom <= periodStart).sort((a, b) => b.effectiveFrom.getTime() - a.effectiveFrom.getTime())[0];
  if (!r) throw new Error(`no billing rules in force on ${periodStart.toISOString().slice(0, 10)}`);
  return r;
}
