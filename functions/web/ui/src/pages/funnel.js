// The lifecycle funnel: lead → new → active → dormant → sleeping → churned.
// GET /v1/reports/funnel?store=.

import { query } from '../api.js';
import { h, fill, table, reportHeader, fetchInto } from '../ui.js';
import { t } from '../i18n.js';
import { int, pct } from '../format.js';
import { funnel } from '../reports.js';
import { funnelChart } from '../charts.js';
import { currentStore, storePicker } from '../store.js';

export async function render(root) {
  const box = h('div', { 'data-test': 'funnel' });
  root.append(...reportHeader('funnel'), storePicker(() => load()), box);
  async function load() {
    const path = `/v1/reports/funnel${query({ store: currentStore() })}`;
    const rep = await fetchInto(box, path);
    if (!rep) return;
    const rows = funnel(rep.stages);
    fill(box,
      funnelChart('funnel', t('funnel.chart'), rows.map((r) => t(`stage.${r.stage}`)), rows.map((r) => r.customers)),
      table({
        name: 'funnel',
        caption: t('funnel.title'),
        rows,
        columns: [
          { label: t('col.stage'), value: (r) => t(`stage.${r.stage}`) },
          { label: t('col.customers'), value: (r) => r.customers, cell: (r) => h('span', { 'data-test': `funnel-${r.stage}` }, int(r.customers)), num: true },
          { label: t('col.share'), value: (r) => pct(r.share), num: true },
        ],
      }),
    );
  }
  load();
}
