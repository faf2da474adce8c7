/**
 * The API from the resident's browser: same origin, bearer token in sessionStorage (gone when the tab
 * closes — residents often use a shared family phone). A 401 with a token means the session ended.
 */
/* global sessionStorage, CustomEvent */

const TOKEN_KEY = 'amr.resident.token';

export class ApiError extends Error {
  constructor(status, body, path, retryAfter) {
    super(body?.message ?? `HTTP ${status} for ${path}`);
    this.status = status;
    this.body = body;
    /** Seconds, from the Retry-After header of a 429. */
    this.retryAfter = retryAfter;
  }
}

export const token = () => sessionStorage.getItem(TOKEN_KEY);
export const setToken = (value) => (value ? sessionStorage.setItem(TOKEN_KEY, value) : sessionStorage.removeItem(TOKEN_KEY));

export async function api(path, { method = 'GET', body } = {}) {
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
    window.dispatchEvent(new CustomEvent('amr:signed-out', { detail: { expired: true } }));
  }
  if (!res.ok) throw new ApiError(res.status, data, path, res.headers.get('retry-after'));
  return data;
}
