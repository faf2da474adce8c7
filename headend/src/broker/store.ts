/**
 * The SQL the brokers need from the registry: gateway rows for a CONNECT check (many ids in one
 * query, gateway-rows.ts batches them) and the list a broker's accounts are reconciled with.
 */
import type { Queryable } from '../db/types.js';
import type { GatewayRow } from './authenticate.js';
import type { RegistryGateway } from './dynsec-plan.js';

export async function gatewayRows(q: Queryable, ids: string[]): Promise<Map<string, GatewayRow>> {
  const { rows } = await q.query<GatewayRow & { id: string }>('SELECT id, credential_hash, status FROM gateways WHERE id = ANY($1::text[])', [ids]);
  return new Map(rows.map((r) => [r.id, { credential_hash: r.credential_hash, status: r.status }]));
}

export async function registryGateways(q: Queryable): Promise<RegistryGateway[]> {
  return (await q.query<RegistryGateway>('SELECT id, status FROM gateways ORDER BY id')).rows;
}

/** Rewrites a scrypt hash in the fast form unless the secret was rotated meanwhile (compare-and-set). */
export async function upgradeCredentialHash(q: Queryable, id: string, stored: string, fast: string): Promise<boolean> {
  const r = await q.query('UPDATE gateways SET credential_hash = $3 WHERE id = $1 AND credential_hash = $2', [id, stored, fast]);
  return !!r.rowCount;
}
