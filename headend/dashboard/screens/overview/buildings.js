/**
 * #/ — every visible building: the month's imbalance per resource, communication health, silent
 * meters, open alerts and readings awaiting review. One call: GET /overview/buildings?period=YYYY-MM.
 * On a phone each building is a card of labelled lines (the table stacks), never a sideways scroll.
 */
import { html, useLoad, useQuery } from '../../../web-shared/ui.js';
import { api, qs } from '../../api.js';
import { t, tc } from '../../i18n.js';
import { fmtDateTime, fmtMonthLong, fmtPct, isMonth, monthOf, previousMonth, shiftMonth } from '../../format.js';
import { Badge, DataTable, Loaded, Page } from '../../ui/components.js';
import { MonthPicker } from '../../ui/month-picker.js';
import { RESOURCES } from './shared.js';

function Imbalance({ b, r }) {
  const x = b.resources[r];
  const testid = `imb-${b.id}-${r}`;
  if (!x) return html`<span class="muted" data-testid=${testid}>${t('common.none')}</span>`;
  // Billed by area (not_applicable): no percentage to show, only the status saying so.
  if (x.status === 'not_applicable') return html`<span data-testid=${testid}><${Badge} prefix="status" code=${x.status} /></span>`;
  return html`<span class="pct" data-testid=${testid}>${fmtPct(x.imbalance_pct)} <${Badge} prefix="status" code=${x.status} /></span>`;
}

export function BuildingsScreen() {
  const [query, setQuery] = useQuery();
  const period = isMonth(query.period) ? query.period : previousMonth();
  const resource = RESOURCES.includes(query.resource) ? query.resource : '';
  const state = useLoad(() => api(`/overview/buildings?${qs({ period })}`), [period]);

  return html`<${Page} title=${t('buildings.title')} testid="buildings-screen">
    <div class="filters">
      <${MonthPicker} label=${t('common.month')} value=${period} max=${monthOf(new Date())} testid="period" onChange=${(v) => setQuery({ period: v })} />
      <label class="field"><span class="label">${t('common.resource')}</span>
        <select data-testid="resource-filter" onChange=${(e) => setQuery({ resource: e.currentTarget.value })}>
          <option value="" selected=${!resource}>${t('common.all')}</option>
          ${RESOURCES.map((r) => html`<option value=${r} selected=${r === resource}>${tc('resource', r)}</option>`)}
        </select>
      </label>
    </div>
    <${Loaded} state=${state}>${(data) => {
      const shown = resource ? [resource] : RESOURCES.filter((r) => data.buildings.some((b) => b.resources[r]));
      const columns = shown.length ? shown : RESOURCES.slice(0, 1);
      const href = (b) => `#/buildings/${b.id}?${qs({ resource: resource || columns[0], from: shiftMonth(period, -5), to: period })}`;
      return html`<p class="muted">${t('overview.buildingsPeriod', { month: fmtMonthLong(period) })}</p>
        <${DataTable} testid="buildings-table" className="data stack" caption=${t('buildings.title')}
          rows=${data.buildings} rowTestid=${(b) => `building-row-${b.id}`} empty=${t('overview.noBuildings')}
          columns=${[
            { key: 'address', label: t('buildings.address'), render: (b) => html`<a href=${href(b)}>${b.address}</a>${b.city ? html`<span class="sub">${b.city}</span>` : null}` },
            ...columns.map((r) => ({ key: r, num: true, label: t('buildings.imbalance', { resource: tc('resource', r) }), render: (b) => html`<${Imbalance} b=${b} r=${r} />` })),
            { key: 'gw', num: true, label: t('buildings.gateways'), render: (b) => html`<span data-testid=${`gw-${b.id}`}>${b.gateways.total ? `${b.gateways.online} / ${b.gateways.total}` : t('common.none')}</span>` },
            { key: 'seen', label: t('buildings.lastSeen'), render: (b) => fmtDateTime(b.gateways.last_seen_at, b.timezone) },
            { key: 'silent', num: true, label: t('buildings.silent'), render: (b) => (b.meters.remote ? html`<span class=${b.meters.silent ? 'warn' : null}>${b.meters.silent} / ${b.meters.remote}</span>` : t('common.none')) },
            { key: 'alerts', num: true, label: t('buildings.alerts'), render: (b) => (b.open_alerts ? html`<span class="count alert">${b.open_alerts}</span>` : '0') },
            { key: 'flagged', num: true, label: t('buildings.flagged'), render: (b) => (b.flagged_readings ? html`<span class="count flag">${b.flagged_readings}</span>` : '0') },
          ]} />`;
    }}<//>
  <//>`;
}
