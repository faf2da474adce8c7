/**
 * The head-end API from the browser: same origin, bearer token in sessionStorage (gone when the tab
 * closes). A 401 while holding a token means the session ended: the token is dropped and the page is
 * told by a window event, so it can show its sign-in form.
 */
/* global sessionStorage, CustomEvent */

export class ApiError extends Error {
  constructor(status, body, path, retryAfter = null) {
    super(body?.message ?? `HTTP ${status} for ${path}`);
    this.status = status;
    this.body = body;
    /** Seconds, from the Retry-After header of a 429. */
    this.retryAfter = retryAfter;
  }
}

/** One page's client: its own token key and the event it hears when the session ends. */
export function createApiClient({ tokenKey, endedEvent, endedDetail }) {
  const token = () => sessionStorage.getItem(tokenKey);
  const setToken = (value) => (value ? sessionStorage.setItem(tokenKey, value) : sessionStorage.removeItem(tokenKey));

  async function api(path, { method = 'GET', body } = {}) {
    const headers = { accept: 'application/json' };
    const tk = token();
    if (tk) headers.authorization = `Bearer ${tk}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = { message: text }; }
    if (res.status === 401 && tk) {
      setToken(null);
      window.dispatchEvent(new CustomEvent(endedEvent, endedDetail ? { detail: endedDetail } : undefined));
    }
    if (!res.ok) throw new ApiError(res.status, data, path, res.headers.get('retry-after'));
    return data;
  }

  return { token, setToken, api };
}
