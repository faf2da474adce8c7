/**
 * ECharts options for the overview's charts (mounting: web-shared/charts.js). Every axis is named by
 * its unit in the user's language (ui/units.js), the same unit the legend and the tooltip use, and
 * months and days are labelled with Intl in that language.
 */
import { locale, t } from './i18n.js';
import { fmtDay, fmtMonthLong, fmtNumber, fmtPct, round } from './format.js';
import { fmtQty, unitLabel } from './ui/units.js';

export { mountChart, disposeCharts } from '../web-shared/charts.js';

const grid = { left: 56, right: 64, top: 48, bottom: 40, containLabel: true };

/** ОДПУ vs Σ ИПУ per month (in `unit`): two bar series and the imbalance % as a line on its own axis. */
export function imbalanceOption(rows, unit) {
  return {
    animation: false,
    tooltip: { trigger: 'axis', valueFormatter: (v) => fmtQty(v, unit, 1) },
    legend: { top: 0, type: 'scroll' },
    grid,
    xAxis: { type: 'category', data: rows.map((r) => fmtMonthLong(r.period)) },
    yAxis: [
      { type: 'value', name: unitLabel(unit), axisLabel: { formatter: (v) => fmtNumber(v, 0) } },
      { type: 'value', name: unitLabel('pct'), axisLabel: { formatter: (v) => fmtNumber(v, 1) }, splitLine: { show: false } },
    ],
    series: [
      { id: 'odpu', name: t('building.odpu'), type: 'bar', data: rows.map((r) => round(r.building_consumption)), itemStyle: { color: '#2f6fb3' } },
      { id: 'ipu', name: t('building.sumIpu'), type: 'bar', data: rows.map((r) => round(r.apartments_consumption)), itemStyle: { color: '#8cb8e3' } },
      {
        id: 'pct', name: t('building.imbalancePct'), type: 'line', yAxisIndex: 1, data: rows.map((r) => round(r.imbalance_pct, 2)),
        tooltip: { valueFormatter: (v) => fmtPct(v) },
        itemStyle: { color: '#c0392b' }, connectNulls: false, label: { show: true, position: 'top', formatter: (p) => (p.value == null ? '' : fmtPct(p.value)) },
      },
    ],
  };
}

/** Consumption bars per day ("YYYY-MM-DD" keys) or per month ("YYYY-MM" keys), in `unit`. */
export function consumptionOption(keys, values, unit, by = 'day') {
  return {
    animation: false,
    tooltip: { trigger: 'axis', valueFormatter: (v) => fmtQty(v, unit, 3) },
    grid,
    xAxis: { type: 'category', data: keys.map((k) => (by === 'month' ? fmtMonthLong(k) : fmtDay(k))), axisLabel: { hideOverlap: true } },
    yAxis: { type: 'value', name: unitLabel(unit), axisLabel: { formatter: (v) => fmtNumber(v, 1) } },
    dataZoom: keys.length > 45 ? [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 4 }] : [],
    series: [{ id: 'daily', name: `${t('overview.consumption')}, ${unitLabel(unit)}`, type: 'bar', data: values, itemStyle: { color: '#2f6fb3' } }],
  };
}

export function dailyOption(days, unit) {
  return consumptionOption(days.map((d) => d.day), days.map((d) => round(d.value)), unit, 'day');
}

