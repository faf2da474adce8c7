/**
 * Writing manual readings and corrections. Nothing is overwritten: a value for an instant that already
 * has one becomes the next version, carrying who wrote it and why. Callers pass the transaction handle.
 */
import type { Queryable } from '../queryable.js';
import type { Resource } from '@amr/protocols';
import { QUANTITIES, registerQuantity, type KnownQuantity } from '@amr/protocols';

/** The register consumption is computed from, per resource: the one rule in protocols (registerQuantity), under its old name. */
export function primaryQuantity(resource: Resource): KnownQuantity {
  return registerQuantity(resource);
}

export function unitOf(quantity: string): string {
  return (QUANTITIES as Record<string, { unit: string }>)[quantity]?.unit ?? '';
}

export interface ManualReading {
  meterId: number;
  time: Date | string;
  quantity: string;
  value: number;
  unit?: string;
  source: 'staff' | 'resident' | 'import';
  createdBy: string;
  reason?: string | null;
}

export interface StoredReading { meter_id: number; time: Date; quantity: string; value: number | null; unit: string; source: string; version: number; created_by: string | null; reason: string | null; received_at: Date; quality: string[] }

export async function insertReadingVersion(q: Queryable, r: ManualReading): Promise<StoredReading> {
  // Serialise writers of the same meter so two corrections cannot both take version max+1.
  await q.query('SELECT pg_advisory_xact_lock(7316002, $1::int)', [r.meterId % 2147483647]);
  const { rows } = await q.query<StoredReading>(
    `INSERT INTO readings (meter_id, time, quantity, value, unit, source, version, created_by, reason)
     SELECT $1, $2::timestamptz, $3, $4, $5, $6,
            COALESCE((SELECT max(version) FROM readings WHERE meter_id = $1 AND quantity = $3 AND time = $2::timestamptz), 0) + 1,
            $7, $8
     RETURNING meter_id, time, quantity, value, unit, source, version, created_by, reason, received_at, quality`,
    [r.meterId, r.time, r.quantity, r.value, r.unit ?? unitOf(r.quantity), r.source, r.createdBy, r.reason ?? null],
  );
  return rows[0];
}

/** The latest reading (current version) of a meter's quantity, if any. */
export async function lastReading(q: Queryable, meterId: number, quantity?: string): Promise<{ time: Date; value: number | null; quantity: string } | null> {
  const { rows } = await q.query(
    `SELECT time, value, quantity FROM readings WHERE meter_id = $1 AND ($2::text IS NULL OR quantity = $2)
     ORDER BY time DESC, version DESC LIMIT 1`, [meterId, quantity ?? null]);
  return rows[0] ?? null;
}
