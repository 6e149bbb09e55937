// Building DOM without innerHTML: every text is a text node, so nothing the
// API returns (check names, error messages) can become markup. The strict
// Content-Security-Policy forbids inline script and style anyway.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// A time in the browser's zone, with the UTC time on hover.
export function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  return h('time', { datetime: d.toISOString(), title: d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') },
    d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }));
}

export function ago(iso) {
  if (!iso) return '';
  const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 60) return `${Math.round(s)}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

export function ms(v) {
  if (v === null || v === undefined) return '—';
  return v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`;
}

export function pct(v) {
  // uptime_24h is a percentage (0..100) in the checks API
  if (v === null || v === undefined) return '—';
  return v >= 99.995 ? '100%' : `${v.toFixed(2)}%`;
}

const STATUS_TEXT = { up: 'Up', down: 'Down', degraded: 'Degraded', unknown: 'Unknown', paused: 'Paused' };
const STATUS_ICON = { up: '●', down: '▲', degraded: '◆', unknown: '○', paused: '❚❚' };

// Status is never colour alone: an icon and a word go with it.
export function statusBadge(status) {
  return h('span', { class: `badge s-${status}` }, h('span', { 'aria-hidden': 'true' }, STATUS_ICON[status] || '○'),
    ' ', STATUS_TEXT[status] || status);
}

// An empty or error state that says what to do.
export function notice(kind, title, text, action) {
  return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('strong', {}, title), text ? h('p', {}, text) : null, action || null);
}

const ALERT_ICON = { firing: '▲', pending: '◆', resolved: '●', inactive: '○' };
const ALERT_CLASS = { firing: 's-down', pending: 's-degraded', resolved: 's-up', inactive: 's-unknown' };

// An alert's state (firing, pending, resolved, inactive), icon and word.
export function stateBadge(state) {
  return h('span', { class: `badge ${ALERT_CLASS[state] || 's-unknown'}` },
    h('span', { 'aria-hidden': 'true' }, ALERT_ICON[state] || '○'), ' ', state[0].toUpperCase() + state.slice(1));
}

// Labels as name=value chips, sorted, without the ones in skip.
export function labelChips(labels, skip = ['alertname']) {
  return h('span', { class: 'chips' }, Object.keys(labels || {}).filter((k) => !skip.includes(k)).sort()
    .map((k) => h('code', { class: 'chip' }, `${k}=${labels[k]}`)));
}
