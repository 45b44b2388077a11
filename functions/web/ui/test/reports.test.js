// Unit tests of the report pages' pure helpers, the policy editor's draft handling, the
// API keys page's readers and the customer page's fixes: node --test (make test runs them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { dict, setLangForTest } from '../src/i18n.js';
import { matrix, matrixRows, per10k, fixed1, funnel, cohortGrid, followupBoard, messageRows, notSentGrid, addDecimal, sourcesTable, referralPayout, previewCheck, getPath, setPath, policyChanges, usd } from '../src/reports.js';
import { reasonLabel, label } from '../src/format.js';
import { isRefund, messageLine } from '../src/pages/customer.js';
import { secretOf, keyOf, keyStatus } from '../src/pages/apikeys.js';
import { lastPurchase } from '../src/tasks.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

test('a migration matrix adds up: rows are where customers came from, columns where they went', () => {
  const m = matrix([
    { from: 'A', to: 'A', customers: 10 },
    { from: 'A', to: 'B', customers: 3 },
    { from: 'B', to: 'A', customers: 2 },
    { from: 'none', to: 'C', customers: 5 },
    { from: 'C', to: '', customers: 1 },
  ]);
  assert.deepEqual(m.keys, ['A', 'B', 'C', 'none']);
  assert.equal(m.cells.A.B, 3);
  assert.equal(m.cells.C.none, 1, 'an empty "to" is no tier');
  assert.deepEqual(m.rowSums, { A: 13, B: 2, C: 1, none: 5 });
  assert.deepEqual(m.colSums, { A: 12, B: 3, C: 5, none: 1 });
  assert.equal(m.total, 21);
  assert.equal(m.moved, 11, 'everything off the diagonal');
  assert.equal(matrixRows(m).length, 16);
  assert.equal(matrixRows(m).reduce((n, r) => n + r.customers, 0), 21);
  const odd = matrix([{ from: 'VIP', to: 'A', customers: 1 }]);
  assert.deepEqual(odd.keys, ['A', 'B', 'C', 'none', 'VIP'], 'an unexpected key is kept, not dropped');
});

test('a policy preview is consistent only when its matrix sums to its customers', () => {
  const good = { customers: 6, changed: 2, matrix: [{ from: 'A', to: 'A', customers: 4 }, { from: 'A', to: 'B', customers: 2 }] };
  assert.equal(previewCheck(good).sumsToCustomers, true);
  assert.equal(previewCheck(good).matrix.moved, 2);
  assert.equal(previewCheck({ ...good, customers: 7 }).sumsToCustomers, false);
});

test('opt-out and complaint rates are per 10,000 sent, with one decimal', () => {
  assert.equal(per10k(3, 2000), 15);
  assert.equal(fixed1(per10k(1, 3000)), '3.3');
  assert.ok(Number.isNaN(per10k(1, 0)), 'no messages: no rate, not zero');
  assert.equal(fixed1(NaN), '—');
  const m = messageRows([
    { channel: 'sms', category: 'marketing', sent: 2000, delivered: 1990, optOuts: 3, complaints: 1 },
    { channel: 'email', category: 'service', sent: 1000, delivered: 990, optOuts: 0, complaints: 0, optOutPer10k: 0, complaintPer10k: 0 },
  ]);
  assert.equal(m.rows[0].optOutPer10k, 15, 'computed from the counts when the API leaves it out');
  assert.equal(m.rows[0].complaintPer10k, 5);
  assert.equal(m.total.sent, 3000);
  assert.equal(fixed1(m.total.optOutPer10k), '10.0', 'the total rate is of the totals, not an average of rates');
});

test('not-sent reasons pivot to days × reasons, newest day first, most frequent reason first', () => {
  const g = notSentGrid([
    { day: '2026-12-01', reason: 'quiet_hours', count: 4 },
    { day: '2026-12-02', reason: 'quiet_hours', count: 1 },
    { day: '2026-12-02', reason: 'opted_out', count: 2 },
    { day: '2026-12-02', reason: 'opted_out', count: 1 },
  ]);
  assert.deepEqual(g.reasons, ['quiet_hours', 'opted_out']);
  assert.deepEqual(g.rows.map((r) => r.day), ['2026-12-02', '2026-12-01']);
  assert.deepEqual(g.rows[0].counts, { quiet_hours: 1, opted_out: 3 });
  assert.equal(g.rows[0].total, 4);
  assert.equal(g.rows[1].counts.opted_out, 0);
});

