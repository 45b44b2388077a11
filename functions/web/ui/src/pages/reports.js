// The reports hub: one card per report page, with what it shows.

import { h, link, REPORTS } from '../ui.js';
import { t } from '../i18n.js';

export async function render(root) {
  root.append(
    h('h1', {}, t('reports.title')),
    h('p', { class: 'muted' }, t('reports.intro')),
    h(
      'div',
      { class: 'grid hub' },
      REPORTS.map((r) => link(`/app/reports/${r}`, { class: 'card hub-card', 'data-test': `hub-${r}` }, h('strong', {}, t(`report.${r}`)), h('span', { class: 'muted small' }, t(`report.${r}.about`)))),
    ),
  );
}
