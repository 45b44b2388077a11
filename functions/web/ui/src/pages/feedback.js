// CSAT and NPS per month. GET /v1/reports/feedback?store=.

import { query } from '../api.js';
import { h, fill, table, reportHeader, fetchInto } from '../ui.js';
import { t } from '../i18n.js';
import { int } from '../format.js';
import { fixed1 } from '../reports.js';
import { lineChart } from '../charts.js';
import { currentStore, storePicker } from '../store.js';

const val = (v) => (typeof v === 'number' && Number.isFinite(v) ? Math.round(v * 10) / 10 : null);

export async function render(root) {
  const box = h('div', { 'data-test': 'feedback' });
  root.append(...reportHeader('feedback'), storePicker(() => load()), box);
  async function load() {
    const path = `/v1/reports/feedback${query({ store: currentStore() })}`;
    const rep = await fetchInto(box, path);
    if (!rep) return;
    const months = (rep.months || []).slice().sort((a, b) => String(a.month).localeCompare(String(b.month)));
    fill(box,
      months.length
        ? lineChart('feedback', t('feedback.chart'), months.map((m) => m.month), [
            { name: t('col.csat'), values: months.map((m) => val(m.csat)) },
            { name: t('col.nps'), values: months.map((m) => val(m.nps)) },
          ])
        : null,
      table({
        name: 'feedback',
        caption: t('feedback.title'),
        rows: months.slice().reverse(),
        columns: [
          { label: t('col.month'), value: (r) => r.month },
          { label: t('col.responses'), value: (r) => r.responses, cell: (r) => int(r.responses), num: true },
          { label: t('col.csat'), value: (r) => fixed1(r.csat), num: true },
          { label: t('col.nps'), value: (r) => fixed1(r.nps), num: true },
        ],
      }),
    );
  }
  load();
}
