/**
 * Billing units per resource. Meters report heat as energy in kWh (energy_kwh) while heat tariffs and
 * norms are set per Gcal (the unit of Russian heat bills), so heat quantities are converted before
 * they meet a tariff: 1 Gcal = 1.163 MWh = 1163 kWh.
 */
import type { Resource } from '@amr/protocols';

export const KWH_PER_GCAL = 1163;

export function billingUnit(resource: Resource): 'Gcal' | 'kWh' | 'm3' {
  return resource === 'heat' ? 'Gcal' : resource === 'electricity' ? 'kWh' : 'm3';
}

/** A register difference in the meter's quantity (kWh for heat) → the billing unit. */
export function toBillingUnit(resource: Resource, registerQuantity: number): number {
  return resource === 'heat' ? registerQuantity / KWH_PER_GCAL : registerQuantity;
}
