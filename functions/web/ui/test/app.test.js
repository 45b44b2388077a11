// Unit tests of the app's pure parts: node --test (make test runs them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { dict, pick, t, setLangForTest } from '../src/i18n.js';
import { toCSV } from '../src/csv.js';
import { paretoPoints, shareAt } from '../src/pareto.js';
import { pct, duration } from '../src/format.js';
import { decodeClaims, takeTokenFromHash } from '../src/auth.js';
import { readProblem } from '../src/api.js';

const src = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');
const sources = [...readdirSync(src).filter((f) => f.endsWith('.js')).map((f) => path.join(src, f)),
  ...readdirSync(path.join(src, 'pages')).map((f) => path.join(src, 'pages', f))].map((f) => readFileSync(f, 'utf8')).join('\n');

test('both languages have exactly the same words', () => {
  const zh = Object.keys(dict.zh).sort();
  const en = Object.keys(dict.en).sort();
  assert.deepEqual(zh.filter((k) => !en.includes(k)), [], 'in Chinese only');
  assert.deepEqual(en.filter((k) => !zh.includes(k)), [], 'in English only');
  for (const [k, v] of Object.entries(dict.zh)) {
    const vars = (s) => (s.match(/\{\w+\}/g) || []).sort().join();
    assert.equal(vars(v), vars(dict.en[k]), `placeholders of ${k}`);
  }
});

test('every word the code asks for is in the dictionary', () => {
  const used = [...sources.matchAll(/\bt\('([\w.]+)'/g)].map((m) => m[1]);
  const reasons = [...sources.matchAll(/reason: '([\w.]+)'/g)].map((m) => m[1]);
  const missing = [...new Set([...used, ...reasons])].filter((k) => !(k in dict.en));
  assert.deepEqual(missing, []);
  // Keys built from data: every value the API can send has a word.
  for (const prefix of ['stage.lead', 'stage.new', 'stage.active', 'stage.dormant', 'stage.sleeping', 'stage.churned',
    'outcome.reached', 'outcome.no_answer', 'outcome.wrong_number', 'outcome.complaint', 'outcome.booked', 'outcome.declined',
    'risk.high', 'risk.medium', 'risk.low', 'role.admin', 'role.clinician', 'role.agent', 'run.status.done',
    'tasks.view.mine', 'tasks.view.store', 'tasks.view.overdue', 'grade.hot', 'grade.warm', 'grade.cold']) {
    assert.ok(prefix in dict.en, prefix);
  }
});

test('the language defaults to the browser’s first supported one', () => {
  const cases = [
    [['zh-CN', 'en'], 'zh'],
    [['zh-TW'], 'zh'],
    [['en-GB', 'zh-CN'], 'en'],
    [['fr-FR', 'zh'], 'zh'],
    [['fr-FR'], 'en'],
    [[], 'en'],
  ];
  for (const [langs, want] of cases) assert.equal(pick(langs), want, langs.join());
});

test('placeholders are filled', () => {
  setLangForTest('en');
  assert.equal(t('tasks.summary', { n: 3, overdue: 1, later: 2 }), '3 calls today, 1 overdue; 2 later.');
  setLangForTest('zh');
  assert.equal(t('time.overdueBy', { span: '2 小时' }), '已逾期 2 小时');
});

test('the top-20 % share is a percentage with one decimal', () => {
  assert.equal(pct(0.8691830434915493), '86.9 %');
  assert.equal(pct(0.8695), '87.0 %');
  assert.equal(pct(1), '100.0 %');
  assert.equal(pct(0), '0.0 %');
  assert.equal(pct(undefined), '—');
});

test('a run duration reads in seconds, then minutes', () => {
  setLangForTest('en');
  assert.equal(duration(1900), '1.9 s');
  assert.equal(duration(125000), '2 min 5 s');
  assert.equal(duration(NaN), '—');
});

test('CSV quotes what needs quoting and defuses spreadsheet formulas', () => {
  const cols = [{ label: 'name', value: (r) => r.name }, { label: 'amount', value: (r) => r.amount }];
  const csv = toCSV(cols, [{ name: 'Zhou, "Wei"', amount: '-12.50' }, { name: '=HYPERLINK("x")', amount: 3 }, { name: '多行\n文本', amount: null }]);
  assert.equal(csv, 'name,amount\r\n"Zhou, ""Wei""",-12.50\r\n"\'=HYPERLINK(""x"")",3\r\n"多行\n文本",\r\n');
});

test('the Pareto curve is read only when it is well formed', () => {
  const curve = [{ customerShare: 0.2, revenueShare: 0.78 }, { customerShare: 0.5, revenueShare: 0.95 }, { customerShare: 1, revenueShare: 1 }];
  assert.deepEqual(paretoPoints(curve), [[0, 0], [20, 78], [50, 95], [100, 100]]);
  assert.equal(shareAt(paretoPoints(curve), 0.2), 0.78);
  assert.equal(Math.round(shareAt(paretoPoints(curve), 0.35) * 1000) / 1000, 0.865);
  assert.equal(paretoPoints(undefined), null, 'a report without the curve');
  assert.equal(paretoPoints([{ customerShare: 1, revenueShare: 1 }]), null, 'one point is no curve');
  assert.equal(paretoPoints([{ customerShare: 0.5, revenueShare: 0.9 }, { customerShare: 0.4, revenueShare: 0.95 }]), null, 'shares must ascend');
  assert.equal(paretoPoints([{ customerShare: 0.2, revenueShare: 0.9 }, { customerShare: 1, revenueShare: 0.8 }]), null, 'a cumulative share cannot fall');
});

test('a token in the address signs in and leaves the address', () => {
  const store = new Map();
  globalThis.sessionStorage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v), removeItem: (k) => store.delete(k) };
  const payload = Buffer.from(JSON.stringify({ sub: 'a1', tierflow_role: 'agent', tierflow_stores: 'sh-01', exp: 4102444800 })).toString('base64url');
  const tok = `eyJhbGciOiJFUzI1NiJ9.${payload}.sig`;
  let replaced = null;
  const res = takeTokenFromHash({ hash: `#token=${tok}`, pathname: '/app/', search: '' }, { replaceState: (_s, _t, url) => (replaced = url) });
  assert.equal(res.ok, true);
  assert.equal(replaced, '/app/');
  assert.equal(store.get('tierflow.token'), tok);
  assert.equal(decodeClaims(tok).tierflow_role, 'agent');
  assert.equal(decodeClaims('not-a-token'), null);
  const expired = `x.${Buffer.from(JSON.stringify({ exp: 1 })).toString('base64url')}.y`;
  assert.deepEqual(takeTokenFromHash({ hash: `#token=${expired}`, pathname: '/app/', search: '' }, { replaceState() {} }), { ok: false, reason: 'signin.expired' });
});

test('API errors are read from problem+json and from API Gateway’s own answers', () => {
  assert.equal(readProblem(400, { title: 'Bad Request', detail: 'd', errors: [{ field: 'q' }] }).errors[0].field, 'q');
  assert.equal(readProblem(401, { message: 'Unauthorized' }).title, 'Unauthorized');
  assert.equal(readProblem(502, null).title, 'HTTP 502');
});
