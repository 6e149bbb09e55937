// One EventSource for the whole page (GET /api/v1/events): samples and
// status changes arrive as they happen; the browser reconnects by itself
// and resumes with Last-Event-ID. `reset` means events were missed: the
// listeners re-read what they show.

const listeners = new Set();
let source = null;

export function onLive(fn) {
  listeners.add(fn);
  start();
  return () => listeners.delete(fn);
}

function emit(kind, data) {
  for (const fn of listeners) {
    try { fn(kind, data); } catch (e) { console.error(e); }
  }
}

function start() {
  if (source || typeof EventSource === 'undefined') return;
  source = new EventSource('/api/v1/events', { withCredentials: true });
  source.addEventListener('sample', (e) => emit('sample', JSON.parse(e.data)));
  source.addEventListener('status', (e) => emit('status', JSON.parse(e.data)));
  source.addEventListener('reset', () => emit('reset', null));
  source.addEventListener('open', () => { document.body.dataset.live = 'on'; });
  source.addEventListener('error', () => { document.body.dataset.live = 'off'; });
}

export function stopLive() {
  if (source) source.close();
  source = null;
}
