// "My calls today": open tasks by deadline, overdue in red. GET /v1/tasks?view=mine|store|overdue.
// Tasks due after today sit behind a toggle; every list exports to CSV.

import { get, query } from '../api.js';
import { h, fill, loading, problem, table } from '../ui.js';
import { t } from '../i18n.js';
import { dateTime } from '../format.js';
import { taskCard, customerLoader, staffDirectory, templateLabel } from '../tasks.js';
import { currentStore, storePicker } from '../store.js';
import { markPainted } from './overview.js';

const VIEWS = ['mine', 'store', 'overdue'];

export async function render(root, _params, ctx) {
  const url = new URL(location.href);
  let view = VIEWS.includes(url.searchParams.get('view')) ? url.searchParams.get('view') : 'mine';
  let firstLoad = !url.searchParams.get('view');
  const list = h('div', { class: 'task-list', 'data-test': 'task-list' });
  const tabs = h('div', { class: 'segmented', role: 'tablist' });
  const picker = h('div');
  root.append(h('h1', {}, t('tasks.title')), picker, tabs, list);

  const drawTabs = () => {
    fill(tabs,
      VIEWS.map((v) =>
        h('button', { type: 'button', role: 'tab', 'aria-selected': v === view ? 'true' : 'false', class: v === view ? 'active' : '', 'data-view': v, onclick: () => switchTo(v) }, t(`tasks.view.${v}`)),
      ),
    );
    fill(picker, view === 'mine' ? null : storePicker(() => load()));
  };
  const switchTo = (v) => {
    view = v;
    firstLoad = false;
    ctx.replaceQuery({ view: v });
    load();
  };

  async function load(note) {
    drawTabs();
    fill(list, loading());
    const params = { view, limit: 100 };
    if (view !== 'mine') {
      const st = currentStore();
      if (st) params.store = st;
    }
    let page;
    try {
      page = await get(`/v1/tasks${query(params)}`);
    } catch (err) {
      fill(list, problem(err));
      return;
    }
    const items = (page.items || []).slice().sort((a, b) => new Date(a.deadlineAt) - new Date(b.deadlineAt));
    if (view === 'mine' && firstLoad && items.length === 0) {
      // Nothing assigned to me yet: the store's shared list is where today's calls are.
      firstLoad = false;
      view = 'store';
      return load(t('tasks.noneMineShowingStore'));
    }
    const endOfDay = new Date();
    endOfDay.setHours(23, 59, 59, 999);
    const today = items.filter((x) => x.overdue || new Date(x.dueAt) <= endOfDay || new Date(x.deadlineAt) <= endOfDay);
    const later = items.filter((x) => !today.includes(x));
    const loadCustomer = customerLoader();
    const loadStaff = staffDirectory();
    const overdue = today.filter((x) => x.overdue).length;
    fill(list,
      note ? h('p', { class: 'note', role: 'status' }, note) : null,
      h('p', { class: 'summary', 'data-test': 'task-summary', elementtiming: today.length ? null : 'tasks' }, t('tasks.summary', { n: today.length, overdue, later: later.length })),
      today.map((task, i) => taskCard(task, { loadCustomer, loadStaff, timed: i === 0 })),
      later.length
        ? h('details', { class: 'later' }, h('summary', {}, t('tasks.later', { n: later.length })), later.map((task) => taskCard(task, { loadCustomer, loadStaff })))
        : null,
      page.nextCursor ? h('p', { class: 'muted small' }, t('tasks.more')) : null,
      h('details', { class: 'table-view' }, h('summary', {}, t('tasks.tableView')), table({
        name: `tasks-${view}`,
        caption: t('tasks.tableCaption'),
        rows: items,
        columns: [
          { label: t('col.deadline'), value: (r) => r.deadlineAt, cell: (r) => dateTime(r.deadlineAt) },
          { label: t('col.overdue'), value: (r) => (r.overdue ? t('common.yes') : t('common.no')) },
          { label: t('col.task'), value: (r) => templateLabel(r.template) },
          { label: t('col.customerId'), value: (r) => r.customerId },
          { label: t('col.store'), value: (r) => r.store },
          { label: t('col.assignee'), value: (r) => r.assignee || '' },
          { label: t('col.taskId'), value: (r) => r.id },
        ],
      })),
    );
    markPainted('tf:tasks');
  }
  await load();
}
