/**
 * #/buildings/:id — does the building meter agree with its apartments, month by month, and which
 * meters are lying. Numbers come from GET /buildings/:id/overview (reads the tables the imbalance
 * service, validator and alert job write); daily and hourly series from GET /meters/:id/readings.
 */
import { api, download, optional, qs } from '../api.js';
import { t, tc } from '../i18n.js';
import { badge, h, section, table } from '../dom.js';
import { dailyConsumption, fmtDateTime, fmtMonth, fmtNumber, fmtPct, heatParameters, imbalanceByMonth, monthRange, previousMonth, shiftMonth } from '../format.js';
import { dailyOption, heatOption, imbalanceOption, mountChart } from '../charts.js';
import { RESOURCES } from './buildings.js';

const MONTH = /^\d{4}-\d{2}$/;
/** Roles whose users enter readings by hand (readings:enter). */
const ENTRY_ROLES = new Set(['admin', 'engineer', 'operator']);
const HEAT_WINDOW_MS = 7 * 86_400_000;

/** Translated reasons of a verdict, comma-separated ("—" when none). */
export function reasonsText(reasons) {
  return reasons?.length ? reasons.map((r) => tc('reason', r.code)).join(', ') : t('common.none');
}

export async function renderBuilding(id, ctx) {
  const to = MONTH.test(ctx.query.get('to') ?? '') ? ctx.query.get('to') : previousMonth();
  const fromQ = MONTH.test(ctx.query.get('from') ?? '') ? ctx.query.get('from') : shiftMonth(to, -5);
  const from = fromQ <= to ? fromQ : to;
  const ov = await api(`/buildings/${id}/overview?${qs({ from, to })}`);
  const present = RESOURCES.filter((r) => ov.meters.some((m) => m.resource === r) || ov.imbalance.some((x) => x.resource === r));
  const choices = present.length ? present : RESOURCES;
  const resource = choices.includes(ctx.query.get('resource')) ? ctx.query.get('resource') : choices[0];
  const tz = ov.building.timezone;
  const odpu = ov.meters.find((m) => m.placement === 'building' && m.resource === resource && m.status !== 'removed');
  const range = monthRange(from, to);

  // Daily consumption needs the day before the range for the first difference.
  const dayFrom = new Date(new Date(range.from).getTime() - 86_400_000).toISOString();
  const heatEnd = odpu ? Math.min(new Date(range.to).getTime(), odpu.last_reading ? new Date(odpu.last_reading.time).getTime() + 3_600_000 : Infinity) : null;
  const heatFrom = heatEnd ? Math.max(new Date(range.from).getTime(), heatEnd - HEAT_WINDOW_MS) : null;
  const [dailyRes, heatRes, flaggedRes] = await Promise.all([
    odpu ? optional(`/meters/${odpu.id}/readings?${qs({ resolution: 'day', quantity: odpu.register_quantity, from: dayFrom, to: range.to })}`) : null,
    odpu && resource === 'heat' && heatFrom < heatEnd
      ? optional(`/meters/${odpu.id}/readings?${qs({ resolution: 'hour', from: new Date(heatFrom).toISOString(), to: new Date(heatEnd).toISOString() })}`) : null,
    // The validation routes' list of unreviewed suspect/invalid readings ("—" while that service is absent).
    optional(`/buildings/${id}/flagged?${qs({ from: range.from, to: range.to, limit: 500 })}`),
  ]);

  const months = imbalanceByMonth(ov.imbalance, resource, from, to);
  const days = dailyRes?.buckets ? dailyConsumption(dailyRes.buckets) : null;
  const heat = heatRes?.buckets ? heatParameters(heatRes.buckets).filter((r) => r.flow != null || r.ret != null || r.volumeFlow != null || r.powerKw != null) : null;
  const unit = odpu?.last_reading?.unit ?? (odpu?.register_quantity === 'energy_kwh' ? 'kWh' : 'm³');

  const go = (next) => ctx.navigate(`#/buildings/${id}?${qs({ resource, from, to, ...next })}`);
  const filters = h('form', { class: 'filters', onsubmit: (e) => e.preventDefault() },
    h('label', {}, t('common.resource'), h('select', { 'data-testid': 'resource', onchange: (e) => go({ resource: e.target.value }) },
      choices.map((r) => h('option', { value: r, selected: r === resource }, tc('resource', r))))),
    h('label', {}, t('common.from'), h('input', { type: 'month', value: from, 'data-testid': 'from', onchange: (e) => e.target.value && go({ from: e.target.value }) })),
    h('label', {}, t('common.to'), h('input', { type: 'month', value: to, 'data-testid': 'to', onchange: (e) => e.target.value && go({ to: e.target.value }) })));

  const imbalanceChart = h('div', { class: 'chart', 'data-testid': 'chart-imbalance' });
  const cell = (testid, value, text) => h('td', { class: 'num', 'data-testid': testid, 'data-value': value ?? '' }, text);
  const imbalanceTable = table([
    h('th', { 'data-testid': 'imb-th-month' }, t('building.month')),
    h('th', { 'data-testid': 'imb-th-odpu' }, t('building.odpu')),
    h('th', { 'data-testid': 'imb-th-ipu' }, t('building.sumIpu')),
    h('th', {}, t('building.other')),
    h('th', {}, t('building.imbalance')),
    h('th', { 'data-testid': 'imb-th-pct' }, t('building.imbalancePct')),
    h('th', {}, t('building.coverage')),
    h('th', {}, t('building.status')),
  ], months.map((m) => h('tr', { 'data-testid': `imb-row-${m.period}` },
    h('td', {}, fmtMonth(m.period)),
    cell(`imb-odpu-${m.period}`, m.building_consumption, fmtNumber(m.building_consumption, 1)),
    cell(`imb-ipu-${m.period}`, m.apartments_consumption, fmtNumber(m.apartments_consumption, 1)),
    cell(`imb-other-${m.period}`, m.other_consumption, fmtNumber(m.other_consumption, 1)),
    cell(`imb-abs-${m.period}`, m.imbalance, fmtNumber(m.imbalance, 1)),
    cell(`imb-pct-${m.period}`, m.imbalance_pct, m.status === 'not_applicable' ? t('status.not_applicable') : fmtPct(m.imbalance_pct)),
    cell(`imb-coverage-${m.period}`, m.coverage, m.coverage == null ? t('common.none') : fmtPct(m.coverage * 100)),
    h('td', { 'data-testid': `imb-status-${m.period}` }, badge('status', m.status)))), { 'data-testid': 'imbalance-table', class: 'data compact' });

  const dailyChart = h('div', { class: 'chart small', 'data-testid': 'chart-daily' });
  const heatChart = h('div', { class: 'chart small', 'data-testid': 'chart-heat' });
  const none = (testid, text) => h('p', { class: 'muted', 'data-testid': testid }, text);

  const meters = ov.meters.filter((m) => m.resource === resource);
  const meterRows = meters.map((m) => h('tr', { 'data-testid': `meter-row-${m.id}`, class: m.flagged ? 'flagged' : '' },
    h('td', {}, h('a', { href: `#/meters/${m.id}` }, m.serial_number)),
    h('td', {}, tc('placement', m.placement)),
    h('td', {}, m.premise_number ?? t('common.none')),
    h('td', { class: 'num' }, m.last_reading ? `${fmtNumber(m.last_reading.value, 3)} ${m.last_reading.unit}` : t('common.none')),
    h('td', {}, fmtDateTime(m.last_reading?.time, tz)),
    h('td', {}, badge('verdict', m.last_verdict?.status),
      m.last_verdict?.review ? h('span', { class: 'muted' }, ` · ${tc('decision', m.last_verdict.review.decision)}`) : null),
    h('td', { 'data-testid': `meter-reasons-${m.id}` }, reasonsText(m.last_verdict?.reasons)),
    h('td', { class: 'num' }, m.flagged ? h('span', { class: 'count flag' }, m.flagged) : '0')));

  const flagged = flaggedRes?.rows?.filter((r) => r.resource === resource) ?? null;
  const flaggedRows = (flagged ?? []).map((r) => h('tr', { 'data-testid': `flagged-${r.meter_id}-${r.time}` },
    h('td', {}, h('a', { href: `#/meters/${r.meter_id}` }, r.serial_number)),
    h('td', {}, r.premise_number ?? tc('placement', r.placement)),
    h('td', {}, fmtDateTime(r.time, tz)),
    h('td', { class: 'num' }, r.value == null ? t('common.none') : fmtNumber(r.value, 3)),
    h('td', {}, badge('verdict', r.status)),
    h('td', {}, reasonsText(r.reasons))));

  // Engineers may recompute the reports of the shown months now (after corrections or reviews) instead
  // of waiting for the recompute job; the imbalance routes do it synchronously for a bounded range.
  const recomputeNote = h('span', { class: 'muted', role: 'status' });
  const recompute = ['admin', 'engineer'].includes(ctx.me.role) ? h('button', {
    type: 'button', class: 'small', 'data-testid': 'recompute',
    onclick: async (e) => {
      e.target.disabled = true;
      recomputeNote.textContent = t('common.loading');
      try {
        await api(`/buildings/${id}/imbalance/recompute`, { method: 'POST', body: { resource, kind: 'month', from, to: shiftMonth(to, 1) } });
        await ctx.reload();
      } catch (ex) {
        recomputeNote.textContent = ex.status === 404 ? t('common.unavailable') : `${t('common.error')}: ${ex.message}`;
        e.target.disabled = false;
      }
    },
  }, t('building.recompute')) : null;

  const gatewayRows = ov.gateways.map((g) => h('tr', { 'data-testid': `gateway-row-${g.id}` },
    h('td', {}, g.name ? `${g.id} (${g.name})` : g.id),
    h('td', {}, h('span', { class: `badge ${g.online ? 'status-ok' : 'status-high_loss'}` }, g.online ? t('gateway.online') : t('gateway.offline'))),
    h('td', {}, fmtDateTime(g.last_seen_at, tz)),
    h('td', { class: 'num' }, g.outbox_depth == null ? t('common.none') : String(g.outbox_depth))));

  const alertRows = ov.alerts.map((a) => {
    const status = h('span', { class: 'muted' }, a.acknowledged_at ? t('alert.acked', { who: a.acknowledged_by ?? '' }) : '');
    const ack = a.acknowledged_at ? null : h('button', {
      type: 'button', class: 'small',
      onclick: async (e) => {
        e.target.disabled = true;
        try {
          await api(`/alerts/${a.id}/ack`, { method: 'POST', body: {} });
          status.textContent = t('alert.acked', { who: ctx.me.name });
          e.target.remove();
        } catch (ex) {
          status.textContent = ex.status === 404 ? t('common.unavailable') : `${t('common.error')}: ${ex.message}`;
          e.target.disabled = false;
        }
      },
    }, t('alert.ack'));
    return h('tr', { 'data-testid': `alert-row-${a.id}` },
      h('td', {}, badge('severity', a.severity)),
      h('td', {}, tc('alertKind', a.kind)),
      h('td', {}, a.message),
      h('td', {}, fmtDateTime(a.raised_at, tz)),
      h('td', {}, ack, status));
  });

  const node = h('div', { class: 'page' },
    h('p', {}, h('a', { href: '#/' }, t('common.back'))),
    h('h1', { 'data-testid': 'building-title' }, ov.building.address, ov.building.city ? h('span', { class: 'sub' }, ` · ${ov.building.city}`) : null),
    h('p', { class: 'actions-line' },
      ENTRY_ROLES.has(ctx.me.role) ? h('a', { class: 'button', href: `#/buildings/${id}/entry`, 'data-testid': 'open-entry' }, t('entry.open')) : null, ' ',
      h('button', { type: 'button', class: 'small', 'data-testid': 'export-readings', onclick: () => download(`/readings/export?${qs({ building_id: id, resource, from: range.from, to: range.to, format: 'xlsx' })}`) }, t('entry.export'))),
    filters,
    section(`${t('building.chartImbalance')} · ${tc('resource', resource)}`, imbalanceChart, imbalanceTable,
      recompute ? h('p', { class: 'actions-line' }, recompute, ' ', recomputeNote) : null),
    h('div', { class: 'grid2' },
      section(t('building.chartDaily'), odpu ? (days ? dailyChart : none('daily-none', t('common.none'))) : none('daily-none', t('building.noOdpu'))),
      resource === 'heat' ? section(t('building.chartHeat'), heat?.length ? heatChart : none('heat-none', t('common.none'))) : null),
    section(t('building.meters'), table([t('meter.serial'), t('meter.placement'), t('meter.premise'), t('meter.lastReading'), t('meter.lastTime'), t('meter.verdict'), t('meter.reasons'), t('meter.flagged')],
      meterRows, { 'data-testid': 'meters-table', class: 'data' })),
    section(t('building.flagged'), flagged === null
      ? h('p', { class: 'muted', 'data-testid': 'flagged-none' }, t('common.none'))
      : table([t('meter.serial'), t('meter.premise'), t('meter.time'), t('meter.value'), t('meter.verdict'), t('meter.reasons')], flaggedRows, { 'data-testid': 'flagged-table', class: 'data' })),
    h('div', { class: 'grid2' },
      section(t('building.gateways'), table([t('gateway.id'), t('gateway.online'), t('gateway.lastSeen'), t('gateway.outbox')], gatewayRows, { 'data-testid': 'gateways-table', class: 'data' })),
      section(t('building.alerts'), table([t('alert.severity'), t('alert.kind'), t('alert.message'), t('alert.raised'), ''], alertRows, { 'data-testid': 'alerts-table', class: 'data' }))));

  return {
    node,
    afterMount() {
      mountChart(imbalanceChart, imbalanceOption(months));
      if (odpu && days) mountChart(dailyChart, dailyOption(days, unit));
      if (heat?.length) mountChart(heatChart, heatOption(heat));
    },
  };
}
