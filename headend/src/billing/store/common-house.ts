/**
 * Common-house volume (ОДН) of a building and month by ПП 354 appendix 2 formulas 10–11, via the pure
 * commonHouseVolume: ОДПУ − Σ individual volumes (the month's accrual quantities, substitutes
 * included) − non-residential meters, shared over the area of ALL premises (the area base of
 * area.ts, shared with heating), each premise capped at norm × common area × Sᵢ / S_total, negative
 * volume by the rules' policy. Every premise with an account of the organisation gets its line,
 * non-residential ones too; shares of premises without an account or an area are reported in the
 * summary, not moved onto the others. Only resources with a building meter read in the month.
 */
import type { Resource } from '@amr/protocols';
import type { Queryable } from '../../db/types.js';
import { registerQuantity } from '@amr/protocols';
import { loadPointConsumption, type PointRequest } from '../../readings/consumption-store.js';
import {
  areaNote, charge, commonHouseVolume, formatQuantity, proportion, sharedVolumeTariff, subtractQuantities, sumKopecks, sumQuantities, tariffFor, toBillingUnit,
  type AccrualLine, type AreaBase, type BillingRules, type HeatingMethod, type TariffVersion,
} from '../index.js';
import { loadAreaBase } from './area.js';

export interface CommonHouseSummary {
  resource: Resource;
  buildingConsumption: number;
  apartmentsConsumption: number;
  nonResidentialConsumption: number;
  volume: number;
  billedVolume: number;
  excessOverCap: number;
  negative: boolean;
  /** The building's cap: common-property norm per m² × common area; null = no norm or no common area. */
  capVolume: number | null;
  /** What "by area" divided by: S_total over all premises, and the premises left out or not billed. */
  areaBase: Omit<AreaBase, 'premises'>;
  /** Each sharing premise: its share, cap, billed volume and excess; billed = it has an account of the organisation. */
  perPremise: Array<{ premiseId: string; number: string; kind: 'residential' | 'non_residential'; area: number; accountId: string | null; share: number; cap: number | null; volume: number; excess: number }>;
  /** Σ of the capped shares of premises without an account: theirs, not charged here nor to anyone else. */
  withoutAccountVolume: number;
}

/**
 * A stored line's method may also be 'common_house' or 'heating' (the pure AccrualLine knows only
 * individual methods); a heating line says how its volume was found (heatingMethod).
 */
