/**
 * Which register a resource's consumption is counted from, defined once for the head-end's billing,
 * validation, collection, imbalance and dashboards: heat and electricity count energy (kWh), water
 * and gas count volume (m³). A multi-zone electricity meter has one register per tariff zone
 * (T1 day/peak, T2 night, T3 half-peak), each a separate reading of the same meter.
 */
import type { KnownQuantity } from '../contract/quantities.js';
import type { Resource } from './resources.js';

/** The total register consumption is read from, per resource. */
export function registerQuantity(resource: Resource): KnownQuantity {
  return resource === 'heat' || resource === 'electricity' ? 'energy_kwh' : 'volume_m3';
}

/** The same rule as an SQL expression over a meters row `alias` (for queries that join a meter's register). */
export function registerQuantitySql(alias: string): string {
  return `CASE WHEN ${alias}.resource IN ('heat', 'electricity') THEN 'energy_kwh' ELSE 'volume_m3' END`;
}

export const ZONE_QUANTITIES = ['energy_t1_kwh', 'energy_t2_kwh', 'energy_t3_kwh'] as const satisfies readonly KnownQuantity[];
export type ZoneQuantity = (typeof ZONE_QUANTITIES)[number];

/** The zone registers of a 2- or 3-zone meter, T1 first. */
export function zoneQuantities(zones: number): ZoneQuantity[] {
  if (!Number.isInteger(zones) || zones < 2 || zones > 3) throw new Error(`a zone meter has 2 or 3 zones, got ${zones}`);
  return ZONE_QUANTITIES.slice(0, zones);
}
