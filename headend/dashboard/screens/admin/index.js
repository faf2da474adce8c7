/**
 * Administration: users and their building rights, organisations and their API keys, quarantine and
 * dead letters, background jobs, the audit journal. The menu entry is for the roles that may do any
 * of it; the routes are open to every staff role on purpose — the API decides, so someone without
 * the right who types an address sees "no right" from the server, never another role's data.
 */
import { html } from '../../../web-shared/ui.js';
import { t } from '../../i18n.js';
import { Page, Card } from '../../ui/components.js';
import { messages } from './messages.js';
import { SECTIONS } from './common.js';
import { UsersScreen, UserScreen } from './users.js';
import { OrganisationsScreen, OrganisationScreen } from './organisations.js';
import { QuarantineScreen, DeadLettersScreen } from './ingest.js';
import { JobsScreen, JOB_MESSAGES } from './jobs.js';
import { AuditScreen } from './audit.js';

function AdminHome({ me }) {
  const items = SECTIONS.filter((s) => s.roles.includes(me.role));
  return html`<${Page} title=${t('admin.title')} testid="admin-home">
    <${Card}>
      <ul class="admin-links">${items.map((s) => html`<li><a href=${`#${s.href}`}>${t(s.key)}</a></li>`)}</ul>
    <//>
  <//>`;
}

export const adminScreen = {
  id: 'admin',
  messages: { ru: { ...messages.ru, ...JOB_MESSAGES.ru }, en: { ...messages.en, ...JOB_MESSAGES.en } },
  routes: [
    { path: '/admin', component: AdminHome },
    { path: '/admin/users', component: UsersScreen },
    { path: '/admin/users/:id', component: UserScreen },
    { path: '/admin/organisations', component: OrganisationsScreen },
    { path: '/admin/organisations/:id', component: OrganisationScreen },
    { path: '/admin/quarantine', component: QuarantineScreen },
    { path: '/admin/dead-letters', component: DeadLettersScreen },
    { path: '/admin/jobs', component: JobsScreen },
    { path: '/admin/audit', component: AuditScreen },
  ],
  nav: [{ href: '/admin', key: 'admin.nav', roles: ['admin', 'engineer'] }],
};
