/**
 * Building DOM from data without innerHTML: every value from the API goes in as text, so a meter
 * serial or an alert message cannot inject markup.
 */
import { t, tc } from './i18n.js';
import { h } from '../web-shared/dom.js';

export { h };

/** A coloured badge for an imbalance status, a verdict or a severity; "—" when there is none. */
export function badge(prefix, code, extra = {}) {
  if (code == null) return h('span', { class: 'muted', ...extra }, t('common.none'));
  return h('span', { class: `badge ${prefix}-${code}`, 'data-code': code, ...extra }, tc(prefix, code));
}

/** A table with a header row of translated labels; rows are arrays of cells (nodes or text). */
export function table(headers, rows, attrs = {}) {
  // The wrapper scrolls a wide table on a phone: focusable so a keyboard can scroll it too.
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': attrs['aria-label'] ?? headers.filter((x) => typeof x === 'string').slice(0, 2).join(', ') },
    h('table', attrs,
      h('thead', {}, h('tr', {}, headers.map((x) => (x instanceof window.Node ? x : h('th', {}, x))))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: headers.length, class: 'muted' }, t('common.empty'))))));
}

export const section = (title, ...children) => h('section', { class: 'card' }, h('h2', {}, title), ...children);
