/**
 * The API from the browser (web-shared/api.js: same origin, bearer token in sessionStorage).
 * `optional()` is for routes other parts of the head-end may not serve yet: the page shows "—" then.
 */
/* global URLSearchParams */
import { ApiError, createApiClient } from '../web-shared/api.js';

export { ApiError };
// Expired or revoked session: 'amr:logged-out' takes the page back to the login form.
export const { token, setToken, api } = createApiClient({ tokenKey: 'amr.dashboard.token', endedEvent: 'amr:logged-out' });

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

/**
 * Downloads a file the API serves (bearer auth, so not a plain link), saved under the server's file
 * name; a POST that answers a file (invite letters) too. Returns the file name and the answer's headers.
 */
export async function download(path, { method = 'GET', body, fallbackName = 'download' } = {}) {
  const headers = {};
  const tk = token();
  if (tk) headers.authorization = `Bearer ${tk}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null), path);
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await res.blob());
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return { name, headers: res.headers };
}

/**
 * Sends a file as the request body (the import routes take the file itself, CSV or Excel, not a form):
 * the answer's JSON, also for a 422 whose body is the report of refused rows (`{ status, body }`).
 */
export async function upload(path, file, { method = 'POST' } = {}) {
  const headers = { accept: 'application/json', 'content-type': file.type || (file.name.endsWith('.csv') ? 'text/csv' : 'application/octet-stream') };
  const tk = token();
  if (tk) headers.authorization = `Bearer ${tk}`;
  const res = await fetch(path, { method, headers, body: file });
  const body = await res.json().catch(() => null);
  if (res.ok || res.status === 422) return { status: res.status, body };
  throw new ApiError(res.status, body, path, res.headers.get('retry-after'));
}
