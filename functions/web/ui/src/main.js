// The staff app: sign-in, then the pages the caller's role offers. Paths live under /app/
// (the web function answers index.html for any of them, so reloads and links work).

import './app.css';
import { h, fill } from './ui.js';
import { t, lang, setLang, LANGS, applyDocumentLang } from './i18n.js';
import { token, who, signOut, takeTokenFromHash } from './auth.js';
import { setUnauthorizedHandler } from './api.js';
import { disposeCharts } from './charts.js';
import * as signin from './pages/signin.js';
import * as overview from './pages/overview.js';
import * as tasks from './pages/tasks.js';
import * as customers from './pages/customers.js';
import * as customer from './pages/customer.js';
import * as atRisk from './pages/atrisk.js';
import * as reports from './pages/reports.js';
import * as migration from './pages/migration.js';
import * as cohorts from './pages/cohorts.js';
import * as funnel from './pages/funnel.js';
import * as followup from './pages/followup.js';
import * as messages from './pages/messages.js';
import * as feedback from './pages/feedback.js';
import * as sources from './pages/sources.js';
import * as referrals from './pages/referrals.js';
import * as policy from './pages/policy.js';
import * as apiKeys from './pages/apikeys.js';

// routes: path pattern, page, who may open it (manager = admin or clinician/manager;
// admin = admin only). A report page belongs to the Reports entry of the menu.
const routes = [
  { re: /^\/app\/signin\/?$/, page: signin, open: true },
  { re: /^\/app\/overview\/?$/, page: overview, nav: 'nav.overview', path: '/app/overview', manager: true },
  { re: /^\/app\/tasks\/?$/, page: tasks, nav: 'nav.tasks', path: '/app/tasks' },
  { re: /^\/app\/customers\/?$/, page: customers, nav: 'nav.customers', path: '/app/customers' },
  { re: /^\/app\/customers\/([^/]+)\/?$/, page: customer, keys: ['id'] },
  { re: /^\/app\/at-risk\/?$/, page: atRisk, nav: 'nav.atRisk', path: '/app/at-risk', manager: true },
  { re: /^\/app\/reports\/?$/, page: reports, nav: 'nav.reports', path: '/app/reports', manager: true },
  ...Object.entries({ migration, cohorts, funnel, followup, messages, feedback, sources, referrals }).map(([name, page]) => ({
    re: new RegExp(`^/app/reports/${name}/?$`),
    page,
    title: `report.${name}`,
    section: '/app/reports',
    manager: true,
  })),
  { re: /^\/app\/policy\/?$/, page: policy, nav: 'nav.policy', path: '/app/policy', admin: true },
  { re: /^\/app\/api-keys\/?$/, page: apiKeys, nav: 'nav.apiKeys', path: '/app/api-keys', admin: true },
];

const app = document.getElementById('app');
let signinReason = '';

function home() {
  return who().manager ? '/app/overview' : '/app/tasks';
}

export function navigate(path, replace) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  route();
}

// replaceQuery keeps a page's state (search, view) in the address, for reload and back.
function replaceQuery(params) {
  const u = new URL(location.href);
  for (const [k, v] of Object.entries(params)) {
    if (v) u.searchParams.set(k, v);
    else u.searchParams.delete(k);
  }
  history.replaceState(null, '', u.pathname + u.search);
}

async function route() {
  disposeCharts();
  const path = location.pathname;
  let match = null;
  let params = {};
  for (const r of routes) {
    const m = r.re.exec(path);
    if (m) {
      match = r;
      (r.keys || []).forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1])));
      break;
    }
  }
  if (!token() && !(match && match.open)) {
    history.replaceState(null, '', '/app/signin');
    match = routes[0];
  } else if (!match || (match.open && token())) {
    history.replaceState(null, '', home());
    return route();
  }
  const w = who();
  if ((match.manager && !w.manager) || (match.admin && !w.admin)) {
    history.replaceState(null, '', home());
    return route();
  }
  applyDocumentLang();
  const main = h('main', { id: 'main', tabindex: '-1' });
  fill(app, header(match), main);
  document.title = match.nav || match.title ? `${t(match.nav || match.title)} · tierflow` : 'tierflow';
  const ctx = { navigate, replaceQuery, reason: signinReason };
  signinReason = '';
  await match.page.render(main, params, ctx);
}

function header(current) {
  const w = who();
  const signedIn = !!token();
  const langBtn = h('button', { class: 'btn ghost', type: 'button', 'data-test': 'lang', title: t('lang.switch'), lang: lang() === 'zh' ? 'en' : 'zh' }, LANGS[lang() === 'zh' ? 'en' : 'zh']);
  langBtn.addEventListener('click', () => {
    setLang(lang() === 'zh' ? 'en' : 'zh');
    route();
  });
  const out = h('button', { class: 'btn ghost', type: 'button', 'data-test': 'signout' }, t('nav.signOut'));
  out.addEventListener('click', () => {
    signOut();
    navigate('/app/signin');
  });
  const nav = signedIn
    ? h(
        'nav',
        { class: 'nav', 'aria-label': t('nav.label') },
        routes
          .filter((r) => r.nav && (!r.manager || w.manager) && (!r.admin || w.admin))
          .map((r) => h('a', { href: r.path, 'data-route': '', 'data-test': `nav-${r.path.split('/').pop()}`, 'aria-current': r === current || r.path === current.section ? 'page' : null }, t(r.nav))),
      )
    : null;
  return h(
    'header',
    { class: 'top' },
    h('div', { class: 'bar' }, h('a', { class: 'brand', href: '/app/', 'data-route': '' }, 'tierflow'), signedIn ? h('span', { class: 'who muted small', 'data-test': 'who' }, `${t(`role.${w.role}`)} · ${w.allStores ? t('store.all') : w.stores.join(', ')}`) : null, h('span', { class: 'spacer' }), langBtn, signedIn ? out : null),
    nav,
  );
}

// In-app links go through the router; modified clicks (new tab) stay with the browser.
document.addEventListener('click', (e) => {
  const a = e.target instanceof Element ? e.target.closest('a[data-route]') : null;
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(a.getAttribute('href'));
});
window.addEventListener('popstate', route);

setUnauthorizedHandler(() => {
  signinReason = 'signin.expiredSession';
  navigate('/app/signin', true);
});

const fromHash = takeTokenFromHash(location, history);
if (fromHash && !fromHash.ok) signinReason = fromHash.reason;
route();
