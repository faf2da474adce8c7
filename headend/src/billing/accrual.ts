/**
 * Accrual (начисление) for one personal account and period, per meter: measured consumption ×
 * tariff; without a reading, the meter's average for a limited number of consecutive periods, then
 * norm × registered residents. A failed meter or an expired verification counts as "no reading"
 * from its date: the part of the period after it is charged by the fallback, pro rata by days.
 * Every line says which method produced it. Averages and norms pro rata are decimal quantities
 * (money.ts proportion), so the quantity a line shows is the one its amount is made from.
 */
import type { Resource } from '@amr/protocols';
import { charge, tariffFor, type ChargePart, type TariffVersion } from './tariffs.js';
import type { BillingRules } from './rules.js';
import { proportion, sumKopecks, sumQuantities, type Kopecks } from './money.js';

export type AccrualMethod = 'measured' | 'average' | 'norm';
const DAY = 86_400_000;

export interface MonthHistory {
  periodStart: Date;
  consumption: number;
  days: number;
}

export interface MeterBillingInput {
  meterId: string;
  resource: Resource;
  /** Consumption measured in the period (one per zone for zone meters), up to `unusableFrom` if set; null = no reading. */
  measured: number | readonly number[] | null;
  /** Measured monthly consumption before this period, oldest first (only months with real readings). */
  history: readonly MonthHistory[];
  /** How many periods right before this one were already charged by average. */
  averagePeriodsUsed: number;
  /** Meter failed or verification expired from this date: no reading from then on. */
  unusableFrom?: Date | null;
  /** Why `measured` is null when it is not simply a missing reading (e.g. the register went down implausibly): put in the fallback line's note. */
  noReadingReason?: string;
  /** How the measured value was found when it needs saying (e.g. a substitute charge of a month it covers deducted): the line's note. */
  measuredNote?: string;
}

export interface AccountBillingInput {
  accountId: string;
  period: { start: Date; end: Date };
  residents: number;
  meters: readonly MeterBillingInput[];
  /** Resources the premise has no meter for: charged by norm. */
  unmeteredResources: readonly Resource[];
  /** Norm per resident per month, by resource. */
  norms: Partial<Record<Resource, number>>;
  tariffs: readonly TariffVersion[];
  rules: BillingRules;
}

export interface AccrualLine {
  accountId: string;
  resource: Resource;
  meterId: string | null;
  method: AccrualMethod;
  quantity: number;
  parts: ChargePart[];
  amount: Kopecks;
  note?: string;
}

const daysOf = (p: { start: Date; end: Date }) => Math.round((p.end.getTime() - p.start.getTime()) / DAY);

/** The meter's average for `days` days, or null when history is too short. */
export function averageConsumption(history: readonly MonthHistory[], rules: BillingRules, days: number, periodDays: number): number | null {
  const last = history.slice(-rules.averageMaxMonths);
  if (last.length < rules.averageMinMonths) return null;
  const total = sumQuantities(last.map((m) => m.consumption));
  if (rules.averageMode === 'daily') return proportion(total, [days], last.reduce((s, m) => s + m.days, 0));
  return proportion(total, [days], last.length * periodDays);
}

function normConsumption(input: AccountBillingInput, resource: Resource, days: number, periodDays: number): number {
  const norm = input.norms[resource];
  if (norm === undefined) throw new Error(`no norm for ${resource}: cannot charge account ${input.accountId} without a reading`);
  return proportion(norm, [input.residents, input.rules.normMultiplier, days], periodDays);
}

function line(input: AccountBillingInput, resource: Resource, meterId: string | null, method: AccrualMethod, q: number | readonly number[], note?: string): AccrualLine {
  const t = tariffFor(input.tariffs, resource, input.period.start);
  // A zone tariff and one quantity (norm, average, an unmetered premise): split by the rules' zone shares.
  const split = t.kind === 'zones' && typeof q === 'number' ? zoneShares(input.rules, t.prices.length) : null;
  const parts = charge(t, split ? split.map((s) => proportion(q as number, [s], 1)) : q);
  const quantity = sumQuantities(parts.map((p) => p.quantity));
  const why = split ? `${note ? `${note}; ` : ''}split by zones ${split.map((s) => `${+(s * 100).toFixed(2)}%`).join('/')} (billing rules)` : note;
  return { accountId: input.accountId, resource, meterId, method, quantity, parts, amount: sumKopecks(parts.map((p) => p.amount)), ...(why ? { note: why } : {}) };
}

/** The rules' fixed zone shares for a 2- or 3-zone tariff, T1 first. */
export function zoneShares(rules: BillingRules, zones: number): readonly number[] {
  return zones === 3 ? rules.zoneShares.three : rules.zoneShares.two;
}

/** Fallback for `days` of the period without a usable reading (a zone tariff splits it by the zone shares, in line()). */
function fallback(input: AccountBillingInput, m: MeterBillingInput, days: number, periodDays: number, why: string): AccrualLine {
  if (m.averagePeriodsUsed < input.rules.averageMaxPeriods) {
    const avg = averageConsumption(m.history, input.rules, days, periodDays);
    if (avg !== null) return line(input, m.resource, m.meterId, 'average', avg, `${why}; average of ${Math.min(m.history.length, input.rules.averageMaxMonths)} months`);
  }
  const q = normConsumption(input, m.resource, days, periodDays);
  const note = `${why}; norm × ${input.residents} resident(s)${input.rules.normMultiplier !== 1 ? ` × ${input.rules.normMultiplier}` : ''}`;
  return line(input, m.resource, m.meterId, 'norm', q, note);
}

export function accrueAccount(input: AccountBillingInput): AccrualLine[] {
  const periodDays = daysOf(input.period);
  const lines: AccrualLine[] = [];
  for (const m of input.meters) {
    const cut = m.unusableFrom && m.unusableFrom < input.period.end ? m.unusableFrom : null;
    if (cut && cut <= input.period.start) {
      lines.push(fallback(input, m, periodDays, periodDays, `meter unusable since ${cut.toISOString().slice(0, 10)}`));
      continue;
    }
    if (m.measured === null) {
      lines.push(fallback(input, m, periodDays, periodDays, m.noReadingReason ? `no usable reading (${m.noReadingReason})` : 'no reading'));
      continue;
    }
    lines.push(line(input, m.resource, m.meterId, 'measured', m.measured, m.measuredNote));
    if (cut) {
      const rest = Math.round((input.period.end.getTime() - cut.getTime()) / DAY);
      if (rest > 0) lines.push(fallback(input, m, rest, periodDays, `meter unusable since ${cut.toISOString().slice(0, 10)}`));
    }
  }
  for (const r of input.unmeteredResources) lines.push(line(input, r, null, 'norm', normConsumption(input, r, periodDays, periodDays), `no meter; norm × ${input.residents} resident(s)`));
  return lines;
}
