/**
 * One meter as a route sees it: loaded, then checked against the caller's scope (invisible = 404,
 * like missing). Shared by the readings and validation routes.
 */
import type { Resource } from '@amr/protocols';
import { requirePremise, type Principal } from '../auth/index.js';
import { notFound } from '../http/errors.js';
import type { Queryable } from '../db/types.js';

export interface VisibleMeter {
  id: number;
  building_id: number;
  premise_id: number | null;
  resource: Resource;
  status: string;
  /** YYYY-MM-DD, or null while in service. */
  decommissioned_on: string | null;
}

export async function visibleMeter(q: Queryable, p: Principal, id: number): Promise<VisibleMeter> {
  const m = (await q.query(
    "SELECT id, building_id, premise_id, resource, status, to_char(decommissioned_on, 'YYYY-MM-DD') AS decommissioned_on FROM meters WHERE id = $1",
    [id],
  )).rows[0];
  if (!m) throw notFound('meter');
  const premiseId = m.premise_id == null ? null : Number(m.premise_id);
  requirePremise(p, premiseId, Number(m.building_id), 'meter');
  return { id: Number(m.id), building_id: Number(m.building_id), premise_id: premiseId, resource: m.resource, status: m.status, decommissioned_on: m.decommissioned_on };
}
