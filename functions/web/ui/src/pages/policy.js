// The policy editor: tier thresholds, lifecycle days, grace nights and instant-upgrade
// spend in a form; a preview replays the draft over the current customers (read-only,
// POST /v1/policy/preview) and shows the migration matrix current → proposed and the
// follow-up volume of the next 30 days; only a previewed draft can be saved (PUT
// /v1/policy, a new version). Versions: GET /v1/policy/versions, GET /v1/policy?version=N.

import { get, post, put } from '../api.js';
import { h, fill, loading, problem, failure, table, kpiBox } from '../ui.js';
import { t } from '../i18n.js';
import { int, dateTime } from '../format.js';
import { getPath, setPath, policyChanges, previewCheck } from '../reports.js';
import { matrixTable } from './migration.js';

// FIELDS are the numbers the form edits: path in the policy document, label, and kind.
export const FIELDS = [
  { group: 'policy.thresholds', path: 'tiers.aMin', label: 'policy.aMin', kind: 'int' },
  { group: 'policy.thresholds', path: 'tiers.bMin', label: 'policy.bMin', kind: 'int' },
  { group: 'policy.lifecycle', path: 'lifecycle.newDays', label: 'policy.newDays', kind: 'int' },
  { group: 'policy.lifecycle', path: 'lifecycle.dormantDays', label: 'policy.dormantDays', kind: 'int' },
  { group: 'policy.lifecycle', path: 'lifecycle.sleepingDays', label: 'policy.sleepingDays', kind: 'int' },
  { group: 'policy.lifecycle', path: 'lifecycle.churnedDays', label: 'policy.churnedDays', kind: 'int' },
  { group: 'policy.downgrade', path: 'downgrade.graceNights', label: 'policy.graceNights', kind: 'int' },
];

export async function render(root) {
  root.append(h('h1', {}, t('policy.title')), loading());
  let cur;
  try {
    cur = await get('/v1/policy');
  } catch (err) {
    fill(root, h('h1', {}, t('policy.title')), problem(err));
    return;
  }
  const base = cur.policy;
  const fields = [
    ...FIELDS,
    ...(base.instantUpgrades || []).map((u, i) => ({ group: 'policy.instant', path: `instantUpgrades.${i}.windowSpendOver`, label: 'policy.spendOver', vars: { name: u.name || u.tier }, kind: 'amount' })),
  ];
  const inputs = new Map();
  const groups = new Map();
  for (const f of fields) {
    const id = `p-${f.path.replace(/\./g, '-')}`;
    const v = getPath(base, f.path);
    const input = h('input', { id, name: f.path, type: f.kind === 'int' ? 'number' : 'text', inputmode: f.kind === 'int' ? 'numeric' : 'decimal', min: f.kind === 'int' ? '0' : null, step: f.kind === 'int' ? '1' : null, value: v ?? '', required: true, 'data-test': `field-${f.path}` });
    inputs.set(f.path, { input, f });
    if (!groups.has(f.group)) groups.set(f.group, []);
    groups.get(f.group).push(h('div', { class: 'field' }, h('label', { for: id }, t(f.label, f.vars)), input));
  }
  const draft = () => {
    let p = { ...base, version: cur.version + 1 };
    for (const [path, { input, f }] of inputs) p = setPath(p, path, f.kind === 'int' ? Number(input.value) : input.value.trim());
    return p;
  };
  const changes = h('div', { class: 'changes', 'data-test': 'changes' });
  const result = h('section', { class: 'preview', 'data-test': 'preview', 'aria-live': 'polite' });
  const previewBtn = h('button', { class: 'btn', type: 'submit', 'data-test': 'preview-go' }, t('policy.preview'));
  const saveBtn = h('button', { class: 'btn secondary', type: 'button', disabled: true, 'data-test': 'policy-save' }, t('policy.save', { version: cur.version + 1 }));
  const form = h(
    'form',
    { class: 'card policy-form', 'data-test': 'policy-form' },
    [...groups.entries()].map(([g, els]) => h('fieldset', {}, h('legend', {}, t(g)), h('div', { class: 'fields' }, els))),
    changes,
    h('div', { class: 'actions' }, previewBtn, saveBtn),
  );
  let previewed = '';
  const showChanges = () => {
    const list = policyChanges(base, draft(), fields.map((f) => f.path));
    fill(changes, list.length ? [h('strong', {}, t('policy.changes')), ' ', list.map((c) => `${c.field}: ${c.from} → ${c.to}`).join(' · ')] : h('span', { class: 'muted' }, t('policy.noChange')));
    saveBtn.disabled = !list.length || previewed !== JSON.stringify(draft());
  };
  form.addEventListener('input', showChanges);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const d = draft();
    previewBtn.disabled = true;
    fill(result, h('p', { class: 'muted', role: 'status' }, t('policy.previewing')));
    try {
      const p = await post('/v1/policy/preview', d);
      previewed = JSON.stringify(d);
      fill(result, previewView(p));
    } catch (err) {
      previewed = '';
      fill(result, failure(err, '/v1/policy/preview'));
    } finally {
      previewBtn.disabled = false;
      showChanges();
    }
  });
  saveBtn.addEventListener('click', async () => {
    const d = draft();
    if (previewed !== JSON.stringify(d)) {
      fill(result, h('p', { class: 'note' }, t('policy.noPreview')));
      return;
    }
    saveBtn.disabled = true;
    try {
      const res = await put('/v1/policy', d);
      fill(root);
      await render(root);
      root.querySelector('h1').after(h('p', { class: 'note', role: 'status', 'data-test': 'policy-saved' }, t('policy.saved', { version: res.version })));
    } catch (err) {
      fill(result, problem(err));
      saveBtn.disabled = false;
    }
  });
  const versions = h('section', { 'data-test': 'policy-versions' }, loading());
  fill(root,
    h('h1', {}, t('policy.title')),
    h('p', { 'data-test': 'policy-current' }, t('policy.current', { version: cur.version }), cur.stored ? '' : ` ${t('policy.default')}`),
    h('p', { class: 'muted' }, t('policy.intro')),
    form,
    result,
    versions,
  );
  showChanges();
  loadVersions(versions, cur);
}

