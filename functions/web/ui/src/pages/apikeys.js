// API keys for machines (admins): create one scoped to stores and permissions (the secret
// is shown once, here, and never again), list them with their last use, rotate, revoke.
// POST/GET /v1/api-keys, POST /v1/api-keys/{id}/rotate, DELETE /v1/api-keys/{id}.

import { get, post, del } from '../api.js';
import { h, fill, loading, problem, failure, table, badge } from '../ui.js';
import { t } from '../i18n.js';
import { dateTime, label } from '../format.js';

export const PERMISSIONS = ['transactions:write', 'leads:write', 'customers:read', 'events:write'];

// secretOf reads the one-time secret from a create or rotate answer.
export function secretOf(res) {
  if (!res) return '';
  for (const v of [res.secret, res.key, res.apiKey]) if (typeof v === 'string' && v) return v;
  return '';
}

// keyOf reads the key's description from a create or rotate answer ({key: {...}, secret}).
export function keyOf(res) {
  return (res && typeof res.key === 'object' && res.key) || res || {};
}

// keyStatus is what a listed key is: revoked, expired or active.
export function keyStatus(k, now = Date.now()) {
  if (k.revokedAt || k.revoked || k.status === 'revoked') return 'revoked';
  if (k.expiresAt && new Date(k.expiresAt).getTime() <= now) return 'expired';
  return 'active';
}

export async function render(root) {
  const name = h('input', { id: 'k-name', required: true, maxlength: 80, autocomplete: 'off', 'data-test': 'key-name' });
  const stores = h('input', { id: 'k-stores', required: true, placeholder: 'sh-01, bj-01', autocomplete: 'off', 'data-test': 'key-stores' });
  const perms = PERMISSIONS.map((p) => ({ p, box: h('input', { type: 'checkbox', id: `k-perm-${p}`, value: p, 'data-test': `key-perm-${p}` }) }));
  const created = h('div', { 'aria-live': 'polite', 'data-test': 'key-created' });
  const list = h('div', { 'data-test': 'key-list' });
  const form = h(
    'form',
    { class: 'card key-form', 'data-test': 'key-form' },
    h('div', { class: 'field' }, h('label', { for: 'k-name' }, t('keys.name')), name),
    h('div', { class: 'field' }, h('label', { for: 'k-stores' }, t('keys.stores')), stores),
    h('fieldset', {}, h('legend', {}, t('keys.permissions')), h('div', { class: 'checks' }, perms.map(({ p, box }) => h('label', { class: 'check', for: box.id }, box, ' ', label('perm', p), h('code', { class: 'small muted' }, ` ${p}`))))),
    h('button', { class: 'btn', type: 'submit', 'data-test': 'key-create' }, t('keys.create')),
  );
  root.append(h('h1', {}, t('keys.title')), h('p', { class: 'muted' }, t('keys.intro')), form, created, list);

  const showSecret = (res) => {
    const secret = secretOf(res);
    const copy = h('button', { class: 'btn secondary', type: 'button', 'data-test': 'key-copy' }, t('keys.copy'));
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(secret);
        copy.textContent = t('keys.copied');
      } catch {
        out.select();
      }
    });
    const out = h('input', { class: 'secret', readonly: true, value: secret, 'aria-label': t('keys.secretOnce'), 'data-test': 'key-secret' });
    fill(created, h('div', { class: 'note' }, h('strong', {}, t('keys.secretOnce')), h('div', { class: 'secret-row' }, out, copy), h('p', { class: 'muted small' }, `${keyOf(res).name || ''} · ${keyOf(res).id || ''}`)));
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {
      name: name.value.trim(),
      stores: stores.value.split(/[\s,]+/).filter(Boolean),
      permissions: perms.filter(({ box }) => box.checked).map(({ p }) => p),
    };
    try {
      const res = await post('/v1/api-keys', body);
      showSecret(res);
      form.reset();
      load();
    } catch (err) {
      fill(created, failure(err, '/v1/api-keys'));
    }
  });

  async function load() {
    fill(list, loading());
    let res;
    try {
      res = await get('/v1/api-keys');
    } catch (err) {
      fill(list, failure(err, '/v1/api-keys'));
      return;
    }
    const items = res.items || res.keys || [];
    const act = async (btn, fn) => {
      btn.disabled = true;
      try {
        await fn();
        load();
      } catch (err) {
        fill(created, problem(err));
        btn.disabled = false;
      }
    };
    fill(list,
      table({
        name: 'api-keys',
        caption: t('keys.list'),
        rows: items,
        columns: [
          { label: t('keys.name'), value: (k) => k.name || '', cell: (k) => h('span', { 'data-test': 'key-row-name' }, k.name || '—') },
          { label: t('col.keyId'), value: (k) => k.id },
          { label: t('col.prefix'), value: (k) => k.hint || '', cell: (k) => (k.hint ? h('code', {}, `${k.hint}…`) : '') },
          { label: t('keys.rate'), value: (k) => k.ratePerMinute ?? '', cell: (k) => (k.ratePerMinute ? t('keys.perMinute', { n: k.ratePerMinute }) : ''), num: true },
          { label: t('col.expires'), value: (k) => k.expiresAt || '', cell: (k) => (k.expiresAt ? dateTime(k.expiresAt) : '') },
          { label: t('col.stores'), value: (k) => (k.stores || []).join(' ') },
          { label: t('col.permissions'), value: (k) => (k.permissions || []).join(' '), cell: (k) => (k.permissions || []).map((p) => label('perm', p)).join(', ') },
          { label: t('col.created'), value: (k) => k.createdAt || '', cell: (k) => [dateTime(k.createdAt), k.createdBy ? h('span', { class: 'muted small' }, ` · ${k.createdBy}`) : null] },
          { label: t('col.lastUsed'), value: (k) => k.lastUsedAt || '', cell: (k) => dateTime(k.lastUsedAt) },
          { label: t('col.status'), value: (k) => keyStatus(k), cell: (k) => badge(t(`keys.${keyStatus(k)}`), `key-${keyStatus(k)}`) },
          {
            label: '',
            value: () => '',
            cell: (k) => {
              if (keyStatus(k) !== 'active') return '';
              const rotate = h('button', { class: 'btn secondary', type: 'button', 'data-test': `key-rotate-${k.id}` }, t('keys.rotate'));
              rotate.addEventListener('click', () => act(rotate, async () => showSecret(await post(`/v1/api-keys/${encodeURIComponent(k.id)}/rotate`))));
              const revoke = h('button', { class: 'btn secondary danger', type: 'button', 'data-test': `key-revoke-${k.id}` }, t('keys.revoke'));
              revoke.addEventListener('click', () => {
                if (!confirm(t('keys.confirmRevoke', { name: k.name || k.id }))) return;
                act(revoke, () => del(`/v1/api-keys/${encodeURIComponent(k.id)}`));
              });
              return h('span', { class: 'row-actions' }, rotate, revoke);
            },
          },
        ],
      }),
    );
  }
  load();
}
