// Customer search by phone or e-mail (GET /v1/customers?q=, normalised by the API like the
// lead form, so "138 0013 8000" finds +86 13800138000), and the store's list by tier and
// stage (GET /v1/customers?store=&tier=&stage=). Contacts appear as the role may see them.

import { get, query } from '../api.js';
import { h, fill, loading, problem, table, link, tierBadge } from '../ui.js';
import { t } from '../i18n.js';
import { currentStore, storePicker } from '../store.js';
import { STAGES } from './overview.js';

export async function render(root, _params, ctx) {
  const url = new URL(location.href);
  const input = h('input', { id: 'q', type: 'search', name: 'q', value: url.searchParams.get('q') || '', placeholder: t('customers.searchPlaceholder'), inputmode: 'search', autocomplete: 'off', required: true, 'data-test': 'search-input' });
  const results = h('div', { 'aria-live': 'polite', 'data-test': 'search-results' });
  const form = h(
    'form',
    { class: 'search', role: 'search' },
    h('label', { for: 'q' }, t('customers.searchLabel')),
    h('div', { class: 'row' }, input, h('button', { class: 'btn', type: 'submit', 'data-test': 'search-go' }, t('customers.search'))),
  );
  const browse = h('section', { class: 'browse' });
  root.append(h('h1', {}, t('customers.title')), form, results, browse);

  const search = async (q) => {
    fill(results, loading());
    try {
      const page = await get(`/v1/customers${query({ q })}`);
      const items = page.items || [];
      fill(results,
        items.length ? null : h('p', { class: 'muted', 'data-test': 'search-none' }, t('customers.noMatch')),
        items.length ? customerTable('search', items, t('customers.matches')) : null,
      );
      if (items.length === 1) results.querySelector('a[data-route]')?.focus();
    } catch (err) {
      fill(results, problem(err));
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = input.value.trim();
    if (!q) return;
    ctx.replaceQuery({ q });
    search(q);
  });
  if (input.value) search(input.value);

  // The store's list, filtered by tier and stage, a page at a time.
  const tier = h('select', { id: 'f-tier' }, h('option', { value: '' }, t('common.all')), ['A', 'B', 'C'].map((x) => h('option', { value: x }, x)));
  const stage = h('select', { id: 'f-stage' }, h('option', { value: '' }, t('common.all')), STAGES.map((s) => h('option', { value: s }, t(`stage.${s}`))));
  const listBox = h('div');
  let rows = [];
  let cursor = '';
  const more = h('button', { class: 'btn secondary', type: 'button' }, t('common.more'));
  const loadList = async (reset) => {
    if (reset) {
      rows = [];
      cursor = '';
    }
    const st = currentStore();
    fill(listBox, loading());
    try {
      const page = await get(`/v1/customers${query({ store: st, tier: tier.value, stage: stage.value, limit: 50, cursor })}`);
      rows = rows.concat(page.items || []);
      cursor = page.nextCursor || '';
      fill(listBox, customerTable('customers', rows, t('customers.list')), cursor ? more : null);
    } catch (err) {
      fill(listBox, problem(err));
    }
  };
  more.addEventListener('click', () => loadList(false));
  tier.addEventListener('change', () => loadList(true));
  stage.addEventListener('change', () => loadList(true));
  browse.append(
    h('h2', {}, t('customers.browse')),
    storePicker(() => loadList(true)),
    h('div', { class: 'filters' }, h('label', { for: 'f-tier' }, t('col.tier')), tier, h('label', { for: 'f-stage' }, t('col.stage')), stage),
    listBox,
  );
  loadList(true);
}

function customerTable(name, items, caption) {
  return table({
    name,
    caption,
    rows: items,
    columns: [
      { label: t('col.name'), value: (r) => r.name || '', cell: (r) => link(`/app/customers/${encodeURIComponent(r.id)}`, { 'data-test': 'customer-link' }, r.name || r.id) },
      { label: t('col.phone'), value: (r) => r.phone || '' },
      { label: t('col.email'), value: (r) => r.email || '' },
      { label: t('col.tier'), value: (r) => r.tier || '', cell: (r) => tierBadge(r.tier) },
      { label: t('col.stage'), value: (r) => (r.stage ? t(`stage.${r.stage}`) : '') },
      { label: t('col.store'), value: (r) => r.store || '' },
      { label: t('col.customerId'), value: (r) => r.id },
    ],
  });
}
