// Numbers, money, dates and durations in the chosen language.

import { lang, t, has } from './i18n.js';

const locale = () => (lang() === 'zh' ? 'zh-CN' : 'en-GB');

// pct writes a share (0–1) as a percentage with one decimal: 0.86918 → "86.9 %".
export function pct(share) {
  if (typeof share !== 'number' || !Number.isFinite(share)) return '—';
  return `${(Math.round(share * 1000) / 10).toFixed(1)} %`;
}

export function int(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
  return new Intl.NumberFormat(locale()).format(n);
}

// money formats an amount in major units, given as a number or a decimal string.
export function money(amount, currency = 'CNY') {
  const v = typeof amount === 'string' ? Number(amount) : amount;
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  return new Intl.NumberFormat(locale(), { style: 'currency', currency, maximumFractionDigits: 0 }).format(v);
}

// minor converts the API's minor units (cents, fen) to major units.
export const minor = (n) => (typeof n === 'number' ? n / 100 : NaN);

export function dateTime(iso) {
  const d = iso instanceof Date ? iso : new Date(iso);
  if (!iso || Number.isNaN(d.getTime()) || d.getFullYear() < 1971) return '—';
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

export function date(iso) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime()) || d.getFullYear() < 1971) return '—';
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium' }).format(d);
}

// duration writes milliseconds as "1.9 s", "2 min 5 s", "1 h 3 min".
export function duration(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 60000) return t('unit.seconds', { n: (Math.round(ms / 100) / 10).toFixed(1) });
  const s = Math.round(ms / 1000);
  if (s < 3600) return t('unit.minSec', { m: Math.floor(s / 60), s: s % 60 });
  return t('unit.hourMin', { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
}

// relative says how far a deadline is from now: "in 3 h", "overdue by 20 min".
export function relative(iso, now = Date.now()) {
  const d = new Date(iso).getTime();
  if (Number.isNaN(d)) return '—';
  const diff = d - now;
  const abs = Math.abs(diff);
  let span;
  if (abs < 3600e3) span = t('unit.minutes', { n: Math.max(1, Math.round(abs / 60e3)) });
  else if (abs < 48 * 3600e3) span = t('unit.hours', { n: Math.round(abs / 3600e3) });
  else span = t('unit.days', { n: Math.round(abs / 86400e3) });
  return diff < 0 ? t('time.overdueBy', { span }) : t('time.in', { span });
}

// label reads a code the API sends (a reason, a channel, a disposition) in the chosen
// language: the dictionary's word for prefix.code, or the code itself when it has none
// (a code added later still shows, and the dictionary test lists the known ones).
export function label(prefix, code) {
  if (code === undefined || code === null || code === '') return '';
  const k = `${prefix}.${code}`;
  return has(k) ? t(k) : String(code);
}

// reasonLabel is why a message was not sent, from followup.Reasons() (docs/followup.md).
export const reasonLabel = (code) => label('reason', code);
