/**
 * Every screen of the console, in menu order. A screen module exports
 * `{ id, messages: { ru, en }, routes: [{ path, component, roles? }], nav: [{ href, key, roles? }] }`:
 * its own words, its hash routes and its menu entries; `roles` limits who sees it (the API still
 * decides what each user may do: a hidden menu is a courtesy, not a right).
 */
import { overviewScreen } from './overview/index.js';
import { alertsScreen } from './alerts/index.js';
import { gatewaysScreen } from './gateways/index.js';
import { thresholdsScreen } from './thresholds/index.js';
import { registryScreen } from './registry/index.js';
import { accessScreen } from './access/index.js';
import { collectionScreen } from './collection/index.js';
import { billingScreen } from './billing/index.js';
import { heatScreen } from './heat/index.js';
import { exchangeScreen } from './exchange/index.js';
import { importScreen } from './import/index.js';
import { adminScreen } from './admin/index.js';
import { entryScreen } from './entry/index.js';

export const SCREENS = [
  overviewScreen,
  alertsScreen,
  gatewaysScreen,
  thresholdsScreen,
  registryScreen,
  accessScreen,
  collectionScreen,
  billingScreen,
  heatScreen,
  exchangeScreen,
  importScreen,
  adminScreen,
  entryScreen,
];
