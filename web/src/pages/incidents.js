import { h, notice, time } from '../dom.js';
import { registerPage } from '../pages.js';

// Incidents: the list (open, resolved or all) and one incident: its facts,
// "Acknowledge" and "Resolve" for operators, a status update with the
// communication template pre-filled, the timeline, and the postmortem editor
// with its Markdown export (docs/incidents.md).

const STATES = ['INVESTIGATING', 'IDENTIFIED', 'MONITORING', 'RESOLVED'];
const STATE_CLASS = { INVESTIGATING: 's-down', IDENTIFIED: 's-degraded', MONITORING: 's-degraded', RESOLVED: 's-up' };

function stateBadge(s) {
  return h('span', { class: `badge ${STATE_CLASS[s] || 's-unknown'}` }, s);
}

function field(id, label, input, help) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), help ? h('p', { class: 'muted' }, help) : null, input);
}

// Follow-ups as lines: "[x] text (owner)" / "[ ] text".
function followUpsText(list) {
  return (list || []).map((f) => `[${f.done ? 'x' : ' '}] ${f.text}${f.owner ? ` (${f.owner})` : ''}`).join('\n');
}

function parseFollowUps(text) {
  const out = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const m = /^\[( |x|X)\]\s*(.*?)(?:\s*\(([^()]+)\))?$/.exec(line);
    if (m) out.push({ text: m[2], owner: m[3] || null, done: m[1] !== ' ' });
    else out.push({ text: line, owner: null, done: false });
  }
  return out;
}

function list(root, ctx) {
  const msg = h('div', { id: 'incidents-msg', 'aria-live': 'polite' });
  const rows = h('tbody', {});
  const filter = h('select', { id: 'i-state', name: 'state' },
    [['open', 'open'], ['resolved', 'resolved'], ['all', 'all']].map(([v, t]) => h('option', { value: v }, t)));
  root.append(h('div', { class: 'page-head' }, h('h1', {}, 'Incidents'), msg),
    h('section', { 'aria-labelledby': 'h-incidents' }, h('h2', { id: 'h-incidents', class: 'visually-hidden' }, 'Incidents'),
      h('div', { class: 'inline-form' }, h('div', { class: 'field' }, h('label', { for: 'i-state' }, 'Show'), filter)),
      h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'h-incidents' },
        h('table', { class: 'samples', id: 'incidents' },
          h('thead', {}, h('tr', {}, ['Incident', 'Severity', 'State', 'Opened', 'Acknowledged by']
            .map((t) => h('th', { scope: 'col' }, t)))), rows))));
  async function load() {
    let r;
    try {
      r = await ctx.api(`/api/v1/incidents?state=${filter.value}`);
    } catch (ex) {
      msg.replaceChildren(notice('error', 'The incidents could not be read', ex.message));
      return;
    }
    rows.replaceChildren(...(r.incidents.length ? r.incidents.map((i) => h('tr', { 'data-incident': String(i.number) },
      h('td', {}, h('a', { href: `#/incidents/${i.number}` }, `#${i.number} ${i.title}`)),
      h('td', {}, `${i.severity} (${i.severity_label})`), h('td', {}, stateBadge(i.state)), h('td', {}, time(i.created)),
      h('td', {}, i.acked_by || '—'))) : [h('tr', {}, h('td', { colspan: '5', class: 'muted' }, 'No incident.'))]));
  }
  filter.addEventListener('change', load);
  load();
}

