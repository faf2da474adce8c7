/**
 * Device type (medium) codes of the fixed header, EN 13757-3 table 3 / OMS.
 * Names follow libmbus's strings so `--format libmbus` matches its XML; `key` is our canonical name.
 */
const MEDIA: Record<number, [key: string, libmbus: string]> = {
  0x00: ['other', 'Other'],
  0x01: ['oil', 'Oil'],
  0x02: ['electricity', 'Electricity'],
  0x03: ['gas', 'Gas'],
  0x04: ['heat_outlet', 'Heat: Outlet'],
  0x05: ['steam', 'Steam'],
  0x06: ['warm_water', 'Warm water (30-90°C)'],
  0x07: ['water', 'Water'],
  0x08: ['heat_cost_allocator', 'Heat Cost Allocator'],
  0x09: ['compressed_air', 'Compressed Air'],
  0x0a: ['cooling_outlet', 'Cooling load meter: Outlet'],
  0x0b: ['cooling_inlet', 'Cooling load meter: Inlet'],
  0x0c: ['heat_inlet', 'Heat: Inlet'],
  0x0d: ['heat_cooling', 'Heat / Cooling load meter'],
  0x0e: ['bus_system', 'Bus/System'],
  0x0f: ['unknown', 'Unknown Medium'],
  0x15: ['hot_water', 'Hot water (>=90°C)'],
  0x16: ['cold_water', 'Cold water'],
  0x17: ['dual_water', 'Hot/Cold water meter'],
  0x18: ['pressure', 'Pressure'],
  0x19: ['ad_converter', 'A/D Converter'],
};

export function mediumName(code: number): string {
  return MEDIA[code]?.[0] ?? (code >= 0x20 ? 'reserved' : 'reserved');
}

export function mediumLibmbusName(code: number): string {
  return MEDIA[code]?.[1] ?? 'Reserved';
}

export function mediumCode(nameOrCode: string | number): number {
  if (typeof nameOrCode === 'number') return nameOrCode;
  for (const [code, [key]] of Object.entries(MEDIA)) if (key === nameOrCode) return Number(code);
  throw new Error(`unknown medium "${nameOrCode}"`);
}
