/**
 * Tenancy in one place: every id that arrives in a path, query or body is resolved here to the
 * organisation, building (and premise) it belongs to, and checked against the caller. Routes call
 * `resolveOwned` / `requireOwned` instead of their own ad-hoc look-ups, so "who owns this row" is
 * written once per kind of row.
 *
 * Rules:
 *  - not visible and not existing answer alike: 404 naming the kind of thing, never which one exists;
 *  - a change is checked on the current AND the new owner (`requireBodyRef` with `sameOrgAs`, and
 *    routes/crud.ts on the updated row): nothing moves into another organisation, and nothing moves
 *    into a building the caller cannot see;
 *  - a row with no building is organisation-wide only for the kinds in ORG_WIDE (tariffs, norms, an
 *    organisation's exchange config): whoever acts in that organisation sees it. Any other row with no
 *    building (a gateway not assigned to one, quarantine of an unknown gateway) is admin-only: a grant
 *    is per building, and nothing ties such a row to a grant;
 *  - a gateway belongs to its building's organisation; an unassigned one to the organisation of the
 *    meters it is bound to (all open bindings of one gateway lie in one organisation);
 *  - a user belongs to the one organisation of its granted buildings (residents: of their bound
 *    accounts); a user with none, or spread over several organisations (an admin, a contractor), has
 *    no organisation and only admins see it. A building grant is owned by its building; an API key by
 *    its organisation.
 */
import type { Queryable } from '../db/types.js';
import { badRequest, HttpError } from '../http/errors.js';
import type { Principal } from './principal.js';

export type OwnedKind =
  | 'organisation' | 'building' | 'premise' | 'account' | 'resident' | 'meter' | 'gateway' | 'binding'
  | 'quarantine' | 'dead_letter' | 'alert' | 'exchange_config' | 'exchange_run' | 'tariff' | 'norm' | 'billing_rules' | 'replacement'
  | 'user' | 'grant' | 'api_key';

/**
 * The organisation of the user whose id is the SQL expression `userId`: the one organisation of its
 * grants and bound accounts, NULL when there is none or more than one.
 */
export function userOrgSql(userId: string): string {
  return `(SELECT CASE WHEN count(DISTINCT s.org_id) = 1 THEN min(s.org_id) END FROM (
            SELECT gb.org_id FROM user_building_grants g JOIN buildings gb ON gb.id = g.building_id WHERE g.user_id = ${userId}
            UNION ALL
            SELECT ua_a.org_id FROM user_accounts ua JOIN personal_accounts ua_a ON ua_a.id = ua.personal_account_id WHERE ua.user_id = ${userId}) s)`;
}

/** The id of a building grant for requireOwned: `<user id>:<building id>`. */
export const grantId = (userId: number, buildingId: number): string => `${userId}:${buildingId}`;

/** Who owns a row. buildingId null: the row is organisation-wide (tariff, org-wide exchange) or unassigned. */
export interface Owner { orgId: number | null; buildingId: number | null; premiseId: number | null }

