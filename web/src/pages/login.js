import { h, notice } from '../dom.js';
import { registerPage } from '../pages.js';

const ERRORS = {
  state: 'The sign-in link expired or was not started here. Try again.',
  nonce: 'The identity provider’s answer did not match this sign-in. Try again.',
  token: 'The identity provider’s token could not be verified.',
  org: 'Your account is not in an organisation or team that may use this opshub.',
  provider: 'The identity provider could not be reached. Try again, or use a password.',
};

function params() {
  const q = (location.hash.split('?')[1] || '');
  return new URLSearchParams(q);
}

registerPage({
  id: 'login',
  route: /^\/login$/,
  title: 'Sign in',
  public: true,
  render(root, _params, ctx) {
    const p = params();
    const next = p.get('next') && p.get('next').startsWith('/') ? p.get('next') : '/';
    const err = h('div', { id: 'login-error', 'aria-live': 'assertive' });
    if (p.get('error')) err.append(notice('error', 'Sign-in refused', ERRORS[p.get('error')] || p.get('error')));
    const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true });
    const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password',
      required: true });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
    const form = h('form', { class: 'card login', novalidate: true },
      h('h1', {}, 'Sign in to opshub'),
      err,
      h('label', { for: 'username' }, 'Username'), user,
      h('label', { for: 'password' }, 'Password'), pass,
      submit);
    const sso = h('div', { class: 'sso' });
    form.append(sso);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.replaceChildren();
      if (!user.value || !pass.value) {
        err.append(notice('error', 'Missing', 'Enter your username and password.'));
        return;
      }
      submit.disabled = true;
      try {
        const r = await ctx.api('/api/v1/auth/login', {
          method: 'POST', body: { username: user.value, password: pass.value, cookie: true },
        });
        ctx.setMe(r.user || null);
        ctx.navigate(next);
      } catch (ex) {
        const msg = ex.status === 429 ? 'Too many attempts. Wait a moment, then try again.'
          : ex.status === 401 ? 'The username or password is wrong.' : ex.message;
        err.append(notice('error', 'Sign-in failed', msg));
        pass.value = '';
        pass.focus();
      } finally {
        submit.disabled = false;
      }
    });
    root.append(form);
    user.focus();
    ctx.api('/api/v1/auth/providers').then((r) => {
      const list = (r && r.providers) || [];
      if (!list.length) return;
      sso.append(h('p', { class: 'muted' }, 'or'));
      for (const pr of list) {
        sso.append(h('a', { class: 'button', href: pr.start, id: `sso-${pr.id}` }, `Sign in with ${pr.name}`));
      }
    }).catch(() => { /* no single sign-on configured in this build */ });
  },
});
