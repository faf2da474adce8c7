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
  return h('div', { class: 'table-wrap' },
    h('table', attrs,
      h('thead', {}, h('tr', {}, headers.map((x) => (x instanceof window.Node ? x : h('th', {}, x))))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: headers.length, class: 'muted' }, t('common.empty'))))));
}

export const section = (title, ...children) => h('section', { class: 'card' }, h('h2', {}, title), ...children);
