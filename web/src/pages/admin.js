import { h, notice, time } from '../dom.js';
import { registerPage } from '../pages.js';

// Admin pages over the existing API: projects, users, tokens. Each lists,
// and creates with a small form; errors are shown at the field they name.

function table(cols, rows, empty) {
  if (!rows.length) return notice('empty', empty[0], empty[1]);
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': empty[0].replace(/^No /, '') },
    h('table', {},
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c[0])))),
    h('tbody', {}, rows.map((r) => h('tr', {}, cols.map((c) => h('td', {}, c[1](r))))))));
}

function form(id, fields, submitText, onSubmit) {
  const inputs = {};
  const errs = {};
  const general = h('div', { 'aria-live': 'polite' });
  const el = h('form', { class: 'inline-form', id, novalidate: true });
  for (const f of fields) {
    inputs[f.name] = f.options
      ? h('select', { id: `${id}-${f.name}`, name: f.name }, f.options.map((o) => h('option', { value: o }, o)))
      : h('input', { id: `${id}-${f.name}`, name: f.name, type: f.type || 'text', autocomplete: 'off' });
    errs[f.name] = h('span', { class: 'field-error', id: `${id}-${f.name}-err` });
    inputs[f.name].setAttribute('aria-describedby', `${id}-${f.name}-err`);
    el.append(h('div', { class: 'field' }, h('label', { for: `${id}-${f.name}` }, f.label), inputs[f.name], errs[f.name]));
  }
  el.append(h('button', { type: 'submit', class: 'primary' }, submitText), general);
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    for (const k in errs) errs[k].textContent = '';
    general.replaceChildren();
    const body = {};
    for (const f of fields) if (inputs[f.name].value !== '') body[f.name] = inputs[f.name].value;
    try {
      const r = await onSubmit(body);
      general.append(r || h('p', { class: 'ok-text' }, 'Done.'));
      for (const f of fields) if (!f.options) inputs[f.name].value = '';
    } catch (ex) {
      const k = (ex.field || '').split(/[.[]/)[0];
      if (errs[k]) errs[k].textContent = ex.message;
      else general.append(notice('error', 'Refused', ex.message));
    }
  });
  return el;
}

function adminPage(id, title, nav, load) {
  registerPage({
    id, route: new RegExp(`^/${id}$`), title, nav, navPath: `/${id}`, role: 'admin',
    render(root, _p, ctx) {
      const body = h('div', {});
      root.append(h('h1', {}, title), body);
      const reload = () => load(ctx).then((els) => body.replaceChildren(...els))
        .catch((ex) => body.replaceChildren(notice('error', `Could not load ${title.toLowerCase()}`, ex.message)));
      reload();
    },
  });
}

adminPage('projects', 'Projects', 10, async (ctx) => {
  const r = await ctx.api('/api/v1/projects?limit=1000');
  return [table([['Id', (p) => p.id], ['Name', (p) => p.name], ['Source', (p) => p.source || 'config']], r.projects,
    ['No projects', 'Projects group checks: add one here or under projects: in the configuration.']),
  h('h2', {}, 'New project'),
  form('new-project', [{ name: 'id', label: 'Id' }, { name: 'name', label: 'Name' }], 'Create project',
    (b) => ctx.api('/api/v1/projects', { method: 'POST', body: b }))];
});

adminPage('users', 'Users', 11, async (ctx) => {
  const r = await ctx.api('/api/v1/users?limit=1000');
  return [table([['User', (u) => u.username], ['Role', (u) => u.role], ['Disabled', (u) => (u.disabled ? 'yes' : 'no')],
    ['Created', (u) => time(u.created_at)]], r.users, ['No users', 'Create the first one below or with opshub user add.']),
  h('h2', {}, 'New user'),
  form('new-user', [{ name: 'username', label: 'Username' }, { name: 'password', label: 'Password', type: 'password' },
    { name: 'role', label: 'Role', options: ['viewer', 'operator', 'admin'] }], 'Create user',
  (b) => ctx.api('/api/v1/users', { method: 'POST', body: b }))];
});

adminPage('tokens', 'API tokens', 12, async (ctx) => {
  const r = await ctx.api('/api/v1/tokens?limit=1000');
  const revoke = (t) => h('button', { type: 'button', class: 'ghost',
    onclick: async (e) => { e.target.disabled = true; try { await ctx.api(`/api/v1/tokens/${encodeURIComponent(t.id)}`, { method: 'DELETE' }); e.target.textContent = 'Revoked'; } catch (ex) { e.target.textContent = ex.message; } } }, 'Revoke');
  return [table([['Name', (t) => t.name], ['Role', (t) => t.role], ['Expires', (t) => time(t.expires_at)],
    ['Last used', (t) => time(t.last_used_at)], ['', (t) => (t.revoked_at ? 'revoked' : revoke(t))]], r.tokens,
  ['No API tokens', 'Scripts and CI use tokens: create one below; it is shown once.']),
  h('h2', {}, 'New token'),
  form('new-token', [{ name: 'name', label: 'Name' }, { name: 'role', label: 'Role', options: ['viewer', 'operator', 'admin'] }],
    'Create token', async (b) => {
      const t = await ctx.api('/api/v1/tokens', { method: 'POST', body: b });
      return h('p', { class: 'ok-text' }, 'Copy it now, it is not shown again: ', h('code', { id: 'new-token-value' }, t.token));
    })];
});
