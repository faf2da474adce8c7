/**
 * Common-house volume (ОДН) of a building and month, shared among residential premises by area via
 * the pure commonHouseVolume: ОДПУ − Σ individual volumes (the month's accrual quantities, substitutes
 * included) − non-residential meters, capped by the common-area norm × the building's common area,
 * negative volume by the rules' policy. Only resources with a building meter read in the month.
 */
import type { Resource } from '@amr/protocols';
import type { Queryable } from '../db/types.js';
import { registerQuantity } from '@amr/protocols';
import { loadPointConsumption } from '../readings/consumption-store.js';
import { charge, commonHouseVolume, tariffFor, toBillingUnit, type AccrualLine, type BillingRules, type HeatingMethod, type TariffVersion } from '../billing/index.js';

export interface CommonHouseSummary {
  resource: Resource;
  buildingConsumption: number;
  apartmentsConsumption: number;
  nonResidentialConsumption: number;
  volume: number;
  billedVolume: number;
  excessOverCap: number;
  negative: boolean;
}

/**
 * A stored line's method may also be 'common_house' or 'heating' (the pure AccrualLine knows only
 * individual methods); a heating line says how its volume was found (heatingMethod).
 */
export type StorableLine = Omit<AccrualLine, 'method'> & {
  method: AccrualLine['method'] | 'common_house' | 'heating';
  heatingMethod?: HeatingMethod | 'annual_correction';
};

export interface Ctx {
  buildingId: number;
  orgId: number;
  period: string;
  start: Date;
  end: Date;
  tariffs: readonly TariffVersion[];
  rules: BillingRules;
  /** Heat is charged by area from the building meter (heating.ts), not as a common-house volume. */
  heatingByArea?: boolean;
}

/**
 * Σ measured consumption of the meters in the billing unit (Gcal for heat), by the one consumption
 * function (register digits, rollover, the building's period attribution); null when one has no
 * reading or its register went down implausibly (then there is no volume to distribute).
 */
export async function sumMeasured(q: Queryable, meterIds: number[], resource: Resource, start: Date, end: Date): Promise<number | null> {
  let total = 0;
  for (const id of meterIds) {
    const qn = registerQuantity(resource);
    const r = (await loadPointConsumption(q, { meterIds: [id], quantities: [qn], period: { start, end } })).registers[qn];
    if (r.status !== 'measured') return null;
    total += r.quantity;
  }
  return toBillingUnit(resource, total);
}

export async function commonHouseLines(q: Queryable, ctx: Ctx, individual: readonly AccrualLine[]): Promise<{ lines: StorableLine[]; summaries: CommonHouseSummary[] }> {
  const { rows: meters } = await q.query<{ id: string; placement: string; resource: Resource }>(
    `SELECT id, placement, resource FROM meters WHERE building_id = $1 AND placement IN ('building', 'non_residential') AND status <> 'removed' ORDER BY id`, [ctx.buildingId]);
  const { rows: prem } = await q.query<{ premise_id: string; area: number | null; account_id: string }>(
    `SELECT p.id AS premise_id, p.area_m2 AS area, min(a.id) AS account_id FROM premises p JOIN personal_accounts a ON a.premise_id = p.id AND a.active AND a.org_id = $2
      WHERE p.building_id = $1 AND p.kind = 'residential' GROUP BY p.id, p.area_m2 ORDER BY p.id`, [ctx.buildingId, ctx.orgId]);
  const { rows: b } = await q.query<{ common_area_m2: number | null }>('SELECT common_area_m2 FROM buildings WHERE id = $1', [ctx.buildingId]);
  const periodKey = new Date(`${ctx.period}T00:00:00Z`);
  const lines: StorableLine[] = [];
  const summaries: CommonHouseSummary[] = [];
  for (const resource of [...new Set(meters.filter((m) => m.placement === 'building').map((m) => m.resource))]) {
    if (!ctx.tariffs.some((t) => t.resource === resource && t.validFrom <= periodKey)) continue;
    if (resource === 'heat' && ctx.heatingByArea) continue;
    const odpu = await sumMeasured(q, meters.filter((m) => m.placement === 'building' && m.resource === resource).map((m) => Number(m.id)), resource, ctx.start, ctx.end);
    if (odpu === null) continue; // no ОДПУ reading in the month: nothing to distribute
    const nonRes = await sumMeasured(q, meters.filter((m) => m.placement === 'non_residential' && m.resource === resource).map((m) => Number(m.id)), resource, ctx.start, ctx.end);
    const apartments = individual.filter((l) => l.resource === resource).reduce((s, l) => s + l.quantity, 0);
    const norm = await q.query<{ per_resident: number }>(
      `SELECT per_resident FROM billing_norms WHERE org_id = $1 AND resource = $2 AND basis = 'common_area_m2' AND valid_from <= $3::date ORDER BY valid_from DESC LIMIT 1`,
      [ctx.orgId, resource, ctx.period]);
    const area = b[0]?.common_area_m2 === null || b[0]?.common_area_m2 === undefined ? null : Number(b[0].common_area_m2);
    const cap = norm.rows[0] && area !== null ? Number(norm.rows[0].per_resident) * area : null;
    const shares = prem.filter((p) => p.area !== null && Number(p.area) > 0).map((p) => ({ premiseId: p.premise_id, area: Number(p.area) }));
    if (shares.length === 0) continue;
    const r = commonHouseVolume({ buildingConsumption: odpu, apartmentsConsumption: apartments, nonResidentialConsumption: nonRes ?? 0, premises: shares, capVolume: cap, negativePolicy: ctx.rules.negativeCommonHouse });
    summaries.push({ resource, buildingConsumption: odpu, apartmentsConsumption: apartments, nonResidentialConsumption: nonRes ?? 0, volume: r.volume, billedVolume: r.billedVolume, excessOverCap: r.excessOverCap, negative: r.negative });
    if (r.billedVolume === 0) continue;
    const t = tariffFor(ctx.tariffs, resource, periodKey);
    // A zone tariff has no zone split for a common volume: the first zone's price, as for estimates.
    const price = t.kind === 'zones' ? { kind: 'single' as const, price: t.prices[0] } : t;
    for (const s of r.perPremise) {
      const parts = charge(price, s.volume);
      const accountId = prem.find((p) => p.premise_id === s.premiseId)!.account_id;
      lines.push({ accountId: String(accountId), resource, meterId: null, method: 'common_house', quantity: s.volume, parts, amount: parts.reduce((x, p) => x + p.amount, 0),
        note: `common-house volume ${r.volume.toFixed(3)}${r.excessOverCap > 0 ? `, capped (excess ${r.excessOverCap.toFixed(3)} not billed)` : ''}${r.negative ? ', negative' : ''}; by area` });
    }
  }
  return { lines, summaries };
}
