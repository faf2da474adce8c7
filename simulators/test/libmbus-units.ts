// Reading node-mbus output in tests.

/** The libmbus in node-mbus prints raw values with the multiplier in the unit text ("Volume (1e-2  m^3)"):
 * the factor to our canonical units (Wh, m3, m3/h, °C, s). */
export function libmbusFactor(unit: string): number {
  const inner = /\((.*)\)/.exec(unit)?.[1]?.trim();
  if (!inner) return 1;
  const m = /^(1e-?\d+|10+)\s+(.*)$/.exec(inner);
  const mult = m ? Number(m[1]) : 1;
  const rest = (m ? m[2] : inner).trim();
  const units: Record<string, number> = {
    Wh: 1, kWh: 1e3, MWh: 1e6, 'm^3': 1, 'm m^3': 1e-3, 'm^3/h': 1, 'm m^3/h': 1e-3, W: 1, kW: 1e3,
    'deg C': 1, 'm deg C': 1e-3, seconds: 1, minutes: 60, hours: 3600, days: 86400,
  };
  if (!(rest in units)) throw new Error(`unknown libmbus unit "${unit}"`);
  return mult * units[rest];
}
