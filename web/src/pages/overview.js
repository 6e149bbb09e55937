import { h, clear, ms, pct, statusBadge, notice, ago } from '../dom.js';
import { registerPage } from '../pages.js';
import { qs } from '../api.js';
import { onLive } from '../live.js';

// The overview: every check, filtered on the server (GET /api/v1/checks with
// project, status, type, label and q), paged through with the cursor, shown
// in a virtualised list: only the rows in view exist in the DOM, so 10,000
// checks cost what 30 do. Rows change in place from the live stream.

const ROW = 44;          // px; every row has this height
const FIRST_PAGE = 100;  // the first API page: enough to fill the screen at once
const PAGE = 2000;       // checks per API page after it
const SPARK_LIMIT = 4;   // sparkline requests in flight at most

function sparkline(points) {
  const w = 80; const hh = 20;
  const vals = points.map((p) => (p.latency_ms ? p.latency_ms.avg : null));
  const max = Math.max(1, ...vals.filter((v) => v !== null));
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${hh}`);
  svg.setAttribute('class', 'spark');
  svg.setAttribute('aria-hidden', 'true');
  let d = '';
  vals.forEach((v, i) => {
    if (v === null) return;
    const x = (i / Math.max(1, vals.length - 1)) * w;
    const y = hh - (v / max) * (hh - 2) - 1;
    d += `${d ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`;
  });
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', d || `M0,${hh - 1}L${w},${hh - 1}`);
  svg.append(path);
  if (d && !d.includes('L')) { // one point: a dot, a path of one point draws nothing
    const [x, y] = d.slice(1).split(',');
    const dot = document.createElementNS(ns, 'circle');
    dot.setAttribute('cx', x); dot.setAttribute('cy', y); dot.setAttribute('r', '2');
    svg.append(dot);
  }
  return svg;
}

registerPage({
  id: 'overview',
  route: /^\/$/,
  title: 'Overview',
  nav: 0,
  navPath: '/',
  early: true,
  render(root, _params, ctx) {
    const filters = new URLSearchParams(location.hash.split('?')[1] || '');
    const f = { project: filters.get('project') || '', status: filters.get('status') || '',
      type: filters.get('type') || '', label: filters.get('label') || '', q: filters.get('q') || '' };
    let checks = [];
    let byId = new Map();
    let loading = true;
    let gen = 0;
    const sparks = new Map();
    const sparkQueue = [];
    let sparkBusy = 0;

    const counts = h('p', { class: 'counts', id: 'counts', 'aria-live': 'polite' });
    const projectSel = h('select', { id: 'f-project' }, h('option', { value: '' }, 'All projects'));
    const statusSel = h('select', { id: 'f-status' }, ['', 'down', 'degraded', 'up', 'unknown', 'paused']
      .map((s) => h('option', { value: s }, s ? s[0].toUpperCase() + s.slice(1) : 'Any status')));
    const typeSel = h('select', { id: 'f-type' }, h('option', { value: '' }, 'Any type'),
      ['http', 'tcp', 'tls', 'postgres', 'redis', 'dns', 'command', 'heartbeat', 'prometheus', 'log', 'disk',
        'memory', 'cpu'].map((t) => h('option', { value: t }, t)));
    const labelIn = h('input', { id: 'f-label', placeholder: 'label: key=value', size: 16 });
    const qIn = h('input', { id: 'f-q', type: 'search', placeholder: 'Search id or name', size: 18 });
    projectSel.value = f.project; statusSel.value = f.status; typeSel.value = f.type;
    labelIn.value = f.label; qIn.value = f.q;
    const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter checks' },
      h('label', { for: 'f-q', class: 'visually-hidden' }, 'Search'), qIn,
      h('label', { for: 'f-project', class: 'visually-hidden' }, 'Project'), projectSel,
      h('label', { for: 'f-status', class: 'visually-hidden' }, 'Status'), statusSel,
      h('label', { for: 'f-type', class: 'visually-hidden' }, 'Type'), typeSel,
      h('label', { for: 'f-label', class: 'visually-hidden' }, 'Label'), labelIn,
      h('button', { type: 'submit' }, 'Apply'));
    form.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
    for (const s of [projectSel, statusSel, typeSel]) s.addEventListener('change', apply);

    const head = h('div', { class: 'row head', role: 'row' },
      ['Status', 'Check', 'Project', 'Type', 'Latency', '24 h uptime', 'Last 24 h']
        .map((t) => h('span', { role: 'columnheader' }, t)));
    const spacer = h('div', { class: 'spacer' });
    const viewport = h('div', { class: 'rows', role: 'rowgroup' }, spacer);
    const list = h('div', { class: 'vlist', id: 'check-list', role: 'table', 'aria-label': 'Checks',
      'aria-rowcount': '0' }, head, viewport);
    const status = h('div', { id: 'list-state' });
    root.append(h('div', { class: 'page-head' }, h('h1', {}, 'Checks'), counts), form, status, list);

    function apply() {
      f.project = projectSel.value; f.status = statusSel.value; f.type = typeSel.value;
      f.label = labelIn.value.trim(); f.q = qIn.value.trim();
      const q = qs(f);
      history.replaceState(null, '', `#/${q}`);
      load();
    }

    let curCounts = null;
    let recount = null;
    // The counts follow status events in place; a change the list cannot see
    // (a check outside the status filter) re-reads them, at most every 5 s.
    function recountSoon() {
      if (recount) return;
      recount = setTimeout(() => {
        recount = null;
        ctx.api(`/api/v1/checks${qs({ ...f, limit: 1 })}`).then((r) => showCounts(r.counts)).catch(() => {});
      }, 5000);
    }

    function showCounts(c) {
      curCounts = { ...c };
      const n = Object.values(c).reduce((a, b) => a + b, 0);
      counts.replaceChildren(
        h('span', { class: 'count s-down' }, `${c.down} down`), ' · ',
        h('span', { class: 'count s-degraded' }, `${c.degraded} degraded`), ' · ',
        h('span', {}, `${c.up} up`), ' · ', h('span', {}, `${n} checks`));
    }

    async function load() {
      const my = ++gen;
      loading = true;
      checks = []; byId = new Map();
      status.replaceChildren(h('p', { class: 'muted' }, 'Loading checks…'));
      draw();
      let cursor = null;
      try {
        do {
          const r = await ctx.api(`/api/v1/checks${qs({ ...f, limit: cursor ? PAGE : FIRST_PAGE, cursor })}`);
          if (my !== gen) return;
          for (const c of r.checks) { byId.set(c.id, checks.length); checks.push(c); }
          showCounts(r.counts);
          cursor = r.next_cursor;
          list.setAttribute('aria-rowcount', String(checks.length));
          draw();
        } while (cursor);
        loading = false;
        status.replaceChildren();
        if (!checks.length) {
          const any = f.project || f.status || f.type || f.label || f.q;
          status.append(any
            ? notice('empty', 'No check matches these filters', 'Clear a filter to see more.',
              h('a', { href: '#/' }, 'Clear all filters'))
            : notice('empty', 'No checks yet', 'Add checks under checks: in the configuration file (then reload '
              + 'opshub with SIGHUP), or create one with POST /api/v1/checks.'));
        }
      } catch (e) {
        if (my !== gen) return;
        status.replaceChildren(notice('error', 'Could not load the checks', `${e.message}. Retry in a moment.`,
          h('button', { type: 'button', onclick: load }, 'Retry')));
      }
    }

    function fetchSparks() {
      while (sparkBusy < SPARK_LIMIT && sparkQueue.length) {
        const id = sparkQueue.shift();
        if (sparks.has(id)) continue;
        sparks.set(id, null);
        sparkBusy++;
        ctx.api(`/api/v1/checks/${encodeURIComponent(id)}/latency?step=1h`).then((r) => {
          sparks.set(id, r.points);
          const cell = viewport.querySelector(`[data-spark="${CSS.escape(id)}"]`);
          if (cell) cell.replaceChildren(sparkline(r.points));
        }).catch(() => { /* the row shows none */ }).finally(() => { sparkBusy--; fetchSparks(); });
      }
    }

    function row(c, i) {
      const ls = c.last_sample;
      const spark = sparks.get(c.id);
      if (spark === undefined && !sparkQueue.includes(c.id)) sparkQueue.push(c.id);
      return h('a', { class: `row s-${c.status}`, role: 'row', href: `#/checks/${encodeURIComponent(c.id)}`,
        'aria-rowindex': String(i + 2), dataset: { id: c.id } },
        h('span', { role: 'cell' }, statusBadge(c.status)),
        h('span', { role: 'cell', class: 'name' }, c.name, c.name !== c.id ? h('small', {}, ` ${c.id}`) : null),
        h('span', { role: 'cell' }, c.project || '—'),
        h('span', { role: 'cell' }, c.type),
        h('span', { role: 'cell', title: ls ? `at ${ls.ts}` : '' }, ls ? ms(ls.latency_ms) : '—'),
        h('span', { role: 'cell' }, pct(c.uptime_24h)),
        h('span', { role: 'cell', dataset: { spark: c.id } }, spark ? sparkline(spark) : ''));
    }

    // Only the rows in view (and a few around) are in the DOM.
    let drawn = '';
    function draw(force) {
      spacer.style.height = `${checks.length * ROW}px`;
      const top = viewport.scrollTop;
      const first = Math.max(0, Math.floor(top / ROW) - 5);
      const last = Math.min(checks.length, Math.ceil((top + viewport.clientHeight) / ROW) + 5);
      const key = `${first}:${last}:${checks.length}`;
      if (key === drawn && !force) return;
      drawn = key;
      const rows = [];
      for (let i = first; i < last; i++) {
        const el = row(checks[i], i);
        el.style.top = `${i * ROW}px`;
        rows.push(el);
      }
      viewport.replaceChildren(spacer, ...rows);
      fetchSparks();
    }
    viewport.addEventListener('scroll', () => requestAnimationFrame(() => draw()));
    const onResize = () => draw(true);
    window.addEventListener('resize', onResize);

    const off = onLive((kind, d) => {
      if (kind === 'reset') { load(); return; }
      const i = byId.get(d.check);
      if (i === undefined) {
        if (kind === 'status' && f.status) recountSoon();
        return;
      }
      const c = checks[i];
      if (kind === 'status' && curCounts && d.previous !== d.status) {
        // one status event per change (its sample event came first with the new status)
        curCounts[d.previous] = Math.max(0, (curCounts[d.previous] || 0) - 1);
        curCounts[d.status] = (curCounts[d.status] || 0) + 1;
        showCounts(curCounts);
      }
      c.status = d.status;
      c.uptime_24h = d.uptime_24h;
      c.last_sample = d;
      const el = viewport.querySelector(`[data-id="${CSS.escape(d.check)}"]`);
      if (el) {
        const fresh = row(c, i);
        fresh.style.top = el.style.top;
        el.replaceWith(fresh);
      }
    });

    load();
    ctx.api('/api/v1/projects?limit=1000').then((r) => {
      for (const p of r.projects) projectSel.append(h('option', { value: p.id }, p.name));
      projectSel.value = f.project;
    }).catch(() => {});
    const tick = setInterval(() => { if (!loading) draw(true); }, 30000);
    return () => {
      off(); clearInterval(tick); clearTimeout(recount); window.removeEventListener('resize', onResize); gen++;
    };
  },
});

export { ago };
