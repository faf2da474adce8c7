/**
 * #/ — every visible building: last month's imbalance per resource, communication health, open
 * alerts and readings awaiting review. One call: GET /overview/buildings?period=YYYY-MM.
 */
import { api, qs } from '../api.js';
import { t, tc } from '../i18n.js';
import { badge, h, table } from '../dom.js';
import { fmtDateTime, fmtPct, previousMonth, shiftMonth } from '../format.js';

export const RESOURCES = ['heat', 'hot_water', 'cold_water', 'electricity'];

export async function renderBuildings(ctx) {
  const period = /^\d{4}-\d{2}$/.test(ctx.query.get('period') ?? '') ? ctx.query.get('period') : previousMonth();
  const resource = RESOURCES.includes(ctx.query.get('resource')) ? ctx.query.get('resource') : '';
  const data = await api(`/overview/buildings?${qs({ period })}`);
  const shown = resource ? [resource] : RESOURCES.filter((r) => data.buildings.some((b) => b.resources[r]));
  const columns = shown.length ? shown : RESOURCES.slice(0, 1);

  const go = (next) => ctx.navigate(`#/?${qs({ period, resource, ...next })}`);
  const filters = h('form', { class: 'filters', onsubmit: (e) => e.preventDefault() },
    h('label', {}, t('common.month'), h('input', { type: 'month', value: period, 'data-testid': 'period', onchange: (e) => e.target.value && go({ period: e.target.value }) })),
    h('label', {}, t('common.resource'), h('select', { 'data-testid': 'resource-filter', onchange: (e) => go({ resource: e.target.value }) },
      h('option', { value: '' }, t('common.all')),
      RESOURCES.map((r) => h('option', { value: r, selected: r === resource }, tc('resource', r))))));

  const rows = data.buildings.map((b) => h('tr', { 'data-testid': `building-row-${b.id}` },
    h('td', {}, h('a', { href: `#/buildings/${b.id}?${qs({ resource: resource || columns[0], from: shiftMonth(period, -5), to: period })}` }, b.address)),
    columns.map((r) => {
      const x = b.resources[r];
      return h('td', { class: 'num', 'data-testid': `imb-${b.id}-${r}` },
        // Billed by area (not_applicable): no percentage to show, only the status saying so.
        !x ? t('common.none') : x.status === 'not_applicable' ? badge('status', x.status)
          : h('span', { class: 'pct' }, fmtPct(x.imbalance_pct), ' ', badge('status', x.status)));
    }),
    h('td', { class: 'num', 'data-testid': `gw-${b.id}` }, b.gateways.total ? `${b.gateways.online} / ${b.gateways.total}` : t('common.none')),
    h('td', {}, fmtDateTime(b.gateways.last_seen_at)),
    h('td', { class: 'num' }, b.meters.remote ? h('span', { class: b.meters.silent ? 'warn' : '' }, `${b.meters.silent} / ${b.meters.remote}`) : t('common.none')),
    h('td', { class: 'num' }, b.open_alerts ? h('span', { class: 'count alert' }, b.open_alerts) : '0'),
    h('td', { class: 'num' }, b.flagged_readings ? h('span', { class: 'count flag' }, b.flagged_readings) : '0')));

  const node = h('div', { class: 'page' },
    h('h1', {}, t('buildings.title')),
    filters,
    table([
      t('buildings.address'),
      ...columns.map((r) => h('th', {}, t('buildings.imbalance', { resource: tc('resource', r) }))),
      t('buildings.gateways'), t('buildings.lastSeen'), t('buildings.silent'), t('buildings.alerts'), t('buildings.flagged'),
    ], rows, { 'data-testid': 'buildings-table', class: 'data' }));
  return { node };
}
