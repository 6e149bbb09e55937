import { h, append, clear, ms, pct, statusBadge, stateBadge, notice, time } from '../dom.js';
import { registerPage } from '../pages.js';
import { onLive } from '../live.js';
import { loadChartLib, cssVar } from '../chart_lib.js';

// One check: its state, a latency chart (p50/p95/p99 from the rollups) with
// the transitions of its alerts as markers (and listed below it), a status
// timeline, uptime figures, recent samples, the operator's buttons,
// and its definition (editable when it came from the API).

const RANGES = { '1h': 3600, '24h': 86400, '7d': 7 * 86400, '30d': 30 * 86400, '90d': 90 * 86400 };

function valuesList(values) {
  const keys = Object.keys(values || {});
  if (!keys.length) return '';
  return keys.slice(0, 6).map((k) => `${k}=${Number(values[k]).toPrecision(4).replace(/\.?0+$/, '')}`).join(', ')
    + (keys.length > 6 ? ` (+${keys.length - 6})` : '');
}

registerPage({
  id: 'check',
  route: /^\/checks\/([^/?]+)$/,
  title: 'Check',
  render(root, [id], ctx) {
    const enc = encodeURIComponent(id);
    let check = null;
    let range = '24h';
    let chart = null;
    const head = h('div', { class: 'page-head' });
    const actions = h('div', { class: 'actions', id: 'check-actions' });
    const msg = h('div', { id: 'action-msg', 'aria-live': 'polite' });
    const figures = h('dl', { class: 'figures', id: 'uptime' });
    const rangeBar = h('div', { class: 'ranges', role: 'group', 'aria-label': 'Chart range' });
    const chartBox = h('div', { class: 'chart', id: 'latency-chart' });
    const marks = h('ul', { class: 'alert-marks', id: 'alert-marks', 'aria-label': 'Alert transitions in this range' });
    const timeline = h('div', { class: 'timeline', id: 'timeline', role: 'img' });
    const samples = h('tbody', {});
    const def = h('div', { id: 'definition' });
    root.append(h('p', {}, h('a', { href: '#/' }, '← All checks')), head, actions, msg,
      h('section', { 'aria-labelledby': 'h-uptime' }, h('h2', { id: 'h-uptime' }, 'Uptime'), figures),
      h('section', { 'aria-labelledby': 'h-latency' }, h('h2', { id: 'h-latency' }, 'Latency'), rangeBar, chartBox, marks,
        h('h3', {}, 'Status'), timeline),
      h('section', { 'aria-labelledby': 'h-samples' }, h('h2', { id: 'h-samples' }, 'Recent samples'),
        h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'h-samples' },
          h('table', { class: 'samples', id: 'samples' },
          h('thead', {}, h('tr', {}, ['Time', 'Result', 'Latency', 'Code', 'Values', 'Error']
            .map((t) => h('th', { scope: 'col' }, t)))), samples))),
      h('section', { 'aria-labelledby': 'h-def' }, h('h2', { id: 'h-def' }, 'Definition'), def));

    for (const r of Object.keys(RANGES)) {
      rangeBar.append(h('button', { type: 'button', 'aria-pressed': r === range ? 'true' : 'false',
        onclick: () => { range = r; for (const b of rangeBar.children) b.setAttribute('aria-pressed', String(b.textContent === r)); loadChart(); } }, r));
    }

    function drawHead() {
      const ls = check.last_sample;
      const open = head.querySelector('#last-detail');   // a redraw keeps the details as the user left them
      const wasOpen = open ? open.open : false;
      clear(head);
      append(head, [h('h1', {}, check.name, ' ', statusBadge(check.status)),
        h('p', { class: 'muted' }, `${check.type} · ${check.target || ''}`, check.project ? ` · project ${check.project}` : '',
          check.since ? [' · since ', time(check.since)] : ''),
        ls && ls.error ? h('p', { class: 'error-text', id: 'last-error' }, `Last error: ${ls.error}`) : null,
        // facts of the last run that are not numbers: a certificate's issuer, a plugin's output, log matches
        ls && ls.detail && Object.keys(ls.detail).length
          ? h('details', { class: 'detail', id: 'last-detail', open: wasOpen }, h('summary', {}, 'Details of the last run'),
            h('pre', {}, JSON.stringify(ls.detail, null, 2)))
          : null]);
      actions.replaceChildren();
      if (ctx.can('operator')) {
        actions.append(h('button', { type: 'button', id: 'run-now', class: 'primary', onclick: runNow,
          disabled: check.status === 'paused' }, 'Run now'));
        actions.append(check.paused
          ? h('button', { type: 'button', id: 'resume', onclick: () => pause(false) }, 'Resume')
          : h('button', { type: 'button', id: 'pause', onclick: () => pause(true) }, 'Pause'));
      }
    }

    async function runNow(e) {
      e.target.disabled = true;
      msg.replaceChildren(h('p', { class: 'muted' }, 'Running…'));
      try {
        const r = await ctx.api(`/api/v1/checks/${enc}/run`, { method: 'POST' });
        msg.replaceChildren(h('p', { class: 'ok-text', id: 'run-result' },
          `Ran: ${r.sample.result} in ${ms(r.sample.latency_ms)}${r.sample.error ? ` — ${r.sample.error}` : ''}`));
        await refresh();
      } catch (ex) {
        msg.replaceChildren(notice('error', 'Could not run the check', ex.message));
      } finally {
        e.target.disabled = false;
      }
    }

    async function pause(on) {
      try {
        check = await ctx.api(`/api/v1/checks/${enc}/${on ? 'pause' : 'resume'}`, { method: 'POST' });
        msg.replaceChildren(h('p', { class: 'ok-text' }, on ? 'Paused.' : 'Resumed: it runs now.'));
        drawHead();
      } catch (ex) {
        msg.replaceChildren(notice('error', on ? 'Could not pause' : 'Could not resume', ex.message));
      }
    }

    async function loadUptime() {
      const rows = await Promise.all(['24h', '7d', '30d', '90d'].map((w) => ctx.api(`/api/v1/checks/${enc}/uptime?window=${w}`)
        .then((u) => [w, u]).catch(() => [w, null])));
      figures.replaceChildren(...rows.flatMap(([w, u]) => [h('dt', {}, w),
        h('dd', {}, u && u.uptime !== null ? pct(u.uptime * 100) : 'no data', u && u.partial ? ' (partial)' : '')]));
    }

    // The transitions of this check's alerts (labels.check) in [from, to].
    async function loadMarks(from, to) {
      let r;
      try {
        r = await ctx.api(`/api/v1/alerts/history?from=${from}&to=${to}&limit=1000`);
      } catch {
        return [];
      }
      return r.data.transitions.filter((t) => t.labels.check === id).reverse();
    }

    function drawMarks(list) {
      marks.replaceChildren(...list.slice(-20).reverse().map((t) => h('li', { 'data-alert': t.alertname },
        time(t.at), ' ', h('strong', {}, t.alertname), ' ', stateBadge(t.state))));
      if (list.length > 20) marks.append(h('li', { class: 'muted' }, `and ${list.length - 20} earlier`));
    }

    // Markers over the chart: one thin line per transition, its colour the state's.
    function placeMarks(u, list) {
      for (const el of u.over.querySelectorAll('.alert-mark')) el.remove();
      for (const t of list) {
        const x = u.valToPos(new Date(t.at).getTime() / 1000, 'x');
        if (!(x >= 0 && x <= u.over.clientWidth)) continue;
        u.over.append(h('div', { class: `alert-mark m-${t.state}`, 'aria-hidden': 'true',
          title: `${t.alertname}: ${t.previous} → ${t.state} at ${new Date(t.at).toLocaleString()}`, dataset: { x: String(Math.round(x)) } }));
        u.over.lastChild.style.left = `${x}px`;
      }
    }

    async function loadChart() {
      const now = Math.floor(Date.now() / 1000);
      const span = RANGES[range];
      let r;
      let list;
      try {
        [r, list] = await Promise.all([ctx.api(`/api/v1/checks/${enc}/latency?from=${now - span}&to=${now}`),
          loadMarks(now - span, now)]);
      } catch (ex) {
        chartBox.replaceChildren(notice('error', 'No chart', ex.message));
        return;
      }
      drawMarks(list);
      const xs = []; const p50 = []; const p95 = []; const p99 = [];
      for (const p of r.points) {
        xs.push(new Date(p.ts).getTime() / 1000);
        p50.push(p.latency_ms ? p.latency_ms.p50 : null);
        p95.push(p.latency_ms ? p.latency_ms.p95 : null);
        p99.push(p.latency_ms ? p.latency_ms.p99 : null);
      }
      timeline.replaceChildren(...r.points.map((p) => {
        const cls = !p.total ? 'none' : p.down ? (p.down === p.total ? 'down' : 'part') : p.degraded ? 'degraded' : 'up';
        return h('i', { class: `t-${cls}`, title: `${new Date(p.ts).toLocaleString()}: ${p.total ? `${p.total - p.down}/${p.total} up` : 'no samples'}` });
      }));
      timeline.setAttribute('aria-label', `Status over ${range}: ${r.points.filter((p) => p.down).length} of ${r.points.length} steps with failures`);
      clear(chartBox);
      if (!p50.some((v) => v !== null)) {
        chartBox.append(notice('empty', 'No latency yet', `No sample in the last ${range}. Runs appear here as they happen.`));
        return;
      }
      const width = Math.max(280, chartBox.clientWidth || 600);
      const uPlot = await loadChartLib();
      if (chart) chart.destroy();
      chart = new uPlot({
        width, height: 220,
        // the whole range asked for, so that every marker in it lands on the chart
        scales: { x: { time: true, range: () => [now - span, now] } },
        axes: [{ stroke: cssVar('--fg-muted') }, { stroke: cssVar('--fg-muted'), values: (u, v) => v.map((x) => `${x} ms`) }],
        series: [{}, { label: 'p50', stroke: cssVar('--c-up'), width: 2, points: { show: true, size: 4 } },
          { label: 'p95', stroke: cssVar('--c-degraded'), width: 1.5 }, { label: 'p99', stroke: cssVar('--c-down'), width: 1 }],
        hooks: { draw: [(u) => placeMarks(u, list)] },
      }, [xs, p50, p95, p99], chartBox);
    }

    async function loadSamples() {
      const r = await ctx.api(`/api/v1/checks/${enc}/samples?limit=20`);
      samples.replaceChildren(...(r.samples.length ? r.samples.map((s) => h('tr', { class: `r-${s.result}` },
        h('td', {}, time(s.ts)), h('td', {}, statusBadge(s.result)), h('td', {}, ms(s.latency_ms)),
        h('td', {}, s.code || ''), h('td', { class: 'values' }, valuesList(s.values)), h('td', { class: 'error-text' }, s.error || '')))
        : [h('tr', {}, h('td', { colspan: '6' }, 'No samples stored yet: the first run is on its way.'))]));
    }

    async function loadDefinition() {
      def.replaceChildren();
      if (check.source !== 'api') {
        def.append(h('p', { class: 'muted' }, 'From the configuration file: change it there and reload opshub (SIGHUP).'));
        const fields = ['type', 'target', 'interval', 'timeout', 'confirm', 'enabled'];
        def.append(h('dl', { class: 'def' }, fields.flatMap((k) => [h('dt', {}, k), h('dd', {}, String(check[k]))]),
          h('dt', {}, 'labels'), h('dd', {}, JSON.stringify(check.labels))));
        return;
      }
      const body = check;
      def.append(h('p', { class: 'muted' }, `Created through the API by ${check.created_by || '?'} · version ${check.version}`));
      if (!ctx.can('admin')) {
        def.append(h('dl', { class: 'def' }, ['type', 'target', 'interval', 'timeout', 'confirm', 'enabled']
          .flatMap((k) => [h('dt', {}, k), h('dd', {}, String(body[k]))])));
        return;
      }
      editForm(body);
    }

    function editForm(body) {
      const fields = [['name', 'text'], ['interval', 'text'], ['timeout', 'text'], ['confirm', 'number']];
      const inputs = {};
      const errs = {};
      const form = h('form', { class: 'edit', id: 'edit-form', novalidate: true });
      for (const [k, t] of fields) {
        inputs[k] = h('input', { id: `e-${k}`, name: k, type: t, value: body[k] !== undefined ? body[k] : check[k] });
        errs[k] = h('p', { class: 'field-error', id: `err-${k}`, 'aria-live': 'polite' });
        inputs[k].setAttribute('aria-describedby', `err-${k}`);
        form.append(h('div', { class: 'field' }, h('label', { for: `e-${k}` }, k), inputs[k], errs[k]));
      }
      const general = h('div', { 'aria-live': 'polite' });
      form.append(general, h('button', { type: 'submit', class: 'primary' }, 'Save'));
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        for (const k in errs) { errs[k].textContent = ''; inputs[k].removeAttribute('aria-invalid'); }
        general.replaceChildren();
        const patch = {};
        for (const [k, t] of fields) {
          const v = inputs[k].value;
          if (v === '') continue;
          patch[k] = t === 'number' ? Number(v) : v;
        }
        try {
          await ctx.api(`/api/v1/checks/${enc}`, { method: 'PATCH', body: patch, ifMatch: check.version });
          general.append(h('p', { class: 'ok-text', id: 'saved' }, 'Saved.'));
          await refresh();
        } catch (ex) {
          // The API's error names the field: the message goes next to it.
          const field = (ex.field || '').split(/[.[]/)[0];
          if (errs[field]) {
            errs[field].textContent = ex.message;
            inputs[field].setAttribute('aria-invalid', 'true');
            inputs[field].focus();
          } else {
            general.append(notice('error', 'Not saved', ex.message));
          }
        }
      });
      def.append(form);
    }

    async function refresh() {
      try {
        check = await ctx.api(`/api/v1/checks/${enc}`);
      } catch (ex) {
        clear(root).append(ex.status === 404
          ? notice('empty', 'No such check', `There is no check “${id}”: it may have been removed.`, h('a', { href: '#/' }, 'Back to the overview'))
          : notice('error', 'Could not load the check', ex.message, h('button', { type: 'button', onclick: refresh }, 'Retry')));
        return false;
      }
      document.title = `${check.name} · opshub`;
      drawHead();
      await Promise.all([loadUptime(), loadSamples(), loadChart()]).catch(() => {});
      return true;
    }

    // Live events carry no run details: the last ones stay shown until the
    // check is read again (at most once a second), which brings the new ones.
    let detailTimer = null;
    async function reloadDetail() {
      detailTimer = null;
      try {
        const c = await ctx.api(`/api/v1/checks/${enc}`);
        if (!check || c.id !== check.id) return;
        check.last_sample = c.last_sample;
        drawHead();
      } catch { /* the next event tries again */ }
    }
    const off = onLive((kind, d) => {
      if (kind === 'reset') { refresh(); return; }
      if (!check || d.check !== check.id) return;
      check.status = d.status;
      const prev = check.last_sample;
      check.last_sample = prev && prev.detail && !d.detail ? { ...d, detail: prev.detail } : d;
      if (kind === 'status') check.since = d.since || d.at;
      drawHead();
      loadSamples().catch(() => {});
      if (prev && prev.detail && !detailTimer) detailTimer = setTimeout(reloadDetail, 1000);
    });
    refresh().then((ok) => { if (ok) loadDefinition(); });
    return () => { off(); clearTimeout(detailTimer); if (chart) chart.destroy(); };
  },
});
