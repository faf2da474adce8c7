/**
 * Building DOM from data without innerHTML: every value (an address, a meter's label, an API message)
 * goes in as text, so nothing the API returns or a person typed can inject markup.
 */

/** h('td', { class: 'num', 'data-testid': 'x', onclick: fn }, 'text', childNode, …) */
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
