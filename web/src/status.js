// The status page works without this script; with it, times read in the
// reader's own zone (UTC stays on hover) and each day's bar gets a tooltip
// that also shows on keyboard focus and touch, not only on mouse hover.

for (const t of document.querySelectorAll('time[datetime]')) {
  const d = new Date(t.getAttribute('datetime'));
  if (Number.isNaN(d.getTime())) continue;
  t.title = `${d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '')} UTC`;
  t.textContent = d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

let tip = null;
function show(bar) {
  const text = bar.getAttribute('title') || bar.dataset.tip;
  if (!text) return;
  bar.dataset.tip = text;
  bar.removeAttribute('title'); // the custom tooltip replaces the native one
  if (!tip) {
    tip = document.createElement('div');
    tip.className = 'sp-tip';
    tip.setAttribute('role', 'tooltip');
    tip.id = 'sp-tip';
    document.body.append(tip);
  }
  tip.textContent = text;
  const r = bar.getBoundingClientRect();
  tip.style.left = `${Math.max(4, r.left + window.scrollX - 40)}px`;
  tip.style.top = `${r.top + window.scrollY - 30}px`;
  tip.hidden = false;
  bar.setAttribute('aria-describedby', 'sp-tip');
}
function hide() { if (tip) tip.hidden = true; }

for (const bar of document.querySelectorAll('.bars i')) {
  bar.tabIndex = -1;
  bar.addEventListener('mouseenter', () => show(bar));
  bar.addEventListener('focus', () => show(bar));
  bar.addEventListener('mouseleave', hide);
  bar.addEventListener('blur', hide);
}
for (const bars of document.querySelectorAll('.bars')) {
  bars.tabIndex = 0; // arrow keys walk the days
  let at = bars.children.length - 1;
  bars.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    e.preventDefault();
    at = Math.max(0, Math.min(bars.children.length - 1, at + (e.key === 'ArrowLeft' ? -1 : 1)));
    show(bars.children[at]);
  });
  bars.addEventListener('blur', hide);
}

// The subscribe form: sent as JSON, the answer shown in place.
const form = document.querySelector('form.sp-subscribe');
if (form) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const out = form.querySelector('.sp-subscribe-result');
    const body = { email: form.elements.email.value };
    if (form.elements.project) body.project = form.elements.project.value;
    out.textContent = 'Sending…';
    try {
      const r = await fetch(form.action, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      const j = await r.json().catch(() => ({}));
      out.textContent = r.ok
        ? 'Check your inbox: a confirmation link was sent. Nothing is subscribed until you use it.'
        : (j.error && j.error.message) || `Not sent (${r.status})`;
      if (r.ok) form.reset();
    } catch (e) {
      out.textContent = 'Not sent: the server could not be reached.';
    }
  });
}
