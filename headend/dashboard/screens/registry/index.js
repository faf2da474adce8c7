/**
 * The registry: what an office maintains every day — buildings, their premises, personal accounts,
 * the residents registered on them, meters (with replacement), gateways and their bindings. The API decides who may change what; the
 * menu entry is for the staff who keep the registry.
 */
import { REGISTRY_MESSAGES } from './messages.js';
import { BuildingScreen, BuildingsScreen } from './buildings.js';
import { PremisesScreen } from './premises.js';
import { AccountsScreen } from './accounts.js';
import { ResidentsScreen } from './residents.js';
import { MeterScreen, MetersScreen } from './meters.js';
import { GatewayScreen, GatewaysScreen } from './gateways.js';

const ROLES = ['admin', 'engineer', 'operator'];

export const registryScreen = {
  id: 'registry',
  messages: REGISTRY_MESSAGES,
  routes: [
    { path: '/registry', component: BuildingsScreen, roles: ROLES },
    { path: '/registry/buildings/:id/premises', component: PremisesScreen, roles: ROLES },
    { path: '/registry/buildings/:id/accounts', component: AccountsScreen, roles: ROLES },
    { path: '/registry/buildings/:id/residents', component: ResidentsScreen, roles: ROLES },
    { path: '/registry/buildings/:id/meters', component: MetersScreen, roles: ROLES },
    { path: '/registry/buildings/:id', component: BuildingScreen, roles: ROLES },
    { path: '/registry/meters/:id', component: MeterScreen, roles: ROLES },
    { path: '/registry/gateways/:id', component: GatewayScreen, roles: ROLES },
    { path: '/registry/gateways', component: GatewaysScreen, roles: ROLES },
  ],
  nav: [{ href: '/registry', key: 'registry.nav', roles: ROLES }],
};