/** One query per kind: $1 is the id; columns org_id, building_id, premise_id. */
const OWNER_SQL: Record<OwnedKind, string> = {
  organisation: 'SELECT o.id AS org_id, NULL::bigint AS building_id, NULL::bigint AS premise_id FROM organisations o WHERE o.id = $1::bigint',
  building: 'SELECT b.org_id, b.id AS building_id, NULL::bigint AS premise_id FROM buildings b WHERE b.id = $1::bigint',
  premise: 'SELECT b.org_id, p.building_id, p.id AS premise_id FROM premises p JOIN buildings b ON b.id = p.building_id WHERE p.id = $1::bigint',
  account: `SELECT a.org_id, p.building_id, p.id AS premise_id FROM personal_accounts a JOIN premises p ON p.id = a.premise_id WHERE a.id = $1::bigint`,
  resident: `SELECT a.org_id, p.building_id, p.id AS premise_id FROM residents r JOIN personal_accounts a ON a.id = r.account_id
               JOIN premises p ON p.id = a.premise_id WHERE r.id = $1::bigint`,
  meter: 'SELECT b.org_id, m.building_id, m.premise_id FROM meters m JOIN buildings b ON b.id = m.building_id WHERE m.id = $1::bigint',
  gateway: `SELECT COALESCE(b.org_id, (SELECT mb.org_id FROM bindings x JOIN meters m ON m.id = x.meter_id JOIN buildings mb ON mb.id = m.building_id
                                        WHERE x.gateway_id = g.id AND x.valid_to IS NULL LIMIT 1)) AS org_id,
                   g.building_id, NULL::bigint AS premise_id
              FROM gateways g LEFT JOIN buildings b ON b.id = g.building_id WHERE g.id = $1::text`,
  // A binding is owned by its meter; the gateway is checked separately where a binding is changed.
  binding: 'SELECT b.org_id, m.building_id, m.premise_id FROM bindings x JOIN meters m ON m.id = x.meter_id JOIN buildings b ON b.id = m.building_id WHERE x.id = $1::bigint',
  quarantine: `SELECT b.org_id, g.building_id, NULL::bigint AS premise_id FROM quarantine x
                 LEFT JOIN gateways g ON g.id = x.gateway_id LEFT JOIN buildings b ON b.id = g.building_id WHERE x.id = $1::bigint`,
  dead_letter: `SELECT b.org_id, g.building_id, NULL::bigint AS premise_id FROM dead_letters x
                  LEFT JOIN gateways g ON g.id = x.gateway_id LEFT JOIN buildings b ON b.id = g.building_id WHERE x.id = $1::bigint`,
  alert: 'SELECT b.org_id, x.building_id, NULL::bigint AS premise_id FROM alerts x LEFT JOIN buildings b ON b.id = x.building_id WHERE x.id = $1::bigint',
  exchange_config: 'SELECT x.org_id, x.building_id, NULL::bigint AS premise_id FROM exchange_configs x WHERE x.id = $1::bigint',
  tariff: 'SELECT x.org_id, NULL::bigint AS building_id, NULL::bigint AS premise_id FROM billing_tariffs x WHERE x.id = $1::bigint',
  norm: 'SELECT x.org_id, NULL::bigint AS building_id, NULL::bigint AS premise_id FROM billing_norms x WHERE x.id = $1::bigint',
  billing_rules: 'SELECT x.org_id, NULL::bigint AS building_id, NULL::bigint AS premise_id FROM billing_rules x WHERE x.id = $1::bigint',
  // A run is owned by its config (organisation-wide, or one building).
  exchange_run: 'SELECT c.org_id, c.building_id, NULL::bigint AS premise_id FROM exchange_runs r JOIN exchange_configs c ON c.id = r.config_id WHERE r.id = $1::bigint',
  replacement: 'SELECT b.org_id, m.building_id, m.premise_id FROM meter_replacements x JOIN meters m ON m.id = x.old_meter_id JOIN buildings b ON b.id = m.building_id WHERE x.id = $1::bigint',
  user: `SELECT ${userOrgSql('u.id')} AS org_id, NULL::bigint AS building_id, NULL::bigint AS premise_id FROM users u WHERE u.id = $1::bigint`,
  // The id is grantId(): "<user>:<building>"; anything else matches no row.
  grant: `SELECT b.org_id, g.building_id, NULL::bigint AS premise_id FROM user_building_grants g JOIN buildings b ON b.id = g.building_id
           WHERE $1::text ~ '^[0-9]{1,18}:[0-9]{1,18}$' AND g.user_id = split_part($1::text, ':', 1)::bigint AND g.building_id = split_part($1::text, ':', 2)::bigint`,
  api_key: 'SELECT x.organisation_id AS org_id, NULL::bigint AS building_id, NULL::bigint AS premise_id FROM api_keys x WHERE x.id = $1::bigint',
};

const LABEL: Record<OwnedKind, string> = {
  organisation: 'organisation', building: 'building', premise: 'premise', account: 'personal account', resident: 'resident', meter: 'meter',
  gateway: 'gateway', binding: 'binding', quarantine: 'quarantine item', dead_letter: 'dead letter', alert: 'alert',
  exchange_config: 'exchange config', exchange_run: 'exchange run', tariff: 'tariff', norm: 'norm', billing_rules: 'edition of the billing rules', replacement: 'replacement',
  user: 'user', grant: 'grant', api_key: 'API key',
};

const num = (v: unknown): number | null => (v == null ? null : Number(v));

/** Admins: every organisation. API keys: their own. Staff: the organisations of their granted buildings. */
export async function organisationsOf(q: Queryable, p: Principal): Promise<ReadonlySet<number> | null> {
  if (p.organisationId !== null) return new Set([p.organisationId]);
  if (p.buildingIds === null) return null;
  const { rows } = await q.query<{ org_id: string }>('SELECT DISTINCT org_id FROM buildings WHERE id = ANY($1::bigint[])', [[...p.buildingIds]]);
  return new Set(rows.map((r) => Number(r.org_id)));
}

/** The owner of a row, or null when there is no such row. No scope check. */
export async function ownerOf(q: Queryable, kind: OwnedKind, id: number | string): Promise<Owner | null> {
  const row = (await q.query<{ org_id: unknown; building_id: unknown; premise_id: unknown }>(OWNER_SQL[kind], [id])).rows[0];
  return row ? { orgId: num(row.org_id), buildingId: num(row.building_id), premiseId: num(row.premise_id) } : null;
}