// previewView shows a preview: the figures, how it was computed, and the matrix with a
// check that its cells add up to the customers it covers.
export function previewView(p) {
  const c = previewCheck(p);
  const method = p.method === 'sample' ? t('policy.method.sample', { n: int(p.sampleSize), error: typeof p.error === 'number' ? `${(Math.round(p.error * 1000) / 10).toFixed(1)} %` : '—' }) : t('policy.method.exact');
  return [
    h('h2', {}, t('policy.result')),
    h('section', { class: 'kpis five' },
      kpiBox(t('policy.customers'), int(p.customers), 'preview-customers'),
      kpiBox(t('policy.changed'), int(p.changed), 'preview-changed'),
      kpiBox(t('policy.tierMoves'), int(c.matrix.moved), 'preview-moves'),
      kpiBox(t('policy.messages30d'), int(p.followUp && p.followUp.messages30d), 'preview-messages'),
      kpiBox(t('policy.calls30d'), int(p.followUp && p.followUp.calls30d), 'preview-calls'),
    ),
    h('p', { class: 'muted', 'data-test': 'preview-method' }, method),
    h('p', { class: c.sumsToCustomers || p.method === 'sample' ? 'muted small' : 'problem', 'data-test': 'preview-sum' }, t(c.sumsToCustomers ? 'policy.sumCheck' : 'policy.sumMismatch', { sum: int(c.matrix.total), customers: int(p.customers) })),
    matrixTable(c.matrix, 'preview-matrix', t('migration.matrix')),
  ];
}

async function loadVersions(box, cur) {
  let list;
  try {
    const res = await get('/v1/policy/versions');
    list = res.versions || res.items || [];
  } catch (err) {
    if (err.status !== 404) {
      fill(box, problem(err));
      return;
    }
    // Before /v1/policy/versions: the history the policy route has always offered.
    try {
      list = (await get('/v1/policy?history=1')).versions || [];
    } catch (err2) {
      fill(box, problem(err2));
      return;
    }
  }
  const shown = h('div', { 'data-test': 'policy-version-view' });
  const view = async (v) => {
    fill(shown, loading());
    try {
      const doc = v.policy || (await get(`/v1/policy?version=${encodeURIComponent(v.version)}`)).policy;
      fill(shown, h('h3', {}, t('policy.viewing', { version: v.version })), h('pre', { class: 'json' }, JSON.stringify(doc, null, 2)));
    } catch (err) {
      fill(shown, problem(err));
    }
  };
  fill(box,
    table({
      name: 'policy-versions',
      caption: t('policy.versions'),
      rows: list.slice().sort((a, b) => b.version - a.version),
      columns: [
        { label: t('col.version'), value: (r) => r.version, cell: (r) => [`v${r.version}`, r.current || r.version === cur.version ? h('span', { class: 'muted small' }, ` · ${t('policy.inForce')}`) : null, r.stored === false ? h('span', { class: 'muted small' }, ` ${t('policy.default')}`) : null] },
        { label: t('col.when'), value: (r) => r.at || r.createdAt || '', cell: (r) => dateTime(r.at || r.createdAt) },
        { label: t('col.by'), value: (r) => r.by || '' },
        { label: '', value: () => '', cell: (r) => h('button', { class: 'btn secondary', type: 'button', 'data-test': `policy-view-${r.version}`, onclick: () => view(r) }, t('policy.view')) },
      ],
    }),
    shown,
  );
}