export function heatOption(rows) {
  const at = rows.map((r) => r.time);
  const line = (id, name, key, axis, color) => ({ id, name, type: 'line', yAxisIndex: axis, showSymbol: false, data: rows.map((r) => [r.time, round(r[key], 2)]), itemStyle: { color } });
  return {
    animation: false,
    tooltip: { trigger: 'axis' },
    legend: { top: 0, type: 'scroll' },
    grid: { ...grid, right: 110 },
    xAxis: { type: 'time', min: at[0], max: at[at.length - 1], axisLabel: { hideOverlap: true } },
    yAxis: [
      { type: 'value', name: unitLabel('degC') },
      { type: 'value', name: unitLabel('m3h'), splitLine: { show: false } },
      { type: 'value', name: unitLabel('kW'), offset: 56, splitLine: { show: false } },
    ],
    // Legends name the same units as the axes: «Мощность, кВт» beside an axis «кВт».
    series: [
      line('flow', `${t('overview.heatFlow')}, ${unitLabel('degC')}`, 'flow', 0, '#c0392b'),
      line('return', `${t('overview.heatReturn')}, ${unitLabel('degC')}`, 'ret', 0, '#2f6fb3'),
      line('deltaT', `${t('overview.heatDeltaT')}, ${unitLabel('degC')}`, 'deltaT', 0, '#8e44ad'),
      line('volumeFlow', `${t('overview.heatVolumeFlow')}, ${unitLabel('m3h')}`, 'volumeFlow', 1, '#16a085'),
      line('power', `${t('overview.heatPower')}, ${unitLabel('kW')}`, 'powerKw', 2, '#e67e22'),
    ],
  };
}

/**
 * A heat meter's archive records (GET /meters/:id/archive): per record t1, t2 and ΔT in °C (`which`
 * 'temps'), or the mean mass flow in t/h and power in kW over each record (`which` 'flow'). A record
 * under НС is marked on the first series (a red dot), so the chart points at the НС list. Times are
 * labelled in `timeZone` (the building's), with the hour for hourly records.
 */
export function archiveOption(rows, which, timeZone, kind = 'daily') {
  const at = rows.map((r) => r.time);
  // Days (and hours) of the building's zone in the user's language, not ECharts' own English labels.
  const when = new Intl.DateTimeFormat(locale(), kind === 'hourly'
    ? { day: '2-digit', month: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone }
    : { day: '2-digit', month: '2-digit', timeZone });
  const ns = (r) => r.reasons?.length > 0;
  const line = (id, name, key, axis, color, marks = false) => ({
    id, name, type: 'line', yAxisIndex: axis, showSymbol: marks, symbolSize: 7, connectNulls: false,
    data: rows.map((r) => ({ value: [r.time, r[key]], ...(marks && ns(r) ? { itemStyle: { color: '#c0392b' } } : { symbolSize: 0 }) })),
    itemStyle: { color },
  });
  const unitTooltip = (unit) => ({ valueFormatter: (v) => fmtQty(v, unit, 3) });
  const base = {
    animation: false,
    tooltip: { trigger: 'axis' },
    legend: { top: 0, type: 'scroll' },
    xAxis: { type: 'time', min: at[0], max: at[at.length - 1], axisLabel: { hideOverlap: true, formatter: (v) => when.format(new Date(v)) },
      axisPointer: { label: { formatter: (p) => when.format(new Date(p.value)) } } },
    dataZoom: rows.length > 60 ? [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 4 }] : [],
  };
  if (which === 'temps') {
    return {
      ...base, grid,
      yAxis: [{ type: 'value', name: unitLabel('degC') }],
      series: [
        { ...line('t1', `t1, ${unitLabel('degC')}`, 't1', 0, '#c0392b', true), tooltip: unitTooltip('degC') },
        { ...line('t2', `t2, ${unitLabel('degC')}`, 't2', 0, '#2f6fb3'), tooltip: unitTooltip('degC') },
        { ...line('dt', `ΔT, ${unitLabel('degC')}`, 'dt', 0, '#8e44ad'), tooltip: unitTooltip('degC') },
      ],
    };
  }
  return {
    ...base, grid: { ...grid, right: 80 },
    yAxis: [
      { type: 'value', name: unitLabel('th') },
      { type: 'value', name: unitLabel('kW'), splitLine: { show: false } },
    ],
    series: [
      { ...line('flow', `${t('overview.heatVolumeFlow')} M1, ${unitLabel('th')}`, 'flow_tph', 0, '#16a085', true), tooltip: unitTooltip('th') },
      { ...line('power', `${t('overview.heatPower')}, ${unitLabel('kW')}`, 'power_kw', 1, '#e67e22'), tooltip: unitTooltip('kW') },
    ],
  };
}