test('every reason code of followup.Reasons() reads in words, in both languages', () => {
  const src = readFileSync(path.join(root, 'shared', 'followup', 'reason.go'), 'utf8');
  const codes = [...src.matchAll(/^\s*Reason\w+\s+Reason = "([a-z_]+)"/gm)].map((m) => m[1]);
  assert.ok(codes.length >= 20, `read ${codes.length} codes from reason.go`);
  for (const lang of ['zh', 'en']) {
    const missing = codes.filter((c) => !(`reason.${c}` in dict[lang]));
    assert.deepEqual(missing, [], `reason codes without a ${lang} label`);
  }
  setLangForTest('en');
  assert.equal(reasonLabel('quiet_hours'), 'the customer’s quiet hours');
  assert.equal(reasonLabel('a_new_code'), 'a_new_code', 'a code added later still shows');
  setLangForTest('zh');
  assert.equal(reasonLabel('opted_out'), '客户已退订');
});

test('a refund is marked as stored (refund: true), and as older items said (type: refund)', () => {
  assert.equal(isRefund({ amount: 5000, refund: true }), true);
  assert.equal(isRefund({ amount: 5000, type: 'refund' }), true);
  assert.equal(isRefund({ amount: 5000 }), false);
  assert.equal(isRefund(null), false);
});

test('a message not sent says why in words, and until when when deferred', () => {
  setLangForTest('en');
  const deferred = messageLine({ channel: 'sms', template: 'birthday', status: 'deferred', disposition: 'deferred', reason: 'quiet_hours', until: '2026-12-03T01:00:00Z' });
  assert.match(deferred, /^SMS · birthday · deferred: the customer’s quiet hours · until /);
  assert.doesNotMatch(deferred, /quiet_hours/, 'no raw code');
  const skipped = messageLine({ channel: 'email', template: 'promo', status: 'skipped', disposition: 'suppressed', reason: 'no_consent' });
  assert.equal(skipped, 'e-mail · promo · not sent: no marketing consent');
  setLangForTest('zh');
  assert.equal(messageLine({ channel: 'sms', template: 't', status: 'skipped', disposition: 'suppressed', reason: 'cap_marketing_daily' }), '短信 · t · 不发送: 营销消息当日已达上限');
  assert.equal(messageLine({ channel: 'sms', template: 't', status: 'sent' }), '短信 · t · 已发送', 'an item without a disposition reads its status');
});

test('the lifecycle funnel is in the order lead → churned, with shares', () => {
  const f = funnel([{ stage: 'active', customers: 6 }, { stage: 'lead', customers: 2 }, { stage: 'churned', customers: 2 }]);
  assert.deepEqual(f.map((r) => r.stage), ['lead', 'new', 'active', 'dormant', 'sleeping', 'churned']);
  assert.deepEqual(f.map((r) => r.customers), [2, 0, 6, 0, 0, 2]);
  assert.equal(f[2].share, 0.6);
});

test('a cohort grid has a column per month after, and a gap where a month is missing', () => {
  const g = cohortGrid([
    { month: '2024-04', tier: 'A', customers: 10, retained: [{ monthsAfter: 1, customers: 5, share: 0.5 }] },
    { month: '2024-03', tier: 'B', customers: 4, retained: [{ monthsAfter: 1, customers: 2 }, { monthsAfter: 3, customers: 1, share: 0.25 }] },
  ]);
  assert.deepEqual(g.offsets, [1, 2, 3]);
  assert.deepEqual(g.rows.map((r) => r.month), ['2024-03', '2024-04']);
  assert.equal(g.rows[0].cells[0].share, 0.5, 'share computed from counts when absent');
  assert.ok(Number.isNaN(g.rows[0].cells[1].share));
  assert.equal(g.rows[0].cells[2].share, 0.25);
});

test('the follow-up red list is the best on-time rates, the black list the most late', () => {
  const rows = followupBoard([
    { store: 'sh-01', staff: 'a', done: 10, onTime: 10, overdue: 0, escalated: 0 },
    { store: 'sh-01', staff: 'b', done: 10, onTime: 5, overdue: 5, escalated: 2 },
    { store: 'sh-01', staff: 'c', done: 0, onTime: 0, overdue: 0, escalated: 0 },
    { store: 'bj-01', staff: 'd', done: 8, onTime: 7, overdue: 1, escalated: 0 },
  ]);
  assert.deepEqual(rows.map((r) => r.staff), ['a', 'd', 'b', 'c']);
  assert.equal(rows[0].onTimeRate, 1);
  assert.equal(rows[1].onTimeRate, 7 / 9);
  assert.deepEqual(rows.map((r) => r.mark), ['red', 'red', 'red', '']);
  const late = followupBoard([
    { staff: 'x', done: 10, onTime: 10 }, { staff: 'y', done: 10, onTime: 9, overdue: 1 }, { staff: 'z', done: 10, onTime: 8, overdue: 2 },
    { staff: 'w', done: 10, onTime: 1, overdue: 9, escalated: 3 },
  ]);
  assert.deepEqual(late.map((r) => `${r.staff}:${r.mark}`), ['x:red', 'y:red', 'z:red', 'w:black']);
});

