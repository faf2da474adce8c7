/**
 * A month picker whose months read «ноябрь 2026» / "November 2026" in the user's language (a native
 * <input type="month"> speaks the browser's language, not the console's). Newest month first, from
 * `max` back `span` months; a chosen month outside that range is kept in the list.
 */
import { html } from '../../web-shared/ui.js';
import { fmtMonthLong, shiftMonth } from '../format.js';

export function MonthPicker({ label, value, max, span = 36, onChange, testid }) {
  const months = [];
  for (let i = 0; i < span; i++) months.push(shiftMonth(max, -i));
  if (value && !months.includes(value)) months.push(value);
  months.sort().reverse();
  return html`<label class="field month-picker">
    <span class="label">${label}</span>
    <select data-testid=${testid} value=${value} onChange=${(e) => onChange(e.currentTarget.value)}>
      ${months.map((m) => html`<option value=${m} selected=${m === value}>${fmtMonthLong(m)}</option>`)}
    </select>
  </label>`;
}
