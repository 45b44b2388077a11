// One customer: the profile as the caller's role sees it, the tier and its reason, the
// prediction, open tasks (completed from here), tier history and the timeline.
// GET /v1/customers/{id} and GET /v1/customers/{id}/timeline (both audited by the API).

import { get } from '../api.js';
import { h, fill, loading, problem, table, tierBadge, badge } from '../ui.js';
import { t, has } from '../i18n.js';
import { pct, money, minor, dateTime, date, int, label, reasonLabel } from '../format.js';
import { taskCard, templateLabel, staffDirectory } from '../tasks.js';

export async function render(root, params) {
  const id = params.id;
  root.append(h('h1', {}, t('customer.title')), loading());
  let c, tl;
  try {
    [c, tl] = await Promise.all([get(`/v1/customers/${encodeURIComponent(id)}`), get(`/v1/customers/${encodeURIComponent(id)}/timeline`)]);
  } catch (err) {
    fill(root, h('h1', {}, t('customer.title')), problem(err));
    return;
  }
  const entries = (tl && tl.entries) || [];
  const openTasks = entries.filter((e) => e.kind === 'task' && e.item && e.item.status === 'open').map((e) => taskFromEntry(e.item, c));
  const history = entries.filter((e) => e.kind === 'tier_change').reverse();
  const a = c.assignment || {};
  const clv = c.clv || null;
  const agg = c.aggregates || {};
  const loadStaff = staffDirectory();

  fill(root,
    h('h1', { 'data-test': 'customer-name' }, c.name || c.id, ' ', tierBadge(c.tier)),
    c.erasedAt ? h('p', { class: 'problem' }, t('customer.erased', { when: dateTime(c.erasedAt) })) : null,
    h(
      'section',
      { class: 'open-tasks', 'data-test': 'open-tasks' },
      h('h2', {}, t('customer.openTasks')),
      openTasks.length ? openTasks.map((task) => taskCard(task, { showCustomer: false, loadStaff })) : h('p', { class: 'muted' }, t('customer.noOpenTasks')),
    ),
    h(
      'div',
      { class: 'grid two' },
      h('section', { class: 'card' }, h('h2', {}, t('customer.profile')), profile(c)),
      h(
        'section',
        { class: 'card', 'data-test': 'tier-reason' },
        h('h2', {}, t('customer.tier')),
        h('p', { class: 'big' }, tierBadge(c.tier), ' ', c.stage ? t(`stage.${c.stage}`) : ''),
        h('p', {}, a.reason || t('customer.noReason')),
        a.assessedOn ? h('p', { class: 'muted small' }, t('customer.assessedOn', { day: a.assessedOn, policy: a.policyVersion ?? '—' })) : null,
        h(
          'dl',
          { class: 'facts' },
          fact(t('customer.purchases'), int(agg.purchases ?? 0)),
          fact(t('customer.firstPurchase'), date(agg.firstPurchase)),
          fact(t('customer.lastPurchase'), date(agg.lastPurchase)),
        ),
      ),
      h(
        'section',
        { class: 'card', 'data-test': 'prediction' },
        h('h2', {}, t('customer.prediction')),
        clv
          ? [
              h(
                'dl',
                { class: 'facts' },
                fact(t('customer.pAlive'), pct(clv.pAlive)),
                fact(t('customer.risk'), clv.risk ? badge(t(`risk.${clv.risk}`), `risk-${clv.risk}`) : '—'),
                fact(t('customer.expected90'), typeof clv.expectedPurchases90d === 'number' ? clv.expectedPurchases90d.toFixed(1) : '—'),
                fact(t('customer.clv12m'), money(minor(clv.clv12m))),
              ),
              h('p', { class: 'muted small' }, clv.explanation || ''),
            ]
          : h('p', { class: 'muted' }, t('customer.noPrediction')),
      ),
    ),
    table({
      name: 'tier-history',
      caption: t('customer.tierHistory'),
      rows: history,
      empty: t('customer.noTierHistory'),
      columns: [
        { label: t('col.when'), value: (e) => e.item.at || e.at, cell: (e) => dateTime(e.item.at || e.at) },
        { label: t('col.from'), value: (e) => e.item.from || '', cell: (e) => tierBadge(e.item.from) },
        { label: t('col.to'), value: (e) => e.item.to || '', cell: (e) => tierBadge(e.item.to) },
        { label: t('col.reason'), value: (e) => e.item.reason || '', wide: true },
        { label: t('col.run'), value: (e) => e.item.runId || '' },
      ],
    }),
    table({
      name: 'timeline',
      caption: t('customer.timeline'),
      rows: entries.slice().reverse(),
      columns: [
        { label: t('col.when'), value: (e) => e.at, cell: (e) => dateTime(e.at) },
        { label: t('col.kind'), value: (e) => (has(`kind.${e.kind}`) ? t(`kind.${e.kind}`) : e.kind) },
        { label: t('col.what'), value: (e) => describe(e), wide: true },
      ],
    }),
  );
}

function fact(label, value) {
  return [h('dt', {}, label), h('dd', {}, value)];
}

