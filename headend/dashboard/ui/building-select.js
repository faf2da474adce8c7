/**
 * A building chosen in the hash query (`?building=<id>`), for screens that work on one building at a
 * time: the buildings the user sees (GET /buildings, scoped by the API), the first one chosen when the
 * query names none, and a labelled select that changes the query (so a reload or a link keeps it).
 */
import { html, useEffect, useLoad, useQuery } from '../../web-shared/ui.js';
import { api } from '../api.js';

/** `{ state, buildings, building, setBuilding }`: building is the chosen row (with its timezone) or null. */
export function useChosenBuilding() {
  const state = useLoad(() => api('/buildings?limit=5000'), []);
  const [query, setQuery] = useQuery();
  const buildings = state.data ?? [];
  const id = Number(query.building);
  const building = buildings.find((b) => b.id === id) ?? null;
  useEffect(() => {
    if (state.data?.length && !building) setQuery({ building: state.data[0].id }, { replace: true });
  }, [state.data, building]);
  return { state, buildings, building, setBuilding: (b) => setQuery({ building: b }) };
}

/** The select of buildings; `label` is the caller's own words. */
export function BuildingSelect({ buildings, value, onChange, label, testid = 'building-select' }) {
  return html`<label class="field building-select">
    <span class="label">${label}</span>
    <select data-testid=${testid} value=${value ?? ''} onChange=${(e) => onChange(Number(e.currentTarget.value))}>
      ${buildings.map((b) => html`<option value=${b.id}>${[b.address, b.city].filter(Boolean).join(', ')}</option>`)}
    </select>
  </label>`;
}

/** Date and time in the building's zone, in the user's locale. */
export function dateTimeIn(value, timezone, loc) {
  if (!value) return null;
  return new Intl.DateTimeFormat(loc, { timeZone: timezone || 'Europe/Moscow', dateStyle: 'short', timeStyle: 'short' }).format(new Date(value));
}
