import { h, append, clear, notice, time, ago, stateBadge, labelChips } from '../dom.js';
import { registerPage } from '../pages.js';
import { loadChartLib, cssVar } from '../chart_lib.js';

// Alerts: the firing and pending alerts (value, since, labels, annotations,
// the runbook link), the rule groups with their health, last evaluation and
// errors, the last transitions from the store, and a PromQL query box with
// a chart over /api/v1/query_range. Refreshed every 5 s while open.

const HEALTH_ICON = { ok: '●', err: '▲', unknown: '○' };
const HEALTH_CLASS = { ok: 's-up', err: 's-down', unknown: 's-unknown' };
const QUERY_RANGES = { '15m': 900, '1h': 3600, '6h': 21600 };
const MAX_LINES = 12;     // lines drawn on the query chart; the table lists every series
const REFRESH_MS = 5000;

function healthBadge(health) {
  return h('span', { class: `badge ${HEALTH_CLASS[health] || 's-unknown'}` },
    h('span', { 'aria-hidden': 'true' }, HEALTH_ICON[health] || '○'), ' ', health);
}

// The runbook of an alert, by the conventions in use: runbook_url (Prometheus
// mixins), runbook.
function runbook(ann) {
  const u = (ann && (ann.runbook_url || ann.runbook)) || '';
  return /^https?:\/\//.test(u) ? u : '';
}

// A Prometheus error body is {status, errorType, error: "text"}; opshub's own
// is {error: {message, field}}.
function errorText(ex) {
  const b = ex.body;
  if (b && typeof b.error === 'string') return b.error;
  return ex.message;
}

// The silence form with the alert's labels as matchers.
function silenceLink(labels) {
  const m = Object.keys(labels).sort().map((k) => `${k}="${String(labels[k]).replace(/["\\]/g, '\\$&')}"`).join(',');
  return `#/silences/new?${new URLSearchParams({ matchers: m })}`;
}

function seriesName(metric) {
  const name = metric.__name__ || '';
  const rest = Object.keys(metric).filter((k) => k !== '__name__').sort().map((k) => `${k}="${metric[k]}"`);
  return `${name}{${rest.join(', ')}}`;
}

