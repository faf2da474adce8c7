/**
 * #/buildings/:id — does the building meter agree with its apartments, month by month, and which meters
 * are lying. Numbers come from GET /buildings/:id/overview (the tables the imbalance service, validator
 * and alert job write); daily and hourly series from GET /meters/:id/readings; readings awaiting review
 * from GET /buildings/:id/flagged. Long lists stay short: open alerts show a count and the first few,
 * meters come a page at a time, so the page reads at a glance on a phone too.
 */
import { html, useAction, useLoad, useMemo, useQuery, useState } from '../../../web-shared/ui.js';
import { api, download, optional, qs } from '../../api.js';
import { t, tc } from '../../i18n.js';
import {
  dailyConsumption, fmtDateTime, fmtMonthLong, fmtNumber, fmtPct, heatParameters, imbalanceByMonth, isMonth, localMonth, monthRange, previousMonth, shiftMonth,
} from '../../format.js';
import { dailyOption, heatOption, imbalanceOption } from '../../charts.js';
import { Badge, Card, Chart, DataTable, ErrorNote, Loaded, Page, errorText } from '../../ui/components.js';
import { MonthPicker } from '../../ui/month-picker.js';
import { Pager, pageOf } from '../../ui/pager.js';
import { fmtQty, quantityUnit, resourceUnit, unitLabel } from '../../ui/units.js';
import { ENTRY_ROLES, RECOMPUTE_ROLES, RESOURCES, reasonsText } from './shared.js';

const HEAT_WINDOW_MS = 7 * 86_400_000;
/** Open alerts and flagged readings shown before "show all". */
export const FIRST_ALERTS = 3;
const FIRST_FLAGGED = 5;
const METERS_PER_PAGE = 10;

async function loadBuilding(id, from, to, resourceQ) {
  const ov = await api(`/buildings/${id}/overview?${qs({ from, to })}`);
  const present = RESOURCES.filter((r) => ov.meters.some((m) => m.resource === r) || ov.imbalance.some((x) => x.resource === r));
  const choices = present.length ? present : RESOURCES;
  const resource = choices.includes(resourceQ) ? resourceQ : choices[0];
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
  return {
    ov, resource, choices, odpu, range,
    months: imbalanceByMonth(ov.imbalance, resource, from, to),
    days: dailyRes?.buckets ? dailyConsumption(dailyRes.buckets) : null,
    heat: heatRes?.buckets ? heatParameters(heatRes.buckets).filter((r) => r.flow != null || r.ret != null || r.volumeFlow != null || r.powerKw != null) : null,
    flagged: flaggedRes?.rows?.filter((r) => r.resource === resource) ?? null,
    unit: (odpu ? quantityUnit(odpu.register_quantity) : null) ?? resourceUnit(resource),
  };
}

function AlertAck({ alert, me }) {
  const [ack, st] = useAction(() => api(`/alerts/${alert.id}/ack`, { method: 'POST', body: {} }));
  const who = alert.acknowledged_by ?? (st.result !== undefined ? me.name : null);
  if (alert.acknowledged_at || st.result !== undefined) return html`<span class="muted">${t('alert.acked', { who: who ?? '' })}</span>`;
  return html`<button type="button" class="small" disabled=${st.busy} onClick=${() => ack()}>${t('alert.ack')}</button>
    ${st.error ? html`<span class="error" role="alert">${st.error.status === 404 ? t('common.unavailable') : errorText(st.error)}</span>` : null}`;
}

