/**
 * Readings the inspector saved without signal (a basement): kept in localStorage so a reload or a flat
 * battery loses none, and sent when the connection returns (the `online` event and a retry timer), in
 * the order they were taken, one meter per request (a zone meter with all its zones).
 *
 * Sent at most once per success: an entry leaves the queue only when the server answered. If the
 * answer was lost after the server stored it, the re-send is the same value at the same instant by
 * staff, which the server answers as unchanged (src/readings/judge.ts isResend): no second version.
 * A refusal (any HTTP answer but success) keeps the entry, marked refused with the server's details,
 * so its card shows why; entering that meter again replaces it.
 *
 * Each entry belongs to the user who took it and is sent only in that user's session: on a phone the
 * inspectors share, the next one's login must not send (and sign) the previous one's readings. Another
 * user's entries wait, counted apart, until their owner signs in again.
 *
 * Entry: { key, user, building, target, path, meter_id, items: [{ meter_id, value, zone? }], reason?,
 *          taken_at (ISO), state: 'queued' | 'refused', confirm?, error?: { status, message, details } }
 */
import { api, ApiError } from './api.js';

const KEY = 'amr.dashboard.entry-queue';
/** The page redraws its counter and cards on this event (the queue changed). */
export const QUEUE_EVENT = 'amr:entry-queue';
/** Retry while queued entries wait: short enough for a stairwell, long enough not to drain a phone. */
export const RETRY_MS = 4000;

export function loadQueue() {
  try {
    const v = JSON.parse(window.localStorage.getItem(KEY) ?? '[]');
    return Array.isArray(v) ? v : [];
  } catch {
    return []; // a damaged value is not a reason to break the page; nothing readable was in it
  }
}

function saveQueue(list) {
  window.localStorage.setItem(KEY, JSON.stringify(list));
  window.dispatchEvent(new window.CustomEvent(QUEUE_EVENT));
}

/** The signed-in user (app.js sets it from /auth/me, and null at logout): whose entries go out. */
let currentUser = null;
export function setQueueUser(who) {
  currentUser = who ? `${who.kind}:${who.id}` : null;
  if (currentUser) flushQueue();
}
/** An entry of the signed-in user (kind and id: a user and an API key never share a queue). */
export const isMine = (e) => currentUser !== null && e.user === currentUser;

export const pendingCount = (list = loadQueue()) => list.filter((e) => e.state === 'queued' && isMine(e)).length;
/** Queued entries of other users of this browser (they go out when their owner signs in). */
export const othersPending = (list = loadQueue()) => list.filter((e) => e.state === 'queued' && !isMine(e)).length;

/** Adds entries at the end; an older refused entry of the same meter is replaced by the new one. */
export function enqueue(entries) {
  const meters = new Set(entries.map((e) => e.meter_id));
  const kept = loadQueue().filter((e) => !(e.state === 'refused' && isMine(e) && meters.has(e.meter_id)));
  saveQueue([...kept, ...entries.map((e) => ({ ...e, user: currentUser, key: `${e.meter_id}:${e.taken_at}:${Math.random().toString(36).slice(2, 10)}`, state: 'queued' }))]);
}

/** Drops the refused entries of these meters (they were just entered again and saved). */
export function forgetRefused(meterIds) {
  const ids = new Set(meterIds);
  const list = loadQueue();
  const kept = list.filter((e) => !(e.state === 'refused' && isMine(e) && ids.has(e.meter_id)));
  if (kept.length !== list.length) saveQueue(kept);
}

const update = (key, change) => saveQueue(loadQueue().flatMap((e) => (e.key !== key ? [e] : change ? [{ ...e, ...change }] : [])));

/**
 * The inspector confirms a queued entry the server asked to confirm (409: consumption far above the
 * average, a rollover): queued again in its place, sent with `confirm`.
 */
export function confirmRefused(key) {
  update(key, { state: 'queued', confirm: true, error: undefined });
  flushQueue();
}

let flushing = null;

/**
 * Sends the queued entries in order; one flush at a time (a timer tick during a flush joins it), so
 * no entry is in flight twice. Stops at the first network failure (the rest wait their turn) or 401.
 */
export function flushQueue() {
  if (flushing) return flushing;
  flushing = (async () => {
    for (;;) {
      if (window.navigator.onLine === false) return;
      const next = loadQueue().find((e) => e.state === 'queued' && isMine(e));
      if (!next) return;
      try {
        // Dated by when it was taken, not when the signal returned (the window it was taken in counts);
        // sent_at on the same clock lets the server measure the wait even if the phone's clock is wrong.
        await api(next.path, { method: 'POST', body: { readings: next.items.map((i) => ({ ...i, taken_at: next.taken_at })), sent_at: new Date().toISOString(), ...(next.confirm ? { confirm: true } : {}), ...(next.reason ? { reason: next.reason } : {}) } });
        update(next.key, null);
      } catch (e) {
        if (!(e instanceof ApiError)) return; // still no signal: try again later
        if (e.status === 401) return; // logged out: kept for after the next login
        update(next.key, { state: 'refused', error: { status: e.status, message: e.message, details: e.body?.details ?? [] } });
      }
    }
  })().finally(() => { flushing = null; });
  return flushing;
}

let started = false;

/** Once per page: send on `online` and on a timer while anything waits. */
export function startQueue() {
  if (started) return;
  started = true;
  window.addEventListener('online', () => { flushQueue(); });
  window.setInterval(() => { if (pendingCount()) flushQueue(); }, RETRY_MS);
  flushQueue();
}
