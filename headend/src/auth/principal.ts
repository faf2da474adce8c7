/**
 * Who is calling and what they can see. Built once per request by the auth plugin; route handlers
 * ask it (`requireBuilding`, `buildingFilter`) instead of querying grants themselves.
 */
import type { Role, Permission } from './roles.js';
import { can } from './roles.js';
import { HttpError } from '../http/errors.js';

export interface Principal {
  kind: 'user' | 'api-key';
  /** users.id, or api_keys.id for an API key. */
  id: number;
  name: string;
  role: Role;
  /** null = every building (admin). */
  buildingIds: ReadonlySet<number> | null;
  /** Residents: the premises of their bound personal accounts; null for everyone else. */
  premiseIds: ReadonlySet<number> | null;
  /** API keys: the organisation the key belongs to. */
  organisationId: number | null;
  /** Token id (users) so logout can revoke exactly this session. */
  tokenId: number | null;
}

export function requirePermission(p: Principal, permission: Permission): void {
  if (!can(p.role, permission)) throw new HttpError(403, 'forbidden', `role "${p.role}" lacks permission "${permission}"`);
}

export function seesBuilding(p: Principal, buildingId: number): boolean {
  return p.buildingIds === null || p.buildingIds.has(buildingId);
}

/**
 * Not-visible and not-existing answer the same (404) so an outsider cannot probe which ids exist.
 */
export function requireBuilding(p: Principal, buildingId: number | null | undefined, what = 'building'): void {
  if (buildingId == null || !seesBuilding(p, buildingId)) throw new HttpError(404, 'not_found', `${what} not found`);
}

export function requirePremise(p: Principal, premiseId: number | null, buildingId: number | null, what = 'meter'): void {
  requireBuilding(p, buildingId, what);
  if (p.premiseIds !== null && (premiseId == null || !p.premiseIds.has(premiseId))) throw new HttpError(404, 'not_found', `${what} not found`);
}

/** SQL fragment restricting a building id column to the caller's scope; pushes its parameter. */
export function buildingScopeSql(p: Principal, column: string, params: unknown[]): string {
  if (p.buildingIds === null) return 'TRUE';
  params.push([...p.buildingIds]);
  return `${column} = ANY($${params.length}::bigint[])`;
}

export function premiseScopeSql(p: Principal, column: string, params: unknown[]): string {
  if (p.premiseIds === null) return 'TRUE';
  params.push([...p.premiseIds]);
  return `${column} = ANY($${params.length}::bigint[])`;
}
