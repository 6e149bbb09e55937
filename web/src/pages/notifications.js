import { h, notice, time, ago, labelChips } from '../dom.js';
import { registerPage } from '../pages.js';

// Notifications: the channels (with their counters and last error, and a
// "Send test" button for operators), the deliveries of the outbox (status,
// attempts, the last error, "Retry now" for operators), and the maintenance
// windows (current and next). Refreshed every 5 s while open.

const REFRESH_MS = 5000;
const STATUS_CLASS = { sent: 's-up', pending: 's-degraded', failed: 's-down' };
const STATUS_ICON = { sent: '●', pending: '◐', failed: '▲' };

function statusBadge(s) {
  return h('span', { class: `badge ${STATUS_CLASS[s] || 's-unknown'}` },
    h('span', { 'aria-hidden': 'true' }, STATUS_ICON[s] || '○'), ' ', s);
}

function span(w) {
  if (!w) return '—';
  return [time(w.start), ' – ', time(w.end)];
}

registerPage({
  id: 'notifications',
  route: /^\/notifications$/,
  title: 'Notifications',
  nav: 6,
  navPath: '/notifications',
  render(root, params, ctx) {
    const canAct = ctx.can('operator');
    const msg = h('div', { id: 'notify-msg', 'aria-live': 'polite' });
    const channels = h('tbody', {});
    const deliveries = h('tbody', {});
    const windows = h('tbody', {});
    const filter = h('select', { id: 'd-status', name: 'status' },
      ['', 'pending', 'sent', 'failed'].map((s) => h('option', { value: s }, s || 'any status')));
    root.append(h('div', { class: 'page-head' }, h('h1', {}, 'Notifications'), msg),
      h('section', { 'aria-labelledby': 'h-channels' }, h('h2', { id: 'h-channels' }, 'Channels'),
        h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'h-channels' },
          h('table', { class: 'samples', id: 'channels' },
            h('thead', {}, h('tr', {}, ['Channel', 'Type', 'Sent', 'Failed', 'Retried', 'Last error', '']
              .map((t) => h('th', { scope: 'col' }, t)))), channels))),
      h('section', { 'aria-labelledby': 'h-deliveries' }, h('h2', { id: 'h-deliveries' }, 'Deliveries'),
        h('div', { class: 'inline-form' }, h('div', { class: 'field' }, h('label', { for: 'd-status' }, 'Status'), filter)),
        h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'h-deliveries' },
          h('table', { class: 'samples', id: 'deliveries' },
            h('thead', {}, h('tr', {}, ['Created', 'Channel', 'Message', 'Status', 'Attempts', 'Last error', '']
              .map((t) => h('th', { scope: 'col' }, t)))), deliveries))),
      h('section', { 'aria-labelledby': 'h-maintenance' }, h('h2', { id: 'h-maintenance' }, 'Maintenance windows'),
        h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'h-maintenance' },
          h('table', { class: 'samples', id: 'maintenance' },
            h('thead', {}, h('tr', {}, ['Window', 'Scope', 'Now', 'Current', 'Next']
              .map((t) => h('th', { scope: 'col' }, t)))), windows))));

    let timer = null;
    let gone = false;

    function say(kind, title, text) {
      msg.replaceChildren(notice(kind, title, text));
    }

    async function sendTest(id) {
      try {
        const r = await ctx.api(`/api/v1/channels/${encodeURIComponent(id)}/test`, { method: 'POST', body: {} });
        say('ok', 'Test message queued', `Delivery ${r.id} through ${id}: it shows below once tried.`);
      } catch (ex) {
        say('error', `The test message through ${id} was not queued`, ex.message);
      }
      loadDeliveries();
    }

    async function retry(id) {
      try {
        await ctx.api(`/api/v1/notifications/${encodeURIComponent(id)}/retry`, { method: 'POST', body: {} });
        say('ok', 'Retrying', `Delivery ${id} is attempted again now.`);
      } catch (ex) {
        say('error', `Delivery ${id} was not retried`, ex.message);
      }
      setTimeout(loadDeliveries, 300);
    }

    async function loadChannels() {
      let r;
      try {
        r = await ctx.api('/api/v1/channels');
      } catch (ex) {
        channels.replaceChildren(h('tr', {}, h('td', { colspan: '7' }, notice('error', 'Could not load the channels', ex.message))));
        return;
      }
      channels.replaceChildren(...(r.channels.length ? r.channels.map((c) => h('tr', { 'data-channel': c.id },
        h('th', { scope: 'row' }, c.id, c.disabled ? h('small', { class: 'muted' }, ' (disabled)') : '',
          c.failing ? h('span', { class: 'badge s-down' }, ' failing') : ''),
        h('td', {}, c.type), h('td', { class: 'num' }, String(c.sent)), h('td', { class: 'num' }, String(c.failed)),
        h('td', { class: 'num' }, String(c.retried)), h('td', { class: 'error-text' }, c.last_error || ''),
        h('td', {}, canAct ? h('button', { type: 'button', class: 'test-channel', onclick: () => sendTest(c.id) },
          'Send test', h('span', { class: 'visually-hidden' }, ` through ${c.id}`)) : null)))
        : [h('tr', {}, h('td', { colspan: '7' }, 'No channel: add notify.channels to the configuration (docs/notifications.md).'))]));
    }

    async function loadDeliveries() {
      let r;
      const st = filter.value ? `&status=${filter.value}` : '';
      try {
        r = await ctx.api(`/api/v1/notifications?limit=100${st}`);
      } catch (ex) {
        deliveries.replaceChildren(h('tr', {}, h('td', { colspan: '7' }, notice('error', 'Could not load the deliveries', ex.message))));
        return;
      }
      deliveries.replaceChildren(...(r.notifications.length ? r.notifications.map((d) => h('tr', { 'data-delivery': d.id, 'data-channel': d.channel },
        h('td', {}, time(d.created), h('br', {}), h('small', { class: 'muted' }, ago(d.created))),
        h('td', {}, d.channel), h('th', { scope: 'row' }, d.summary),
        h('td', {}, statusBadge(d.status), d.next_attempt ? h('small', { class: 'muted' }, h('br', {}), `next ${ago(d.next_attempt)}`) : ''),
        h('td', { class: 'num' }, String(d.attempts)),
        h('td', { class: 'error-text' }, d.last_error || ''),
        h('td', {}, canAct && d.status !== 'sent'
          ? h('button', { type: 'button', class: 'retry', onclick: () => retry(d.id) }, 'Retry now') : null)))
        : [h('tr', {}, h('td', { colspan: '7' }, 'Nothing sent yet.'))]));
    }

    async function loadWindows() {
      let r;
      try {
        r = await ctx.api('/api/v1/maintenance');
      } catch (ex) {
        windows.replaceChildren(h('tr', {}, h('td', { colspan: '5' }, notice('error', 'Could not load the maintenance windows', ex.message))));
        return;
      }
      windows.replaceChildren(...(r.windows.length ? r.windows.map((w) => h('tr', { 'data-window': w.id },
        h('th', { scope: 'row' }, w.description || w.id, w.schedule ? h('small', { class: 'muted' }, h('br', {}), `${w.schedule} (${w.timezone})`) : ''),
        h('td', {}, w.projects.length ? `projects: ${w.projects.join(', ')}` : '',
          labelChips(Object.fromEntries(w.matchers.map((m) => [m.name, m.value])))),
        h('td', {}, w.active ? h('span', { class: 'badge s-degraded' }, 'in progress') : 'no'),
        h('td', {}, span(w.current)), h('td', {}, span(w.next))))
        : [h('tr', {}, h('td', { colspan: '5' }, 'No maintenance window is configured.'))]));
    }

    filter.addEventListener('change', loadDeliveries);

    async function refresh() {
      await Promise.all([loadChannels(), loadDeliveries(), loadWindows()]);
      if (!gone) timer = setTimeout(refresh, REFRESH_MS);
    }
    refresh();
    return () => { gone = true; clearTimeout(timer); };
  },
});
