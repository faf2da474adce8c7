/**
 * Pure pieces of the residents' page: formatting, the summary widget's text, reading the number a
 * resident typed, the input fields of a meter (one, or one per tariff zone), explaining the API's
 * refusals per meter and zone (by their codes), and the invite link. No DOM, no fetch, so the module tests run them
 * under Node.
 */
import { has, locale, plural, t } from './i18n.js';
import { detailText } from '../web-shared/errors.js';
import { fieldKey, messagesByField as byField, messagesByMeter as byMeter, meterItems, zonesOf } from '../web-shared/entry-fields.js';

// The fields of entry are the staff entry view's too: one shared piece (web-shared/entry-fields.js).
export { fieldKey, meterItems, zonesOf };

const NONE = () => t('common.none');

export function fmtNumber(v, digits = 3) {
  if (v == null || !Number.isFinite(Number(v))) return NONE();
  return new Intl.NumberFormat(locale(), { minimumFractionDigits: 0, maximumFractionDigits: digits }).format(Number(v));
}

/** A calendar date the API sends as YYYY-MM-DD (a window's day): shown as that day, whatever the browser's zone. */
export function fmtDay(day) {
  if (!day) return NONE();
  const [y, m, d] = String(day).slice(0, 10).split('-').map(Number);
  return new Intl.DateTimeFormat(locale(), { day: '2-digit', month: '2-digit', year: 'numeric', timeZone: 'UTC' }).format(new Date(Date.UTC(y, m - 1, d)));
}

/** An instant (submission time) in the browser's own zone: the resident is where the flat is. */
export function fmtDateTime(iso, timeZone) {
  if (!iso) return NONE();
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return NONE();
  return new Intl.DateTimeFormat(locale(), { day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', ...(timeZone ? { timeZone } : {}) }).format(d);
}

/** The date of an instant in the browser's zone (the period a reading is dated to: local midnight of its first day). */
export function fmtDate(iso) {
  if (!iso) return NONE();
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return NONE();
  return new Intl.DateTimeFormat(locale(), { day: '2-digit', month: '2-digit', year: 'numeric' }).format(d);
}

/** "2025-01" → "янв. 2025" / "Jan 2025". */
export function fmtMonth(period) {
  const [y, m] = period.split('-').map(Number);
  return new Intl.DateTimeFormat(locale(), { month: 'short', year: 'numeric', timeZone: 'UTC' }).format(new Date(Date.UTC(y, m - 1, 1)));
}

/** Readings of heat and electricity are energy (kWh); water and gas are volume (m³) — as the API stores them. */
export const unitOf = (resource) => t(resource === 'heat' || resource === 'electricity' ? 'unit.kwh' : 'unit.m3');

/** The resident's own name for a meter, else its resource. */
export const meterTitle = (m) => (m.label && m.label.trim() ? m.label : t(`resource.${m.resource}`));

/** The home widget's line from GET /resident/meters' summary, in the page's language. */
export function widgetText(s) {
  if (!s) return NONE();
  if (s.state === 'open') {
    if (s.total > 0 && s.submitted >= s.total) return t('widget.done', { submitted: s.submitted, total: s.total });
    return t('widget.open', { submitted: s.submitted, total: s.total, meters: plural('widget.meter', s.total), due: fmtDay(s.due) });
  }
  if (s.opens_in_days == null) return t('widget.none');
  if (s.opens_in_days === 0) return t('widget.closedToday');
  return t('widget.closed', { days: s.opens_in_days, dayWord: plural('widget.day', s.opens_in_days), date: fmtDay(s.opens_on) });
}

/**
 * The number typed for a meter: spaces ignored, comma or point as the decimal mark. Empty → null
 * (the meter is simply not submitted this time). Else { value } or { error: i18n key }.
 */
export function parseReading(text, integerOnly) {
  const s = String(text ?? '').replace(/[\s\u00a0\u202f]/g, '').replace(',', '.');
  if (s === '') return null;
  if (s.startsWith('-')) return { error: 'err.negative' };
  if (!/^\d+(\.\d+)?$/.test(s) && !/^\.\d+$/.test(s)) return { error: 'err.notNumber' };
  const value = Number(s);
  if (!Number.isFinite(value)) return { error: 'err.notNumber' };
  if (integerOnly && !Number.isInteger(value)) return { error: 'err.integerOnly' };
  return { value };
}

/**
 * One refusal or warning of the API in the page's language: a detail with its code from the one
 * catalogue (web-shared/errors.js: the value, the previous one, the unit… from its params); one without a
 * known code (an older server) as the API wrote it, without its "meter …:" prefix.
 */
export function explain(detail) {
  if (detail && typeof detail === 'object') {
    const text = detailText(detail, { t, has, locale });
    if (text !== null) return text;
  }
  return String((detail && typeof detail === 'object' ? detail.message : detail) ?? '').replace(/^meter \S+: /, '');
}

/** Per-field messages from an error's details (web-shared/entry-fields.js), each retold by explain. Map<fieldKey, string[]>. */
export const messagesByField = (details, sent) => byField(details, sent, explain);

/** The same per meter (zones merged): Map<meterId, string[]>. */
export const messagesByMeter = (details, sent) => byMeter(details, sent, explain);

/**
 * An invite link /resident/?account=…&code=…: the two values and the same URL without them (the page
 * replaces its address with it at once, so the code stays out of the history and bookmarks).
 */
export function readInvite(href) {
  const url = new URL(href);
  const account = url.searchParams.get('account');
  const code = url.searchParams.get('code');
  if (account === null && code === null) return null;
  url.searchParams.delete('account');
  url.searchParams.delete('code');
  return { account: (account ?? '').trim(), code: (code ?? '').trim(), cleanUrl: `${url.pathname}${url.search}${url.hash}` };
}

/** Minutes to tell a locked-out resident, from Retry-After (seconds); at least 1. */
export const retryMinutes = (retryAfter) => Math.max(1, Math.ceil((Number(retryAfter) || 60) / 60));
