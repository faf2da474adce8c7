/**
 * Building DOM without innerHTML: every value (a meter's label, an API message) goes in as text, so
 * nothing a resident or the API returns can inject markup.
 */

/** h('p', { class: 'x', 'data-testid': 'y', onclick: fn }, 'text', childNode, …) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof window.Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces an element's text lines (one <span> per message), or empties it. */
export function setLines(el, lines) {
  el.replaceChildren(...(lines ?? []).map((x) => h('span', {}, x)));
  el.hidden = !lines || lines.length === 0;
}
