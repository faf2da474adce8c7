/**
 * One meter as a route sees it: resolved through auth/tenancy.ts (not the caller's = 404, like
 * missing: another organisation, a building not granted, a resident's neighbour's meter), then loaded.
 * Shared by the readings and validation routes.
 */
import type { Resource } from '@amr/protocols';
import { requireOwned, type Principal } from '../auth/index.js';
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
  await requireOwned(q, p, 'meter', id);
  const m = (await q.query<{ id: string; building_id: string; premise_id: string | null; resource: Resource; status: string; decommissioned_on: string | null }>(
    "SELECT id, building_id, premise_id, resource, status, to_char(decommissioned_on, 'YYYY-MM-DD') AS decommissioned_on FROM meters WHERE id = $1",
    [id],
  )).rows[0];
  if (!m) throw notFound('meter');
  return { id: Number(m.id), building_id: Number(m.building_id), premise_id: m.premise_id == null ? null : Number(m.premise_id), resource: m.resource, status: m.status, decommissioned_on: m.decommissioned_on };
}
