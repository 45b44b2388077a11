// Small DOM helpers. Text always goes in through textContent, never as HTML, so nothing
// the API returns can become markup.

import { t } from './i18n.js';
import { toCSV, download } from './csv.js';
import { ApiError, get } from './api.js';

// h builds an element: h('a', {href: '/x', class: 'btn'}, 'text', child…).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// fill replaces an element's children (arrays flattened, null and false skipped: the
// DOM's own append would write them out as text).
export function fill(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

// link is an in-app link: the router handles the click, a new tab gets the full URL.
export function link(href, attrs, ...children) {
  return h('a', { ...attrs, href, 'data-route': '' }, ...children);
}

export function loading() {
  return h('p', { class: 'muted loading', role: 'status' }, t('common.loading'));
}

// problem shows an API error readably: its title, detail, and each field at fault.
export function problem(err) {
  if (!(err instanceof ApiError)) {
    return h('div', { class: 'problem', role: 'alert' }, h('strong', {}, t('error.unexpected')), h('p', {}, String(err && err.message ? err.message : err)));
  }
  const title = err.status === 0 ? t('error.network') : err.status === 403 ? t('error.forbidden') : err.status === 404 ? t('error.notFound') : err.title || t('error.unexpected');
  return h(
    'div',
    { class: 'problem', role: 'alert', 'data-status': err.status },
    h('strong', {}, title),
    err.detail && err.detail !== title ? h('p', {}, err.detail) : null,
    err.errors.length ? h('ul', {}, err.errors.map((e) => h('li', {}, h('code', {}, e.field || ''), ' ', e.reason || e.message || ''))) : null,
    h('p', { class: 'muted small' }, `HTTP ${err.status}`, err.requestId ? ` · ${t('error.requestId')} ${err.requestId}` : ''),
  );
}

// table renders rows with the given columns and an export button that writes the same
// rows and columns to CSV. A column: {label, value(row), cell(row)?, csv(row)?, num?}.
export function table({ columns, rows, name, empty, caption, test }) {
  const exportBtn = h('button', { class: 'btn secondary', type: 'button', 'data-test': `csv-${name}` }, t('common.exportCsv'));
  exportBtn.addEventListener('click', () => download(`tierflow-${name}-${new Date().toISOString().slice(0, 10)}.csv`, toCSV(columns, rows)));
  const head = h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)));
  const body = rows.map((r) => h('tr', {}, columns.map((c) => h('td', { class: c.num ? 'num' : c.wide ? 'wide' : null, 'data-label': c.label }, c.cell ? c.cell(r) : c.value(r)))));
  return h(
    'section',
    { class: 'table-block', 'data-test': test || `table-${name}` },
    h('div', { class: 'table-head' }, caption ? h('h3', {}, caption) : h('span'), rows.length ? exportBtn : null),
    rows.length
      ? h('div', { class: 'table-scroll' }, h('table', { class: 'data' }, h('thead', {}, head), h('tbody', {}, body)))
      : h('p', { class: 'muted' }, empty || t('common.none')),
  );
}

export function badge(text, kind) {
  return h('span', { class: `badge ${kind || ''}` }, text);
}

export function tierBadge(tier) {
  if (!tier) return badge(t('tier.none'), 'tier-none');
  return badge(tier, `tier-${tier}`);
}

// failure shows why a report could not be read: a route this server does not offer yet
// (404 from the API for the route itself) says so plainly; anything else is a problem.
export function failure(err, path) {
  if (err instanceof ApiError && err.status === 404) {
    return h('div', { class: 'note', role: 'status', 'data-test': 'route-missing' }, t('common.notAvailable', { path: path.split('?')[0] }), err.detail ? h('p', { class: 'muted small' }, err.detail) : null);
  }
  return problem(err);
}

// fetchInto shows a loading line in box while it reads path; on failure it shows the
// problem there and answers null, so a page only draws what it got.
export async function fetchInto(box, path) {
  fill(box, loading());
  try {
    return await get(path);
  } catch (err) {
    fill(box, failure(err, path));
    return null;
  }
}

// REPORTS are the report pages under /app/reports/, in the order the menu lists them.
export const REPORTS = ['migration', 'cohorts', 'funnel', 'followup', 'messages', 'feedback', 'sources', 'referrals'];

// reportHeader is a report page's title, what it shows, and the links to the other reports.
export function reportHeader(name) {
  return [
    h(
      'nav',
      { class: 'subnav', 'aria-label': t('nav.reports') },
      REPORTS.map((r) => link(`/app/reports/${r}`, { 'data-test': `report-${r}`, 'aria-current': r === name ? 'page' : null }, t(`report.${r}`))),
    ),
    h('h1', {}, t(`report.${name}`)),
    h('p', { class: 'muted' }, t(`report.${name}.about`)),
  ];
}

// kpiBox is a labelled figure; test names it for the browser tests.
export function kpiBox(label, value, test) {
  return h('div', { class: 'card kpi' }, h('span', { class: 'kpi-label' }, label), h('strong', { class: 'kpi-value', 'data-test': test ? `kpi-${test}` : null }, value));
}
