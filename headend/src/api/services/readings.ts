/**
 * Writing manual readings and corrections. Nothing is overwritten: a value for an instant that already
 * has one becomes the next version, carrying who wrote it and why. Callers pass the transaction handle.
 */
import type { Queryable } from '../queryable.js';
import type { Resource } from '@amr/protocols';
import { registerQuantity, type KnownQuantity } from '@amr/protocols';

/** The register consumption is computed from, per resource: the one rule in protocols (registerQuantity), under its old name. */
export function primaryQuantity(resource: Resource): KnownQuantity {
  return registerQuantity(resource);
}

export { unitOf } from '../../readings/write-store.js';

/** The write lives in the readings module (the only writer of the readings table). */
export { insertVersion as insertReadingVersion, type NewVersion as ManualReading, type StoredReading } from '../../readings/write-store.js';

/** The latest reading (current version) of a meter's quantity, if any. */
export async function lastReading(q: Queryable, meterId: number, quantity?: string): Promise<{ time: Date; value: number | null; quantity: string } | null> {
  const { rows } = await q.query(
    `SELECT time, value, quantity FROM readings WHERE meter_id = $1 AND ($2::text IS NULL OR quantity = $2)
     ORDER BY time DESC, version DESC LIMIT 1`, [meterId, quantity ?? null]);
  return rows[0] ?? null;
}
