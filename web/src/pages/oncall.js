import { h, notice, time } from '../dom.js';
import { registerPage } from '../pages.js';

// On call: who is on call now and next in each rotation, its calendar (the
// next 14 days as a grid of days, in the reader's time zone), its overrides
// (operators make and remove them: POST/DELETE
// /api/v1/rotations/{id}/overrides), the iCalendar feed to subscribe to, and
// each escalation policy's steps with their targets resolved now
// (docs/incidents.md).

const DAYS = 14;
const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function who(u) {
  return u || h('span', { class: 'muted' }, 'nobody');
}

function hhmm(d) {
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

// The next DAYS days from today's local midnight as weeks of Monday..Sunday:
// each day lists who is on call in it (spans clipped to the day).
function calendar(r, spans) {
  const start = new Date();
  start.setHours(0, 0, 0, 0);
  const first = new Date(start);
  first.setDate(first.getDate() - ((first.getDay() + 6) % 7)); // back to Monday
  const end = new Date(start);
  end.setDate(end.getDate() + DAYS);
  const rows = [];
  for (let wk = new Date(first); wk < end; wk.setDate(wk.getDate() + 7)) {
    const cells = [];
    for (let i = 0; i < 7; i++) {
      const d0 = new Date(wk);
      d0.setDate(d0.getDate() + i);
      const d1 = new Date(d0);
      d1.setDate(d1.getDate() + 1);
      if (d0 < start || d0 >= end) {
        cells.push(h('td', { class: 'cal-out' }));
        continue;
      }
      const items = [];
      for (const sp of spans) {
        if (!sp.user) continue;
        const a = new Date(sp.start);
        const b = new Date(sp.end);
        if (b <= d0 || a >= d1) continue;
        const from = a > d0 ? hhmm(a) : '00:00';
        const to = b < d1 ? hhmm(b) : '24:00';
        items.push(h('li', { class: sp.override ? 'override' : null },
          `${from}–${to} `, h('b', {}, sp.user), sp.override ? ' (override)' : ''));
      }
      const label = d0.toLocaleDateString(undefined, { day: 'numeric', month: 'short' });
      cells.push(h('td', { 'data-day': `${d0.getFullYear()}-${String(d0.getMonth() + 1).padStart(2, '0')}-${String(d0.getDate()).padStart(2, '0')}` },
        h('div', { class: 'cal-date' }, label),
        items.length ? h('ul', {}, items) : h('p', { class: 'muted' }, 'nobody')));
    }
    rows.push(h('tr', {}, cells));
  }
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': `${r.name}: the next ${DAYS} days` },
    h('table', { class: 'calendar-grid' },
      h('caption', { class: 'visually-hidden' }, `${r.name}: who is on call, the next ${DAYS} days`),
      h('thead', {}, h('tr', {}, WEEKDAYS.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows)));
}

function localInput(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

registerPage({
  id: 'oncall',
  route: /^\/oncall$/,
  title: 'On call',
  nav: 9,
  navPath: '/oncall',
  render(root, params, ctx) {
    const msg = h('div', { id: 'oncall-msg', 'aria-live': 'polite' });
    const rotations = h('div', { id: 'rotations' });
    const policies = h('tbody', {});
    root.append(h('div', { class: 'page-head' }, h('h1', {}, 'On call'), msg),
      h('section', { 'aria-labelledby': 'h-policies' }, h('h2', { id: 'h-policies' }, 'Escalation policies'),
        h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'h-policies' },
          h('table', { class: 'samples', id: 'policies' },
            h('thead', {}, h('tr', {}, ['Policy', 'Step', 'After', 'Pages now'].map((t) => h('th', { scope: 'col' }, t)))),
            policies))),
      h('section', { 'aria-labelledby': 'h-rotations' }, h('h2', { id: 'h-rotations' }, 'Rotations'), rotations));

    async function load() {
      let now;
      let rots;
      try {
        now = await ctx.api('/api/v1/oncall');
        rots = await ctx.api('/api/v1/rotations');
      } catch (ex) {
        msg.replaceChildren(notice('error', 'On call could not be read', ex.message));
        return;
      }
      const rows = [];
      for (const p of now.policies) {
        for (const s of p.steps) {
          rows.push(h('tr', { 'data-policy': p.id, 'data-step': String(s.step) },
            h('td', {}, s.step === 1 ? p.id : ''), h('td', {}, String(s.step)), h('td', {}, `${s.delay_seconds} s`),
            h('td', {}, s.targets.map((t, i) => [i ? ', ' : '',
              t.kind === 'channel' ? `channel ${t.id}` : t.kind === 'rotation' ? [who(t.user), ` (${t.id})`] : t.id]))));
        }
      }
      policies.replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: '4', class: 'muted' }, 'No escalation policy is configured.'))]));
      const cards = [];
      for (const r of rots.rotations) {
        let spans = [];
        try {
          const to = new Date(Date.now() + DAYS * 86400000).toISOString();
          spans = (await ctx.api(`/api/v1/rotations/${encodeURIComponent(r.id)}?to=${encodeURIComponent(to)}`)).spans;
        } catch (ex) {
          spans = [];
        }
        const hid = `h-rot-${r.id}`;
        cards.push(h('section', { class: 'rotation', 'data-rotation': r.id, 'aria-labelledby': hid },
          h('h3', { id: hid }, r.name),
          h('p', {}, 'Now: ', h('b', { class: 'now' }, who(r.current.user)), r.current.end ? [' until ', time(r.current.end)] : '',
            r.next ? ['; next: ', who(r.next.user)] : ''),
          h('p', { class: 'muted' }, `${r.members.join(', ')} · every ${r.length} from ${r.handoff} (${r.timezone})`,
            r.restrict.length ? ` · on call ${r.restrict.map((w) => `${w.days} ${w.from}-${w.to}`).join(', ')}` : ''),
          r.feed_path ? h('p', {}, h('a', { href: r.feed_path, class: 'feed' }, 'Calendar feed (iCalendar)')) : null,
          calendar(r, spans),
          overridesList(r),
          ctx.can('operator') ? overrideForm(r) : null));
      }
      rotations.replaceChildren(...(cards.length ? cards : [h('p', { class: 'muted' }, 'No rotation is configured.')]));
    }
    function overridesList(r) {
      const hid = `h-ov-${r.id}`;
      if (!r.overrides.length) return h('p', { class: 'muted overrides' }, 'No overrides.');
      return h('div', { class: 'overrides' }, h('h4', { id: hid }, 'Overrides'),
        h('ul', { 'aria-labelledby': hid }, r.overrides.map((o) => h('li', { 'data-override': o.id || '' },
          h('b', {}, o.user), ' ', time(o.start), ' – ', time(o.end),
          o.reason ? ` · ${o.reason}` : '', o.by ? ` · by ${o.by}` : '',
          o.source === 'config' ? h('span', { class: 'muted' }, ' · in the configuration') : null,
          o.id && ctx.can('operator') ? [' ', h('button', {
            type: 'button', class: 'link', 'aria-label': `Remove the override of ${o.user}`,
            onclick: async () => {
              try {
                await ctx.api(`/api/v1/rotations/${encodeURIComponent(r.id)}/overrides/${encodeURIComponent(o.id)}`, { method: 'DELETE' });
                msg.replaceChildren(notice('ok', `Override of ${o.user} removed`, ''));
              } catch (ex) {
                msg.replaceChildren(notice('error', 'Not removed', ex.message));
              }
              load();
            },
          }, 'Remove')] : null))));
    }

    function overrideForm(r) {
      const id = (f) => `ov-${r.id}-${f}`;
      const now = new Date();
      now.setSeconds(0, 0);
      const later = new Date(now.getTime() + 8 * 3600000);
      const inputs = {
        user: h('input', { id: id('user'), name: 'user', required: true, list: id('members'), autocomplete: 'off', 'aria-describedby': id('user-error') }),
        start: h('input', { id: id('start'), name: 'start', type: 'datetime-local', required: true, value: localInput(now), 'aria-describedby': id('start-error') }),
        end: h('input', { id: id('end'), name: 'end', type: 'datetime-local', required: true, value: localInput(later), 'aria-describedby': id('end-error') }),
        reason: h('input', { id: id('reason'), name: 'reason', maxlength: '200', 'aria-describedby': id('reason-error') }),
      };
      const errs = {};
      const row = (f, label) => {
        errs[f] = h('p', { class: 'field-error', id: id(`${f}-error`), 'aria-live': 'polite' });
        return h('div', { class: 'field' }, h('label', { for: id(f) }, label), inputs[f], errs[f]);
      };
      const form = h('form', { class: 'override-form', 'data-rotation': r.id, 'aria-labelledby': id('h') },
        h('h4', { id: id('h') }, 'Override who is on call'),
        h('datalist', { id: id('members') }, r.members.map((m) => h('option', { value: m }))),
        row('user', 'User'), row('start', 'From (your time)'), row('end', 'To (your time)'), row('reason', 'Reason (optional)'),
        h('div', { class: 'field' }, h('button', { type: 'submit', class: 'primary' }, 'Add override')));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        for (const e of Object.values(errs)) e.textContent = '';
        const start = new Date(inputs.start.value);
        const end = new Date(inputs.end.value);
        for (const [f, d] of [['start', start], ['end', end]]) {
          if (Number.isNaN(d.getTime())) {
            errs[f].textContent = 'A date and time';
            inputs[f].focus();
            return;
          }
        }
        const body = { user: inputs.user.value.trim(), start: start.toISOString(), end: end.toISOString() };
        if (inputs.reason.value.trim()) body.reason = inputs.reason.value.trim();
        try {
          await ctx.api(`/api/v1/rotations/${encodeURIComponent(r.id)}/overrides`, { method: 'POST', body });
          msg.replaceChildren(notice('ok', `${body.user} is on call instead`, ''));
          load();
        } catch (ex) {
          const f = errs[ex.field] ? ex.field : 'user';
          errs[f].textContent = ex.message;
          inputs[f].focus();
        }
      });
      return form;
    }

    load();
  },
});