function AlertsCard({ alerts, tz, me, all, onAll }) {
  const shown = all ? alerts : alerts.slice(0, FIRST_ALERTS);
  const more = alerts.length - shown.length;
  return html`<${Card} testid="alerts-card" title=${html`${t('building.alerts')} <span class=${alerts.length ? 'count alert' : 'count'} data-testid="alerts-count">${alerts.length}</span>`}
      actions=${alerts.length > FIRST_ALERTS ? html`<button type="button" class="small" data-testid="alerts-toggle" aria-expanded=${all ? 'true' : 'false'} onClick=${onAll}>
        ${all ? t('overview.alertsFewer') : t('overview.alertsAll', { count: alerts.length })}</button>` : null}>
    <${DataTable} testid="alerts-table" className="data compact stack" rows=${shown} rowTestid=${(a) => `alert-row-${a.id}`} empty=${t('overview.noAlerts')}
      caption=${t('building.alerts')}
      columns=${[
        { key: 'severity', label: t('alert.severity'), render: (a) => html`<${Badge} prefix="severity" code=${a.severity} />` },
        { key: 'kind', label: t('alert.kind'), render: (a) => tc('alertKind', a.kind) },
        { key: 'message', label: t('alert.message') },
        { key: 'raised', label: t('alert.raised'), render: (a) => fmtDateTime(a.raised_at, tz) },
        { key: 'ack', label: t('overview.alertAck'), render: (a) => html`<${AlertAck} alert=${a} me=${me} />` },
      ]} />
    ${more > 0 ? html`<p class="muted" data-testid="alerts-more">${t('overview.alertsMore', { count: more })}</p>` : null}
  <//>`;
}

function ImbalanceCard({ id, data, from, to, me, reload }) {
  const { months, resource, unit } = data;
  const hasData = months.some((m) => m.status != null);
  const option = useMemo(() => (hasData ? imbalanceOption(months, unit) : null), [months, unit, hasData]);
  const [recompute, st] = useAction(async () => {
    await api(`/buildings/${id}/imbalance/recompute`, { method: 'POST', body: { resource, kind: 'month', from, to: shiftMonth(to, 1) } });
    reload();
  });
  const cell = (testid, value, text) => html`<span data-testid=${testid} data-value=${value ?? ''}>${text}</span>`;
  const q = (v) => fmtNumber(v, 1);
  return html`<${Card} testid="imbalance-card" title=${`${t('building.chartImbalance')} · ${tc('resource', resource)}, ${unitLabel(unit)}`}>
    <${Chart} option=${option} testid="chart-imbalance" label=${t('building.chartImbalance')} />
    <div class="table-wrap" tabindex="0" role="region" aria-label=${t('building.chartImbalance')}>
      <table class="data compact" data-testid="imbalance-table">
        <thead><tr>
          <th scope="col" data-testid="imb-th-month">${t('building.month')}</th>
          <th scope="col" class="num" data-testid="imb-th-odpu">${t('building.odpu')}</th>
          <th scope="col" class="num" data-testid="imb-th-ipu">${t('building.sumIpu')}</th>
          <th scope="col" class="num">${t('building.other')}</th>
          <th scope="col" class="num">${t('building.imbalance')}</th>
          <th scope="col" class="num" data-testid="imb-th-pct">${t('building.imbalancePct')}</th>
          <th scope="col" class="num">${t('building.coverage')}</th>
          <th scope="col">${t('building.status')}</th>
        </tr></thead>
        <tbody>${hasData ? months.map((m) => html`<tr key=${m.period} data-testid=${`imb-row-${m.period}`}>
          <td>${fmtMonthLong(m.period)}</td>
          <td class="num">${cell(`imb-odpu-${m.period}`, m.building_consumption, q(m.building_consumption))}</td>
          <td class="num">${cell(`imb-ipu-${m.period}`, m.apartments_consumption, q(m.apartments_consumption))}</td>
          <td class="num">${cell(`imb-other-${m.period}`, m.other_consumption, q(m.other_consumption))}</td>
          <td class="num">${cell(`imb-abs-${m.period}`, m.imbalance, q(m.imbalance))}</td>
          <td class="num">${cell(`imb-pct-${m.period}`, m.imbalance_pct, m.status === 'not_applicable' ? t('status.not_applicable') : fmtPct(m.imbalance_pct))}</td>
          <td class="num">${cell(`imb-coverage-${m.period}`, m.coverage, m.coverage == null ? t('common.none') : fmtPct(m.coverage * 100))}</td>
          <td><${Badge} prefix="status" code=${m.status} testid=${`imb-status-${m.period}`} /></td>
        </tr>`) : html`<tr><td colspan="8" class="muted empty" data-testid="imbalance-empty">${t('common.noDataPeriod')}</td></tr>`}</tbody>
      </table>
    </div>
    ${RECOMPUTE_ROLES.has(me.role) ? html`<p class="actions-line">
      <button type="button" class="small" data-testid="recompute" disabled=${st.busy} onClick=${() => recompute()}>${t('building.recompute')}</button>
      <span class="muted" role="status">${st.busy ? t('common.loading') : st.error ? (st.error.status === 404 ? t('common.unavailable') : `${t('common.error')}: ${errorText(st.error)}`) : ''}</span>
    </p>` : null}
  <//>`;
}

