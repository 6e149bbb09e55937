// Every call to opshub's API: same-origin cookies (the session is an
// HttpOnly cookie), the CSRF token from its readable cookie on every request
// that changes something, one refresh on a 401, then the login page.

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code;
    this.field = e.field;
    this.body = body;
  }
}

function csrf() {
  const m = document.cookie.match(/(?:^|;\s*)opshub_csrf=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : '';
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

let refreshing = null;
async function refresh() {
  if (!refreshing) {
    refreshing = fetch('/api/v1/auth/refresh', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf() },
      body: JSON.stringify({ cookie: true }),
    }).then((r) => r.ok).catch(() => false).finally(() => { setTimeout(() => { refreshing = null; }, 0); });
  }
  return refreshing;
}

export async function api(path, { method = 'GET', body, retry = true, ifMatch } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrf();
  if (ifMatch !== undefined) headers['If-Match'] = `"${ifMatch}"`;
  const r = await fetch(path, {
    method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (r.status === 401 && retry && !path.startsWith('/api/v1/auth/')) {
    if (await refresh()) return api(path, { method, body, retry: false, ifMatch });
    onUnauthorized();
  }
  const text = await r.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, v);
  const s = u.toString();
  return s ? `?${s}` : '';
}
