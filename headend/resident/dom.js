/**
 * Building DOM without innerHTML: every value (a meter's label, an API message) goes in as text, so
 * nothing a resident or the API returns can inject markup.
 */
import { h } from '../web-shared/dom.js';

export { h };

/** Replaces an element's text lines (one <span> per message), or empties it. */
export function setLines(el, lines) {
  el.replaceChildren(...(lines ?? []).map((x) => h('span', {}, x)));
  el.hidden = !lines || lines.length === 0;
}
