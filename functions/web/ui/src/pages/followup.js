// The follow-up red/black list: per staff member and store, tasks done, on time, overdue
// and escalated in a month. GET /v1/reports/followup?month=YYYY-MM&store=.

import { get, query } from '../api.js';
import { h, fill, table, badge, reportHeader, fetchInto } from '../ui.js';
import { t } from '../i18n.js';
import { int, pct } from '../format.js';
import { followupBoard } from '../reports.js';
import { currentStore, storePicker } from '../store.js';

export async function render(root, _params, ctx) {
  const url = new URL(location.href);
  const now = new Date();
  const month = h('input', { id: 'month', type: 'month', value: url.searchParams.get('month') || `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}`, 'data-test': 'month' });
  const form = h('form', { class: 'filters' }, h('label', { for: 'month' }, t('followup.month')), month, h('button', { class: 'btn secondary', type: 'submit', 'data-test': 'month-apply' }, t('common.apply')));
  const box = h('div', { 'data-test': 'followup' });
  root.append(...reportHeader('followup'), storePicker(() => load()), form, h('p', { class: 'muted small' }, t('followup.rule')), box);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.replaceQuery({ month: month.value });
    load();
  });
  async function load() {
    const path = `/v1/reports/followup${query({ month: month.value, store: currentStore() })}`;
    const rep = await fetchInto(box, path);
    if (!rep) return;
    const rows = followupBoard(rep.rows);
    fill(box,
      table({
        name: 'followup',
        caption: t('report.followup'),
        rows,
        columns: [
          { label: t('col.mark'), value: (r) => (r.mark ? t(`followup.${r.mark}`) : ''), cell: (r) => (r.mark ? badge(t(`followup.${r.mark}`), `mark-${r.mark}`) : '') },
          { label: t('col.staff'), value: (r) => r.staff || '', cell: (r) => h('span', { 'data-test': 'staff' }, r.staff || '—') },
          { label: t('col.store'), value: (r) => r.store || '' },
          { label: t('col.done'), value: (r) => r.done, cell: (r) => int(r.done), num: true },
          { label: t('col.onTime'), value: (r) => r.onTime, cell: (r) => int(r.onTime), num: true },
          { label: t('col.overdue'), value: (r) => r.overdue, cell: (r) => int(r.overdue), num: true },
          { label: t('col.escalated'), value: (r) => r.escalated, cell: (r) => int(r.escalated), num: true },
          { label: t('col.onTimeRate'), value: (r) => pct(r.onTimeRate), num: true },
        ],
      }),
    );
  }
  load();
}
