/**
 * Water-side physics of a heat meter (EN 1434-1): the heat coefficient k that turns a volume and a
 * temperature difference into energy, Q = V · k(θ1, θ2, θV) · (θ1 − θ2). One copy, used by the
 * building simulator (to integrate its volume register) and by the head-end's heat-plausibility rule
 * (to know what energy a volume and ΔT may mean), so both speak of the same physics.
 *
 * Why not a constant 1.163 kWh/(m³·K): that is 4.186 kJ/(kg·K) × 1000 kg/m³, water at ~15 °C. In a
 * heating circuit at 40–90 °C the water is lighter (988 kg/m³ at 50 °C, 965 at 90 °C), so k is 1.13–1.15:
 * a constant overstates the expected energy by 1.5–3 %, which eats most of a class-2 meter's tolerance.
 */

/** Specific enthalpy of liquid water, kJ/kg, every 10 °C from 0 to 150 °C (IAPWS-95, saturated liquid). */
const ENTHALPY_KJ_KG = [0.0, 42.02, 83.91, 125.73, 167.53, 209.34, 251.18, 293.07, 335.02, 377.04, 419.17, 461.42, 503.81, 546.38, 589.16, 632.18];

/** Temperatures the tables and formulas hold for, °C (a heat meter's range is 2…150 °C). */
export const HEAT_TEMP_RANGE_C = { min: 0, max: 150 } as const;

function inRange(t: number, what: string): void {
  if (!Number.isFinite(t) || t < HEAT_TEMP_RANGE_C.min || t > HEAT_TEMP_RANGE_C.max) {
    throw new RangeError(`${what} ${t} °C is outside ${HEAT_TEMP_RANGE_C.min}…${HEAT_TEMP_RANGE_C.max} °C, where water heat properties are tabulated`);
  }
}

/** Specific enthalpy of liquid water at `tC`, kJ/kg (linear between the 10 K table points: < 0.01 % off). */
export function waterEnthalpyKjKg(tC: number): number {
  inRange(tC, 'temperature');
  const i = Math.min(Math.floor(tC / 10), ENTHALPY_KJ_KG.length - 2);
  const f = (tC - i * 10) / 10;
  return ENTHALPY_KJ_KG[i] + f * (ENTHALPY_KJ_KG[i + 1] - ENTHALPY_KJ_KG[i]);
}

/** Density of liquid water at `tC` and about atmospheric pressure, kg/m³ (Kell 1975, 0–150 °C). */
export function waterDensityKgM3(tC: number): number {
  inRange(tC, 'temperature');
  const t = tC;
  return (999.83952 + 16.945176 * t - 7.9870401e-3 * t ** 2 - 46.170461e-6 * t ** 3 + 105.56302e-9 * t ** 4 - 280.54253e-12 * t ** 5) / (1 + 16.87985e-3 * t);
}

/**
 * Heat coefficient k, kWh/(m³·K): energy per m³ of volume measured at `volumeAtC` (the pipe the
 * flow sensor sits in: return for most apartment meters) per kelvin of flow − return difference.
 */
export function heatCoefficientKwhM3K(flowC: number, returnC: number, volumeAtC: number): number {
  const dT = flowC - returnC;
  const rho = waterDensityKgM3(volumeAtC);
  // At ΔT → 0 the enthalpy difference quotient tends to cp at that temperature.
  const dh = Math.abs(dT) < 1e-6 ? (waterEnthalpyKjKg(Math.min(flowC + 0.5, HEAT_TEMP_RANGE_C.max)) - waterEnthalpyKjKg(Math.max(flowC - 0.5, 0))) : (waterEnthalpyKjKg(flowC) - waterEnthalpyKjKg(returnC)) / dT;
  return (rho * dh) / 3600;
}
