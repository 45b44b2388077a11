// Pure helpers behind the report pages: they turn the API's rows into what a table or
// chart shows (matrices with their sums, rates per 10,000, funnels, cohort grids, the
// follow-up red/black list). No DOM here, so node --test covers every one of them.

export const TIER_KEYS = ['A', 'B', 'C', 'none'];
export const STAGES = ['lead', 'new', 'active', 'dormant', 'sleeping', 'churned'];

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

// matrix folds [{from, to, customers}] into a square grid over keys (A, B, C, none by
// default; any other key the API sends is added at the end), with the row sums (where
// customers came from), column sums (where they went), the total, and how many moved
// (the off-diagonal cells).
export function matrix(rows, keys = TIER_KEYS) {
  const ks = [...keys];
  const key = (v) => (v === undefined || v === null || v === '' ? 'none' : String(v));
  for (const r of rows || []) {
    for (const k of [key(r.from), key(r.to)]) if (!ks.includes(k)) ks.push(k);
  }
  const cells = Object.fromEntries(ks.map((f) => [f, Object.fromEntries(ks.map((t) => [t, 0]))]));
  for (const r of rows || []) cells[key(r.from)][key(r.to)] += num(r.customers);
  const rowSums = Object.fromEntries(ks.map((f) => [f, ks.reduce((n, t) => n + cells[f][t], 0)]));
  const colSums = Object.fromEntries(ks.map((t) => [t, ks.reduce((n, f) => n + cells[f][t], 0)]));
  const total = ks.reduce((n, f) => n + rowSums[f], 0);
  const moved = ks.reduce((n, f) => n + ks.reduce((m, t) => m + (f === t ? 0 : cells[f][t]), 0), 0);
  return { keys: ks, cells, rowSums, colSums, total, moved };
}

// matrixRows lists a matrix cell by cell (from, to, customers) for the CSV export.
export function matrixRows(m) {
  const out = [];
  for (const f of m.keys) for (const t of m.keys) out.push({ from: f, to: t, customers: m.cells[f][t] });
  return out;
}

// per10k is how many of n per 10,000 of base: 3 opt-outs in 2,000 messages → 15.
// NaN without a base, so the page writes "—" instead of a made-up zero.
export function per10k(n, base) {
  if (!(typeof base === 'number' && base > 0) || typeof n !== 'number' || !Number.isFinite(n)) return NaN;
  return (n / base) * 10000;
}

// fixed1 writes a number with one decimal ("15.0"), or "—".
export function fixed1(v) {
  return typeof v === 'number' && Number.isFinite(v) ? (Math.round(v * 10) / 10).toFixed(1) : '—';
}

// ratio is a share a/b (0–1), NaN when b is 0.
export function ratio(a, b) {
  return typeof b === 'number' && b > 0 && typeof a === 'number' ? a / b : NaN;
}

// funnel orders the stages lead → churned and adds each stage's share of all customers.
export function funnel(stages) {
  const byStage = new Map((stages || []).map((s) => [s.stage, num(s.customers)]));
  const total = STAGES.reduce((n, s) => n + (byStage.get(s) || 0), 0);
  return STAGES.map((s) => ({ stage: s, customers: byStage.get(s) || 0, share: ratio(byStage.get(s) || 0, total) }));
}

// cohortGrid lays the cohorts out as a table: one row per (month, tier), one column per
// month after the first purchase, the share retained in each cell (NaN when missing).
export function cohortGrid(cohorts) {
  const list = (cohorts || []).slice().sort((a, b) => (a.month === b.month ? String(a.tier).localeCompare(String(b.tier)) : String(a.month).localeCompare(String(b.month))));
  let max = 0;
  for (const c of list) for (const r of c.retained || []) max = Math.max(max, num(r.monthsAfter));
  const offsets = Array.from({ length: max }, (_, i) => i + 1);
  const rows = list.map((c) => {
    const by = new Map((c.retained || []).map((r) => [r.monthsAfter, r]));
    return {
      month: c.month,
      tier: c.tier || 'none',
      customers: num(c.customers),
      cells: offsets.map((o) => {
        const r = by.get(o);
        if (!r) return { monthsAfter: o, customers: NaN, share: NaN };
        const share = typeof r.share === 'number' ? r.share : ratio(num(r.customers), num(c.customers));
        return { monthsAfter: o, customers: num(r.customers), share };
      }),
    };
  });
  return { offsets, rows };
}

