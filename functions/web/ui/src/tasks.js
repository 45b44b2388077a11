// A staff task (a call to make) as a card: deadline, customer, tier, a tel: link, the
// outcome buttons and reassignment. Used by the task list and the customer page.

import { post, get } from './api.js';
import { h, fill, problem, link, tierBadge } from './ui.js';
import { t, has } from './i18n.js';
import { relative, dateTime, date, label } from './format.js';
import { who } from './auth.js';

export const OUTCOMES = ['reached', 'no_answer', 'wrong_number', 'complaint'];

// customers caches GET /v1/customers/{id} for the cards of one page; at most 4 requests
// run at once. (The backend phase may put tier, name and last visit on the task itself:
// a card uses those when present and does not ask.)
export function customerLoader() {
  const cache = new Map();
  const waiting = [];
  let running = 0;
  const pump = () => {
    while (running < 4 && waiting.length) {
      const job = waiting.shift();
      running++;
      get(`/v1/customers/${encodeURIComponent(job.id)}`)
        .then(job.resolve, job.reject)
        .finally(() => {
          running--;
          pump();
        });
    }
  };
  return (id) => {
    if (!cache.has(id)) {
      cache.set(id, new Promise((resolve, reject) => waiting.push({ id, resolve, reject })));
      pump();
    }
    return cache.get(id);
  };
}

// lastPurchase reads the last visit from a task's customer summary (GET /v1/tasks puts it
// at the top: customer.lastPurchase) or from a full customer (aggregates.lastPurchase).
export function lastPurchase(c) {
  return (c && (c.lastPurchase || (c.aggregates && c.aggregates.lastPurchase))) || '';
}

// staffDirectory caches GET /v1/staff?store= per store for the reassign controls of one
// page; null when the route is not offered (then a manager types the staff id).
export function staffDirectory() {
  const cache = new Map();
  return (store) => {
    if (!cache.has(store)) {
      cache.set(store, get(`/v1/staff?store=${encodeURIComponent(store)}`).then(
        (res) => (res.items || res.staff || []).filter((s) => s && s.sub),
        (err) => {
          if (err && err.status === 404) return null;
          throw err;
        },
      ));
    }
    return cache.get(store);
  };
}

export function templateLabel(tpl) {
  const k = `template.${tpl}`;
  return has(k) ? t(k) : tpl || '—';
}

// taskCard renders one open task. onDone(task, result) runs after an outcome is recorded.
export function taskCard(task, { loadCustomer, loadStaff, onDone, showCustomer = true, timed = false }) {
  const me = who();
  const overdue = task.overdue || (task.status === 'open' && new Date(task.deadlineAt) <= new Date());
  const status = h('div', { class: 'task-status', role: 'status' });
  const custLine = h('div', { class: 'task-customer' });
  const callSlot = h('span', { class: 'call-slot' });
  const outcomeBtns = OUTCOMES.map((o) =>
    h('button', { class: `btn outcome outcome-${o}`, type: 'button', 'data-outcome': o, onclick: () => complete(o) }, t(`outcome.${o}`)),
  );
  const card = h(
    'article',
    { class: `card task${overdue ? ' overdue' : ''}`, 'data-task': task.id, 'data-deadline': task.deadlineAt, 'data-test': 'task' },
    h(
      'header',
      { class: 'task-head' },
      h('strong', { class: 'task-title', elementtiming: timed ? 'tasks' : null }, templateLabel(task.template)),
      h('span', { class: `deadline${overdue ? ' late' : ''}`, title: dateTime(task.deadlineAt), 'data-test': 'deadline' }, overdue ? `⚠ ${relative(task.deadlineAt)}` : relative(task.deadlineAt)),
    ),
    h('p', { class: 'muted small' }, t('task.deadline'), ' ', dateTime(task.deadlineAt), task.escalated ? ` · ${t('task.escalated')}` : '', task.assignee ? ` · ${t('task.assignee')} ${task.assignee === me.sub ? t('task.me') : task.assignee}` : ` · ${t('task.unassigned')}`),
    has(`script.${task.template}`) ? h('p', { class: 'script' }, t(`script.${task.template}`)) : null,
    showCustomer ? custLine : null,
    h('div', { class: 'task-actions' }, callSlot, ...outcomeBtns),
    reassignControls(task, me, status, (updated) => Object.assign(task, updated), loadStaff),
    status,
  );

  if (showCustomer) {
    custLine.append(link(`/app/customers/${encodeURIComponent(task.customerId)}`, { class: 'cust-link' }, t('task.customer'), ' ', task.customerId));
    const embedded = task.customer;
    const fillCustomer = (c) => {
      fill(custLine,
        link(`/app/customers/${encodeURIComponent(task.customerId)}`, { class: 'cust-link', 'data-test': 'task-customer' }, c.name || task.customerId),
        ' ',
        tierBadge(c.tier),
        c.stage ? h('span', { class: 'muted small' }, ` ${t(`stage.${c.stage}`)}`) : null,
        h('span', { class: 'muted small', 'data-test': 'last-visit' }, ` · ${t('task.lastVisit')} `, lastPurchase(c) ? date(lastPurchase(c)) : t('task.never')),
      );
      if (c.phone && !c.phone.includes('*')) {
        fill(callSlot, h('a', { class: 'btn call', href: `tel:${c.phone.replace(/[^+\d]/g, '')}`, 'data-test': 'tel' }, '☎ ', t('task.call'), ' ', c.phone));
      }
    };
    if (embedded) fillCustomer(embedded);
    else if (loadCustomer) loadCustomer(task.customerId).then(fillCustomer, (err) => custLine.append(' ', problem(err)));
  }

  async function complete(outcome) {
    outcomeBtns.forEach((b) => (b.disabled = true));
    fill(status, t('task.saving'));
    try {
      const res = await post(`/v1/tasks/${encodeURIComponent(task.id)}/complete`, { outcome });
      card.classList.add('done');
      card.classList.remove('overdue');
      fill(status,
        h('strong', { 'data-test': 'task-done' }, t('task.done', { outcome: t(`outcome.${outcome}`) })),
        res && res.retry ? h('span', { class: 'muted' }, ` · ${t('task.retryPlanned', { when: dateTime(res.retry.dueAt) })}`) : null,
        res && res.followUps ? h('span', { class: 'muted' }, ` · ${t('task.followUps', { n: res.followUps })}`) : null,
      );
      if (onDone) onDone(task, res);
    } catch (err) {
      outcomeBtns.forEach((b) => (b.disabled = false));
      fill(status, problem(err));
    }
  }
  return card;
}

