/**
 * Reading back what the write path stored: the current (highest) version of a reading at an instant.
 */
import type { Queryable } from '../db/types.js';

export async function currentVersion(q: Queryable, meterId: number, quantity: string, time: Date) {
  return (await q.query('SELECT * FROM readings WHERE meter_id = $1 AND quantity = $2 AND time = $3 ORDER BY version DESC LIMIT 1', [meterId, quantity, time])).rows[0] ?? null;
}
