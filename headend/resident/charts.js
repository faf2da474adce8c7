/**
 * The consumption chart of one meter by month (mounting: web-shared/charts.js).
 */
import { t } from './i18n.js';
import { fmtMonth, fmtNumber } from './format.js';

export { mountChart, disposeCharts } from '../web-shared/charts.js';

/** Bars of monthly consumption (the first month has none: nothing before it to subtract). */
export function consumptionOption(months, unit) {
  return {
    animation: false,
    tooltip: { trigger: 'axis', valueFormatter: (v) => (v == null ? t('common.none') : `${fmtNumber(v)} ${unit}`) },
    grid: { left: 8, right: 12, top: 28, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: months.map((m) => fmtMonth(m.month)), axisLabel: { hideOverlap: true } },
    yAxis: { type: 'value', name: unit, axisLabel: { formatter: (v) => fmtNumber(v, 1) } },
    series: [{ id: 'consumption', name: t('history.consumption'), type: 'bar', data: months.map((m) => m.consumption), itemStyle: { color: '#2f6fb3' } }],
  };
}
