// Leads, customers and revenue by UTM source and campaign. GET /v1/reports/sources?store=.

import { get, query } from '../api.js';
import { h, fill, table, reportHeader, fetchInto } from '../ui.js';
import { t } from '../i18n.js';
import { int, pct, money, label } from '../format.js';
import { sourcesTable, decimal } from '../reports.js';
import { barChart } from '../charts.js';
import { currentStore, storePicker } from '../store.js';

export async function render(root) {
  const box = h('div', { 'data-test': 'sources' });
  root.append(...reportHeader('sources'), storePicker(() => load()), box);
  async function load() {
    const path = `/v1/reports/sources${query({ store: currentStore() })}`;
    const rep = await fetchInto(box, path);
    if (!rep) return;
    const s = sourcesTable(rep.rows);
    const bySource = new Map();
    for (const r of s.rows) bySource.set(label('source', r.source) || '—', (bySource.get(label('source', r.source) || '—') || 0) + decimal(r.revenue));
    fill(box,
      s.rows.length ? barChart('sources', t('sources.chart'), [...bySource.keys()], [...bySource.values()].map((v) => Math.round(v))) : null,
      table({
        name: 'sources',
        caption: t('sources.title'),
        rows: s.rows.length ? [...s.rows, s.total] : [],
        columns: [
          { label: t('col.source'), value: (r) => (r.total ? t('common.total') : label('source', r.source)), cell: (r) => (r.total ? h('strong', {}, t('common.total')) : label('source', r.source) || '—') },
          { label: t('col.campaign'), value: (r) => r.campaign },
          { label: t('col.leads'), value: (r) => r.leads, cell: (r) => int(r.leads), num: true },
          { label: t('col.customers'), value: (r) => r.customers, cell: (r) => int(r.customers), num: true },
          { label: t('col.conversion'), value: (r) => pct(r.conversion), num: true },
          { label: t('col.revenue'), value: (r) => r.revenue, cell: (r) => h('span', { 'data-test': r.total ? 'sources-revenue-total' : null }, money(r.revenue)), num: true },
        ],
      }),
    );
  }
  load();
}
