/**
 * The API from the browser: same origin, bearer token from sessionStorage (gone when the tab closes).
 * `optional()` is for routes other parts of the head-end may not serve yet: the page shows "—" then.
 */
/* global sessionStorage, CustomEvent, URLSearchParams */

const TOKEN_KEY = 'amr.dashboard.token';

export class ApiError extends Error {
  constructor(status, body, path) {
    super(body?.message ?? `HTTP ${status} for ${path}`);
    this.status = status;
    this.body = body;
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
    // Expired or revoked session: back to the login form.
    setToken(null);
    window.dispatchEvent(new CustomEvent('amr:logged-out'));
  }
  if (!res.ok) throw new ApiError(res.status, data, path);
  return data;
}

/** Like api(), but a missing or failing route gives null (logged) instead of breaking the page. */
export async function optional(path) {
  try {
    return await api(path);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) throw e;
    console.warn(`optional ${path}:`, e.message);
    return null;
  }
}

export const qs = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v != null && v !== '')).toString();

/** Downloads a file the API serves (bearer auth, so not a plain link): saved under the server's file name. */
export async function download(path) {
  const headers = {};
  const tk = token();
  if (tk) headers.authorization = `Bearer ${tk}`;
  const res = await fetch(path, { headers });
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null), path);
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'download';
  const url = URL.createObjectURL(await res.blob());
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
