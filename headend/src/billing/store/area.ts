/**
 * The premises of a building with their areas and the organisation's account of each, for the pure
 * areaBase (billing/area.ts): the one area base the common-house share and heating by area divide by.
 */
import type { Queryable } from '../../db/types.js';
import { areaBase, type AreaBase, type PremiseArea } from '../index.js';

export async function loadAreaBase(q: Queryable, buildingId: number, orgId: number): Promise<AreaBase> {
  const { rows } = await q.query<{ id: string; number: string; kind: PremiseArea['kind']; area: string | number | null; account_id: string | null }>(
    `SELECT p.id, p.number, p.kind, p.area_m2 AS area,
            (SELECT min(a.id) FROM personal_accounts a WHERE a.premise_id = p.id AND a.active AND a.org_id = $2) AS account_id
       FROM premises p WHERE p.building_id = $1 ORDER BY p.id`, [buildingId, orgId]);
  return areaBase(rows.map((r) => ({
    premiseId: String(r.id), number: r.number, kind: r.kind, area: r.area === null ? null : Number(r.area), accountId: r.account_id === null ? null : String(r.account_id),
  })));
}
