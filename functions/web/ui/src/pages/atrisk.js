// At-risk customers of a store: expected loss = CLV × (1 − P(alive)), largest first, with
// the model's explanation. GET /v1/reports/at-risk?store=&cursor=.

import { get, query } from '../api.js';
import { h, fill, loading, problem, table, link, tierBadge, badge } from '../ui.js';
import { t } from '../i18n.js';
import { pct, money, int } from '../format.js';
import { currentStore, storePicker } from '../store.js';

export async function render(root) {
  const box = h('div');
  root.append(h('h1', {}, t('atRisk.title')), h('p', { class: 'muted' }, t('atRisk.measure')), storePicker(() => load(true)), box);
  let rows = [];
  let cursor = '';
  let total = 0;
  const more = h('button', { class: 'btn secondary', type: 'button' }, t('common.more'));
  more.addEventListener('click', () => load(false));

  async function load(reset) {
    if (reset) {
      rows = [];
      cursor = '';
    }
    const store = currentStore();
    if (!store) {
      fill(box, h('p', { class: 'note' }, t('store.choose')));
      return;
    }
    fill(box, loading());
    try {
      const page = await get(`/v1/reports/at-risk${query({ store, cursor, limit: 50 })}`);
      rows = rows.concat(page.items || []);
      cursor = page.nextCursor || '';
      total = page.total || rows.length;
    } catch (err) {
      fill(box, problem(err));
      return;
    }
    fill(box,
      h('p', { 'data-test': 'at-risk-total' }, t('atRisk.total', { n: int(total), shown: int(rows.length) })),
      table({
        name: 'at-risk',
        rows,
        columns: [
          { label: t('col.customerId'), value: (r) => r.id, cell: (r) => link(`/app/customers/${encodeURIComponent(r.id)}`, {}, r.id) },
          { label: t('col.tier'), value: (r) => r.tier, cell: (r) => tierBadge(r.tier) },
          { label: t('col.stage'), value: (r) => (r.stage ? t(`stage.${r.stage}`) : '') },
          { label: t('col.pAlive'), value: (r) => pct(r.pAlive), num: true },
          { label: t('col.risk'), value: (r) => (r.risk ? t(`risk.${r.risk}`) : ''), cell: (r) => (r.risk ? badge(t(`risk.${r.risk}`), `risk-${r.risk}`) : '') },
          { label: t('col.expected90'), value: (r) => (typeof r.expectedPurchases90d === 'number' ? r.expectedPurchases90d.toFixed(1) : ''), num: true },
          { label: t('col.clv'), value: (r) => r.clv12m, cell: (r) => money(r.clv12m), num: true },
          { label: t('col.expectedLoss'), value: (r) => r.expectedLoss, cell: (r) => h('strong', {}, money(r.expectedLoss)), num: true },
          { label: t('col.explanation'), value: (r) => r.explanation || '', cell: (r) => h('span', { class: 'small' }, r.explanation || ''), wide: true },
        ],
      }),
      cursor ? more : null,
    );
  }
  load(true);
}