/**
 * Whether the caller may see a row with this owner. A row of one building needs that building
 * (residents: that premise too); an organisation-wide row needs the organisation, and for staff every
 * building of it is not asked here (routes that move whole-organisation data ask for that themselves).
 */
export function mayAccess(p: Principal, o: Owner, orgs: ReadonlySet<number> | null): boolean {
  if (p.organisationId !== null && o.orgId !== p.organisationId) return false;
  if (o.buildingId !== null) {
    if (p.buildingIds !== null && !p.buildingIds.has(o.buildingId)) return false;
  } else if (p.buildingIds !== null) {
    // No building: organisation-wide rows for whoever acts in that organisation; unassigned rows (no org either): admins only.
    if (o.orgId === null || orgs === null || !orgs.has(o.orgId)) return false;
  }
  if (p.premiseIds !== null && (o.premiseId === null || !p.premiseIds.has(o.premiseId))) return false;
  return true;
}

/**
 * Kinds whose rows may have no building and still belong to a whole organisation. An unassigned gateway
 * carries its meters' organisation too (for the same-organisation checks), but is not among them: a new
 * password for it would let any engineer of the organisation publish readings for buildings not theirs.
 */
const ORG_WIDE: ReadonlySet<OwnedKind> = new Set(['organisation', 'exchange_config', 'exchange_run', 'tariff', 'norm', 'billing_rules', 'user', 'api_key']);

/** mayAccess for a row of this kind, asking the database for the caller's organisations only when the answer depends on them. */
async function visible(q: Queryable, p: Principal, kind: OwnedKind, o: Owner): Promise<boolean> {
  if (o.buildingId === null && p.buildingIds !== null && !ORG_WIDE.has(kind)) return false;
  const orgs = o.buildingId === null && p.buildingIds !== null ? await organisationsOf(q, p) : null;
  return mayAccess(p, o, orgs);
}

/** Resolves an id to its owner and checks it against the caller: 404 alike for "not there" and "not yours". */
export async function requireOwned(q: Queryable, p: Principal, kind: OwnedKind, id: number | string): Promise<Owner> {
  const o = await ownerOf(q, kind, id);
  if (!o || !(await visible(q, p, kind, o))) throw new HttpError(404, 'not_found', `${LABEL[kind]} not found`);
  return o;
}

/**
 * An id in a request body (the thing a row is attached or moved to): a 400 naming the field when it
 * does not exist or the caller cannot see it (the same message for both), and when it lies in another
 * organisation than `sameOrgAs`.
 */
export async function requireBodyRef(q: Queryable, p: Principal, kind: OwnedKind, id: number | string, field: string, sameOrgAs?: number | null): Promise<Owner> {
  const o = await ownerOf(q, kind, id);
  if (!o || !(await visible(q, p, kind, o))) {
    throw badRequest(`${field}: ${LABEL[kind]} ${String(id)} does not exist or is not in your buildings`, [{ path: `body.${field}`, message: `unknown ${LABEL[kind]}` }]);
  }
  requireSameOrg(o.orgId, sameOrgAs, field, `${LABEL[kind]} ${String(id)}`);
  return o;
}

/** Refuses a link across organisations (400 naming the field); null on either side = not yet owned, nothing to compare. */
export function requireSameOrg(orgId: number | null, expected: number | null | undefined, field: string, what: string): void {
  if (orgId !== null && expected != null && orgId !== expected) {
    throw badRequest(`${field}: ${what} belongs to organisation ${orgId}, not ${expected}; records of different organisations cannot be linked`,
      [{ path: `body.${field}`, message: 'must be in the same organisation' }]);
  }
}

/**
 * SQL restricting a gateway id column to gateways the caller may see (their building in scope);
 * unassigned and unknown gateways only for admins. Pushes its parameter.
 */
export function gatewayScopeSql(p: Principal, column: string, params: unknown[]): string {
  if (p.buildingIds === null && p.organisationId === null) return 'TRUE';
  // API keys carry every building of their organisation in buildingIds, so one rule serves both.
  params.push(p.buildingIds === null ? [] : [...p.buildingIds]);
  return `${column} IN (SELECT g.id FROM gateways g WHERE g.building_id = ANY($${params.length}::bigint[]))`;
}

/**
 * SQL restricting a user id column to users the caller may see: every user for admins; otherwise the
 * users whose organisation (userOrgSql) is one the caller acts in. Pushes its parameter.
 */
export async function userScopeSql(q: Queryable, p: Principal, column: string, params: unknown[]): Promise<string> {
  const orgs = await organisationsOf(q, p);
  if (orgs === null) return 'TRUE';
  params.push([...orgs]);
  return `${userOrgSql(column)} = ANY($${params.length}::bigint[])`;
}
