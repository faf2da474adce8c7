/**
 * What the administration screens share: the section tabs (each shown to the roles the API lets do
 * that work; the API still decides), instants shown in Moscow time (an admin record belongs to no
 * building, so the product's default zone), and the role list.
 */
import { html, useHashLocation } from '../../../web-shared/ui.js';
import { t } from '../../i18n.js';
import { fmtDateTime } from '../../format.js';
import { Page } from '../../ui/components.js';

export const ADMIN_ZONE = 'Europe/Moscow';
export const STAFF_ROLES = ['admin', 'engineer', 'operator', 'billing', 'resident'];

/** The sections, with the roles whose permissions the API asks for there (auth/roles.ts). */
export const SECTIONS = [
  { href: '/admin/users', key: 'admin.users', roles: ['admin'] },
  { href: '/admin/organisations', key: 'admin.organisations', roles: ['admin'] },
  { href: '/admin/quarantine', key: 'admin.quarantine', roles: ['admin', 'engineer'] },
  { href: '/admin/dead-letters', key: 'admin.deadLetters', roles: ['admin', 'engineer'] },
  { href: '/admin/jobs', key: 'admin.jobs', roles: ['admin'] },
  { href: '/admin/audit', key: 'admin.audit', roles: ['admin', 'engineer'] },
];

export const when = (iso) => fmtDateTime(iso, ADMIN_ZONE);

export function AdminTabs({ me }) {
  const [path] = useHashLocation();
  const items = SECTIONS.filter((s) => !me || s.roles.includes(me.role));
  return html`<nav class="admin-tabs" aria-label=${t('admin.sections')}>
    ${items.map((s) => html`<a href=${`#${s.href}`} aria-current=${path === s.href || path.startsWith(`${s.href}/`) ? 'page' : null}>${t(s.key)}</a>`)}
  </nav>`;
}

/** A role in the user's language. */
export const roleName = (role) => t(`role.${role}`);

/** An administration page: its title, the section tabs, then the content (tables stack on phones). */
export function AdminPage({ title, testid, me, children }) {
  return html`<${Page} title=${title} testid=${testid}>
    <${AdminTabs} me=${me} />
    <div class="admin-page-stack">${children}</div>
  <//>`;
}
