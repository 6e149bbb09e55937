import { api, setUnauthorizedHandler } from './api.js';
import { h, clear, notice } from './dom.js';
import { allPages, match, ROLES } from './pages.js';
import { stopLive } from './live.js';
import './pages/login.js';
import './pages/overview.js';
import './pages/check.js';
import './pages/alerts.js';
import './pages/notifications.js';
import './pages/silences.js';
import './pages/incidents.js';
import './pages/oncall.js';
import './pages/admin.js';
import './app.css';

const state = { me: null, cleanup: null };

function can(role) {
  return !!state.me && (ROLES[state.me.role] || 0) >= (ROLES[role] || 99);
}

export function navigate(path) {
  if (location.hash !== `#${path}`) location.hash = `#${path}`;
  else render();
}

// Light or dark: the system's unless the user chose (kept in localStorage).
function applyTheme() {
  const t = localStorage.getItem('opshub-theme');
  if (t) document.documentElement.dataset.theme = t;
  else delete document.documentElement.dataset.theme;
}

function themeButton() {
  const b = h('button', { type: 'button', class: 'ghost', id: 'theme-toggle' }, 'Theme');
  const label = () => {
    const t = localStorage.getItem('opshub-theme') || 'system';
    b.textContent = `Theme: ${t}`;
    b.setAttribute('aria-label', `Colour theme: ${t} (change)`);
  };
  b.addEventListener('click', () => {
    const order = ['system', 'light', 'dark'];
    const cur = localStorage.getItem('opshub-theme') || 'system';
    const next = order[(order.indexOf(cur) + 1) % order.length];
    if (next === 'system') localStorage.removeItem('opshub-theme');
    else localStorage.setItem('opshub-theme', next);
    applyTheme();
    label();
  });
  label();
  return b;
}

async function logout() {
  try { await api('/api/v1/auth/logout', { method: 'POST', body: { cookie: true } }); } catch { /* gone anyway */ }
  state.me = null;
  stopLive();
  navigate('/login');
}

function shell(current) {
  const nav = h('nav', { 'aria-label': 'Main' }, h('ul', {},
    allPages().filter((p) => p.nav !== undefined && can(p.role)).sort((a, b) => a.nav - b.nav)
      .map((p) => h('li', {}, h('a', { href: `#${p.navPath || '/'}`, 'aria-current': p === current ? 'page' : null },
        p.title)))));
  return h('header', { class: 'top' },
    h('a', { href: '#main', class: 'skip' }, 'Skip to content'),
    h('a', { href: '#/', class: 'brand' }, 'opshub'),
    nav,
    h('div', { class: 'who' }, themeButton(),
      h('span', { class: 'user', title: `role: ${state.me.role}` }, `${state.me.name} (${state.me.role})`),
      h('button', { type: 'button', class: 'ghost', onclick: logout }, 'Log out')));
}

async function render() {
  const app = document.getElementById('app');
  const path = location.hash.replace(/^#/, '') || '/';
  if (state.cleanup) { try { state.cleanup(); } catch { /* ignore */ } state.cleanup = null; }
  const found = match(path.split('?')[0]);
  const page = found ? found.page : null;
  if (page && page.public) {
    clear(app);
    const main = h('main', { id: 'main', tabindex: '-1' });
    app.append(main);
    document.title = `${page.title} · opshub`;
    state.cleanup = page.render(main, found.params, { api, navigate, can, me: state.me, setMe }) || null;
    return;
  }
  if (!state.me) {
    const meP = api('/api/v1/auth/me').then(setMe);
    if (page && page.early) {
      // A page that shows the same to every role (the overview) starts now,
      // its API calls in parallel with the session's; the header follows.
      clear(app);
      const main = h('main', { id: 'main', tabindex: '-1' });
      const placeholder = h('header', { class: 'top' }, h('a', { href: '#main', class: 'skip' }, 'Skip to content'),
        h('span', { class: 'brand' }, 'opshub'));
      app.append(placeholder, main);
      document.title = `${page.title} · opshub`;
      state.cleanup = page.render(main, found.params, { api, navigate, can, me: null }) || null;
      meP.then(() => placeholder.replaceWith(shell(page)))
        .catch(() => navigate(`/login?next=${encodeURIComponent(path)}`));
      return;
    }
    try {
      await meP;
    } catch {
      navigate(`/login?next=${encodeURIComponent(path)}`);
      return;
    }
  }
  clear(app);
  const main = h('main', { id: 'main', tabindex: '-1' });
  app.append(shell(page), main);
  if (!page) {
    main.append(notice('empty', 'No such page', 'The address does not name a page of the dashboard.',
      h('a', { href: '#/' }, 'Go to the overview')));
    return;
  }
  if (!can(page.role)) {
    main.append(notice('error', 'Not allowed', `This page needs the ${page.role} role; you are ${state.me.role}.`,
      h('a', { href: '#/' }, 'Go to the overview')));
    return;
  }
  document.title = `${page.title} · opshub`;
  state.cleanup = page.render(main, found.params, { api, navigate, can, me: state.me }) || null;
}

function setMe(me) { state.me = me; }

setUnauthorizedHandler(() => {
  state.me = null;
  stopLive();
  const path = location.hash.replace(/^#/, '') || '/';
  if (!path.startsWith('/login')) navigate(`/login?next=${encodeURIComponent(path)}`);
});

applyTheme();
window.addEventListener('hashchange', render);
render();
