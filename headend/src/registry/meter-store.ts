/**
 * The look-ups a new meter's checks need (meter-routes.ts prepareMeter): its premise, and a meter
 * already carrying the serial number.
 */
import type { Queryable } from '../db/types.js';

export async function premiseOfMeter(q: Queryable, premiseId: number): Promise<{ building_id: number; kind: string } | null> {
  const r = (await q.query<{ building_id: string; kind: string }>('SELECT building_id, kind FROM premises WHERE id = $1', [premiseId])).rows[0];
  return r ? { building_id: Number(r.building_id), kind: r.kind } : null;
}

/** The meter of this make with this serial number, if one exists (serials are unique per make). */
export async function meterWithSerial(q: Queryable, make: string, serial: string): Promise<number | null> {
  const r = (await q.query<{ id: string }>('SELECT id FROM meters WHERE make = $1 AND serial_number = $2', [make, serial])).rows[0];
  return r ? Number(r.id) : null;
}
