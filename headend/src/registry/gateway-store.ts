/**
 * The SQL of gateways (MQTT identities) and bindings (gateway + bus + address → meter). Scope is the
 * caller's: lists filter by it here, single rows are resolved through auth/tenancy.ts by the route first.
 */
import type { Queryable } from '../db/types.js';
import { buildingScopeSql, type Principal } from '../auth/index.js';

export interface GatewayRecord {
  id: string; name: string | null; building_id: string | number | null; status: string; online: boolean;
  last_seen_at: Date | null; last_status: unknown; created_at: Date; updated_at: Date; open_quarantine?: string | number;
  /** Lists only: from the building and from the gateway's last status message (older firmware may omit them). */
  building_address?: string | null; building_timezone?: string | null; software?: string | null; outbox_depth?: string | number | null;
}
export interface BindingRecord {
  id: string | number; gateway_id: string; bus: string; address: string; meter_id: string | number;
  valid_from: Date | number | string | null; valid_to: Date | null; created_at: Date;
}

const GATEWAY_COLUMNS = ['id', 'name', 'building_id', 'status', 'online', 'last_seen_at', 'last_status', 'created_at', 'updated_at'];
const COLS = GATEWAY_COLUMNS.join(', ');

/** Gateways the caller may see with their open quarantine count; unassigned gateways (no building) for admins only. */
export async function listGateways(q: Queryable, p: Principal, f: { buildingId?: number }): Promise<GatewayRecord[]> {
  const params: unknown[] = [];
  const where = [p.buildingIds === null ? 'TRUE' : buildingScopeSql(p, 'g.building_id', params)];
  if (f.buildingId !== undefined) { params.push(f.buildingId); where.push(`g.building_id = $${params.length}`); }
  return (await q.query<GatewayRecord>(
    `SELECT ${GATEWAY_COLUMNS.map((c) => `g.${c}`).join(', ')},
            (SELECT count(*) FROM quarantine q WHERE q.gateway_id = g.id AND q.resolved_at IS NULL) AS open_quarantine,
            b.address AS building_address, b.timezone AS building_timezone,
            g.last_status->>'software' AS software,
            CASE WHEN jsonb_typeof(g.last_status->'outboxDepth') = 'number' THEN (g.last_status->>'outboxDepth')::numeric END AS outbox_depth
       FROM gateways g LEFT JOIN buildings b ON b.id = g.building_id WHERE ${where.join(' AND ')} ORDER BY g.id`, params)).rows;
}

export async function loadGateway(q: Queryable, id: string, opts: { forUpdate?: boolean } = {}): Promise<GatewayRecord | null> {
  return (await q.query<GatewayRecord>(`SELECT ${COLS} FROM gateways WHERE id = $1${opts.forUpdate ? ' FOR UPDATE' : ''}`, [id])).rows[0] ?? null;
}

export async function insertGateway(q: Queryable, g: { id: string; name: string | null; buildingId: number | null; credentialHash: string }): Promise<GatewayRecord> {
  return (await q.query<GatewayRecord>(`INSERT INTO gateways (id, name, building_id, credential_hash) VALUES ($1,$2,$3,$4) RETURNING ${COLS}`,
    [g.id, g.name, g.buildingId, g.credentialHash])).rows[0];
}

/** Sets the fields given (undefined = leave; null clears name or building). */
export async function updateGateway(q: Queryable, id: string, g: { name?: string | null; buildingId?: number | null; status?: string }): Promise<GatewayRecord> {
  return (await q.query<GatewayRecord>(
    `UPDATE gateways SET name = CASE WHEN $2::boolean THEN $3 ELSE name END, building_id = CASE WHEN $4::boolean THEN $5::bigint ELSE building_id END,
        status = COALESCE($6, status), updated_at = now() WHERE id = $1 RETURNING ${COLS}`,
    [id, g.name !== undefined, g.name ?? null, g.buildingId !== undefined, g.buildingId ?? null, g.status ?? null])).rows[0];
}

export async function setGatewaySecret(q: Queryable, id: string, credentialHash: string): Promise<void> {
  await q.query('UPDATE gateways SET credential_hash = $2, updated_at = now() WHERE id = $1', [id, credentialHash]);
}

/** The organisations of the meters a gateway is bound to now (one, or none: bindings never span organisations). */
export async function boundOrganisations(q: Queryable, gatewayId: string): Promise<number[]> {
  const { rows } = await q.query<{ org_id: string }>(
    `SELECT DISTINCT b.org_id FROM bindings x JOIN meters m ON m.id = x.meter_id JOIN buildings b ON b.id = m.building_id
      WHERE x.gateway_id = $1 AND x.valid_to IS NULL`, [gatewayId]);
  return rows.map((r) => Number(r.org_id));
}

export async function listBindings(q: Queryable, gatewayId: string, opts: { all: boolean }): Promise<BindingRecord[]> {
  return (await q.query<BindingRecord>(
    `SELECT * FROM bindings WHERE gateway_id = $1 ${opts.all ? '' : 'AND valid_to IS NULL'} ORDER BY bus, address, valid_from`, [gatewayId])).rows;
}

/** Closes the open binding of gateway + bus + address at `at`, if there is one. */
export async function closeOpenBinding(q: Queryable, k: { gatewayId: string; bus: string; address: string }, at: string): Promise<BindingRecord | null> {
  return (await q.query<BindingRecord>(
    'UPDATE bindings SET valid_to = $4 WHERE gateway_id = $1 AND bus = $2 AND address = $3 AND valid_to IS NULL RETURNING *', [k.gatewayId, k.bus, k.address, at])).rows[0] ?? null;
}

/** validFrom '-infinity': since ever (the first binding of an address covers earlier readings too). */
export async function insertBinding(q: Queryable, b: { gatewayId: string; bus: string; address: string; meterId: number; validFrom: string }): Promise<BindingRecord> {
  return (await q.query<BindingRecord>('INSERT INTO bindings (gateway_id, bus, address, meter_id, valid_from) VALUES ($1,$2,$3,$4,$5) RETURNING *',
    [b.gatewayId, b.bus, b.address, b.meterId, b.validFrom])).rows[0];
}

/** The binding if it is open, with its meter's building, locked. */
export async function loadOpenBinding(q: Queryable, id: number): Promise<(BindingRecord & { building_id: string | number }) | null> {
  return (await q.query<BindingRecord & { building_id: string | number }>(
    'SELECT x.*, m.building_id FROM bindings x JOIN meters m ON m.id = x.meter_id WHERE x.id = $1 AND x.valid_to IS NULL FOR UPDATE OF x', [id])).rows[0] ?? null;
}

/** Ends a binding at `at` (never before it began). */
export async function endBinding(q: Queryable, id: number, at: Date): Promise<BindingRecord> {
  return (await q.query<BindingRecord>("UPDATE bindings SET valid_to = greatest($2::timestamptz, valid_from + interval '1 microsecond') WHERE id = $1 RETURNING *", [id, at])).rows[0];
}
