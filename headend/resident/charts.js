/**
 * The consumption chart of one meter by month. `echarts` is the global from vendor/echarts.min.js (the
 * echarts package's own bundle, served by the head-end). Instances are disposed when the view changes.
 */
/* global echarts */
import { t } from './i18n.js';
import { fmtMonth, fmtNumber } from './format.js';

const mounted = new Set();

export function mountChart(el, option) {
  const chart = echarts.getInstanceByDom(el) ?? echarts.init(el, null, { renderer: 'canvas' });
  chart.setOption(option, true);
  mounted.add(chart);
  return chart;
}

export function disposeCharts() {
  for (const c of mounted) if (!c.isDisposed()) c.dispose();
  mounted.clear();
}

window.addEventListener('resize', () => { for (const c of mounted) if (!c.isDisposed()) c.resize(); });

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
