/**
 * Heating by area (отопление по площади) of a building whose flats have no heat meters: the building
 * heat meter's Gcal for the month by the rules' method (pure heatingMonthVolume: the month's actual
 * heat, 1/12 of last year's, or the month's heat only in the heating season), shared by area
 * (heatingShare) over the building's area base (area.ts: every premise with an area, the one base
 * the common-house share uses too) and charged to each premise's account of the organisation —
 * non-residential ones included — at the ₽/Gcal tariff. A month the building meter did not measure
 * is charged by the fallback of ПП 354 п. 59(1)/60(1) (pure heatingFallback): its average over the
 * heating-season months it measured, for up to rules.heating.averageMaxPeriods months, then the
 * heating norm per m² (billing norm basis heating_m2) × area; the summary and the lines say which.
 * With 'even_over_year' the configured month also carries the previous calendar year's
 * correction — its actual heat by area minus what each premise was charged — as separate lines;
 * without a measured previous year it charges the month's actual heat (so a new building is not
 * left unbilled) and the correction later settles against everything charged.
 */
import type { Queryable } from '../../db/types.js';
import {
  annualHeatingCorrectionByPremise, areaNote, charge, formatQuantity, heatingFallback, heatingMonthVolume, heatingShare, sharedVolumeTariff, sumKopecks, sumQuantities, tariffFor,
  type AreaBase, type HeatingFallback, type HeatingMethod, type Tariff,
} from '../index.js';
import { sumMeasured, type Ctx, type StorableLine } from './common-house.js';
import { loadAreaBase } from './area.js';

/** How a heating month was charged: a method of the rules, or a fallback for a month without a building reading. */
export type HeatingChargedAs = HeatingMethod | 'building_average' | 'norm';

export interface HeatingSummary {
  /**
   * The rules' method, and what this month was charged by: monthly_actual when even_over_year lacks
   * last year; building_average or norm when the building meter has no reading for the month.
   */
  method: HeatingMethod;
  chargedAs: HeatingChargedAs | null;
  /** The building meter's heat in the month and in the previous calendar year, Gcal (null = not measured / not needed). */
  monthHeat: number | null;
  lastYearHeat: number | null;
  /** Heat charged for the month, Gcal; null = nothing (outside the season, or a measurement is missing: `missing`). */
  volume: number | null;
  missing: 'month' | 'last_year' | null;
  /** For a month without a building reading: the fallback used (average of which months, or the norm), or why nothing was charged. */
  fallback: HeatingFallback | null;
  totalArea: number;
  /** The area base divided by (all premises with an area) and the premises left out or not billed. */
  areaBase: Omit<AreaBase, 'premises'>;
  /** Year-end correction booked this month (even_over_year, in the correction month). */
  correction: { year: number; actualHeat: number; chargedHeat: number } | null;
}

/**
 * The building meters' heat (Gcal) of each of the `n` calendar months before the period (building
 * local months), oldest first; null for a month without a reading.
 */
async function monthlyHeat(q: Queryable, ctx: Ctx, ids: number[], n: number): Promise<Array<{ month: string; heat: number | null }>> {
  const { rows } = await q.query<{ month: string; from: Date; to: Date }>(
    `SELECT to_char(m, 'YYYY-MM') AS month, (m::timestamp AT TIME ZONE b.timezone) AS from, ((m + interval '1 month')::timestamp AT TIME ZONE b.timezone) AS to
       FROM buildings b, generate_series($2::date - make_interval(months => $3), $2::date - interval '1 month', interval '1 month') AS m
      WHERE b.id = $1 ORDER BY m`, [ctx.buildingId, ctx.period, n]);
  const out: Array<{ month: string; heat: number | null }> = [];
  for (const r of rows) out.push({ month: r.month, heat: ids.length ? await sumMeasured(q, ids, 'heat', new Date(r.from), new Date(r.to)) : null });
  return out;
}