// reassignControls: an agent may take a task themselves; a manager or admin hands it to
// a staff member of the store (the API checks both).
function reassignControls(task, me, status, onChange, loadStaff) {
  const send = async (assignee, btn) => {
    btn.disabled = true;
    try {
      const updated = await post(`/v1/tasks/${encodeURIComponent(task.id)}/reassign`, { assignee });
      onChange(updated);
      fill(status, h('span', { 'data-test': 'reassigned' }, t('task.reassigned', { who: assignee === me.sub ? t('task.me') : assignee })));
    } catch (err) {
      fill(status, problem(err));
    } finally {
      btn.disabled = false;
    }
  };
  let take = null;
  if (!me.manager && task.assignee !== me.sub) {
    take = h('button', { class: 'btn secondary', type: 'button', 'data-test': 'take' }, t('task.take'));
    take.addEventListener('click', () => send(me.sub, take));
  }
  // An agent hands a task to a colleague only by name from the directory; a manager may
  // also type a staff id when there is none.
  if (!me.manager && !loadStaff) return take ? h('div', { class: 'task-reassign' }, take) : null;
  const id = `reassign-${task.id}`;
  let input = h('input', { id, placeholder: t('task.staffId'), autocomplete: 'off', required: true, 'data-test': 'reassign-to' });
  const btn = h('button', { class: 'btn secondary', type: 'submit', 'data-test': 'reassign-go' }, t('task.reassign'));
  const form = h('form', { class: 'task-reassign', hidden: !me.manager }, h('label', { for: id, class: 'sr-only' }, t('task.staffId')), input, btn);
  // With the store's staff directory, a list of names replaces the typed id.
  if (loadStaff && task.store) {
    loadStaff(task.store).then(
      (staff) => {
        if (!staff || !staff.length) {
          if (!me.manager) form.remove();
          return;
        }
        form.hidden = false;
        const sel = h(
          'select',
          { id, required: true, 'data-test': 'reassign-to' },
          h('option', { value: '' }, t('task.chooseStaff')),
          staff.map((s) => h('option', { value: s.sub, selected: s.sub === task.assignee }, `${s.name || s.sub}${s.role ? ` · ${label('role', s.role)}` : ''}${s.sub === me.sub ? ` (${t('task.me')})` : ''}`)),
        );
        input.replaceWith(sel);
        input = sel;
      },
      (err) => form.append(problem(err)),
    );
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (input.value.trim()) send(input.value.trim(), btn);
  });
  return take ? h('div', { class: 'task-reassign-wrap' }, h('div', { class: 'task-reassign' }, take), form) : form;
}
