/**
 * Units of measure in the user's language, from one place: the API speaks in unit codes ('kWh', 'm3',
 * 'Gcal', 'W', 'm3/h', '°C') and register quantities ('energy_kwh', 'volume_m3'); every table cell, chart
 * axis, tooltip and legend of the console says the same «кВт·ч» / "kWh" for them. Pure functions.
 */
import { language } from '../i18n.js';
import { fmtNumber } from '../format.js';

const LABELS = {
  ru: { kWh: 'кВт·ч', m3: 'м³', Gcal: 'Гкал', GJ: 'ГДж', kW: 'кВт', W: 'Вт', m3h: 'м³/ч', degC: '°C', pct: '%', t: 'т', th: 'т/ч', h: 'ч' },
  en: { kWh: 'kWh', m3: 'm³', Gcal: 'Gcal', GJ: 'GJ', kW: 'kW', W: 'W', m3h: 'm³/h', degC: '°C', pct: '%', t: 't', th: 't/h', h: 'h' },
};

/** Spellings the API and the devices use for one unit. */
const ALIASES = {
  kwh: 'kWh', 'm3': 'm3', 'm³': 'm3', gcal: 'Gcal', gj: 'GJ', kw: 'kW', w: 'W', 'm3/h': 'm3h', 'm³/h': 'm3h', '°c': 'degC', c: 'degC', '%': 'pct', t: 't', 't/h': 'th', h: 'h',
};

/** The unit code for a unit as the API wrote it ('kWh', 'm3', 'm³', …); null when unknown. */
export function unitCode(unit) {
  if (unit == null) return null;
  return ALIASES[String(unit).trim().toLowerCase()] ?? null;
}

/** The unit a register quantity counts in: energy_kwh (and its zones) → kWh, volume_m3 → m³. */
export function quantityUnit(quantity) {
  if (/_kwh$/.test(quantity ?? '')) return 'kWh';
  if (/_m3$/.test(quantity ?? '')) return 'm3';
  if (/_gcal$/.test(quantity ?? '')) return 'Gcal';
  return null;
}

/** The unit a resource's registers count in (heat and electricity in kWh, water in m³, as the register quantities). */
export const resourceUnit = (resource) => (resource === 'heat' || resource === 'electricity' ? 'kWh' : 'm3');

/** «кВт·ч» / "kWh" for a unit code or an API spelling; an unknown unit is shown as it came. */
export function unitLabel(unit, lang = language()) {
  const code = LABELS.en[unit] ? unit : unitCode(unit);
  return code ? (LABELS[lang] ?? LABELS.en)[code] : (unit ?? '');
}

/** A value with its unit: "1 000 кВт·ч"; "—" for no value. */
export function fmtQty(value, unit, digits = 3) {
  const n = fmtNumber(value, digits);
  if (value == null || !Number.isFinite(Number(value))) return n;
  const u = unitLabel(unit);
  return u ? `${n} ${u}` : n;
}
