// Referral rewards: each referrer's referees, their actual spend and the reward earned
// (the ledger kept at ingest; a refund reverses its share), and the payout export.
// GET /v1/referrals?store= ; the payout CSV is the API's own (?format=csv).

import { getText, query } from '../api.js';
import { h, fill, problem, table, link, reportHeader, kpiBox, fetchInto } from '../ui.js';
import { t } from '../i18n.js';
import { int, money, pct } from '../format.js';
import { referralPayout } from '../reports.js';
import { download } from '../csv.js';
import { currentStore, storePicker } from '../store.js';

export async function render(root) {
  const box = h('div', { 'data-test': 'referrals' });
  root.append(...reportHeader('referrals'), storePicker(() => load()), box);
  async function load() {
    const path = `/v1/referrals${query({ store: currentStore() })}`;
    const rep = await fetchInto(box, path);
    if (!rep) return;
    const items = rep.items || [];
    const pay = referralPayout(items);
    const status = h('div', { role: 'status' });
    const payout = h('button', { class: 'btn', type: 'button', 'data-test': 'payout-csv' }, t('referrals.payout'));
    payout.addEventListener('click', async () => {
      payout.disabled = true;
      try {
        const csv = await getText(`/v1/referrals${query({ store: currentStore(), format: 'csv' })}`, 'text/csv');
        download(`tierflow-referral-payout-${new Date().toISOString().slice(0, 10)}.csv`, csv.replace(/^\ufeff/, ''));
        fill(status);
      } catch (err) {
        fill(status, problem(err));
      } finally {
        payout.disabled = false;
      }
    });
    const cust = (id) => link(`/app/customers/${encodeURIComponent(id)}`, {}, id);
    fill(box,
      h('section', { class: 'kpis three' },
        kpiBox(t('col.referrer'), int(items.length), 'referrers'),
        kpiBox(t('col.spend'), money(pay.spend), 'referral-spend'),
        kpiBox(t('col.reward'), money(pay.reward), 'referral-reward'),
      ),
      items.length ? h('p', {}, payout) : null,
      status,
      table({
        name: 'referrers',
        caption: t('report.referrals'),
        rows: items,
        columns: [
          { label: t('col.referrer'), value: (r) => r.referrerId, cell: (r) => cust(r.referrerId) },
          { label: t('col.referees'), value: (r) => (r.referees || []).length, cell: (r) => int((r.referees || []).length), num: true },
          { label: t('col.spend'), value: (r) => r.spend, cell: (r) => money(r.spend), num: true },
          { label: t('col.rate'), value: (r) => pct(r.rate), num: true },
          { label: t('col.reward'), value: (r) => r.reward, cell: (r) => h('strong', {}, money(r.reward)), num: true },
        ],
      }),
      table({
        name: 'referral-lines',
        caption: t('referrals.lines'),
        rows: pay.lines,
        columns: [
          { label: t('col.referrer'), value: (r) => r.referrerId, cell: (r) => cust(r.referrerId) },
          { label: t('col.referee'), value: (r) => r.refereeId, cell: (r) => cust(r.refereeId) },
          { label: t('col.spend'), value: (r) => r.spend, cell: (r) => money(r.spend), num: true },
          { label: t('col.rate'), value: (r) => pct(r.rate), num: true },
          { label: t('col.reward'), value: (r) => r.reward, cell: (r) => money(r.reward), num: true },
        ],
      }),
    );
  }
  load();
}
