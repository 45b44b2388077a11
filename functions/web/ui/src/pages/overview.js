// Manager overview: customers per tier and stage, revenue share per tier, the top-20 %
// share and the Pareto curve, and the re-tier run the figures come from.
// GET /v1/reports/tiers, then GET /v1/retier/{runId}.

import { get } from '../api.js';
import { h, fill, loading, problem, table, tierBadge } from '../ui.js';
import { t } from '../i18n.js';
import { pct, int, money, dateTime, duration } from '../format.js';
import { barChart, shareChart, paretoChart } from '../charts.js';
import { paretoPoints } from '../pareto.js';
import { rememberStores } from '../store.js';
import { usd } from '../reports.js';

export const STAGES = ['lead', 'new', 'active', 'dormant', 'sleeping', 'churned'];

export async function render(root) {
  root.append(h('h1', {}, t('overview.title')), loading());
  let report;
  try {
    report = await get('/v1/reports/tiers');
  } catch (err) {
    fill(root, h('h1', {}, t('overview.title')), problem(err));
    return;
  }
  const tiers = report.tiers || [];
  const stages = report.stages || {};
  const customers = tiers.reduce((n, r) => n + (r.customers || 0), 0);
  const kpis = h(
    'section',
    { class: 'kpis' },
    kpi(t('overview.top20'), pct(report.top20RevenueShare), 'top20', t('overview.top20Hint'), true),
    kpi(t('overview.tiered'), int(customers), 'tiered'),
    kpi(t('overview.leads'), int(report.leads || 0), 'leads'),
    kpi(t('overview.revenue'), money(report.totalRevenue), 'revenue'),
  );
  const runBox = h('section', { class: 'card run', 'data-test': 'run' }, h('h2', {}, t('overview.run')), loading());
  const tierLabels = tiers.map((r) => `${r.tier} · ${r.name || ''}`);

  fill(root,
    h('h1', {}, t('overview.title')),
    h('p', { class: 'muted' }, t('overview.asOf', { day: report.day || '—', policy: report.policyVersion ?? '—' })),
    kpis,
    h(
      'div',
      { class: 'grid charts' },
      barChart('tiers', t('overview.byTier'), tierLabels, tiers.map((r) => r.customers || 0)),
      shareChart('revenue', t('overview.revenueShare'), tierLabels, tiers.map((r) => r.revenueShare || 0)),
      barChart('stages', t('overview.byStage'), STAGES.map((s) => t(`stage.${s}`)), STAGES.map((s) => stages[s] || 0)),
      paretoChart(paretoPoints(report.paretoCurve), report.top20RevenueShare, report.paretoMaxError),
    ),
    runBox,
    table({
      name: 'tiers',
      caption: t('overview.tierTable'),
      rows: tiers,
      columns: [
        { label: t('col.tier'), value: (r) => r.tier, cell: (r) => h('span', { 'data-test': `tier-${r.tier}` }, tierBadge(r.tier), ' ', r.name || '') },
        { label: t('col.customers'), value: (r) => r.customers, cell: (r) => h('span', { 'data-test': `tier-count-${r.tier}` }, int(r.customers)), num: true },
        { label: t('col.customerShare'), value: (r) => pct(r.share), num: true },
        { label: t('col.revenue'), value: (r) => r.revenue, cell: (r) => money(r.revenue), num: true },
        { label: t('col.revenueShare'), value: (r) => pct(r.revenueShare), num: true },
      ],
    }),
    table({
      name: 'stages',
      caption: t('overview.stageTable'),
      rows: STAGES.map((s) => ({ stage: s, n: stages[s] || 0 })),
      columns: [
        { label: t('col.stage'), value: (r) => t(`stage.${r.stage}`) },
        { label: t('col.customers'), value: (r) => r.n, cell: (r) => h('span', { 'data-test': `stage-count-${r.stage}` }, int(r.n)), num: true },
      ],
    }),
  );
  markPainted('tf:overview');
  if (report.lastRun && report.lastRun.id) renderLastRun(runBox, report.lastRun);
  else if (report.runId) renderRun(runBox, report.runId);
  else fill(runBox, h('h2', {}, t('overview.run')), h('p', { class: 'muted' }, t('common.none')));
}

// renderLastRun shows the report's lastRun: when, how long, how many changed and what it
// cost (request units and the dollar estimate), without another request.
function renderLastRun(box, r) {
  const ru = r.requestUnits || {};
  const secs = typeof r.durationSeconds === 'number' ? r.durationSeconds * 1000 : r.finishedAt && r.createdAt ? new Date(r.finishedAt) - new Date(r.createdAt) : NaN;
  fill(box,
    h('h2', {}, t('overview.run')),
    h(
      'dl',
      { class: 'facts' },
      fact(t('run.id'), r.id, 'run-id'),
      fact(t('run.day'), r.day || '—', 'run-day'),
      fact(t('run.when'), dateTime(r.finishedAt || r.createdAt), 'run-when'),
      fact(t('run.took'), duration(secs), 'run-took'),
      fact(t('run.seen'), int(r.customers), 'run-seen'),
      fact(t('run.changed'), int(r.changed), 'run-changed'),
      fact(t('run.requestUnits'), t('run.ru', { rru: int(ru.rru), wru: int(ru.wru) }), 'run-ru'),
      fact(t('run.cost'), usd(r.estimatedUsd), 'run-cost'),
    ),
  );
}

function kpi(label, value, test, hint, timed) {
  return h(
    'div',
    { class: 'card kpi' },
    h('span', { class: 'kpi-label' }, label),
    h('strong', { class: 'kpi-value', 'data-test': `kpi-${test}`, elementtiming: timed ? 'overview' : null }, value),
    hint ? h('span', { class: 'muted small' }, hint) : null,
  );
}

async function renderRun(box, id) {
  let run;
  try {
    run = await get(`/v1/retier/${encodeURIComponent(id)}`);
  } catch (err) {
    fill(box, h('h2', {}, t('overview.run')), problem(err));
    return;
  }
  if (run.clv && run.clv.stores) rememberStores(Object.keys(run.clv.stores));
  const s = run.summary || {};
  const took = run.finishedAt && run.createdAt ? new Date(run.finishedAt) - new Date(run.createdAt) : NaN;
  fill(box,
    h('h2', {}, t('overview.run')),
    h(
      'dl',
      { class: 'facts' },
      fact(t('run.id'), run.id, 'run-id'),
      fact(t('run.when'), dateTime(run.finishedAt || run.createdAt), 'run-when'),
      fact(t('run.took'), duration(took), 'run-took'),
      fact(t('run.status'), t(`run.status.${run.status}`), 'run-status'),
      fact(t('run.seen'), int(s.customers), 'run-seen'),
      fact(t('run.changed'), int(s.changed), 'run-changed'),
      fact(t('run.tierChanges'), int(s.tierChanges), 'run-tier-changes'),
      fact(t('run.policy'), `v${run.policyVersion}`, 'run-policy'),
    ),
  );
}

function fact(label, value, test) {
  return [h('dt', {}, label), h('dd', { 'data-test': test }, value)];
}

// markPainted records when a page's data is on screen, for the measurements in docs/webapp.md.
export function markPainted(name) {
  requestAnimationFrame(() => performance.mark(name));
}