function ChartsRow({ data }) {
  const { odpu, days, heat, resource, unit } = data;
  const daily = useMemo(() => (days?.length ? dailyOption(days, unit) : null), [days, unit]);
  const heatOpt = useMemo(() => (heat?.length ? heatOption(heat) : null), [heat]);
  const none = (testid, text) => html`<p class="muted" data-testid=${testid}>${text}</p>`;
  return html`<div class="grid2">
    <${Card} title=${`${t('building.chartDaily')}, ${unitLabel(unit)}`} testid="daily-card">
      ${!odpu ? none('daily-none', t('building.noOdpu')) : days === null ? none('daily-none', t('common.none'))
        : html`<${Chart} option=${daily} testid="chart-daily" height=${260} label=${t('building.chartDaily')} />`}
    <//>
    ${resource === 'heat' ? html`<${Card} title=${t('building.chartHeat')} testid="heat-card">
      ${heat === null ? none('heat-none', t('common.none')) : html`<${Chart} option=${heatOpt} testid="chart-heat" height=${260} label=${t('building.chartHeat')} />`}
    <//>` : null}
  </div>`;
}

/** Building meters first, then by premise number as people count flats (2 before 10). */
const byPlace = (a, b) => (a.placement === 'building' ? 0 : 1) - (b.placement === 'building' ? 0 : 1)
  || String(a.premise_number ?? '').localeCompare(String(b.premise_number ?? ''), undefined, { numeric: true })
  || a.serial_number.localeCompare(b.serial_number);

function MetersCard({ meters, tz, page, onPage }) {
  const sorted = useMemo(() => [...meters].sort(byPlace), [meters]);
  const p = pageOf(sorted, page, METERS_PER_PAGE);
  const flaggedCount = meters.filter((m) => m.flagged).length;
  return html`<${Card} testid="meters-card" title=${`${t('building.meters')} · ${meters.length}`}
      actions=${flaggedCount ? html`<span class="count flag" title=${t('meter.flagged')}>${t('overview.metersFlagged', { count: flaggedCount })}</span>` : null}>
    <${DataTable} testid="meters-table" className="data compact stack" rows=${p.rows} rowTestid=${(m) => `meter-row-${m.id}`} rowClass=${(m) => (m.flagged ? 'flagged' : null)}
      empty=${t('overview.noMeters')} caption=${t('building.meters')}
      columns=${[
        { key: 'serial', label: t('meter.serial'), render: (m) => html`<a href=${`#/meters/${m.id}`}>${m.serial_number}</a>` },
        { key: 'place', label: t('meter.premise'), render: (m) => (m.placement === 'apartment' && m.premise_number ? t('overview.flat', { number: m.premise_number }) : tc('placement', m.placement)) },
        { key: 'last', num: true, label: t('meter.lastReading'), render: (m) => (m.last_reading ? fmtQty(m.last_reading.value, m.last_reading.unit) : t('common.none')) },
        { key: 'time', label: t('meter.lastTime'), render: (m) => fmtDateTime(m.last_reading?.time, tz) },
        { key: 'verdict', label: t('meter.verdict'), render: (m) => html`<${Badge} prefix="verdict" code=${m.last_verdict?.status} />${m.last_verdict?.review ? html`<span class="muted"> · ${tc('decision', m.last_verdict.review.decision)}</span>` : null}` },
        { key: 'reasons', label: t('meter.reasons'), render: (m) => html`<span data-testid=${`meter-reasons-${m.id}`}>${reasonsText(m.last_verdict?.reasons)}</span>` },
        { key: 'flagged', num: true, label: t('meter.flagged'), render: (m) => (m.flagged ? html`<span class="count flag">${m.flagged}</span>` : '0') },
      ]} />
    <${Pager} total=${sorted.length} page=${p.page} size=${METERS_PER_PAGE} onPage=${onPage} testid="meters-pager" />
  <//>`;
}

/** A reason as the engineer reads it: its text, and how long an НС or a working-time shortfall lasted. */
function flaggedReason(r) {
  const secs = r.details?.seconds;
  return typeof secs === 'number' ? `${tc('reason', r.code)} (${t('flagged.minutes', { min: fmtNumber(secs / 60, 0) })})` : tc('reason', r.code);
}

/**
 * The readings awaiting an engineer: register readings and a heat meter's archive records flagged for
 * НС or a working-time shortfall, narrowed to one reason code (`reason`, from the codes on the list).
 */
function FlaggedCard({ flagged, tz, all, onAll, reason, onReason }) {
  if (flagged === null) return html`<${Card} title=${t('building.flagged')} testid="flagged-card"><p class="muted" data-testid="flagged-none">${t('common.none')}</p><//>`;
  const codes = [...new Set(flagged.flatMap((r) => r.reasons.map((x) => x.code)))].sort();
  const chosen = codes.includes(reason) ? reason : '';
  const matching = chosen ? flagged.filter((r) => r.reasons.some((x) => x.code === chosen)) : flagged;
  const shown = all ? matching : matching.slice(0, FIRST_FLAGGED);
  const filter = codes.length > 1 || chosen ? html`<label class="field inline"><span class="label">${t('flagged.reason')}</span>
      <select data-testid="flagged-reason" onChange=${(e) => onReason(e.currentTarget.value)}>
        <option value="" selected=${!chosen}>${t('common.all')}</option>
        ${codes.map((c) => html`<option value=${c} selected=${c === chosen}>${tc('reason', c)}</option>`)}
      </select></label>` : null;
  return html`<${Card} title=${`${t('building.flagged')} · ${matching.length}`} testid="flagged-card"
      actions=${html`${filter}${matching.length > FIRST_FLAGGED ? html`<button type="button" class="small" data-testid="flagged-toggle" aria-expanded=${all ? 'true' : 'false'} onClick=${onAll}>
        ${all ? t('overview.alertsFewer') : t('overview.flaggedAll', { count: matching.length })}</button>` : null}`}>
    <${DataTable} testid="flagged-table" className="data compact stack" rows=${shown} rowKey=${(r) => `${r.meter_id}-${r.quantity}-${r.time}-${r.version}`}
      rowTestid=${(r) => `flagged-${r.meter_id}-${r.time}`} empty=${t('overview.noFlagged')} caption=${t('building.flagged')}
      columns=${[
        { key: 'serial', label: t('meter.serial'), render: (r) => html`<a href=${`#/meters/${r.meter_id}`}>${r.serial_number}</a>` },
        { key: 'premise', label: t('meter.premise'), render: (r) => r.premise_number ?? tc('placement', r.placement) },
        { key: 'time', label: t('meter.time'), render: (r) => fmtDateTime(r.time, tz) },
        { key: 'value', num: true, label: t('meter.value'), render: (r) => (r.value == null ? t('common.none') : fmtNumber(r.value, 3)) },
        { key: 'verdict', label: t('meter.verdict'), render: (r) => html`<${Badge} prefix="verdict" code=${r.status} />` },
        { key: 'reasons', label: t('meter.reasons'), render: (r) => (r.reasons.length ? r.reasons.map(flaggedReason).join(', ') : t('common.none')) },
      ]} />
  <//>`;
}

function GatewaysCard({ gateways, tz }) {
  return html`<${Card} title=${t('building.gateways')} testid="gateways-card">
    <${DataTable} testid="gateways-table" className="data compact stack" rows=${gateways} rowTestid=${(g) => `gateway-row-${g.id}`} empty=${t('overview.noGateways')}
      caption=${t('building.gateways')}
      columns=${[
        { key: 'id', label: t('gateway.id'), render: (g) => (g.name ? `${g.id} (${g.name})` : g.id) },
        { key: 'online', label: t('gateway.online'), render: (g) => html`<span class=${`badge ${g.online ? 'status-ok' : 'status-high_loss'}`}>${g.online ? t('gateway.online') : t('gateway.offline')}</span>` },
        { key: 'seen', label: t('gateway.lastSeen'), render: (g) => fmtDateTime(g.last_seen_at, tz) },
        { key: 'outbox', num: true, label: t('gateway.outbox'), render: (g) => (g.outbox_depth == null ? t('common.none') : String(g.outbox_depth)) },
      ]} />
  <//>`;
}

export function BuildingScreen({ params, me }) {
  const id = Number(params.id);
  const [query, setQuery] = useQuery();
  const to = isMonth(query.to) ? query.to : previousMonth();
  const fromQ = isMonth(query.from) ? query.from : shiftMonth(to, -5);
  const from = fromQ <= to ? fromQ : to;
  const [exportError, setExportError] = useState(null);
  const state = useLoad(() => loadBuilding(id, from, to, query.resource), [id, from, to, query.resource]);

  return html`<${Loaded} state=${state}>${(data) => {
    const { ov, resource, choices, range } = data;
    const tz = ov.building.timezone;
    const latest = localMonth(new Date(), tz);
    const actions = html`
      ${ENTRY_ROLES.has(me.role) ? html`<a class="button" href=${`#/buildings/${id}/entry`} data-testid="open-entry">${t('entry.open')}</a>` : null}
      <button type="button" class="small" data-testid="export-readings"
        onClick=${() => download(`/readings/export?${qs({ building_id: id, resource, from: range.from, to: range.to, format: 'xlsx' })}`).then(() => setExportError(null), setExportError)}>${t('entry.export')}</button>`;
    return html`<${Page} title=${ov.building.address} sub=${ov.building.city} titleTestid="building-title" testid="building-screen" actions=${actions}>
      <p><a href="#/">${t('common.back')}</a></p>
      <${ErrorNote} error=${exportError} testid="export-error" />
      <div class="filters">
        <label class="field"><span class="label">${t('common.resource')}</span>
          <select data-testid="resource" onChange=${(e) => setQuery({ resource: e.currentTarget.value, mpage: '' })}>
            ${choices.map((r) => html`<option value=${r} selected=${r === resource}>${tc('resource', r)}</option>`)}
          </select>
        </label>
        <${MonthPicker} label=${t('common.from')} value=${from} max=${latest} testid="from" onChange=${(v) => setQuery({ from: v })} />
        <${MonthPicker} label=${t('common.to')} value=${to} max=${latest} testid="to" onChange=${(v) => setQuery({ to: v })} />
      </div>
      <p class="muted" data-testid="building-range">${from === to ? fmtMonthLong(from) : t('overview.monthRange', { from: fmtMonthLong(from), to: fmtMonthLong(to) })}</p>
      <${AlertsCard} alerts=${ov.alerts} tz=${tz} me=${me} all=${query.alerts === 'all'} onAll=${() => setQuery({ alerts: query.alerts === 'all' ? '' : 'all' })} />
      <${ImbalanceCard} id=${id} data=${data} from=${from} to=${to} me=${me} reload=${state.reload} />
      <${ChartsRow} data=${data} />
      <${MetersCard} meters=${ov.meters.filter((m) => m.resource === resource)} tz=${tz} page=${Number(query.mpage) || 0} onPage=${(n) => setQuery({ mpage: n ? String(n) : '' })} />
      <${FlaggedCard} flagged=${data.flagged} tz=${tz} all=${query.flagged === 'all'} onAll=${() => setQuery({ flagged: query.flagged === 'all' ? '' : 'all' })}
        reason=${query.freason ?? ''} onReason=${(c) => setQuery({ freason: c })} />
      <${GatewaysCard} gateways=${ov.gateways} tz=${tz} />
    <//>`;
  }}<//>`;
}
