/**
 * Replica leases (migrations/035): "this work is mine until <instant>", one row per kind of work.
 *
 *   takeLease     take a free or expired lease, or renew one already held: ONE statement, so two
 *                 replicas asking at once cannot both win (the row's lock decides)
 *   releaseLease  give it back on shutdown, so another replica need not wait for it to expire
 *   leaseHolder   who holds it now (for health pages and tests)
 *
 * The expiry is compared with the database's now(), never a replica's clock: replicas whose clocks
 * disagree still agree on who holds the lease. A holder is a replica's instance id (leases/instance.ts).
 */
import type { Queryable } from '../db/index.js';

export interface Lease { name: string; holder: string; takenAt: Date; expiresAt: Date }

/** True when `holder` holds `name` for the next `ttlMs` after this call (taken now, or renewed). */
export async function takeLease(q: Queryable, name: string, holder: string, ttlMs: number): Promise<boolean> {
  if (!(ttlMs > 0)) throw new Error(`a lease needs a positive duration, got ${ttlMs} ms`);
  const { rows } = await q.query<{ holder: string }>(
    `INSERT INTO replica_leases AS l (name, holder, taken_at, expires_at)
       VALUES ($1, $2, now(), now() + make_interval(secs => $3::float8 / 1000))
     ON CONFLICT (name) DO UPDATE
       SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at,
           taken_at = CASE WHEN l.holder = EXCLUDED.holder THEN l.taken_at ELSE EXCLUDED.taken_at END
       WHERE l.holder = EXCLUDED.holder OR l.expires_at <= now()
     RETURNING holder`, [name, holder, ttlMs]);
  return rows.length === 1;
}

/** Gives the lease back if `holder` holds it; true when it did. */
export async function releaseLease(q: Queryable, name: string, holder: string): Promise<boolean> {
  const { rows } = await q.query('DELETE FROM replica_leases WHERE name = $1 AND holder = $2 RETURNING name', [name, holder]);
  return rows.length === 1;
}

/** The live lease on `name`, or null when nobody holds it (never taken, released or expired). */
export async function leaseHolder(q: Queryable, name: string): Promise<Lease | null> {
  const r = (await q.query<{ name: string; holder: string; taken_at: Date; expires_at: Date }>(
    'SELECT name, holder, taken_at, expires_at FROM replica_leases WHERE name = $1 AND expires_at > now()', [name])).rows[0];
  return r ? { name: r.name, holder: r.holder, takenAt: new Date(r.taken_at), expiresAt: new Date(r.expires_at) } : null;
}