// followupBoard ranks staff by the share of their tasks done on time (the seeds' red
// list: the best; black list: the most overdue or escalated). A row: {store, staff, done,
// onTime, overdue, escalated} → with onTimeRate = onTime / (done + overdue) and a mark
// 'red' for the top three with work done, 'black' for the three worst with anything late.
export function followupBoard(rows) {
  const list = (rows || []).map((r) => {
    const done = num(r.done);
    const overdue = num(r.overdue);
    return { ...r, done, onTime: num(r.onTime), overdue, escalated: num(r.escalated), onTimeRate: ratio(num(r.onTime), done + overdue) };
  });
  const rate = (r) => (Number.isFinite(r.onTimeRate) ? r.onTimeRate : -1);
  list.sort((a, b) => rate(b) - rate(a) || b.onTime - a.onTime || a.overdue - b.overdue || String(a.staff).localeCompare(String(b.staff)));
  const red = new Set(list.filter((r) => r.done > 0 && rate(r) > 0).slice(0, 3));
  const late = list.filter((r) => r.overdue + r.escalated > 0 && !red.has(r));
  late.sort((a, b) => b.overdue + b.escalated - (a.overdue + a.escalated) || rate(a) - rate(b));
  const black = new Set(late.slice(0, 3));
  return list.map((r) => ({ ...r, mark: red.has(r) ? 'red' : black.has(r) ? 'black' : '' }));
}

// messageRows adds rates per 10,000 sent to each channel/category row (recomputed from
// the counts when the API leaves them out) and a total row.
export function messageRows(rows) {
  const out = (rows || []).map((r) => ({
    channel: r.channel,
    category: r.category,
    sent: num(r.sent),
    delivered: num(r.delivered),
    optOuts: num(r.optOuts),
    complaints: num(r.complaints),
    optOutPer10k: typeof r.optOutPer10k === 'number' ? r.optOutPer10k : per10k(num(r.optOuts), num(r.sent)),
    complaintPer10k: typeof r.complaintPer10k === 'number' ? r.complaintPer10k : per10k(num(r.complaints), num(r.sent)),
  }));
  const sum = (k) => out.reduce((n, r) => n + r[k], 0);
  const total = { channel: '', category: '', sent: sum('sent'), delivered: sum('delivered'), optOuts: sum('optOuts'), complaints: sum('complaints'), total: true };
  total.optOutPer10k = per10k(total.optOuts, total.sent);
  total.complaintPer10k = per10k(total.complaints, total.sent);
  return { rows: out, total };
}

// notSentGrid pivots [{day, reason, count}] into days (newest first) × reasons (most
// frequent first), with each day's total.
export function notSentGrid(items) {
  const days = new Map();
  const byReason = new Map();
  for (const it of items || []) {
    const n = num(it.count);
    if (!days.has(it.day)) days.set(it.day, new Map());
    const d = days.get(it.day);
    d.set(it.reason, (d.get(it.reason) || 0) + n);
    byReason.set(it.reason, (byReason.get(it.reason) || 0) + n);
  }
  const reasons = [...byReason.entries()].sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0]))).map(([r]) => r);
  const rows = [...days.keys()].sort().reverse().map((day) => {
    const d = days.get(day);
    const counts = Object.fromEntries(reasons.map((r) => [r, d.get(r) || 0]));
    return { day, counts, total: reasons.reduce((n, r) => n + counts[r], 0) };
  });
  return { reasons, rows, totals: Object.fromEntries(byReason) };
}