registerPage({
  id: 'alerts',
  route: /^\/alerts$/,
  title: 'Alerts',
  nav: 5,
  navPath: '/alerts',
  render(root, params, ctx) {
    const counts = h('p', { class: 'counts', id: 'alert-counts', 'aria-live': 'polite' });
    const active = h('tbody', {});
    const groups = h('div', { id: 'rule-groups' });
    const hist = h('tbody', {});
    const q = h('input', { id: 'q', name: 'query', type: 'text', class: 'query', spellcheck: 'false',
      autocomplete: 'off', 'aria-describedby': 'q-error', placeholder: 'probe_success == 0' });
    const qErr = h('p', { class: 'field-error', id: 'q-error', 'aria-live': 'polite' });
    const qRange = h('select', { id: 'q-range', name: 'range' },
      Object.keys(QUERY_RANGES).map((r) => h('option', { value: r, selected: r === '1h' }, r)));
    const qChart = h('div', { class: 'chart', id: 'query-chart' });
    const qTable = h('tbody', {});
    const form = h('form', { class: 'inline-form', id: 'query-form', role: 'search' },
      h('div', { class: 'field grow' }, h('label', { for: 'q' }, 'PromQL expression'), q, qErr),
      h('div', { class: 'field' }, h('label', { for: 'q-range' }, 'Range'), qRange),
      h('div', { class: 'field' }, h('span', { 'aria-hidden': 'true' }, '\u00a0'),
        h('button', { type: 'submit', class: 'primary' }, 'Run query')));
    root.append(h('div', { class: 'page-head' }, h('h1', {}, 'Alerts'), counts),
      h('section', { 'aria-labelledby': 'h-active' }, h('h2', { id: 'h-active' }, 'Firing and pending'),
        h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'h-active' },
          h('table', { class: 'alerts', id: 'active-alerts' },
            h('thead', {}, h('tr', {}, ['Alert', 'State', 'Value', 'Since', 'Labels', 'Annotations']
              .map((t) => h('th', { scope: 'col' }, t)))), active))),
      h('section', { 'aria-labelledby': 'h-groups' }, h('h2', { id: 'h-groups' }, 'Rule groups'), groups),
      h('section', { 'aria-labelledby': 'h-query' }, h('h2', { id: 'h-query' }, 'Query'), form, qChart,
        h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Query result' },
          h('table', { class: 'samples', id: 'query-table' },
            h('thead', {}, h('tr', {}, ['Series', 'Last value'].map((t) => h('th', { scope: 'col' }, t)))), qTable))),
      h('section', { 'aria-labelledby': 'h-history' }, h('h2', { id: 'h-history' }, 'Recent transitions'),
        h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'h-history' },
          h('table', { class: 'samples', id: 'alert-history' },
            h('thead', {}, h('tr', {}, ['Time', 'Alert', 'From', 'To', 'Value', 'Labels']
              .map((t) => h('th', { scope: 'col' }, t)))), hist))));

    let chart = null;
    let timer = null;
    let gone = false;

    async function loadActive() {
      let r;
      try {
        r = await ctx.api('/api/v1/alerts');
      } catch (ex) {
        active.replaceChildren(h('tr', {}, h('td', { colspan: '6' }, notice('error', 'Could not load the alerts', errorText(ex)))));
        return;
      }
      const list = r.data.alerts.slice().sort((a, b) => (a.state === b.state ? 0 : a.state === 'firing' ? -1 : 1)
        || a.labels.alertname.localeCompare(b.labels.alertname));
      const firing = list.filter((a) => a.state === 'firing').length;
      counts.textContent = `${firing} firing · ${list.length - firing} pending`;
      active.replaceChildren(...(list.length ? list.map((a) => {
        const rb = runbook(a.annotations);
        const ann = Object.keys(a.annotations || {}).filter((k) => k !== 'runbook_url' && k !== 'runbook').sort();
        return h('tr', { 'data-alert': a.labels.alertname, class: `a-${a.state}` },
          h('th', { scope: 'row' }, a.labels.alertname),
          h('td', {}, stateBadge(a.state)),
          h('td', { class: 'num' }, a.value),
          h('td', {}, time(a.activeAt), h('br', {}), h('small', { class: 'muted' }, ago(a.activeAt))),
          h('td', {}, labelChips(a.labels)),
          h('td', {}, ann.map((k) => h('p', { class: 'ann' }, h('span', { class: 'muted' }, `${k}: `), a.annotations[k])),
            rb ? h('a', { href: rb, class: 'runbook', rel: 'noopener noreferrer', target: '_blank' }, 'Runbook') : null,
            a.state === 'firing' && ctx.can('operator') ? [' ', h('a', { class: 'silence', href: silenceLink(a.labels) },
              'Silence', h('span', { class: 'visually-hidden' }, ` ${a.labels.alertname}`))] : null));
      }) : [h('tr', {}, h('td', { colspan: '6' }, 'No alert is firing or pending.'))]));
    }

    async function loadGroups() {
      let r;
      try {
        r = await ctx.api('/api/v1/rules');
      } catch (ex) {
        groups.replaceChildren(notice('error', 'Could not load the rules', errorText(ex)));
        return;
      }
      if (!r.data.groups.length) {
        groups.replaceChildren(notice('empty', 'No rules', 'Add alerts: to the configuration, or rule_files: with Prometheus rule files (docs/alerts.md), then reload.'));
        return;
      }
      groups.replaceChildren(...r.data.groups.map((g) => {
        const bad = g.rules.filter((x) => x.health === 'err').length;
        const id = `g-${g.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
        return h('section', { class: 'group', 'data-group': g.name, 'aria-labelledby': id },
          h('h3', { id }, g.name, ' ', h('small', { class: 'muted' }, `${g.file || 'configuration'} · every ${g.interval}s · `,
            g.lastEvaluation.startsWith('0001') ? 'not evaluated yet'
              : [`last ${ago(g.lastEvaluation)} in ${(g.evaluationTime * 1000).toFixed(2)} ms`],
            bad ? h('span', { class: 'error-text' }, ` · ${bad} failing`) : '')),
          h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': id },
            h('table', { class: 'samples rules' },
              h('thead', {}, h('tr', {}, ['Rule', 'Type', 'Health', 'Expression', 'Last evaluation']
                .map((t) => h('th', { scope: 'col' }, t)))),
              h('tbody', {}, g.rules.map((x) => h('tr', { 'data-rule': x.name },
                h('th', { scope: 'row' }, x.name, x.type === 'alerting' && x.alerts.length
                  ? h('small', { class: 'muted' }, ` (${x.alerts.length} active)`) : ''),
                h('td', {}, x.type === 'alerting' ? 'alert' : 'record'),
                h('td', {}, healthBadge(x.health), x.lastError ? h('p', { class: 'error-text rule-error' }, x.lastError) : null),
                h('td', {}, h('button', { type: 'button', class: 'link expr', title: 'Run this expression in the query box',
                  onclick: () => { q.value = x.query; runQuery(); q.focus(); } }, h('code', {}, x.query))),
                h('td', {}, x.lastEvaluation.startsWith('0001') ? '—' : ago(x.lastEvaluation))))))));
      }));
    }

    async function loadHistory() {
      let r;
      try {
        r = await ctx.api('/api/v1/alerts/history?limit=50');
      } catch (ex) {
        hist.replaceChildren(h('tr', {}, h('td', { colspan: '6' }, notice('error', 'Could not load the history', errorText(ex)))));
        return;
      }
      const ts = r.data.transitions;
      hist.replaceChildren(...(ts.length ? ts.map((t) => h('tr', { 'data-alert': t.alertname },
        h('td', {}, time(t.at)), h('th', { scope: 'row' }, t.alertname), h('td', {}, stateBadge(t.previous)),
        h('td', {}, stateBadge(t.state)), h('td', { class: 'num' }, t.value), h('td', {}, labelChips(t.labels))))
        : [h('tr', {}, h('td', { colspan: '6' }, 'No alert has changed state yet.'))]));
    }

    async function runQuery() {
      const expr = q.value.trim();
      qErr.textContent = '';
      q.removeAttribute('aria-invalid');
      if (!expr) {
        qErr.textContent = 'Write a PromQL expression, for example probe_success == 0';
        q.setAttribute('aria-invalid', 'true');
        return;
      }
      const end = Math.floor(Date.now() / 1000);
      const span = QUERY_RANGES[qRange.value] || 3600;
      const step = Math.max(1, Math.round(span / 240));
      let r;
      try {
        r = await ctx.api(`/api/v1/query_range?${new URLSearchParams({ query: expr, start: end - span, end, step })}`);
      } catch (ex) {
        qErr.textContent = errorText(ex);
        q.setAttribute('aria-invalid', 'true');
        return;
      }
      const res = r.data.result;
      qTable.replaceChildren(...(res.length ? res.map((s) => h('tr', {},
        h('td', {}, h('code', {}, seriesName(s.metric))), h('td', { class: 'num' }, s.values.length ? s.values[s.values.length - 1][1] : '')))
        : [h('tr', {}, h('td', { colspan: '2' }, 'No series: the expression has no result in this range.'))]));
      if (chart) { chart.destroy(); chart = null; }
      clear(qChart);
      if (!res.length) return;
      const xs = [];
      for (let t = end - span; t <= end; t += step) xs.push(t);
      const index = new Map(xs.map((t, i) => [t, i]));
      const lines = res.slice(0, MAX_LINES).map((s) => {
        const ys = new Array(xs.length).fill(null);
        for (const [t, v] of s.values) {
          const i = index.get(Math.round(t));
          if (i !== undefined) ys[i] = Number(v);
        }
        return ys;
      });
      const palette = ['--accent', '--c-up', '--c-down', '--c-degraded', '--c-unknown'];
      const uPlot = await loadChartLib();
      if (gone) return;
      chart = new uPlot({
        width: Math.max(280, qChart.clientWidth || 600), height: 220,
        scales: { x: { time: true } },
        axes: [{ stroke: cssVar('--fg-muted') }, { stroke: cssVar('--fg-muted') }],
        series: [{}, ...res.slice(0, MAX_LINES).map((s, i) => ({ label: seriesName(s.metric), stroke: cssVar(palette[i % palette.length]), width: 1.5 }))],
      }, [xs, ...lines], qChart);
      if (res.length > MAX_LINES) append(qChart, h('p', { class: 'muted' }, `The first ${MAX_LINES} of ${res.length} series are drawn; the table lists them all.`));
    }

    form.addEventListener('submit', (e) => { e.preventDefault(); runQuery(); });

    async function refresh() {
      await Promise.all([loadActive(), loadGroups(), loadHistory()]);
      if (!gone) timer = setTimeout(refresh, REFRESH_MS);
    }
    refresh();
    return () => { gone = true; clearTimeout(timer); if (chart) chart.destroy(); };
  },
});
