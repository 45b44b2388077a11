// Sign-in with the staff token the identity provider issued (locally: make -s token …).

import { h, fill } from '../ui.js';
import { t } from '../i18n.js';
import { signIn } from '../auth.js';

export async function render(root, _params, ctx) {
  const input = h('textarea', { id: 'token', rows: 4, autocomplete: 'off', spellcheck: 'false', required: true, 'data-test': 'token-input', placeholder: 'eyJ…' });
  const msg = h('div', { role: 'alert', class: 'signin-msg' });
  if (ctx.reason) msg.append(h('p', { class: 'problem' }, t(ctx.reason)));
  const form = h(
    'form',
    { class: 'card signin', 'data-test': 'signin' },
    h('h1', {}, t('signin.title')),
    h('p', { class: 'muted' }, t('signin.intro')),
    h('label', { for: 'token' }, t('signin.token')),
    input,
    h('p', { class: 'muted small' }, t('signin.localHint')),
    h('button', { class: 'btn', type: 'submit', 'data-test': 'signin-go' }, t('signin.go')),
    msg,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const res = signIn(input.value);
    if (!res.ok) {
      fill(msg, h('p', { class: 'problem' }, t(res.reason)));
      return;
    }
    ctx.navigate('/app/', true);
  });
  root.append(form);
  input.focus();
}
