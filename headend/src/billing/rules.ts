/**
 * Billing rules, versioned by the date they take effect: each period is computed by the rules in
 * force at its start (editions of the regulations differ in how long an average may stand in for a
 * missing reading, and whether a norm multiplier applies).
 */
import { z } from 'zod';

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
});
export type BillingRules = z.infer<typeof BillingRules>;

export function rulesFor(editions: readonly BillingRules[], periodStart: Date): BillingRules {
  const r = editions.filter((e) => e.effectiveFrom <= periodStart).sort((a, b) => b.effectiveFrom.getTime() - a.effectiveFrom.getTime())[0];
  if (!r) throw new Error(`no billing rules in force on ${periodStart.toISOString().slice(0, 10)}`);
  return r;
}
