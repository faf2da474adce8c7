/**
 * Pages of a long list shown a few at a time, so a building with 300 meters does not make a page
 * metres long: "1–10 of 52" and previous/next. `page` is 0-based; the caller keeps it (in the hash).
 */
import { html } from '../../web-shared/ui.js';
import { t } from '../i18n.js';

/** The rows of page `page` of `size`, the page clamped to what exists. */
export function pageOf(rows, page, size) {
  const pages = Math.max(1, Math.ceil(rows.length / size));
  const p = Math.min(Math.max(0, Number(page) || 0), pages - 1);
  return { rows: rows.slice(p * size, p * size + size), page: p, pages };
}

export function Pager({ total, page, size, onPage, testid }) {
  if (total <= size) return null;
  const pages = Math.ceil(total / size);
  const first = page * size + 1;
  const last = Math.min(total, first + size - 1);
  return html`<nav class="pager" aria-label=${t('common.pages')} data-testid=${testid}>
    <button type="button" class="small" disabled=${page <= 0} onClick=${() => onPage(page - 1)}>${t('common.prevPage')}</button>
    <span class="muted" aria-live="polite">${t('common.range', { first, last, total })}</span>
    <button type="button" class="small" disabled=${page >= pages - 1} onClick=${() => onPage(page + 1)}>${t('common.nextPage')}</button>
  </nav>`;
}
