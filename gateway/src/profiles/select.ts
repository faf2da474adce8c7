/**
 * Record selection and unit conversion shared by the live fields and the stored (archive) values of
 * a profile: one rule for "which record is energy_kwh" and "how many kWh is it". Pure.
 */
import type { MbusRecord, QualityFlag } from '@amr/protocols';
import type { RecordSelector } from './types.js';

/** Factor from the decoder's canonical unit to the contract unit of a named quantity. */
export const CONVERT: Record<string, Record<string, number>> = {
  kWh: { Wh: 1e-3, J: 1 / 3.6e6, cal: 4.1868 / 3.6e6 },
  m3: { m3: 1, ft3: 0.0283168 },
  W: { W: 1, 'J/h': 1 / 3600 },
  'm3/h': { 'm3/h': 1, 'm3/min': 60, 'm3/s': 3600 },
  '°C': { '°C': 1 },
  K: { K: 1 },
  bar: { bar: 1 },
  s: { s: 1 },
  flags: { '': 1 },
};

export function matches(sel: RecordSelector, r: MbusRecord): boolean {
  return (
    r.quantity === sel.quantity &&
    (sel.function === undefined || r.function === sel.function) &&
    (sel.storage === undefined || r.storage === sel.storage) &&
    (sel.tariff === undefined || r.tariff === sel.tariff) &&
    (sel.subunit === undefined || r.subunit === sel.subunit)
  );
}

export function recordQuality(r: MbusRecord): QualityFlag[] {
  const q: QualityFlag[] = [];
  if (r.error) q.push('meter_error');
  if (r.overflow) q.push('value_overflow');
  return q;
}

