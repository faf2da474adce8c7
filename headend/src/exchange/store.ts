/**
 * Exchange configurations and their runs in the database: the lists (scoped to the caller in SQL),
 * creating and changing a configuration with its audit row. The secret is sealed by the caller
 * (util/secret-box.ts) and never leaves here but in the row it was stored in; audit rows carry
 * has_secret / secret_changed only.
 */
import type { Database, Queryable } from '../db/types.js';
import { audit, type Actor } from '../audit/index.js';
import { buildingScopeSql, type Principal } from '../auth/index.js';
import { publicConfig } from './config-check.js';
import { toRun, type ExchangeConfig, type ExchangeRun } from './run.js';

/** A stored row as the domain reads it: ids and the port as numbers. */
export function toConfig(r: Record<string, unknown>): ExchangeConfig {
  return {
    ...(r as unknown as ExchangeConfig), id: Number(r.id), org_id: Number(r.org_id),
    building_id: r.building_id == null ? null : Number(r.building_id), port: r.port == null ? null : Number(r.port),
  };
}

/**
 * The configurations the caller sees: of one organisation (an API key: its own), a building's only
 * when the caller has that building; an organisation-wide one only for callers who see every building.
 */
export async function listConfigs(q: Queryable, p: Principal, orgId: number | null): Promise<ExchangeConfig[]> {
  const params: unknown[] = [orgId];
  const scope = buildingScopeSql(p, 'building_id', params);
  const { rows } = await q.query<Record<string, unknown>>(`SELECT * FROM exchange_configs WHERE ($1::bigint IS NULL OR org_id = $1) AND ${scope} ORDER BY id`, params);
  return rows.map(toConfig);
}

/** What a configuration stores, the secret already sealed. */
export type ConfigValues = Omit<ExchangeConfig, 'id' | 'created_at'> & { secret: string | null };

const COLUMNS = ['org_id', 'building_id', 'direction', 'folder', 'cron', 'period_days', 'email_to', 'enabled',
  'transport', 'host', 'port', 'username', 'secret', 'secret_kind', 'host_key_sha256', 'deliver_signed_since'] as const;
const valuesOf = (v: ConfigValues) => COLUMNS.map((c) => v[c] ?? null);

export async function insertConfig(db: Database, v: ConfigValues, actor: Actor, requestId: string): Promise<ExchangeConfig> {
  return db.tx(async (q) => {
    const { rows } = await q.query<Record<string, unknown>>(
      `INSERT INTO exchange_configs (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`, valuesOf(v));
    const c = toConfig(rows[0]);
    await audit(q, actor, { action: 'create', entity: 'exchange_config', entityId: c.id, buildingId: c.building_id, after: publicConfig(c), requestId });
    return c;
  });
}

/** Replaces every changeable column (the organisation and direction stay); the audit row says whether the secret changed, never what it is. */
export async function updateConfig(db: Database, before: ExchangeConfig, v: ConfigValues, actor: Actor, requestId: string): Promise<ExchangeConfig> {
  const changeable = COLUMNS.filter((c) => c !== 'org_id' && c !== 'direction');
  return db.tx(async (q) => {
    const { rows } = await q.query<Record<string, unknown>>(
      `UPDATE exchange_configs SET ${changeable.map((c, i) => `${c} = $${i + 2}`).join(', ')}, updated_at = now() WHERE id = $1 RETURNING *`,
      [before.id, ...changeable.map((c) => v[c] ?? null)]);
    const c = toConfig(rows[0]);
    const secretChanged = (before.secret ?? null) !== (c.secret ?? null);
    await audit(q, actor, {
      action: 'update', entity: 'exchange_config', entityId: c.id, buildingId: c.building_id,
      before: publicConfig(before), after: { ...publicConfig(c), ...(secretChanged ? { secret_changed: true } : {}) }, requestId,
    });
    return c;
  });
}

/** An exchange_runs row as pg returns it (bigint ids may arrive as text). */
type RunRow = Parameters<typeof toRun>[0];

/** The operations log, newest first: runs of the configurations the caller sees (the same scope as listConfigs). */
export async function listRuns(q: Queryable, p: Principal, f: { configId?: number; limit: number }): Promise<ExchangeRun[]> {
  const params: unknown[] = [f.configId ?? null, p.organisationId, f.limit];
  const scope = buildingScopeSql(p, 'c.building_id', params);
  const { rows } = await q.query<RunRow>(
    `SELECT r.* FROM exchange_runs r JOIN exchange_configs c ON c.id = r.config_id
      WHERE ($1::bigint IS NULL OR r.config_id = $1) AND ($2::bigint IS NULL OR c.org_id = $2) AND ${scope}
      ORDER BY r.started_at DESC, r.id DESC LIMIT $3`, params);
  return rows.map(toRun);
}

/** One configuration by id (the caller resolved its owner through auth/tenancy.ts), or null. */
export async function loadConfig(q: Queryable, id: number): Promise<ExchangeConfig | null> {
  const { rows } = await q.query<Record<string, unknown>>('SELECT * FROM exchange_configs WHERE id = $1', [id]);
  return rows[0] ? toConfig(rows[0]) : null;
}

/** One run by id (owner resolved by the caller), or null. */
export async function getRun(q: Queryable, id: number): Promise<ExchangeRun | null> {
  const { rows } = await q.query<RunRow>('SELECT * FROM exchange_runs WHERE id = $1', [id]);
  return rows[0] ? toRun(rows[0]) : null;
}