export type StorableLine = Omit<AccrualLine, 'method'> & {
  method: AccrualLine['method'] | 'common_house' | 'heating';
  heatingMethod?: HeatingMethod | 'building_average' | 'norm' | 'annual_correction';
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
 * function (register digits, rollover, the building's period attribution unless `how` overrides it —
 * heating over a year reads only around the bounds); null when one has no reading or its register
 * went down implausibly (then there is no volume to distribute).
 */
export async function sumMeasured(
  q: Queryable, meterIds: number[], resource: Resource, start: Date, end: Date, how: Pick<PointRequest, 'attribution' | 'aroundBoundsOnly'> = {},
): Promise<number | null> {
  const qn = registerQuantity(resource);
  const each: number[] = [];
  for (const id of meterIds) {
    const r = (await loadPointConsumption(q, { meterIds: [id], quantities: [qn], period: { start, end }, ...how })).registers[qn];
    if (r.status !== 'measured') return null;
    each.push(r.quantity);
  }
  return toBillingUnit(resource, sumQuantities(each));
}

export async function commonHouseLines(q: Queryable, ctx: Ctx, individual: readonly AccrualLine[]): Promise<{ lines: StorableLine[]; summaries: CommonHouseSummary[] }> {
  const { rows: meters } = await q.query<{ id: string; placement: string; resource: Resource }>(
    `SELECT id, placement, resource FROM meters WHERE building_id = $1 AND placement IN ('building', 'non_residential') AND status <> 'removed' ORDER BY id`, [ctx.buildingId]);
  const base = await loadAreaBase(q, ctx.buildingId, ctx.orgId);
  const { rows: b } = await q.query<{ common_area_m2: number | null }>('SELECT common_area_m2 FROM buildings WHERE id = $1', [ctx.buildingId]);
  const periodKey = new Date(`${ctx.period}T00:00:00Z`);
  const lines: StorableLine[] = [];
  const summaries: CommonHouseSummary[] = [];
  const { premises: sharing, ...baseReport } = base;
  for (const resource of [...new Set(meters.filter((m) => m.placement === 'building').map((m) => m.resource))]) {
    if (!ctx.tariffs.some((t) => t.resource === resource && t.validFrom <= periodKey)) continue;
    if (resource === 'heat' && ctx.heatingByArea) continue;
    const odpu = await sumMeasured(q, meters.filter((m) => m.placement === 'building' && m.resource === resource).map((m) => Number(m.id)), resource, ctx.start, ctx.end);
    if (odpu === null) continue; // no ОДПУ reading in the month: nothing to distribute
    const nonRes = await sumMeasured(q, meters.filter((m) => m.placement === 'non_residential' && m.resource === resource).map((m) => Number(m.id)), resource, ctx.start, ctx.end);
    const apartments = sumQuantities(individual.filter((l) => l.resource === resource).map((l) => l.quantity));
    const norm = await q.query<{ per_resident: number }>(
      `SELECT per_resident FROM billing_norms WHERE org_id = $1 AND resource = $2 AND basis = 'common_area_m2' AND valid_from <= $3::date ORDER BY valid_from DESC LIMIT 1`,
      [ctx.orgId, resource, ctx.period]);
    const area = b[0]?.common_area_m2 === null || b[0]?.common_area_m2 === undefined ? null : Number(b[0].common_area_m2);
    const cap = norm.rows[0] && area !== null ? proportion(Number(norm.rows[0].per_resident), [area], 1) : null;
    const volume = subtractQuantities(odpu, apartments, nonRes ?? 0);
    const summary: CommonHouseSummary = {
      resource, buildingConsumption: odpu, apartmentsConsumption: apartments, nonResidentialConsumption: nonRes ?? 0, volume, billedVolume: 0, excessOverCap: 0,
      negative: volume < 0, capVolume: cap, areaBase: baseReport, perPremise: [], withoutAccountVolume: 0,
    };
    summaries.push(summary);
    // No premise with an area: nothing can be shared; the summary names the premises without one.
    if (sharing.length === 0) continue;
    const r = commonHouseVolume({ buildingConsumption: odpu, apartmentsConsumption: apartments, nonResidentialConsumption: nonRes ?? 0, premises: sharing, capVolume: cap, negativePolicy: ctx.rules.negativeCommonHouse });
    summary.perPremise = r.perPremise.map((s, i) => ({ ...s, number: sharing[i].number, kind: sharing[i].kind, area: sharing[i].area, accountId: sharing[i].accountId }));
    Object.assign(summary, { billedVolume: r.billedVolume, excessOverCap: r.excessOverCap, withoutAccountVolume: sumQuantities(summary.perPremise.filter((p) => p.accountId === null).map((p) => p.volume)) });
    if (r.billedVolume === 0) continue;
    const t = tariffFor(ctx.tariffs, resource, periodKey);
    const price = sharedVolumeTariff(t);
    for (const s of summary.perPremise) {
      if (s.accountId === null) continue;
      const parts = charge(price, s.volume);
      // The building's figures first (as before: what a reader of the lines looks for), then this premise's.
      const building = `common-house volume ${formatQuantity(r.volume)}${r.excessOverCap > 0 ? `, capped (excess ${formatQuantity(r.excessOverCap)} not billed)` : ''}${r.negative ? ', negative' : ''}`;
      const capped = s.excess > 0 ? `, capped at ${formatQuantity(s.cap!)} = norm × common area × Sᵢ/S_total (excess ${formatQuantity(s.excess)})` : '';
      lines.push({ accountId: s.accountId, resource, meterId: null, method: 'common_house', quantity: s.volume, parts, amount: sumKopecks(parts.map((p) => p.amount)),
        note: `${building}; by area: ${formatQuantity(r.volume)} × ${areaNote(base, s.area)} = ${formatQuantity(s.share)}${capped}` });
    }
  }
  return { lines, summaries };
}
