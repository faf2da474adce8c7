/**
 * Heating by area (отопление по площади) of a building whose flats have no heat meters: the building
 * heat meter's Gcal for the month by the rules' method (pure heatingMonthVolume: the month's actual
 * heat, 1/12 of last year's, or the month's heat only in the heating season), shared among the
 * premises by area (heatingShare) and charged to each residential premise's account at the ₽/Gcal
 * tariff. With 'even_over_year' the configured month also carries the previous calendar year's
 * correction — its actual heat by area minus what each premise was charged — as separate lines;
 * without a measured previous year it charges the month's actual heat (so a new building is not
 * left unbilled) and the correction later settles against everything charged.
 * The area base is every premise with an area (non-residential too: their share is theirs, not the
 * flats'); only premises with an account of the organisation get lines.
 */
import type { Queryable } from '../db/types.js';
import {
  annualHeatingCorrectionByPremise, charge, heatingMonthVolume, heatingShare, tariffFor, toBillingUnit, type HeatingMethod, type Tariff,
} from '../billing/index.js';
import { registerQuantity } from '@amr/protocols';
import { loadPointConsumption } from '../readings/consumption-store.js';
import { sumMeasured, type Ctx, type StorableLine } from './common-house.js';

export interface HeatingSummary {
  /** The rules' method, and the one this month was charged by (monthly_actual when even_over_year lacks last year). */
  method: HeatingMethod;
  chargedAs: HeatingMethod | null;
  /** The building meter's heat in the month and in the previous calendar year, Gcal (null = not measured / not needed). */
  monthHeat: number | null;
  lastYearHeat: number | null;
  /** Heat charged for the month, Gcal; null = nothing (outside the season, or a measurement is missing: `missing`). */
  volume: number | null;
  missing: 'month' | 'last_year' | null;
  totalArea: number;
  /** Year-end correction booked this month (even_over_year, in the correction month). */
  correction: { year: number; actualHeat: number; chargedHeat: number } | null;
}

/** Heat of the building meters over a long stretch, interpolated from the readings around its two bounds only. */
async function heatBetween(q: Queryable, meterIds: number[], from: Date, to: Date): Promise<number | null> {
  let total = 0;
  const qn = registerQuantity('heat');
  for (const id of meterIds) {
    const r = (await loadPointConsumption(q, { meterIds: [id], quantities: [qn], period: { start: from, end: to }, attribution: 'calendar', aroundBoundsOnly: true })).registers[qn];
    if (r.status !== 'measured') return null;
    total += r.quantity;
  }
  return toBillingUnit('heat', total);
}

/** A correction may be negative: charged at the tariff's (first) unit price, never by blocks. */
function unitPrice(t: Tariff): Tariff {
  return t.kind === 'zones' ? { kind: 'single', price: t.prices[0] } : t.kind === 'block' ? { kind: 'single', price: t.blocks[0].price } : t;
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
  const { rows: prem } = await q.query<{ premise_id: string; area: number; account_id: string | null }>(
    `SELECT p.id AS premise_id, p.area_m2 AS area,
            (SELECT min(a.id) FROM personal_accounts a WHERE a.premise_id = p.id AND a.active AND a.org_id = $2 AND p.kind = 'residential') AS account_id
       FROM premises p WHERE p.building_id = $1 AND p.area_m2 > 0 ORDER BY p.id`, [ctx.buildingId, ctx.orgId]);
  const shares = prem.map((p) => ({ premiseId: String(p.premise_id), area: Number(p.area) }));
  const accountOf = new Map(prem.filter((p) => p.account_id !== null).map((p) => [String(p.premise_id), String(p.account_id)]));
  const totalArea = shares.reduce((s, p) => s + p.area, 0);

  let monthHeat = h.method === 'even_over_year' ? null : await sumMeasured(q, ids, 'heat', ctx.start, ctx.end);
  const correctionDue = h.method === 'even_over_year' && month === h.correctionMonth;
  let lastYearHeat: number | null = null;
  if (h.method === 'even_over_year') {
    const b = await q.query<{ from: Date; to: Date }>(
      `SELECT (make_date($2::int - 1, 1, 1)::timestamp AT TIME ZONE timezone) AS from, (make_date($2::int, 1, 1)::timestamp AT TIME ZONE timezone) AS to
         FROM buildings WHERE id = $1`, [ctx.buildingId, year]);
    lastYearHeat = await heatBetween(q, ids, new Date(b.rows[0].from), new Date(b.rows[0].to));
  }
  let v = heatingMonthVolume({ method: h.method, month, seasonMonths: h.seasonMonths, monthHeat, lastYearHeat });
  let chargedAs: HeatingMethod | null = v.volume === null ? null : h.method;
  const missing = v.volume === null ? v.missing : null;
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
  const summary: HeatingSummary = { method: h.method, chargedAs, monthHeat, lastYearHeat, volume: v.volume, missing, totalArea, correction: null };
  if (shares.length === 0) return { lines: [], summary };

  const tariff = tariffFor(ctx.tariffs, 'heat', periodKey);
  const price = tariff.kind === 'zones' ? unitPrice(tariff) : tariff;
  const lines: StorableLine[] = [];
  const push = (premiseId: string, volume: number, t: Tariff, heatingMethod: StorableLine['heatingMethod'], note: string) => {
    const accountId = accountOf.get(premiseId);
    if (!accountId) return;
    const parts = charge(t, volume);
    lines.push({ accountId, resource: 'heat', meterId: null, method: 'heating', heatingMethod, quantity: volume, parts, amount: parts.reduce((s, p) => s + p.amount, 0), note });
  };
  if (v.volume !== null && chargedAs !== null) {
    const why = chargedAs === 'even_over_year' ? `1/12 of ${year - 1}'s ${lastYearHeat!.toFixed(3)} Gcal`
      : `building heat meter ${v.volume.toFixed(3)} Gcal${chargedAs !== h.method ? ` (${year - 1} not measured for ${h.method})` : ''}`;
    for (const s of heatingShare({ kind: 'season', monthHeat: v.volume }, shares)) {
      push(s.premiseId, s.volume, price, chargedAs, `heating by area (${chargedAs}): ${why} × ${shares.find((x) => x.premiseId === s.premiseId)!.area} / ${totalArea} m²`);
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
      const chargedHeat = rows.reduce((s, r) => s + Number(r.quantity), 0);
      summary.correction = { year: year - 1, actualHeat: lastYearHeat, chargedHeat };
      for (const c of corr) {
        if (Math.abs(c.volume) < 1e-9) continue;
        push(c.premiseId, c.volume, unitPrice(tariff), 'annual_correction', `annual heating correction for ${year - 1}: actual ${lastYearHeat.toFixed(3)} Gcal by area − charged`);
      }
    }
  }
  return { lines, summary };
}
