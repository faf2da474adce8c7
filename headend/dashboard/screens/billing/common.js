/**
 * What the billing screens share: the organisation and month the office works on (kept in the hash
 * query, so a reload or a shared link opens the same month), money and months in the user's language,
 * and the tabs between the billing screens.
 */
/* global URLSearchParams */
import { html, useLoad, useQuery } from '../../../web-shared/ui.js';
import { api } from '../../api.js';
import { locale, t } from '../../i18n.js';
import { monthOf, shiftMonth } from '../../format.js';

export const RESOURCES = ['cold_water', 'hot_water', 'electricity', 'heat', 'gas', 'wastewater'];
export const METHODS = ['measured', 'average', 'norm', 'common_house', 'heating'];

/**
 * Kopecks (a whole number from the API) → roubles as decimal text by digits, never by division, so
 * 7270866 is "72708.66" exactly.
 */
export function kopToRub(k) {
  const n = Number(k);
  if (!Number.isSafeInteger(n)) return null;
  const digits = String(Math.abs(n)).padStart(3, '0');
  return `${n < 0 ? '-' : ''}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

/**
 * Roubles as the API wrote them ("375.00") in the user's locale («375,00 ₽»). Intl formats a decimal
 * string exactly (no float in between).
 */
export function fmtRub(rub) {
  if (rub == null) return t('common.none');
  return new Intl.NumberFormat(locale(), { style: 'currency', currency: 'RUB', minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(rub);
}
export const fmtKop = (k) => fmtRub(kopToRub(k));

/** "2026-11" → «ноябрь 2026» / "November 2026" (the month's own name, no "г."). */
export function fmtMonthLong(period) {
  if (!period) return t('common.none');
  const [y, m] = period.slice(0, 7).split('-').map(Number);
  const parts = new Intl.DateTimeFormat(locale(), { month: 'long', year: 'numeric', timeZone: 'UTC' }).formatToParts(new Date(Date.UTC(y, m - 1, 1)));
  const month = parts.find((p) => p.type === 'month')?.value ?? '';
  const year = parts.find((p) => p.type === 'year')?.value ?? String(y);
  return `${month} ${year}`;
}

/** Quantities as the API gave them, in the locale, up to 3 decimals (m³ and kWh are read to litres / Wh). */
export const fmtQty = (v) => (v == null ? t('common.none') : new Intl.NumberFormat(locale(), { maximumFractionDigits: 3 }).format(v));

/** The organisations the user sees (from their buildings) and the one chosen (query `org`, else the first). */
export function useOrg() {
  const [query, setQuery] = useQuery();
  const orgs = useLoad(() => api('/organisations'), []);
  const list = orgs.data ?? [];
  const orgId = query.org ? Number(query.org) : list[0]?.id;
  return { orgs: list, orgId, loaded: orgs.data !== undefined, error: orgs.error, query, setQuery };
}

/** The month worked on: query `period`, else the one before the current month (the month being billed). */
export function periodOf(query) {
  return /^\d{4}-\d{2}$/.test(query.period ?? '') ? query.period : shiftMonth(monthOf(new Date()), -1);
}

export function OrgPicker({ orgs, orgId, onChange }) {
  if (orgs.length <= 1) return null;
  return html`<label>${t('billing.org')}
    <select data-testid="billing-org" value=${orgId} onChange=${(e) => onChange(e.currentTarget.value)}>
      ${orgs.map((o) => html`<option value=${o.id}>${o.name}</option>`)}
    </select></label>`;
}

export function BillingTabs({ current, query }) {
  const keep = new URLSearchParams(Object.entries({ org: query.org, period: query.period }).filter(([, v]) => v)).toString();
  const tab = (href, key) => html`<a href=${`#${href}${keep ? `?${keep}` : ''}`} class=${current === href ? 'tab current' : 'tab'}
    aria-current=${current === href ? 'page' : null}>${t(key)}</a>`;
  return html`<nav class="tabs" aria-label=${t('billing.tabs')}>
    ${tab('/billing', 'billing.tab.lines')}${tab('/billing/tariffs', 'billing.tab.settings')}${tab('/billing/feed', 'billing.tab.feed')}
  </nav>`;
}
