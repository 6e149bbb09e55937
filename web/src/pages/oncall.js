import { h, notice, time } from '../dom.js';
import { registerPage } from '../pages.js';

// On call: who is on call now and next in each rotation (with its overrides
// and its calendar: the spans of the next 14 days, and the iCalendar feed to
// subscribe to), and each escalation policy's steps with their targets
// resolved now (docs/incidents.md).

const DAYS = 14;

function who(u) {
  return u || h('span', { class: 'muted' }, 'nobody');
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
          r.overrides.length ? h('p', {}, 'Overrides: ', r.overrides.map((o, i) => [i ? '; ' : '', `${o.user} `, time(o.start), '–', time(o.end)])) : null,
          h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': `${r.name}: the next ${DAYS} days` },
            h('table', { class: 'samples calendar' },
              h('thead', {}, h('tr', {}, ['From', 'To', 'On call'].map((t) => h('th', { scope: 'col' }, t)))),
              h('tbody', {}, spans.map((s) => h('tr', { class: s.override ? 'override' : null },
                h('td', {}, s.start ? time(s.start) : '—'), h('td', {}, s.end ? time(s.end) : '—'),
                h('td', {}, who(s.user), s.override ? ' (override)' : ''))))))));
      }
      rotations.replaceChildren(...(cards.length ? cards : [h('p', { class: 'muted' }, 'No rotation is configured.')]));
    }
    load();
  },
});
