// Messages per channel and category with opt-out and complaint rates per 10,000 sent,
// and the reasons messages were not sent, per day.
// GET /v1/reports/messages?from=YYYY-MM-DD&to=YYYY-MM-DD&store=.

import { get, query } from '../api.js';
import { h, fill, table, reportHeader, fetchInto } from '../ui.js';
import { t } from '../i18n.js';
import { int, label, reasonLabel } from '../format.js';
import { messageRows, notSentGrid, fixed1 } from '../reports.js';
import { currentStore, storePicker } from '../store.js';

const day = (d) => d.toISOString().slice(0, 10);

export async function render(root, _params, ctx) {
  const url = new URL(location.href);
  const to = h('input', { id: 'to', type: 'date', value: url.searchParams.get('to') || day(new Date()), 'data-test': 'to' });
  const from = h('input', { id: 'from', type: 'date', value: url.searchParams.get('from') || day(new Date(Date.now() - 29 * 86400e3)), 'data-test': 'from' });
  const form = h('form', { class: 'filters' }, h('label', { for: 'from' }, t('messages.from')), from, h('label', { for: 'to' }, t('messages.to')), to, h('button', { class: 'btn secondary', type: 'submit', 'data-test': 'range-apply' }, t('common.apply')));
  const box = h('div', { 'data-test': 'messages' });
  root.append(...reportHeader('messages'), storePicker(() => load()), form, box);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.replaceQuery({ from: from.value, to: to.value });
    load();
  });
  async function load() {
    const path = `/v1/reports/messages${query({ from: from.value, to: to.value, store: currentStore() })}`;
    const rep = await fetchInto(box, path);
    if (!rep) return;
    const m = messageRows(rep.rows);
    const ns = notSentGrid(rep.notSent);
    fill(box,
      h('p', { class: 'muted small' }, t('messages.rateNote')),
      table({
        name: 'messages',
        caption: t('messages.byChannel'),
        rows: m.rows.length ? [...m.rows, m.total] : [],
        columns: [
          { label: t('col.channel'), value: (r) => (r.total ? t('common.total') : label('channel', r.channel)), cell: (r) => (r.total ? h('strong', {}, t('common.total')) : label('channel', r.channel)) },
          { label: t('col.category'), value: (r) => label('category', r.category) },
          { label: t('col.sent'), value: (r) => r.sent, cell: (r) => int(r.sent), num: true },
          { label: t('col.delivered'), value: (r) => r.delivered, cell: (r) => int(r.delivered), num: true },
          { label: t('col.optOuts'), value: (r) => r.optOuts, cell: (r) => int(r.optOuts), num: true },
          { label: t('col.complaints'), value: (r) => r.complaints, cell: (r) => int(r.complaints), num: true },
          { label: t('col.optOutPer10k'), value: (r) => fixed1(r.optOutPer10k), cell: (r) => h('span', { 'data-test': r.total ? 'optout-total' : null }, fixed1(r.optOutPer10k)), num: true },
          { label: t('col.complaintPer10k'), value: (r) => fixed1(r.complaintPer10k), cell: (r) => h('span', { 'data-test': r.total ? 'complaint-total' : null }, fixed1(r.complaintPer10k)), num: true },
        ],
      }),
      table({
        name: 'not-sent',
        caption: t('messages.notSent'),
        rows: ns.rows,
        columns: [
          { label: t('col.day'), value: (r) => r.day },
          ...ns.reasons.map((reason) => ({ label: reasonLabel(reason), value: (r) => r.counts[reason], cell: (r) => (r.counts[reason] ? int(r.counts[reason]) : ''), num: true })),
          { label: t('col.total'), value: (r) => r.total, cell: (r) => h('strong', {}, int(r.total)), num: true },
        ],
      }),
    );
  }
  load();
}
