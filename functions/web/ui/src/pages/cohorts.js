// Cohort retention by first-purchase month and tier: the share of each cohort still
// buying n months later. GET /v1/reports/cohorts?store=.

import { query } from '../api.js';
import { h, fill, table, tierBadge, reportHeader, fetchInto } from '../ui.js';
import { t } from '../i18n.js';
import { int, pct } from '../format.js';
import { cohortGrid } from '../reports.js';
import { lineChart } from '../charts.js';
import { currentStore, storePicker } from '../store.js';

export async function render(root) {
  const box = h('div', { 'data-test': 'cohorts' });
  root.append(...reportHeader('cohorts'), storePicker(() => load()), box);
  async function load() {
    const path = `/v1/reports/cohorts${query({ store: currentStore() })}`;
    const rep = await fetchInto(box, path);
    if (!rep) return;
    const g = cohortGrid(rep.cohorts);
    const marks = [1, 3, 6].filter((o) => o <= g.offsets.length);
    fill(box,
      g.rows.length && marks.length
        ? lineChart('cohorts', t('cohorts.chart'), g.rows.map((r) => `${r.month} ${r.tier}`), marks.map((o) => ({ name: t('cohorts.after', { n: o }), values: g.rows.map((r) => (Number.isFinite(r.cells[o - 1].share) ? Math.round(r.cells[o - 1].share * 1000) / 10 : null)) })), { percent: true })
        : null,
      table({
        name: 'cohorts',
        caption: t('cohorts.table'),
        rows: g.rows,
        columns: [
          { label: t('col.month'), value: (r) => r.month },
          { label: t('col.tier'), value: (r) => r.tier, cell: (r) => tierBadge(r.tier === 'none' ? '' : r.tier) },
          { label: t('col.customers'), value: (r) => r.customers, cell: (r) => int(r.customers), num: true },
          ...g.offsets.map((o) => ({
            label: t('cohorts.after', { n: o }),
            num: true,
            value: (r) => (Number.isFinite(r.cells[o - 1].share) ? pct(r.cells[o - 1].share) : ''),
            cell: (r) => {
              const c = r.cells[o - 1];
              return Number.isFinite(c.share) ? h('span', { class: `mcell heat-${Math.min(4, Math.ceil(c.share * 4))}`, title: `${int(c.customers)}` }, pct(c.share)) : '';
            },
          })),
        ],
      }),
    );
  }
  load();
}
