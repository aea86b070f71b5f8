// Calls to the oddsfeed /v1 API with the session cookie. State-changing
// requests carry the session's CSRF token, which the page shell puts in a
// meta tag; the server refuses them without it.

const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? '';

export class HTTPError extends Error {
  constructor(status, body) {
    super(body?.detail || body?.title || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (res.status === 401) {
    // The session ended (expired, signed out elsewhere, server restarted).
    location.assign('/signin?next=' + encodeURIComponent(location.pathname + location.search));
  }
  if (!res.ok) throw new HTTPError(res.status, data);
  return data;
}

// listAll follows nextCursor through a paged list.
export async function listAll(path, key, max = 5000) {
  const out = [];
  let cursor = '';
  for (;;) {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api(path + (cursor ? `${sep}cursor=${encodeURIComponent(cursor)}` : ''));
    out.push(...(page[key] || []));
    cursor = page.nextCursor;
    if (!cursor || out.length >= max) return out;
  }
}