/** The heating norm in force: Gcal per m² of premises per month (billing_norms basis heating_m2); null = none. */
async function heatingNorm(q: Queryable, ctx: Ctx): Promise<number | null> {
  const { rows } = await q.query<{ per_resident: number }>(
    `SELECT per_resident FROM billing_norms WHERE org_id = $1 AND resource = 'heat' AND basis = 'heating_m2' AND valid_from <= $2::date ORDER BY valid_from DESC LIMIT 1`,
    [ctx.orgId, ctx.period]);
  return rows[0] ? Number(rows[0].per_resident) : null;
}

/** A correction may be negative: charged at the tariff's (first) unit price, never by blocks. */
function unitPrice(t: Tariff): Tariff {
  return t.kind === 'block' ? { kind: 'single', price: t.blocks[0].price } : sharedVolumeTariff(t);
}

export async function heatingLines(q: Queryable, ctx: Ctx): Promise<{ lines: StorableLine[]; summary: HeatingSummary | null }> {
  if (!ctx.heatingByArea) return { lines: [], summary: null };
  const h = ctx.rules.heating;
  const periodKey = new Date(`${ctx.period}T00:00:00Z`);
  const month = periodKey.getUTCMonth() + 1;
  const year = periodKey.getUTCFullYear();
  const { rows: odpu } = await q.query<{ id: string }>(
    `SELECT id FROM meters WHERE building_id = $1 AND placement = 'building' AND resource = 'heat' AND status <> 'removed' ORDER BY id`, [ctx.buildingId]);
  const ids = odpu.map((r) => Number(r.id));
  const base = await loadAreaBase(q, ctx.buildingId, ctx.orgId);
  const { premises: sharing, ...baseReport } = base;
  const shares = sharing.map((p) => ({ premiseId: p.premiseId, area: p.area }));
  const accountOf = new Map(sharing.filter((p) => p.accountId !== null).map((p) => [p.premiseId, p.accountId!]));
  const totalArea = base.totalArea;

  let monthHeat = h.method === 'even_over_year' ? null : await sumMeasured(q, ids, 'heat', ctx.start, ctx.end);
  const correctionDue = h.method === 'even_over_year' && month === h.correctionMonth;
  let lastYearHeat: number | null = null;
  if (h.method === 'even_over_year') {
    const b = await q.query<{ from: Date; to: Date }>(
      `SELECT (make_date($2::int - 1, 1, 1)::timestamp AT TIME ZONE timezone) AS from, (make_date($2::int, 1, 1)::timestamp AT TIME ZONE timezone) AS to
         FROM buildings WHERE id = $1`, [ctx.buildingId, year]);
    // A year: interpolated from the readings around its two bounds only.
    lastYearHeat = await sumMeasured(q, ids, 'heat', new Date(b.rows[0].from), new Date(b.rows[0].to), { attribution: 'calendar', aroundBoundsOnly: true });
  }
  let v: { volume: number | null } = heatingMonthVolume({ method: h.method, month, seasonMonths: h.seasonMonths, monthHeat, lastYearHeat });
  let chargedAs: HeatingChargedAs | null = v.volume === null ? null : h.method;
  const missing = 'missing' in v ? (v.missing as HeatingSummary['missing']) : null;
  if (h.method === 'even_over_year' && v.volume === null) {
    // No measured previous year (a building new to the system): the month's actual heat rather than
    // nothing; the year-end correction then settles against everything charged.
    monthHeat = await sumMeasured(q, ids, 'heat', ctx.start, ctx.end);
    const actual = heatingMonthVolume({ method: 'monthly_actual', month, seasonMonths: h.seasonMonths, monthHeat, lastYearHeat: null });
    if (actual.volume !== null) {
      v = actual;
      chargedAs = 'monthly_actual';
    }
  }
  let fallback: HeatingFallback | null = null;
  if (v.volume === null && missing !== null) {
    // The building meter has no reading for the month (п. 59(1), 60(1)): its average, then the norm.
    fallback = heatingFallback({
      month, seasonMonths: h.seasonMonths, history: await monthlyHeat(q, ctx, ids, 12), averageMaxPeriods: h.averageMaxPeriods,
      normPerM2: await heatingNorm(q, ctx), totalArea,
    });
    if (fallback.kind !== 'none') {
      v = { volume: fallback.volume };
      chargedAs = fallback.kind;
    }
  }
  const summary: HeatingSummary = { method: h.method, chargedAs, monthHeat, lastYearHeat, volume: v.volume, missing, fallback, totalArea, areaBase: baseReport, correction: null };
  if (shares.length === 0) return { lines: [], summary };

  const tariff = tariffFor(ctx.tariffs, 'heat', periodKey);
  const price = sharedVolumeTariff(tariff);
  const lines: StorableLine[] = [];
  const push = (premiseId: string, volume: number, t: Tariff, heatingMethod: StorableLine['heatingMethod'], note: string) => {
    const accountId = accountOf.get(premiseId);
    if (!accountId) return;
    const parts = charge(t, volume);
    lines.push({ accountId, resource: 'heat', meterId: null, method: 'heating', heatingMethod, quantity: volume, parts, amount: sumKopecks(parts.map((p) => p.amount)), note });
  };
  if (v.volume !== null && chargedAs !== null) {
    const why = fallback?.kind === 'building_average'
      ? `no building heat meter reading this month; its average ${formatQuantity(fallback.volume)} Gcal over ${fallback.months.join(', ')}`
      : fallback?.kind === 'norm'
        ? `no building heat meter reading this month${fallback.monthsWithoutReadingBefore > 0 ? ` nor the ${fallback.monthsWithoutReadingBefore} before` : ''}; norm ${fallback.normPerM2} Gcal/m² × ${totalArea} m² = ${formatQuantity(fallback.volume)} Gcal`
        : chargedAs === 'even_over_year' ? `1/12 of ${year - 1}'s ${formatQuantity(lastYearHeat!)} Gcal`
          : `building heat meter ${formatQuantity(v.volume)} Gcal${chargedAs !== h.method ? ` (${year - 1} not measured for ${h.method})` : ''}`;
    for (const s of heatingShare({ kind: 'season', monthHeat: v.volume }, shares)) {
      push(s.premiseId, s.volume, price, chargedAs, `heating by area (${chargedAs}): ${why} × ${areaNote(base, shares.find((x) => x.premiseId === s.premiseId)!.area)}`);
    }
  }
  if (correctionDue && lastYearHeat !== null) {
    // What each premise was charged for heating last year (any method but a correction), adjustments
    // (reversals negative) included; due only when last year was charged evenly at least once.
    const { rows } = await q.query<{ premise_id: string; quantity: number; evenly: boolean }>(
      `SELECT a.premise_id, sum(l.quantity) AS quantity, bool_or(l.heating_method = 'even_over_year') AS evenly
         FROM accrual_lines l JOIN personal_accounts a ON a.id = l.account_id
        WHERE l.building_id = $1 AND l.method = 'heating' AND l.heating_method <> 'annual_correction'
          AND COALESCE(l.adjusts_period, l.period) >= make_date($2::int - 1, 1, 1) AND COALESCE(l.adjusts_period, l.period) < make_date($2::int, 1, 1)
        GROUP BY a.premise_id`, [ctx.buildingId, year]);
    if (rows.some((r) => r.evenly)) {
      const charged = new Map(rows.map((r) => [String(r.premise_id), Number(r.quantity)]));
      // Premises without an account were never charged: only the charged premises' shares are corrected.
      const corr = annualHeatingCorrectionByPremise(lastYearHeat, shares, charged).filter((c) => accountOf.has(c.premiseId));
      const chargedHeat = sumQuantities(rows.map((r) => Number(r.quantity)));
      summary.correction = { year: year - 1, actualHeat: lastYearHeat, chargedHeat };
      for (const c of corr) {
        if (c.volume === 0) continue; // a decimal quantity (money.ts): nothing left to correct
        push(c.premiseId, c.volume, unitPrice(tariff), 'annual_correction', `annual heating correction for ${year - 1}: actual ${formatQuantity(lastYearHeat)} Gcal by area − charged`);
      }
    }
  }
  return { lines, summary };
}
