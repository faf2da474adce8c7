/**
 * The area base of a building: what "by area" divides by. ПП 354 appendix 2 (formula 3 for heating,
 * formulas 10–12 for the common-house share) divide by S_total, the area of ALL premises of the
 * building, residential and non-residential alike: leaving the shops out makes every flat pay their
 * part. One rule, used by the common-house share and by heating by area, so the two never disagree.
 * A premise without an area cannot take a share: it is reported (withoutArea), never silently left
 * out. A premise with an area but without an account of the organisation keeps its share in the base
 * (the others do not pay for it); its share is reported as not billed (withoutAccount).
 * Also here: whether a resource is billed by area at all (then it has no apartment side to compare).
 */
import type { Resource } from '@amr/protocols';
import { z } from 'zod';
import { sumQuantities } from './money.js';

export const PremiseArea = z.object({
  premiseId: z.string(),
  /** The premise's number as registered ("12", "Н-1"), for reports. */
  number: z.string(),
  kind: z.enum(['residential', 'non_residential']),
  /** m²; null or 0 = not known. */
  area: z.number().nonnegative().nullable(),
  /** The active account of the organisation billing the building; null = nobody of ours to charge. */
  accountId: z.string().nullable(),
});
export type PremiseArea = z.infer<typeof PremiseArea>;

export type SharedPremise = PremiseArea & { area: number };

export interface AreaBase {
  /** S_total: Σ area of the premises that share, residential and non-residential. */
  totalArea: number;
  residentialArea: number;
  nonResidentialArea: number;
  /** Premises with an area > 0, in the order given. */
  premises: SharedPremise[];
  /** Premises with no (or zero) area: they take no share, and S_total is short by their area until it is entered. */
  withoutArea: Array<Pick<PremiseArea, 'premiseId' | 'number' | 'kind'>>;
  /** Premises that share but have no account of the organisation: their share stays theirs and is not billed. */
  withoutAccount: Array<Pick<PremiseArea, 'premiseId' | 'number' | 'kind'>>;
}

export function areaBase(premises: readonly PremiseArea[]): AreaBase {
  const sharing = premises.filter((p): p is SharedPremise => p.area !== null && p.area > 0);
  // Areas add up in decimals: 33.3 + 33.3 + 33.4 m² is 100 m², not 100.00000000000001.
  const sum = (ps: readonly SharedPremise[]) => sumQuantities(ps.map((p) => p.area));
  const pick = (p: PremiseArea) => ({ premiseId: p.premiseId, number: p.number, kind: p.kind });
  return {
    totalArea: sum(sharing),
    residentialArea: sum(sharing.filter((p) => p.kind === 'residential')),
    nonResidentialArea: sum(sharing.filter((p) => p.kind === 'non_residential')),
    premises: sharing,
    withoutArea: premises.filter((p) => !(p.area !== null && p.area > 0)).map(pick),
    withoutAccount: sharing.filter((p) => p.accountId === null).map(pick),
  };
}

/** The base as a short text for a line's note: "50 / 250 m² (all premises; 1 without area: 7)". */
export function areaNote(base: AreaBase, area: number): string {
  const missing = base.withoutArea.length ? `; without area, not sharing: ${base.withoutArea.map((p) => p.number).join(', ')}` : '';
  return `${area} / ${base.totalArea} m² of all premises${missing}`;
}

/**
 * A resource billed by area has no apartment side: heat of a building with a building heat meter and
 * no apartment heat meter is charged by area from the building meter (heating by area), so there is
 * nothing to compare the building meter with. Other resources without apartment meters are charged
 * by norm per resident, which is not this.
 */
export function billedByArea(resource: Resource, meters: { building: number; apartment: number }): boolean {
  return resource === 'heat' && meters.building > 0 && meters.apartment === 0;
}