test('amounts add up to the cent from decimal strings', () => {
  assert.equal(addDecimal(['0.10', '0.20']), '0.30');
  assert.equal(addDecimal(['100', '-20.5', '3.05']), '82.55');
  assert.equal(addDecimal([]), '0.00');
  const s = sourcesTable([
    { source: 'wechat', campaign: 'spring', leads: 10, customers: 2, revenue: '300.50' },
    { source: 'baidu', campaign: '', leads: 4, customers: 1, revenue: '900' },
  ]);
  assert.deepEqual(s.rows.map((r) => r.source), ['baidu', 'wechat'], 'largest revenue first');
  assert.equal(s.total.revenue, '1200.50');
  assert.equal(s.total.conversion, 3 / 14);
});

test('the referral payout has one line per referee and the rewards add up', () => {
  const p = referralPayout([
    { referrerId: 'c1', rate: 0.1, spend: '1000.00', reward: '100.00', referees: [{ id: 'c2', spend: '600.00', reward: '60.00' }, { id: 'c3', spend: '400.00', reward: '40.00' }] },
    { referrerId: 'c4', rate: 0.05, spend: '10.10', reward: '0.51', referees: [{ id: 'c5', spend: '10.10', reward: '0.51' }] },
  ]);
  assert.equal(p.lines.length, 3);
  assert.deepEqual(p.lines[2], { referrerId: 'c4', rate: 0.05, refereeId: 'c5', spend: '10.10', reward: '0.51' });
  assert.equal(p.reward, '100.51');
  assert.equal(p.spend, '1010.10');
});

test('the policy editor changes only the fields it edits and lists them', () => {
  const base = { version: 3, tiers: { aMin: 14, bMin: 10 }, instantUpgrades: [{ name: 'x', windowSpendOver: '5000', tier: 'B' }] };
  const d = setPath(setPath(base, 'tiers.aMin', 15), 'instantUpgrades.0.windowSpendOver', '8000');
  assert.equal(base.tiers.aMin, 14, 'the policy in force is not touched');
  assert.equal(getPath(d, 'instantUpgrades.0.windowSpendOver'), '8000');
  assert.equal(d.instantUpgrades[0].tier, 'B');
  assert.deepEqual(policyChanges(base, d, ['tiers.aMin', 'tiers.bMin', 'instantUpgrades.0.windowSpendOver']), [
    { field: 'tiers.aMin', from: 14, to: 15 },
    { field: 'instantUpgrades.0.windowSpendOver', from: '5000', to: '8000' },
  ]);
  assert.deepEqual(setPath({}, 'a.0.b', 1), { a: [{ b: 1 }] });
});

test('a run’s cost estimate shows small amounts', () => {
  assert.equal(usd(0.0042), '$0.0042');
  assert.equal(usd(1.234), '$1.23');
  assert.equal(usd(0), '$0');
  assert.equal(usd(undefined), '—');
});

test('an API key’s secret and status are read from the answer', () => {
  assert.equal(secretOf({ key: { id: 'k1', name: 'till' }, secret: 'tfk_k1_abc' }), 'tfk_k1_abc', 'the contract: {key, secret}');
  assert.equal(keyOf({ key: { id: 'k1', name: 'till' }, secret: 's' }).name, 'till');
  assert.equal(secretOf({ id: 'k1', secret: 'tfk_abc' }), 'tfk_abc');
  assert.equal(secretOf({ id: 'k1', key: 'tfk_def' }), 'tfk_def');
  assert.equal(secretOf({ id: 'k1' }), '');
  assert.equal(keyStatus({ id: 'k' }), 'active');
  assert.equal(keyStatus({ id: 'k', revokedAt: '2026-01-01T00:00:00Z' }), 'revoked');
  assert.equal(keyStatus({ id: 'k', expiresAt: '2026-01-01T00:00:00Z' }, Date.parse('2026-02-01')), 'expired');
  assert.ok('keys.expired' in dict.en && 'keys.revoked' in dict.zh && 'keys.active' in dict.zh);
});

test('a task card reads the last visit from the task’s customer summary or a full customer', () => {
  assert.equal(lastPurchase({ tier: 'A', lastPurchase: '2026-11-02' }), '2026-11-02');
  assert.equal(lastPurchase({ aggregates: { lastPurchase: '2026-10-01' } }), '2026-10-01');
  assert.equal(lastPurchase({}), '');
});

test('codes the API sends read in words, unknown ones as themselves', () => {
  setLangForTest('en');
  assert.equal(label('channel', 'sms'), 'SMS');
  assert.equal(label('deliv', 'bounced'), 'bounced');
  assert.equal(label('perm', 'leads:write'), 'write leads');
  assert.equal(label('channel', 'fax'), 'fax');
  assert.equal(label('channel', ''), '');
});
