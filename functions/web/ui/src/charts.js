// Charts, drawn by Apache ECharts on a canvas (tree-shaken: only what is used is bundled).
// Tooltips render on the canvas too (renderMode 'richText'), so nothing needs inline
// style markup and the page keeps its strict Content-Security-Policy.

import * as echarts from 'echarts/core';
import { BarChart, PieChart, LineChart } from 'echarts/charts';
import { GridComponent, TooltipComponent, LegendComponent, MarkLineComponent, MarkPointComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { h } from './ui.js';
import { t } from './i18n.js';
import { pct } from './format.js';
import { shareAt } from './pareto.js';

echarts.use([BarChart, PieChart, LineChart, GridComponent, TooltipComponent, LegendComponent, MarkLineComponent, MarkPointComponent, CanvasRenderer]);

const live = new Set();
let resizeHooked = false;

const palette = ['#0b6e4f', '#d08c00', '#7a8794', '#2f6fb0', '#b04a3c', '#6a4c93'];
const tip = { renderMode: 'richText', confine: true };

function mount(el, option) {
  const chart = echarts.init(el, null, { renderer: 'canvas' });
  chart.setOption({ color: palette, animation: false, textStyle: { fontFamily: 'system-ui, sans-serif' }, ...option });
  live.add(chart);
  if (!resizeHooked) {
    resizeHooked = true;
    window.addEventListener('resize', () => live.forEach((c) => c.resize()));
  }
  return chart;
}

// disposeCharts frees the charts of the page being left.
export function disposeCharts() {
  live.forEach((c) => c.dispose());
  live.clear();
}

function box(name, title) {
  const el = h('div', { class: 'chart', 'data-test': `chart-${name}`, role: 'img', 'aria-label': title });
  return { el, wrap: h('figure', { class: 'card chart-card' }, h('figcaption', {}, title), el) };
}

// barChart: categories and their values, e.g. customers per tier.
export function barChart(name, title, labels, values) {
  const { el, wrap } = box(name, title);
  queueMicrotask(() =>
    mount(el, {
      tooltip: { ...tip, trigger: 'axis' },
      grid: { left: 48, right: 16, top: 16, bottom: 32 },
      xAxis: { type: 'category', data: labels, axisTick: { alignWithLabel: true } },
      yAxis: { type: 'value', minInterval: 1 },
      series: [{ type: 'bar', data: values, barMaxWidth: 48, label: { show: true, position: 'top' } }],
    }),
  );
  return wrap;
}

// shareChart: a doughnut of shares (0–1), e.g. revenue share per tier.
export function shareChart(name, title, labels, shares) {
  const { el, wrap } = box(name, title);
  queueMicrotask(() =>
    mount(el, {
      tooltip: { ...tip, trigger: 'item', valueFormatter: (v) => `${v.toFixed(1)} %` },
      legend: { bottom: 0 },
      series: [
        {
          type: 'pie',
          radius: ['40%', '70%'],
          center: ['50%', '45%'],
          data: labels.map((l, i) => ({ name: l, value: Math.round(shares[i] * 1000) / 10 })),
          label: { formatter: '{b}\n{c} %' },
        },
      ],
    }),
  );
  return wrap;
}

// paretoChart draws the Pareto curve from paretoPoints(…) ([[customer %, revenue %]…]),
// with the top-20 % point marked; without points it says the data is not available yet.
export function paretoChart(points, top20, maxError) {
  const title = t('overview.pareto');
  if (!points) {
    return h('figure', { class: 'card chart-card', 'data-test': 'chart-pareto' }, h('figcaption', {}, title), h('p', { class: 'muted unavailable', 'data-test': 'pareto-unavailable' }, t('overview.paretoUnavailable')));
  }
  const { el, wrap } = box('pareto', title);
  // The share the curve itself gives the top 20 %, written like the headline figure.
  const at20 = shareAt(points, 0.2);
  // A curve merged from several stores' curves is a lower bound (the report says by how
  // much at most): the label says "at least" and the bound, so it is not read as a second,
  // different top-20 % figure.
  const bound = typeof maxError === 'number' && maxError > 0;
  el.before(h('p', { class: 'pareto-label' }, t('overview.paretoTop20'), ' ', bound ? '≥ ' : '', h('strong', { 'data-test': 'pareto-top20' }, pct(at20))));
  if (bound) el.before(h('p', { class: 'muted small', 'data-test': 'pareto-bound' }, t('overview.paretoBound', { err: pct(maxError) })));
  queueMicrotask(() =>
    mount(el, {
      tooltip: { ...tip, trigger: 'axis', valueFormatter: (v) => `${v} %` },
      grid: { left: 48, right: 16, top: 16, bottom: 40 },
      xAxis: { type: 'value', min: 0, max: 100, name: t('overview.paretoX'), nameLocation: 'middle', nameGap: 26, axisLabel: { formatter: '{value} %' } },
      yAxis: { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value} %' } },
      series: [
        {
          type: 'line',
          data: points,
          showSymbol: false,
          areaStyle: { opacity: 0.15 },
          markLine: { symbol: 'none', label: { formatter: '20 %' }, data: [{ xAxis: 20 }] },
          markPoint: Number.isFinite(at20) ? { data: [{ coord: [20, Math.round(at20 * 1000) / 10], value: pct(at20) }] } : undefined,
        },
        { type: 'line', data: [[0, 0], [100, 100]], showSymbol: false, lineStyle: { type: 'dashed', width: 1 }, tooltip: { show: false }, silent: true },
      ],
    }),
  );
  return wrap;
}

// lineChart: one or more series over the same categories (e.g. months); values may be
// null where a series has no point.
export function lineChart(name, title, labels, series, { percent = false } = {}) {
  const { el, wrap } = box(name, title);
  queueMicrotask(() =>
    mount(el, {
      tooltip: { ...tip, trigger: 'axis', valueFormatter: (v) => (v === null || v === undefined ? '—' : percent ? `${v} %` : `${v}`) },
      legend: { bottom: 0 },
      grid: { left: 48, right: 16, top: 16, bottom: 48 },
      xAxis: { type: 'category', data: labels },
      yAxis: { type: 'value', axisLabel: percent ? { formatter: '{value} %' } : {} },
      series: series.map((s) => ({ type: 'line', name: s.name, data: s.values, connectNulls: false, symbolSize: 6 })),
    }),
  );
  return wrap;
}

// funnelChart: horizontal bars, first category at the top.
export function funnelChart(name, title, labels, values) {
  const { el, wrap } = box(name, title);
  queueMicrotask(() =>
    mount(el, {
      tooltip: { ...tip, trigger: 'axis' },
      grid: { left: 96, right: 48, top: 8, bottom: 24 },
      xAxis: { type: 'value', minInterval: 1 },
      yAxis: { type: 'category', data: labels, inverse: true },
      series: [{ type: 'bar', data: values, barMaxWidth: 32, label: { show: true, position: 'right' } }],
    }),
  );
  return wrap;
}
