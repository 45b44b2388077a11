// Which store a per-store page shows: the caller's only store, their choice among
// theirs, or (for someone who covers all stores) the one they typed. The API decides
// what the caller may see; this only remembers the choice.

import { who } from './auth.js';
import { h } from './ui.js';
import { t } from './i18n.js';

const KEY = 'tierflow.store';
const KNOWN = 'tierflow.knownStores';

export function currentStore() {
  const w = who();
  const chosen = localStorage.getItem(KEY) || '';
  if (w.allStores) return chosen;
  if (w.stores.includes(chosen)) return chosen;
  return w.stores[0] || '';
}

export function setStore(s) {
  localStorage.setItem(KEY, s);
}

// rememberStores keeps store ids the API has named (e.g. a run's per-store models) as
// suggestions for a caller who covers every store.
export function rememberStores(ids) {
  const set = new Set([...knownStores(), ...ids.filter((s) => typeof s === 'string' && s && s !== '*')]);
  sessionStorage.setItem(KNOWN, JSON.stringify([...set].sort()));
}

export function knownStores() {
  try {
    const v = JSON.parse(sessionStorage.getItem(KNOWN) || '[]');
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

// storePicker shows the store a page is about and lets the caller change it.
export function storePicker(onChange) {
  const w = who();
  const cur = currentStore();
  if (!w.allStores && w.stores.length <= 1) {
    return h('p', { class: 'store-line muted' }, t('store.label'), ' ', h('strong', {}, cur || '—'));
  }
  if (!w.allStores) {
    const sel = h('select', { id: 'store-pick', 'data-test': 'store-pick' }, w.stores.map((s) => h('option', { value: s, selected: s === cur }, s)));
    sel.addEventListener('change', () => {
      setStore(sel.value);
      onChange(sel.value);
    });
    return h('div', { class: 'store-line' }, h('label', { for: 'store-pick' }, t('store.label')), sel);
  }
  const input = h('input', { id: 'store-pick', list: 'store-known', value: cur, placeholder: t('store.placeholder'), autocomplete: 'off', 'data-test': 'store-pick' });
  const form = h(
    'form',
    { class: 'store-line' },
    h('label', { for: 'store-pick' }, t('store.label')),
    input,
    h('datalist', { id: 'store-known' }, knownStores().map((s) => h('option', { value: s }))),
    h('button', { class: 'btn secondary', type: 'submit', 'data-test': 'store-apply' }, t('store.apply')),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const s = input.value.trim();
    setStore(s);
    onChange(s);
  });
  return form;
}
