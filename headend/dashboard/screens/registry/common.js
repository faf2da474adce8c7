/**
 * What the registry's screens share: the building a screen is about (its address heads the page, its
 * time zone dates everything), the tabs between a building's premises, accounts, residents, meters and gateways,
 * and the codes the forms choose from.
 */
import { html, useLoad } from '../../../web-shared/ui.js';
import { api } from '../../api.js';
import { t, tc } from '../../i18n.js';
import { Page } from '../../ui/components.js';
import { refusal } from './form.js';

export const RESOURCES = ['cold_water', 'hot_water', 'electricity', 'heat', 'gas', 'wastewater'];
export const PLACEMENTS = ['apartment', 'building', 'common_area', 'non_residential'];
/** Russia's zones (and neighbours an organisation may serve); a building elsewhere keeps what the API has. */
export const TIMEZONES = ['Europe/Kaliningrad', 'Europe/Moscow', 'Europe/Samara', 'Asia/Yekaterinburg', 'Asia/Omsk', 'Asia/Novosibirsk',
  'Asia/Krasnoyarsk', 'Asia/Irkutsk', 'Asia/Yakutsk', 'Asia/Vladivostok', 'Asia/Magadan', 'Asia/Kamchatka', 'Europe/Minsk', 'Europe/Kyiv', 'Asia/Almaty'];
export const DEFAULT_TZ = 'Europe/Moscow';

export const options = (codes, prefix) => codes.map((c) => ({ value: c, label: tc(prefix, c) }));

/** The building of the route, or its refusal (another organisation's building answers 404 like a missing one). */
export function useBuilding(id) {
  return useLoad(() => api(`/buildings/${id}`), [id]);
}

const TABS = [['', 'registry.tab.building'], ['/premises', 'registry.tab.premises'], ['/accounts', 'registry.tab.accounts'], ['/residents', 'registry.tab.residents'], ['/meters', 'registry.tab.meters']];

/**
 * A building's page frame: its address as the title, the tabs, then the screen — or, when the
 * building is not the caller's, only the refusal: nothing of it is shown.
 */
export function BuildingFrame({ id, building, testid, title, tab = '', children }) {
  if (building.error) {
    const r = refusal(building.error);
    return html`<${Page} title=${t('registry.title')} testid="registry-refused">
      <section class="card notice" role="alert" data-testid="registry-not-found"><p>${r.summary}</p>
        <a href="#/registry">${t('registry.toBuildings')}</a></section>
    <//>`;
  }
  if (!building.data) return html`<p class="muted" aria-busy="true">${t('common.loading')}</p>`;
  const b = building.data;
  return html`<${Page} title=${title} testid=${testid}>
    <p class="registry-address" data-testid="registry-address">${b.address}${b.city ? `, ${b.city}` : ''}</p>
    <nav class="registry-tabs" aria-label=${t('registry.tabs')}>
      <a href="#/registry">${t('registry.allBuildings')}</a>
      ${TABS.map(([suffix, key]) => html`<a href=${`#/registry/buildings/${id}${suffix}`} aria-current=${tab === suffix ? 'page' : null}
        data-testid=${`tab-${suffix.slice(1) || 'building'}`}>${t(key)}</a>`)}
      <a href=${`#/registry/gateways?building_id=${id}`} data-testid="tab-gateways">${t('registry.tab.gateways')}</a>
    </nav>
    ${children(b)}
  <//>`;
}

/** A resource's unit in the user's language. */
export function unitOf(resource) {
  return t(resource === 'electricity' ? 'unit.kWh' : resource === 'heat' ? 'unit.Gcal' : 'unit.m3');
}