function detail(root, ref, ctx) {
  const canAct = ctx.can('operator');
  const msg = h('div', { id: 'incident-msg', 'aria-live': 'polite' });
  const head = h('div', { class: 'page-head' });
  const facts = h('dl', { class: 'facts', id: 'incident-facts' });
  const actions = h('div', { class: 'inline-form', id: 'incident-actions' });
  const timeline = h('tbody', {});
  const upText = h('textarea', { id: 'up-text', name: 'text', rows: '8', required: true, 'aria-describedby': 'up-text-error' });
  const upErr = h('p', { class: 'field-error', id: 'up-text-error', 'aria-live': 'polite' });
  const upState = h('select', { id: 'up-state', name: 'state' }, STATES.map((s) => h('option', { value: s }, s)));
  const upForm = h('form', { id: 'update-form', class: 'stack-form', 'aria-labelledby': 'h-update', novalidate: true },
    h('h2', { id: 'h-update' }, 'Post a status update'),
    field('up-text', 'Message', upText, 'The communication template, filled in: edit it, then post.'), upErr,
    field('up-state', 'State', upState),
    h('div', { class: 'field' }, h('button', { type: 'submit', class: 'primary' }, 'Post update')));
  const pm = {
    summary: h('textarea', { id: 'pm-summary', name: 'summary', rows: '3' }),
    impact: h('textarea', { id: 'pm-impact', name: 'impact', rows: '3' }),
    root_cause: h('textarea', { id: 'pm-root-cause', name: 'root_cause', rows: '3' }),
    lessons: h('textarea', { id: 'pm-lessons', name: 'lessons', rows: '3' }),
    follow_ups: h('textarea', { id: 'pm-follow-ups', name: 'follow_ups', rows: '4' }),
  };
  const pmForm = h('form', { id: 'postmortem-form', class: 'stack-form', 'aria-labelledby': 'h-postmortem', novalidate: true },
    h('h2', { id: 'h-postmortem' }, 'Postmortem'),
    field('pm-summary', 'Summary', pm.summary), field('pm-impact', 'Impact', pm.impact),
    field('pm-root-cause', 'Root cause', pm.root_cause), field('pm-lessons', 'Lessons', pm.lessons),
    field('pm-follow-ups', 'Follow-ups', pm.follow_ups, 'One per line: "[ ] what (owner)", "[x]" when done.'),
    h('div', { class: 'field' }, canAct ? h('button', { type: 'submit', class: 'primary' }, 'Save postmortem') : null,
      h('a', { id: 'pm-export', href: `/api/v1/incidents/${encodeURIComponent(ref)}/postmortem.md`, download: '' },
        'Export as Markdown')));
  root.append(head, msg, facts, canAct ? actions : null, canAct ? upForm : null,
    h('section', { 'aria-labelledby': 'h-timeline' }, h('h2', { id: 'h-timeline' }, 'Timeline'),
      h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'h-timeline' },
        h('table', { class: 'samples', id: 'timeline' },
          h('thead', {}, h('tr', {}, ['When', 'Who', 'What'].map((t) => h('th', { scope: 'col' }, t)))), timeline))),
    pmForm);

  function say(kind, title, text) {
    msg.replaceChildren(notice(kind, title, text));
  }

  async function act(path, body, done) {
    try {
      await ctx.api(`/api/v1/incidents/${encodeURIComponent(ref)}${path}`, { method: path ? 'POST' : 'PATCH', body });
      say('ok', done, '');
    } catch (ex) {
      say('error', 'Not done', ex.message);
    }
    load(false);
  }

  async function load(fill) {
    let inc;
    let tl;
    try {
      inc = await ctx.api(`/api/v1/incidents/${encodeURIComponent(ref)}`);
      tl = await ctx.api(`/api/v1/incidents/${encodeURIComponent(ref)}/timeline`);
    } catch (ex) {
      say('error', 'The incident could not be read', ex.message);
      return;
    }
    head.replaceChildren(h('h1', {}, `#${inc.number} ${inc.title}`), stateBadge(inc.state));
    const fact = (k, v) => [h('dt', {}, k), h('dd', {}, v || '—')];
    facts.replaceChildren(...fact('Severity', `${inc.severity} (${inc.severity_label})`), ...fact('Opened', time(inc.created)),
      ...fact('Acknowledged', inc.acked_at ? [time(inc.acked_at), ` by ${inc.acked_by}`] : (inc.ack_missed ? 'deadline missed' : null)),
      ...fact('Acknowledge by', inc.acked_at || !inc.ack_deadline ? null : time(inc.ack_deadline)),
      ...fact('Resolved', inc.resolved_at ? time(inc.resolved_at) : null), ...fact('Service', inc.service),
      ...fact('Impact', inc.impact), ...fact('ETA', inc.eta), ...fact('Commander', inc.commander),
      ...fact('Affected', [...inc.components, ...inc.projects, ...inc.checks].join(', ')));
    const buttons = [];
    if (!inc.acked_at && inc.state !== 'RESOLVED')
      buttons.push(h('button', { type: 'button', class: 'primary', id: 'ack', onclick: () => act('/ack', {}, 'Acknowledged') }, 'Acknowledge'));
    if (inc.state !== 'RESOLVED')
      buttons.push(h('button', { type: 'button', id: 'resolve', onclick: () => act('/resolve', {}, 'Resolved') }, 'Resolve'));
    actions.replaceChildren(...buttons);
    timeline.replaceChildren(...tl.timeline.map((e) => h('tr', { 'data-kind': e.kind },
      h('td', {}, time(e.at)), h('td', {}, e.actor || '—'), h('td', {}, e.text))));
    if (fill) {
      upText.value = inc.message;
      upState.value = inc.state;
      const p = inc.postmortem || {};
      for (const k of ['summary', 'impact', 'root_cause', 'lessons']) pm[k].value = p[k] || '';
      pm.follow_ups.value = followUpsText(p.follow_ups);
    }
  }

  upForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    upErr.textContent = '';
    upText.removeAttribute('aria-invalid');
    if (!upText.value.trim()) {
      upErr.textContent = 'Write the update first.';
      upText.setAttribute('aria-invalid', 'true');
      upText.focus();
      return;
    }
    await act('/updates', { text: upText.value, state: upState.value }, 'Update posted');
  });
  pmForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { postmortem: { summary: pm.summary.value, impact: pm.impact.value, root_cause: pm.root_cause.value,
      lessons: pm.lessons.value, follow_ups: parseFollowUps(pm.follow_ups.value) } };
    await act('', body, 'Postmortem saved');
  });
  load(true);
}

registerPage({
  id: 'incidents',
  route: /^\/incidents(?:\/([^/]+))?$/,
  title: 'Incidents',
  nav: 8,
  navPath: '/incidents',
  render(root, params, ctx) {
    if (params[0]) detail(root, params[0], ctx);
    else list(root, ctx);
  },
});
