/**
 * Roles and what each may do. One table of permissions instead of role checks scattered over routes,
 * so a reviewer sees the whole policy in one place.
 *
 * Scope is separate from permission: every role but admin sees only the buildings granted to it
 * (residents: only the premises of their bound personal accounts).
 */
import { z } from 'zod';

export const Role = z.enum(['admin', 'engineer', 'operator', 'billing', 'resident']);
export type Role = z.infer<typeof Role>;

export const Permission = z.enum([
  'users:manage', // create users, grants, API keys
  'registry:read',
  'registry:write', // organisations, buildings, premises, accounts, residents, meters, replacements
  'gateways:write', // gateways and bindings
  'gateways:command', // send commands to a gateway (poll now, its config, scan, restart) and read their replies
  'readings:read',
  'readings:enter', // manual staff readings
  'readings:correct', // new versions of existing readings
  'ingest:manage', // quarantine resolution, dead letters
  'import:run',
  'audit:read',
  'readings:review', // accept / reject a reading flagged by validation
  'imbalance:configure', // thresholds, recompute
  'alerts:read',
  'alerts:manage', // acknowledge
  'readings:submit', // a resident's own meters, inside the collection window
  'readings:enter_outside_window', // the privilege to enter readings when the collection window is closed
  'collection:configure', // collection settings per building and resource
  'billing:read', // accruals, invoice lines, the billing feed
  'billing:manage', // tariffs, norms, rules, period close
  'exchange:run', // file exchange: imports, XML exchange runs
  'notifications:receive', // staff told by e-mail when residents of their buildings submit readings
  'heat:read', // the monthly heat statement of a building heat meter (JSON, Excel, PDF)
  'heat:sign_off', // sign a month's heat statement off (hand it to the heat supplier)
]);
export type Permission = z.infer<typeof Permission>;

const ALL = Permission.options;

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  admin: ALL,
  engineer: ['registry:read', 'registry:write', 'gateways:write', 'gateways:command', 'readings:read', 'readings:enter', 'readings:correct', 'ingest:manage', 'import:run', 'audit:read', 'readings:review', 'imbalance:configure', 'alerts:read', 'alerts:manage', 'readings:enter_outside_window', 'collection:configure', 'billing:read', 'exchange:run', 'notifications:receive', 'heat:read', 'heat:sign_off'],
  // Meter inspector: walks the building with a phone, reads meters.
  operator: ['registry:read', 'readings:read', 'readings:enter', 'alerts:read', 'notifications:receive'],
  billing: ['registry:read', 'readings:read', 'billing:read', 'billing:manage', 'exchange:run', 'heat:read'],
  resident: ['readings:read', 'readings:submit'],
};

export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}
