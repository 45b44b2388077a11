// Tier migration between a run and the assessment before it, as a from → to matrix with
// row and column sums. GET /v1/reports/migration?run=<id>&store=.

import { get, query } from '../api.js';
import { h, fill, table, tierBadge, reportHeader, kpiBox, fetchInto } from '../ui.js';
import { t } from '../i18n.js';
import { int } from '../format.js';
import { matrix, matrixRows } from '../reports.js';
import { currentStore, storePicker } from '../store.js';

export async function render(root, _params, ctx) {
  const url = new URL(location.href);
  const runInput = h('input', { id: 'run', value: url.searchParams.get('run') || '', placeholder: 'r-…', autocomplete: 'off', 'data-test': 'run-input' });
  const form = h('form', { class: 'filters' }, h('label', { for: 'run' }, t('migration.run')), runInput, h('button', { class: 'btn secondary', type: 'submit', 'data-test': 'run-apply' }, t('common.apply')));
  const box = h('div', { 'data-test': 'migration' });
  root.append(...reportHeader('migration'), storePicker(() => load()), form, box);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.replaceQuery({ run: runInput.value.trim() });
    load();
  });

  async function load() {
    const path = `/v1/reports/migration${query({ run: runInput.value.trim(), store: currentStore() })}`;
    const rep = await fetchInto(box, path);
    if (!rep) return;
    // The contract's "matrix"; the first version of the route called it "flows".
    const m = matrix(rep.matrix || rep.flows || []);
    fill(box,
      h('p', { class: 'muted', 'data-test': 'migration-runs' }, t('migration.between', { run: rep.runId || '—', previous: rep.previousRunId || '—' })),
      h('section', { class: 'kpis two' },
        kpiBox(t('migration.total'), int(typeof rep.customers === 'number' ? rep.customers : m.total), 'customers'),
        kpiBox(t('migration.moved'), int(m.moved), 'moved'),
      ),
      matrixTable(m, 'migration', t('migration.matrix')),
      table({
        name: 'migration-cells',
        caption: t('migration.cells'),
        rows: matrixRows(m).filter((r) => r.customers > 0),
        columns: [
          { label: t('col.from'), value: (r) => r.from, cell: (r) => tierBadge(r.from === 'none' ? '' : r.from) },
          { label: t('col.to'), value: (r) => r.to, cell: (r) => tierBadge(r.to === 'none' ? '' : r.to) },
          { label: t('col.customers'), value: (r) => r.customers, cell: (r) => int(r.customers), num: true },
        ],
      }),
    );
  }
  load();
}

// matrixTable draws a from → to matrix: one row per "from", one column per "to", the sums
// at the right and the bottom; a cell's shade says how large it is, the diagonal (no
// change) is set apart. Its CSV is the grid as shown. Used by the policy preview too.
export function matrixTable(m, name, caption) {
  const max = Math.max(1, ...m.keys.flatMap((f) => m.keys.map((to) => m.cells[f][to])));
  const label = (k) => (k === 'none' ? t('tier.none') : k);
  const rows = [...m.keys.map((f) => ({ from: f })), { from: '', total: true }];
  const cellValue = (r, to) => (r.total ? m.colSums[to] : m.cells[r.from][to]);
  return table({
    name,
    caption,
    rows,
    columns: [
      { label: t('migration.fromTo'), value: (r) => (r.total ? t('common.total') : label(r.from)), cell: (r) => (r.total ? h('strong', {}, t('common.total')) : tierBadge(r.from === 'none' ? '' : r.from)) },
      ...m.keys.map((to) => ({
        label: label(to),
        num: true,
        value: (r) => cellValue(r, to),
        cell: (r) => {
          const v = cellValue(r, to);
          const level = r.total ? '' : ` heat-${v === 0 ? 0 : Math.min(4, 1 + Math.floor((v / max) * 4 - 1e-9))}${r.from === to ? ' diag' : ''}`;
          return h('span', { class: `mcell${level}`, 'data-test': r.total ? `col-sum-${to}` : `cell-${r.from}-${to}` }, int(v));
        },
      })),
      { label: t('common.total'), num: true, value: (r) => (r.total ? m.total : m.rowSums[r.from]), cell: (r) => h('strong', { 'data-test': r.total ? 'matrix-sum' : `row-sum-${r.from}` }, int(r.total ? m.total : m.rowSums[r.from])) },
    ],
  });
}
