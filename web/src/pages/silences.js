import { h, notice, time, ago } from '../dom.js';
import { registerPage } from '../pages.js';

// Silences: the list (active and pending, or expired), a form to create one
// (operators), pre-filled when opened from an alert (#/silences/new?matchers=
// alertname="X",check="y": the link the alerts page and the Slack, Telegram
// and e-mail messages carry), and "Expire" on each active one.

const DURATIONS = ['1h', '2h', '4h', '8h', '1d', '3d', '7d'];

// `name="value"` pairs (operators = != =~ !~), comma-separated, as the links write them.
export function parseMatchers(text) {
  const out = [];
  const re = /([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g;
  let m;
  while ((m = re.exec(text)) !== null) out.push(`${m[1]}${m[2]}"${m[3]}"`);
  return out;
}

function matcherText(m) {
  const op = m.isRegex ? (m.isEqual ? '=~' : '!~') : (m.isEqual ? '=' : '!=');
  return `${m.name}${op}"${m.value}"`;
}

registerPage({
  id: 'silences',
  route: /^\/silences(\/new)?$/,
  title: 'Silences',
  nav: 7,
  navPath: '/silences',
  render(root, params, ctx) {
    const canAct = ctx.can('operator');
    const isNew = Boolean(params[0]);
    // the router matches the path without its query: read the query from the hash itself
    const query = new URLSearchParams(location.hash.split('?')[1] || '');
    const msg = h('div', { id: 'silence-msg', 'aria-live': 'polite' });
    const list = h('tbody', {});
    const state = h('select', { id: 's-state', name: 'state' },
      [['current', 'active and pending'], ['expired', 'expired']].map(([v, t]) => h('option', { value: v }, t)));
    const matchers = h('textarea', { id: 'sil-matchers', name: 'matchers', rows: '4', spellcheck: 'false',
      'aria-describedby': 'sil-matchers-help sil-matchers-error', required: true });
    const mErr = h('p', { class: 'field-error', id: 'sil-matchers-error', 'aria-live': 'polite' });
    const duration = h('select', { id: 'sil-duration', name: 'duration' }, DURATIONS.map((d) => h('option', { value: d, selected: d === '2h' }, d)));
    const comment = h('input', { id: 'sil-comment', name: 'comment', type: 'text', required: true, 'aria-describedby': 'sil-comment-error' });
    const cErr = h('p', { class: 'field-error', id: 'sil-comment-error', 'aria-live': 'polite' });
    matchers.value = parseMatchers(query.get('matchers') || '').join('\n');
    const form = h('form', { id: 'silence-form', class: 'stack-form', 'aria-labelledby': 'h-new', novalidate: true },
      h('h2', { id: 'h-new' }, 'New silence'),
      h('div', { class: 'field' }, h('label', { for: 'sil-matchers' }, 'Matchers'),
        h('p', { class: 'muted', id: 'sil-matchers-help' }, 'One per line: name="value", name!="value", name=~"regex" or name!~"regex". Every one must match.'),
        matchers, mErr),
      h('div', { class: 'field' }, h('label', { for: 'sil-duration' }, 'Duration'), duration),
      h('div', { class: 'field' }, h('label', { for: 'sil-comment' }, 'Comment'), comment, cErr),
      h('div', { class: 'field' }, h('button', { type: 'submit', class: 'primary' }, 'Create silence')));
    root.append(h('div', { class: 'page-head' }, h('h1', {}, 'Silences'), msg),
      canAct ? form : (isNew ? notice('empty', 'Read only', 'Creating a silence takes the operator role.') : null),
      h('section', { 'aria-labelledby': 'h-silences' }, h('h2', { id: 'h-silences' }, 'Silences'),
        h('div', { class: 'inline-form' }, h('div', { class: 'field' }, h('label', { for: 's-state' }, 'Show'), state)),
        h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'h-silences' },
          h('table', { class: 'samples', id: 'silences' },
            h('thead', {}, h('tr', {}, ['Matchers', 'State', 'Starts', 'Ends', 'Created by', 'Comment', '']
              .map((t) => h('th', { scope: 'col' }, t)))), list))));
    if (isNew && canAct)
      (matchers.value ? comment : matchers).focus();

    async function expire(id) {
      try {
        await ctx.api(`/api/v1/silences/${encodeURIComponent(id)}`, { method: 'DELETE' });
        msg.replaceChildren(notice('ok', 'Silence expired', `Its alerts are notified again at their group's next look.`));
      } catch (ex) {
        msg.replaceChildren(notice('error', 'The silence was not expired', ex.message));
      }
      load();
    }

    async function load() {
      let r;
      try {
        r = await ctx.api(`/api/v1/silences${state.value === 'expired' ? '?state=expired' : ''}`);
      } catch (ex) {
        list.replaceChildren(h('tr', {}, h('td', { colspan: '7' }, notice('error', 'Could not load the silences', ex.message))));
        return;
      }
      const rows = state.value === 'expired' ? r.silences : r.silences.filter((s) => s.status.state !== 'expired');
      list.replaceChildren(...(rows.length ? rows.map((s) => h('tr', { 'data-silence': s.id },
        h('th', { scope: 'row' }, h('code', {}, s.matchers.map(matcherText).join(', '))),
        h('td', {}, h('span', { class: `badge ${s.status.state === 'active' ? 's-degraded' : 's-unknown'}` }, s.status.state)),
        h('td', {}, time(s.startsAt)), h('td', {}, time(s.endsAt), h('br', {}), h('small', { class: 'muted' }, s.status.state === 'expired' ? ago(s.endsAt) : '')),
        h('td', {}, s.createdBy), h('td', {}, s.comment),
        h('td', {}, canAct && s.status.state !== 'expired'
          ? h('button', { type: 'button', class: 'expire', onclick: () => expire(s.id) }, 'Expire',
            h('span', { class: 'visually-hidden' }, ` the silence ${s.matchers.map(matcherText).join(', ')}`)) : null)))
        : [h('tr', {}, h('td', { colspan: '7' }, state.value === 'expired' ? 'No expired silence.' : 'No silence is active or pending.'))]));
    }

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      mErr.textContent = '';
      cErr.textContent = '';
      matchers.removeAttribute('aria-invalid');
      comment.removeAttribute('aria-invalid');
      const lines = matchers.value.split('\n').map((l) => l.trim()).filter(Boolean);
      if (!lines.length) {
        mErr.textContent = 'Give at least one matcher, for example alertname="ApiDown"';
        matchers.setAttribute('aria-invalid', 'true');
        return;
      }
      if (!comment.value.trim()) {
        cErr.textContent = 'Say why the alerts are muted';
        comment.setAttribute('aria-invalid', 'true');
        return;
      }
      try {
        const s = await ctx.api('/api/v1/silences', { method: 'POST', body: { matchers: lines, duration: duration.value, comment: comment.value.trim() } });
        msg.replaceChildren(notice('ok', 'Silence created', `Until ${new Date(s.endsAt).toLocaleString()}.`));
        comment.value = '';
        if (isNew) ctx.navigate('/silences');
      } catch (ex) {
        const field = ex.field || '';
        if (field.startsWith('matchers') || !field) {
          mErr.textContent = ex.message;
          matchers.setAttribute('aria-invalid', 'true');
        } else {
          cErr.textContent = `${field}: ${ex.message}`;
        }
      }
      load();
    });
    state.addEventListener('change', load);
    load();
    const timer = setInterval(load, 10000);
    return () => clearInterval(timer);
  },
});
