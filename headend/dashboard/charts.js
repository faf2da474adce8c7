/**
 * ECharts options for the three building charts (mounting: web-shared/charts.js).
 */
import { t } from './i18n.js';
import { fmtMonth, fmtNumber, fmtPct, round } from './format.js';

export { mountChart, disposeCharts } from '../web-shared/charts.js';

const grid = { left: 56, right: 64, top: 48, bottom: 40, containLabel: true };

/** ОДПУ vs Σ ИПУ per month: two bar series and the imbalance % as a line on its own axis. */
export function imbalanceOption(rows) {
  return {
    animation: false,
    tooltip: { trigger: 'axis' },
    legend: { top: 0, type: 'scroll' },
    grid,
    xAxis: { type: 'category', data: rows.map((r) => fmtMonth(r.period)) },
    yAxis: [
      { type: 'value', name: t('building.consumption'), axisLabel: { formatter: (v) => fmtNumber(v, 0) } },
      { type: 'value', name: t('building.imbalancePct'), axisLabel: { formatter: '{value} %' }, splitLine: { show: false } },
    ],
    series: [
      { id: 'odpu', name: t('building.odpu'), type: 'bar', data: rows.map((r) => round(r.building_consumption)), itemStyle: { color: '#2f6fb3' } },
      { id: 'ipu', name: t('building.sumIpu'), type: 'bar', data: rows.map((r) => round(r.apartments_consumption)), itemStyle: { color: '#8cb8e3' } },
      {
        id: 'pct', name: t('building.imbalancePct'), type: 'line', yAxisIndex: 1, data: rows.map((r) => round(r.imbalance_pct, 2)),
        itemStyle: { color: '#c0392b' }, connectNulls: false, label: { show: true, position: 'top', formatter: (p) => (p.value == null ? '' : fmtPct(p.value)) },
      },
    ],
  };
}

export function dailyOption(days, unit) {
  return {
    animation: false,
    tooltip: { trigger: 'axis' },
    grid,
    xAxis: { type: 'category', data: days.map((d) => d.day) },
    yAxis: { type: 'value', name: unit, axisLabel: { formatter: (v) => fmtNumber(v, 1) } },
    dataZoom: days.length > 45 ? [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 4 }] : [],
    series: [{ id: 'daily', name: t('building.consumption'), type: 'bar', data: days.map((d) => round(d.value)), itemStyle: { color: '#2f6fb3' } }],
  };
}

export function heatOption(rows) {
  const at = rows.map((r) => r.time);
  const line = (id, name, key, axis, color) => ({ id, name, type: 'line', yAxisIndex: axis, showSymbol: false, data: rows.map((r) => [r.time, round(r[key], 2)]), itemStyle: { color } });
  return {
    animation: false,
    tooltip: { trigger: 'axis' },
    legend: { top: 0, type: 'scroll' },
    grid: { ...grid, right: 110 },
    xAxis: { type: 'time', min: at[0], max: at[at.length - 1] },
    yAxis: [
      { type: 'value', name: '°C' },
      { type: 'value', name: 'm³/h', splitLine: { show: false } },
      { type: 'value', name: 'kW', offset: 56, splitLine: { show: false } },
    ],
    series: [
      line('flow', t('heat.flow'), 'flow', 0, '#c0392b'),
      line('return', t('heat.return'), 'ret', 0, '#2f6fb3'),
      line('deltaT', t('heat.deltaT'), 'deltaT', 0, '#8e44ad'),
      line('volumeFlow', t('heat.volumeFlow'), 'volumeFlow', 1, '#16a085'),
      line('power', t('heat.power'), 'powerKw', 2, '#e67e22'),
    ],
  };
}
