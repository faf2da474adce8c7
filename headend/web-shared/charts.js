/**
 * Mounting ECharts instances and disposing of them when the view changes. `echarts` is the global from
 * vendor/echarts.min.js (the echarts package's own bundle, served by the head-end).
 */
/* global echarts */

const mounted = new Set();

/** Creates (or reuses) the chart on `el` and sets the option. */
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

if (typeof window !== 'undefined') window.addEventListener('resize', () => { for (const c of mounted) if (!c.isDisposed()) c.resize(); });
