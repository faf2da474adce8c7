/**
 * The engineer's overview: buildings, a building, a meter, and the inspector's reading entry.
 */
import { html, useHashSearch, useParams } from '../../web-shared/ui.js';
import { renderBuildings } from '../views/buildings.js';
import { renderBuilding } from '../views/building.js';
import { renderMeter } from '../views/meter.js';
import { renderEntry } from '../views/entry.js';
import { LegacyView } from './legacy.js';

const legacy = (render, argsOf) => function Legacy({ me }) {
  const params = useParams();
  const search = useHashSearch();
  return html`<${LegacyView} render=${render} args=${argsOf(params)} me=${me} query=${search} />`;
};

export const overviewScreen = {
  id: 'overview',
  messages: {},
  routes: [
    { path: '/', component: legacy(renderBuildings, () => []) },
    { path: '/buildings/:id/entry', component: legacy(renderEntry, (p) => [Number(p.id)]) },
    { path: '/buildings/:id', component: legacy(renderBuilding, (p) => [Number(p.id)]) },
    { path: '/meters/:id', component: legacy(renderMeter, (p) => [Number(p.id)]) },
  ],
  nav: [{ href: '/', key: 'nav.buildings' }],
};