// decimal reads an amount the API sends as a decimal string (or a number).
export function decimal(v) {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : NaN;
}

// addDecimal sums decimal strings exactly to the cent (no 0.1 + 0.2 drift), as a string.
export function addDecimal(values) {
  let cents = 0n;
  for (const v of values) {
    const s = String(v ?? '').trim();
    const m = /^(-)?(\d+)(?:\.(\d{1,2}))?$/.exec(s);
    if (!m) continue;
    const c = BigInt(m[2]) * 100n + BigInt((m[3] || '0').padEnd(2, '0'));
    cents += m[1] ? -c : c;
  }
  const neg = cents < 0n;
  const a = neg ? -cents : cents;
  return `${neg ? '-' : ''}${a / 100n}.${String(a % 100n).padStart(2, '0')}`;
}

// sourcesTable sorts UTM rows by revenue and adds conversion (customers per lead) and a
// total row.
export function sourcesTable(rows) {
  const out = (rows || []).map((r) => ({ source: r.source || '', campaign: r.campaign || '', leads: num(r.leads), customers: num(r.customers), revenue: r.revenue ?? '0', conversion: ratio(num(r.customers), num(r.leads)) }));
  out.sort((a, b) => decimal(b.revenue) - decimal(a.revenue) || b.leads - a.leads);
  const total = { source: '', campaign: '', leads: out.reduce((n, r) => n + r.leads, 0), customers: out.reduce((n, r) => n + r.customers, 0), revenue: addDecimal(out.map((r) => r.revenue)), total: true };
  total.conversion = ratio(total.customers, total.leads);
  return { rows: out, total };
}

// referralPayout flattens the referral ledger to one line per referee (what a payout
// sheet needs), and totals the rewards.
export function referralPayout(items) {
  const lines = [];
  for (const it of items || []) {
    for (const r of it.referees || []) lines.push({ referrerId: it.referrerId, rate: it.rate, refereeId: r.id, spend: r.spend ?? '0', reward: r.reward ?? '0' });
  }
  return { lines, reward: addDecimal((items || []).map((it) => it.reward)), spend: addDecimal((items || []).map((it) => it.spend)) };
}

// previewCheck reads a policy preview's matrix and says whether its cells add up to the
// customers it covers (always so for an exact preview; a sample scaled to the base may be
// off by rounding).
export function previewCheck(p) {
  const m = matrix(p && p.matrix);
  return { matrix: m, sumsToCustomers: m.total === num(p && p.customers) };
}

// getPath / setPath read and write a policy field named like "lifecycle.dormantDays" or
// "instantUpgrades.0.windowSpendOver"; setPath returns a changed copy.
export function getPath(obj, path) {
  return path.split('.').reduce((o, k) => (o === undefined || o === null ? undefined : o[k]), obj);
}

export function setPath(obj, path, value) {
  const keys = path.split('.');
  const root = structuredClone(obj);
  let o = root;
  for (let i = 0; i < keys.length - 1; i++) {
    if (o[keys[i]] === undefined || o[keys[i]] === null) o[keys[i]] = /^\d+$/.test(keys[i + 1]) ? [] : {};
    o = o[keys[i]];
  }
  o[keys[keys.length - 1]] = value;
  return root;
}

// policyChanges lists the fields whose value differs between two policies, for the
// "what you are about to change" line of the editor.
export function policyChanges(before, after, fields) {
  return fields.filter((f) => JSON.stringify(getPath(before, f)) !== JSON.stringify(getPath(after, f))).map((f) => ({ field: f, from: getPath(before, f), to: getPath(after, f) }));
}

// usd writes a cost estimate in dollars with enough digits to see small costs.
export function usd(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  if (v === 0) return '$0';
  if (v < 0.01) return `$${v.toPrecision(2)}`;
  return `$${v.toFixed(2)}`;
}
