/**
 * Buildings: the list (address, city, time zone, what each holds) with a form for a new one, and a
 * building's own page to change its card. GET/POST/PATCH /buildings, GET /buildings/counts,
 * GET /organisations.
 */
import { html, navigate, useAction, useLoad, useQuery, useState } from '../../../web-shared/ui.js';
import { api } from '../../api.js';
import { t } from '../../i18n.js';
import { Card, DataTable, Loaded, Page } from '../../ui/components.js';
import { BuildingFrame, DEFAULT_TZ, TIMEZONES, useBuilding } from './common.js';
import { changes, FormNote, Input, localRefusal, num, refusal, SavedNote, str, useValues } from './form.js';

const FIELDS = ['org_id', 'address', 'city', 'external_id', 'timezone', 'year_built', 'floors', 'total_area_m2', 'common_area_m2'];

const fromRow = (b) => ({
  org_id: String(b.org_id ?? ''), address: b.address ?? '', city: b.city ?? '', external_id: b.external_id ?? '', timezone: b.timezone ?? DEFAULT_TZ,
  year_built: b.year_built ?? '', floors: b.floors ?? '', total_area_m2: b.total_area_m2 ?? '', common_area_m2: b.common_area_m2 ?? '',
});

/** The form of a building, new (`row` absent) or existing; `onSaved(row)` after the API took it. */
function BuildingForm({ row, orgs, onSaved, onCancel }) {
  const [values, set] = useValues(fromRow(row ?? { org_id: orgs.length === 1 ? orgs[0].id : '' }));
  const [local, setLocal] = useState(null);
  const [save, state] = useAction(async (body) => (row ? api(`/buildings/${row.id}`, { method: 'PATCH', body: changes(body, row) }) : api('/buildings', { method: 'POST', body })));
  const refused = local ?? refusal(state.error, FIELDS);
  const tzOptions = [...new Set([...TIMEZONES, values.timezone])].map((z) => ({ value: z, label: z }));
  async function submit(e) {
    e.preventDefault();
    const n = { year_built: num(values.year_built), floors: num(values.floors), total_area_m2: num(values.total_area_m2), common_area_m2: num(values.common_area_m2) };
    const bad = localRefusal({
      org_id: !row && !values.org_id ? t('registry.err.required') : null,
      address: !str(values.address) ? t('registry.err.required') : null,
      ...Object.fromEntries(Object.entries(n).map(([k, v]) => [k, Number.isNaN(v) ? t('registry.err.notNumber') : null])),
    });
    setLocal(bad);
    if (bad) return;
    const body = { address: str(values.address), city: str(values.city), external_id: str(values.external_id), timezone: values.timezone, ...n };
    if (!row) body.org_id = Number(values.org_id);
    const saved = await save(body);
    if (saved) onSaved(saved);
  }
  const f = { values, set, refused };
  return html`<form class="registry-form" onSubmit=${submit} noValidate data-testid="building-form">
    <${FormNote} refused=${refused} />
    <div class="form-grid">
      ${row ? null : html`<${Input} ...${f} name="org_id" label=${t('registry.b.org')} kind="select" required
        options=${[{ value: '', label: t('registry.choose') }, ...orgs.map((o) => ({ value: String(o.id), label: o.name }))]} />`}
      <${Input} ...${f} name="address" label=${t('registry.b.address')} required hint=${t('registry.b.addressHint')} />
      <${Input} ...${f} name="city" label=${t('registry.b.city')} />
      <${Input} ...${f} name="external_id" label=${t('registry.b.externalId')} hint=${t('registry.b.externalIdHint')} />
      <${Input} ...${f} name="timezone" label=${t('registry.b.timezone')} kind="select" options=${tzOptions} />
      <${Input} ...${f} name="year_built" label=${t('registry.b.yearBuilt')} kind="number" inputmode="numeric" />
      <${Input} ...${f} name="floors" label=${t('registry.b.floors')} kind="number" inputmode="numeric" />
      <${Input} ...${f} name="total_area_m2" label=${t('registry.b.totalArea')} kind="number" />
      <${Input} ...${f} name="common_area_m2" label=${t('registry.b.commonArea')} kind="number" />
    </div>
    <div class="actions">
      <button type="submit" class="primary" disabled=${state.busy} data-testid="building-save">${t('registry.save')}</button>
      ${onCancel ? html`<button type="button" onClick=${onCancel}>${t('registry.cancel')}</button>` : null}
    </div>
  </form>`;
}