// profile lists the fields the API returned for this role: agents get what agents may
// see, clinicians and admins the sensitive section too.
function profile(c) {
  const rows = [];
  const add = (key, value) => {
    if (value !== undefined && value !== null && value !== '' && !(Array.isArray(value) && !value.length)) rows.push(fact(t(`field.${key}`), value));
  };
  add('phone', c.phone ? (c.phone.includes('*') ? c.phone : h('a', { href: `tel:${c.phone}`, 'data-test': 'customer-phone' }, c.phone)) : '');
  add('email', c.email);
  add('birthday', c.birthday);
  add('timeZone', c.timeZone);
  add('store', c.store);
  add('interest', c.interest);
  add('tags', (c.tags || []).join(', '));
  add('leadGrade', c.leadGrade ? `${t(`grade.${c.leadGrade}`)} — ${c.gradeReason || ''}` : '');
  add('referralCode', c.referralCode);
  add('referredBy', c.referredBy);
  add('consents', consents(c.consents));
  add('deliverability', deliverability(c.deliverability));
  if (c.marketingOptOut) add('marketingOptOut', t('common.yes'));
  add('createdAt', dateTime(c.createdAt));
  const s = c.sensitive;
  if (s) {
    add('medicalHistory', s.medicalHistory);
    add('allergies', s.allergies);
    add('psychologicalAssessment', s.psychologicalAssessment);
  }
  return h('dl', { class: 'facts', 'data-test': 'profile' }, rows);
}

// consents shows the decision in force per purpose and channel: the API keeps every
// decision; the latest wins, and a withdrawal wins a tie.
export function consents(cs) {
  if (!Array.isArray(cs)) return '';
  const latest = new Map();
  for (const c of cs) {
    const k = `${c.category}/${c.channel}`;
    const prev = latest.get(k);
    const at = new Date(c.at).getTime();
    if (!prev || at > prev.at || (at === prev.at && !c.granted)) latest.set(k, { at, granted: !!c.granted });
  }
  return [...latest.entries()].map(([k, v]) => `${k} ${v.granted ? '✓' : '✗'}`).join(' · ');
}

// deliverability shows per channel whether messages reach the customer (delivery events:
// bounced, complained, suppressed), a problem one marked.
function deliverability(d) {
  if (!d || typeof d !== 'object') return '';
  const parts = Object.entries(d).filter(([, v]) => v);
  if (!parts.length) return '';
  return h('span', { 'data-test': 'deliverability' }, parts.map(([ch, v], i) => [i ? ' · ' : '', `${label('channel', ch)} `, badge(label('deliv', v), v === 'ok' ? 'risk-low' : 'risk-high')]));
}

// taskFromEntry turns a timeline task entry into the task shape of GET /v1/tasks.
function taskFromEntry(item, c) {
  const task = item.task || {};
  return {
    id: item.id,
    customerId: c.id,
    store: c.store,
    template: item.template,
    trigger: item.trigger,
    status: item.status,
    dueAt: item.dueAt,
    deadlineAt: task.deadlineAt || item.dueAt,
    assignee: task.assignee || '',
    escalated: !!task.escalated,
    customer: c,
  };
}

// isRefund: a stored transaction says so with refund: true (model.Txn); an older item
// may carry type: 'refund'.
export function isRefund(it) {
  return !!it && (it.refund === true || it.type === 'refund');
}

// messageLine says what became of a message: channel, template, and its disposition with
// the reason in words (followup.Reasons(), docs/followup.md) and, when deferred, until when.
export function messageLine(it) {
  const state = it.disposition ? label('disposition', it.disposition) : has(`status.${it.status}`) ? t(`status.${it.status}`) : it.status || '';
  const why = it.reason ? reasonLabel(it.reason) : '';
  const until = it.until && it.disposition === 'deferred' ? t('message.until', { when: dateTime(it.until) }) : '';
  return [label('channel', it.channel), it.template, [state, why].filter(Boolean).join(': '), until].filter(Boolean).join(' · ');
}

function describe(e) {
  const it = e.item || {};
  switch (e.kind) {
    case 'transaction':
      return `${isRefund(it) ? `${t('kind.refund')} ` : ''}${money(minor(it.amount), it.currency || 'CNY')}${Array.isArray(it.items) ? ' · ' + it.items.map((x) => x.name || x.sku).join(', ') : ''}`;
    case 'touch': {
      const tc = it.touch || {};
      return [tc.channel, tc.interest, tc.message, tc.utm && tc.utm.source ? `utm:${tc.utm.source}` : ''].filter(Boolean).join(' · ');
    }
    case 'tier_change':
      return `${it.from || '—'} → ${it.to || '—'} · ${it.reason || ''}`;
    case 'task':
      return `${templateLabel(it.template)} · ${has(`status.${it.status}`) ? t(`status.${it.status}`) : it.status}${it.task && it.task.outcome ? ` · ${t(`outcome.${it.task.outcome}`)}` : ''}`;
    case 'message':
      return messageLine(it);
    default:
      return '';
  }
}