export function BuildingsScreen() {
  const data = useLoad(async () => {
    const [buildings, counts, orgs] = await Promise.all([api('/buildings?limit=5000'), api('/buildings/counts'), api('/organisations')]);
    const byId = new Map(counts.map((c) => [c.building_id, c]));
    return { buildings: buildings.map((b) => ({ ...b, counts: byId.get(b.id) ?? {} })), orgs };
  }, []);
  const [adding, setAdding] = useState(false);
  const [filter, setFilter] = useState('');
  const columns = [
    { key: 'address', label: t('registry.b.address'), render: (b) => html`<a href=${`#/registry/buildings/${b.id}`} data-testid=${`building-link-${b.id}`}>${b.address}</a>` },
    { key: 'city', label: t('registry.b.city') },
    { key: 'timezone', label: t('registry.b.timezone') },
    { key: 'premises', label: t('registry.tab.premises'), num: true, render: (b) => html`<a href=${`#/registry/buildings/${b.id}/premises`}>${b.counts.premises ?? 0}</a>` },
    { key: 'accounts', label: t('registry.tab.accounts'), num: true, render: (b) => html`<a href=${`#/registry/buildings/${b.id}/accounts`}>${b.counts.accounts ?? 0}</a>` },
    { key: 'meters', label: t('registry.tab.meters'), num: true, render: (b) => html`<a href=${`#/registry/buildings/${b.id}/meters`}>${b.counts.meters ?? 0}</a>` },
    { key: 'gateways', label: t('registry.tab.gateways'), num: true, render: (b) => html`<a href=${`#/registry/gateways?building_id=${b.id}`}>${b.counts.gateways ?? 0}</a>` },
  ];
  return html`<${Page} title=${t('registry.buildings')} testid="registry-buildings"
      actions=${html`<button type="button" class="primary" data-testid="building-add" aria-expanded=${adding} onClick=${() => setAdding(!adding)}>${t('registry.b.add')}</button>
        <a href="#/registry/gateways">${t('registry.tab.gateways')}</a>`}>
    <${Loaded} state=${data}>${(d) => html`
      ${adding ? html`<${Card} title=${t('registry.b.new')} testid="building-new">
        <${BuildingForm} orgs=${d.orgs} onCancel=${() => setAdding(false)} onSaved=${(b) => navigate(`/registry/buildings/${b.id}?saved=1`)} />
      <//>` : null}
      <${Card}>
        <div class="filters"><label>${t('registry.b.search')}<input type="search" value=${filter} data-testid="building-search" onInput=${(e) => setFilter(e.currentTarget.value)} /></label></div>
        <div class="registry-stack">
          <${DataTable} columns=${columns} testid="buildings-list" rowTestid=${(b) => `building-row-${b.id}`} empty=${t('registry.b.none')} caption=${t('registry.buildings')}
            rows=${d.buildings.filter((b) => !filter || `${b.address} ${b.city ?? ''} ${b.external_id ?? ''}`.toLowerCase().includes(filter.trim().toLowerCase()))} />
        </div>
      <//>`}
    <//>
  <//>`;
}

export function BuildingScreen({ params }) {
  const id = Number(params.id);
  const building = useBuilding(id);
  const counts = useLoad(async () => (await api('/buildings/counts')).find((c) => c.building_id === id) ?? null, [id]);
  const [query] = useQuery();
  const [savedNow, setSaved] = useState(false);
  const saved = savedNow || query.saved === '1';
  return html`<${BuildingFrame} id=${id} building=${building} testid="registry-building" title=${t('registry.b.card')}>${(b) => html`
    <div class="grid2">
      <${Card} title=${t('registry.b.edit')}>
        <${SavedNote} show=${saved} />
        <${BuildingForm} key=${b.updated_at} row=${b} orgs=${[]} onSaved=${() => { setSaved(true); building.reload(); }} />
      <//>
      <${Card} title=${t('registry.b.holds')}>
        <dl class="facts" data-testid="building-counts">
          <dt>${t('registry.tab.premises')}</dt><dd><a href=${`#/registry/buildings/${id}/premises`}>${counts.data?.premises ?? 0}</a></dd>
          <dt>${t('registry.tab.accounts')}</dt><dd><a href=${`#/registry/buildings/${id}/accounts`}>${counts.data?.accounts ?? 0}</a></dd>
          <dt>${t('registry.tab.meters')}</dt><dd><a href=${`#/registry/buildings/${id}/meters`}>${counts.data?.meters ?? 0}</a></dd>
          <dt>${t('registry.tab.gateways')}</dt><dd><a href=${`#/registry/gateways?building_id=${id}`}>${counts.data?.gateways ?? 0}</a></dd>
        </dl>
        <p><a href=${`#/buildings/${id}`}>${t('registry.b.overview')}</a></p>
      <//>
    </div>`}
  <//>`;
}
