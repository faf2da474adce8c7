/**
 * Value information tables of EN 13757-3: the primary VIF table (table 10), the extension
 * tables behind 0xFB (table 12) and 0xFD (table 14), and the combinable VIFE table (table 15/16).
 * One table serves the decoder (code → meaning), the encoder (quantity+unit+exponent → code)
 * and the libmbus mapping (libmbus's quantity/unit strings and scale), so they cannot drift apart.
 */

export type VifTable = 'primary' | 'fb' | 'fd';
export type ValueKind = 'number' | 'date' | 'datetime' | 'time' | 'text' | 'binary';

export interface VifInfo {
  table: VifTable;
  /** 7-bit code within its table (extension bit removed). */
  code: number;
  quantity: string;
  /** Canonical unit ('' when dimensionless). */
  unit: string;
  /** Raw value × scale = value in the canonical unit. */
  scale: number;
  /** Decimal exponent of the code's multiplier (for picking a code when encoding). */
  exponent: number;
  kind: ValueKind;
  libmbus: { quantity: string; unit: string; scale: number };
}

const DUR_UNITS = [1, 60, 3600, 86400];
/** Mean Gregorian month and year in seconds (365.2425 d / year). */
const MONTH_S = 2_629_746;
const YEAR_S = 31_556_952;
const DUR_UNITS_HOURS = [3600, 86400, MONTH_S, YEAR_S];
/** libmbus's own month/year constants, for its output form only. */
const LIB_HOURS = [3600, 86400, 2629743.83, 31556926];
const US_GALLON_M3 = 0.003785411784;
const FT3_M3 = 0.028316846592;

function e(
  table: VifTable,
  code: number,
  quantity: string,
  unit: string,
  exponent: number,
  lib: [string, string],
  opts: { scale?: number; kind?: ValueKind; libScale?: number } = {},
): VifInfo {
  const scale = opts.scale ?? 10 ** exponent;
  const fix = (x: number) => (Math.abs(x) < 1 ? Number(x.toPrecision(12)) : x);
  return {
    table,
    code,
    quantity,
    unit,
    scale: fix(scale),
    exponent,
    kind: opts.kind ?? 'number',
    libmbus: { quantity: lib[0], unit: lib[1], scale: fix(opts.libScale ?? scale) },
  };
}

function primary(code: number): VifInfo | undefined {
  const n3 = code & 7;
  const n2 = code & 3;
  const P = 'primary';
  switch (code >> 3) {
    case 0x0: return e(P, code, 'energy', 'Wh', n3 - 3, ['Energy', 'Wh']);
    case 0x1: return e(P, code, 'energy', 'J', n3, ['Energy', 'J']);
    case 0x2: return e(P, code, 'volume', 'm3', n3 - 6, ['Volume', 'm^3']);
    case 0x3: return e(P, code, 'mass', 'kg', n3 - 3, ['Mass', 'kg']);
    case 0x5: return e(P, code, 'power', 'W', n3 - 3, ['Power', 'W']);
    case 0x6: return e(P, code, 'power', 'J/h', n3, ['Power', 'J/h']);
    case 0x7: return e(P, code, 'volume_flow', 'm3/h', n3 - 6, ['Volume flow', 'm^3/h']);
    case 0x8: return e(P, code, 'volume_flow', 'm3/min', n3 - 7, ['Volume flow', 'm^3/min']);
    case 0x9: return e(P, code, 'volume_flow', 'm3/s', n3 - 9, ['Volume flow', 'm^3/s']);
    case 0xa: return e(P, code, 'mass_flow', 'kg/h', n3 - 3, ['Mass flow', 'kg/h']);
  }
  switch (code >> 2) {
    case 0x08: return e(P, code, 'on_time', 's', 0, ['On time', 's'], { scale: DUR_UNITS[n2] });
    case 0x09: return e(P, code, 'operating_time', 's', 0, ['Operating time', 's'], { scale: DUR_UNITS[n2] });
    case 0x16: return e(P, code, 'flow_temperature', '°C', n2 - 3, ['Flow temperature', '°C']);
    case 0x17: return e(P, code, 'return_temperature', '°C', n2 - 3, ['Return temperature', '°C']);
    case 0x18: return e(P, code, 'temperature_difference', 'K', n2 - 3, ['Temperature difference', 'K']);
    case 0x19: return e(P, code, 'external_temperature', '°C', n2 - 3, ['External temperature', '°C']);
    case 0x1a: return e(P, code, 'pressure', 'bar', n2 - 3, ['Pressure', 'bar']);
    case 0x1c: return e(P, code, 'averaging_duration', 's', 0, ['Averaging Duration', 's'], { scale: DUR_UNITS[n2] });
    case 0x1d: return e(P, code, 'actuality_duration', 's', 0, ['Actuality Duration', 's'], { scale: DUR_UNITS[n2] });
  }
  switch (code) {
    case 0x6c: return e(P, code, 'date', '', 0, ['Time point (date)', '-'], { kind: 'date' });
    case 0x6d: return e(P, code, 'datetime', '', 0, ['Time point (date & time)', '-'], { kind: 'datetime' });
    case 0x6e: return e(P, code, 'hca_units', '', 0, ['H.C.A.', 'Units for H.C.A.']);
    case 0x78: return e(P, code, 'fabrication_number', '', 0, ['Fabrication No', '']);
    case 0x79: return e(P, code, 'identification', '', 0, ['(Enhanced) Identification', '']);
    case 0x7a: return e(P, code, 'bus_address', '', 0, ['Bus Address', '']);
    case 0x7e: return e(P, code, 'any', '', 0, ['Any VIF', '']);
    case 0x7f: return e(P, code, 'manufacturer_specific', '', 0, ['Manufacturer specific', '']);
  }
  return undefined;
}

function fb(code: number): VifInfo | undefined {
  const F = 'fb';
  const n1 = code & 1;
  const n2 = code & 3;
  switch (code >> 1) {
    case 0x00: return e(F, code, 'energy', 'Wh', n1 + 5, ['Energy', 'Wh']); // 10^(n-1) MWh
    case 0x01: return e(F, code, 'reactive_energy', 'varh', n1 + 3, ['Reactive energy', 'VARh']);
    case 0x04: return e(F, code, 'energy', 'J', n1 + 8, ['Energy', 'J']); // 10^(n-1) GJ
    case 0x08: return e(F, code, 'volume', 'm3', n1 + 2, ['Volume', 'm^3']);
    case 0x0c: return e(F, code, 'mass', 'kg', n1 + 5, ['Mass', 'kg']); // 10^(n+2) t
    case 0x0d: return e(F, code, 'relative_humidity', '%', n1 - 1, ['Relative humidity', '%']);
    case 0x14: return e(F, code, 'power', 'W', n1 + 5, ['Power', 'W']); // 10^(n-1) MW
    case 0x18: return e(F, code, 'power', 'J/h', n1 + 8, ['Power', 'J/h']); // 10^(n-1) GJ/h
  }
  switch (code >> 2) {
    case 0x03: return e(F, code, 'energy', 'cal', n2 + 6, ['Energy', 'cal']); // 10^n MCal
    case 0x05: return e(F, code, 'reactive_power', 'var', n2 - 3, ['Reactive power', 'VAR']);
    case 0x0b: return e(F, code, 'phase_angle', '°', 0, ['Phase', '°'], { scale: 0.1 * 10 ** n2 });
    case 0x16: return e(F, code, 'flow_temperature', '°F', n2 - 3, ['Flow temperature', '°F']);
    case 0x17: return e(F, code, 'return_temperature', '°F', n2 - 3, ['Return temperature', '°F']);
    case 0x18: return e(F, code, 'temperature_difference', '°F', n2 - 3, ['Temperature difference', '°F']);
    case 0x19: return e(F, code, 'external_temperature', '°F', n2 - 3, ['External temperature', '°F']);
    case 0x1c: return e(F, code, 'temperature_limit', '°F', n2 - 3, ['Cold / Warm Temperature Limit', '°F']);
    case 0x1d: return e(F, code, 'temperature_limit', '°C', n2 - 3, ['Cold / Warm Temperature Limit', '°C']);
  }
  // Imperial volumes are converted to m3 / m3/h (canonical); libmbus keeps the original unit.
  if (code === 0x20) return e(F, code, 'volume', 'm3', 0, ['Volume', 'feet^3'], { scale: FT3_M3, libScale: 1 });
  if (code === 0x21) return e(F, code, 'volume', 'm3', 0, ['Volume', 'feet^3'], { scale: 0.1 * FT3_M3, libScale: 0.1 });
  if (code === 0x22) return e(F, code, 'volume', 'm3', 0, ['Volume', 'American gallon'], { scale: 0.1 * US_GALLON_M3, libScale: 0.1 });
  if (code === 0x23) return e(F, code, 'volume', 'm3', 0, ['Volume', 'American gallon'], { scale: US_GALLON_M3, libScale: 1 });
  if (code === 0x24) return e(F, code, 'volume_flow', 'm3/h', 0, ['Volume flow', 'American gallon/min'], { scale: 0.001 * US_GALLON_M3 * 60, libScale: 0.001 });
  if (code === 0x25) return e(F, code, 'volume_flow', 'm3/h', 0, ['Volume flow', 'American gallon/min'], { scale: US_GALLON_M3 * 60, libScale: 1 });
  if (code === 0x26) return e(F, code, 'volume_flow', 'm3/h', 0, ['Volume flow', 'American gallon/h'], { scale: US_GALLON_M3, libScale: 1 });
  if (code >> 3 === 0x0f) return e(F, code, 'cumulated_max_power', 'W', (code & 7) - 3, ['Cumul count max power', 'W']);
  return undefined;
}

function fd(code: number): VifInfo | undefined {
  const D = 'fd';
  const n2 = code & 3;
  const plain = (q: string, lib: string, kind: ValueKind = 'number') => e(D, code, q, '', 0, [lib, ''], { kind });
  switch (code >> 2) {
    case 0x00: return e(D, code, 'credit', 'currency', n2 - 3, ['Credit', 'currency units']);
    case 0x01: return e(D, code, 'debit', 'currency', n2 - 3, ['Debit', 'currency units']);
    case 0x09: return e(D, code, 'storage_interval', 's', 0, ['Storage interval', 's'], { scale: DUR_UNITS[n2] });
    case 0x0b: return e(D, code, 'duration_since_readout', 's', 0, ['Duration since last readout', 's'], { scale: DUR_UNITS[n2] });
    case 0x0d: return e(D, code, 'tariff_period', 's', 0, ['Period of tariff', 's'], { scale: DUR_UNITS[n2] });
    case 0x1a: return e(D, code, 'duration_since_cumulation', 's', 0, ['Duration since last cumulation', 's'], { scale: DUR_UNITS_HOURS[n2], libScale: LIB_HOURS[n2] });
    case 0x1b: return e(D, code, 'battery_operating_time', 's', 0, ['Operating time battery', 's'], { scale: DUR_UNITS_HOURS[n2], libScale: LIB_HOURS[n2] });
  }
  if (code >> 4 === 0x4) return e(D, code, 'voltage', 'V', (code & 0xf) - 9, ['Voltage', 'V']);
  if (code >> 4 === 0x5) return e(D, code, 'current', 'A', (code & 0xf) - 12, ['Current', 'A']);
  if (code >= 0x31 && code <= 0x33)
    // libmbus labels these "Storage interval"; EN 13757-3 says duration of tariff.
    return e(D, code, 'tariff_duration', 's', 0, ['Storage interval', 's'], { scale: DUR_UNITS[n2] });
  switch (code) {
    case 0x08: return plain('access_number', 'Access Number (transmission count)');
    case 0x09: return plain('medium', 'Medium');
    case 0x0a: return plain('manufacturer', 'Manufacturer');
    case 0x0b: return plain('parameter_set_id', 'Parameter set identification');
    case 0x0c: return plain('model_version', 'Model / Version');
    case 0x0d: return plain('hardware_version', 'Hardware version');
    case 0x0e: return plain('firmware_version', 'Firmware version');
    case 0x0f: return plain('software_version', 'Software version');
    case 0x10: return plain('customer_location', 'Customer location');
    case 0x11: return plain('customer', 'Customer');
    case 0x12: return plain('access_code_user', 'Access Code User');
    case 0x13: return plain('access_code_operator', 'Access Code Operator');
    case 0x14: return plain('access_code_system_operator', 'Access Code System Operator');
    case 0x15: return plain('access_code_developer', 'Access Code Developer');
    case 0x16: return plain('password', 'Password');
    case 0x17: return plain('error_flags', 'Error flags');
    case 0x18: return plain('error_mask', 'Error mask');
    case 0x1a: return plain('digital_output', 'Digital Output');
    case 0x1b: return plain('digital_input', 'Digital Input');
    case 0x1c: return e(D, code, 'baud_rate', 'Bd', 0, ['Baudrate', 'Baud']);
    case 0x1d: return e(D, code, 'response_delay', 'bittimes', 0, ['Response delay time', 'Bittimes']);
    case 0x1e: return plain('retry', 'Retry');
    case 0x1f: return plain('remote_control', 'Remote control');
    case 0x20: return plain('first_storage_cyclic', 'First storage # for cyclic storage');
    case 0x21: return plain('last_storage_cyclic', 'Last storage # for cyclic storage');
    case 0x22: return plain('storage_block_size', 'Size of storage block');
    // Months and years stay counts (no exact length in seconds); libmbus converts with its constants.
    case 0x28: return e(D, code, 'storage_interval', 'month', 0, ['Storage interval', 's'], { libScale: 2629743.83 });
    case 0x29: return e(D, code, 'storage_interval', 'year', 0, ['Storage interval', 's'], { libScale: 31556926 });
    case 0x2a: return plain('operator_specific', 'Operator specific data');
    case 0x2b: return e(D, code, 'time_point_second', 's', 0, ['Time point', 's']);
    case 0x30: return e(D, code, 'tariff_start', '', 0, ['Start (date/time) of tariff', '-'], { kind: 'datetime' });
    case 0x38: return e(D, code, 'tariff_period', 'month', 0, ['Period of tariff', 's'], { libScale: 2629743.83 });
    case 0x39: return e(D, code, 'tariff_period', 'year', 0, ['Period of tariff', 's'], { libScale: 31556926 });
    case 0x3a: return plain('dimensionless', 'Dimensionless');
    case 0x60: return plain('reset_counter', 'Reset counter');
    case 0x61: return plain('cumulation_counter', 'Cumulation counter');
    case 0x62: return plain('control_signal', 'Control signal');
    case 0x63: return plain('day_of_week', 'Day of week');
    case 0x64: return plain('week_number', 'Week number');
    case 0x65: return e(D, code, 'day_change_time', '', 0, ['Time point of day change', '-'], { kind: 'datetime' });
    case 0x66: return plain('parameter_activation_state', 'State of parameter activation');
    case 0x67: return plain('special_supplier_information', 'Special supplier information');
    case 0x70: return e(D, code, 'battery_change_time', '', 0, ['Date and time of battery change', '-'], { kind: 'datetime' });
    case 0x71: return e(D, code, 'rssi', 'dBm', 0, ['RSSI', 'dBm']);
    case 0x74: return e(D, code, 'remaining_battery_life', 'day', 0, ['Remaining battery life', 'day(s)']);
  }
  return undefined;
}

/** Built once: 3 tables × 128 codes. */
const TABLES: Record<VifTable, Array<VifInfo | undefined>> = {
  primary: Array.from({ length: 128 }, (_, c) => primary(c)),
  fb: Array.from({ length: 128 }, (_, c) => fb(c)),
  fd: Array.from({ length: 128 }, (_, c) => fd(c)),
};

/** Meaning of a 7-bit VIF code within a table; undefined for reserved codes. */
export function lookupVif(table: VifTable, code: number): VifInfo | undefined {
  return TABLES[table][code & 0x7f];
}

/** Every defined entry, for the encoder's reverse lookup and for tests. */
export function allVifs(): VifInfo[] {
  const out: VifInfo[] = [];
  for (const t of ['primary', 'fb', 'fd'] as const)
    for (let c = 0; c < 0x80; c++) {
      if (t === 'primary' && (c === 0x7b || c === 0x7d || c === 0x7c)) continue;
      const v = lookupVif(t, c);
      if (v) out.push(v);
    }
  return out;
}

/** First byte(s) of a VIF for an entry: extension tables are introduced by 0xFB / 0xFD. */
export function vifBytes(v: VifInfo): number[] {
  return v.table === 'primary' ? [v.code] : [v.table === 'fb' ? 0xfb : 0xfd, v.code];
}

/** Record error codes carried in a VIFE 0x00–0x1F (EN 13757-3 table 16). */
export const RECORD_ERRORS: Record<number, string> = {
  0x00: 'None',
  0x01: 'Too many DIFEs',
  0x02: 'Storage number not implemented',
  0x03: 'Unit number not implemented',
  0x04: 'Tariff number not implemented',
  0x05: 'Function not implemented',
  0x06: 'Data class not implemented',
  0x07: 'Data size not implemented',
  0x0b: 'Too many VIFEs',
  0x0c: 'Illegal VIF-Group',
  0x0d: 'Illegal VIF-Exponent',
  0x0e: 'VIF/DIF mismatch',
  0x0f: 'Unimplemented action',
  0x15: 'No data available (undefined value)',
  0x16: 'Data overflow',
  0x17: 'Data underflow',
  0x18: 'Data error',
  0x1c: 'Premature end of record',
};

const PER_TIME = ['/s', '/min', '/h', '/d', '/week', '/month', '/year'];

export interface VifeEffect {
  /** Multiply the value by this. */
  scale?: number;
  /** Append to the unit (per-time and per-unit modifiers). */
  unitSuffix?: string;
  /** Human-readable modifier recorded on the record. */
  modifier?: string;
  error?: { code: number; text: string };
}

/** Combinable (orthogonal) VIFE meaning, code with the extension bit removed. */
export function vifeEffect(code: number): VifeEffect {
  if (code <= 0x1f) return { error: { code, text: RECORD_ERRORS[code] ?? 'Reserved' } };
  if (code >= 0x20 && code <= 0x26) return { unitSuffix: PER_TIME[code - 0x20], modifier: `per ${PER_TIME[code - 0x20].slice(1)}` };
  if (code === 0x27) return { modifier: 'per revolution / measurement' };
  if (code >= 0x28 && code <= 0x29) return { modifier: `increment per input pulse on channel ${code - 0x28}` };
  if (code >= 0x2a && code <= 0x2b) return { modifier: `increment per output pulse on channel ${code - 0x2a}` };
  const per = ['/l', '/m3', '/kg', '/K', '/kWh', '/GJ', '/kW', '/(K*l)', '/V', '/A'];
  if (code >= 0x2c && code <= 0x35) return { unitSuffix: per[code - 0x2c], modifier: `per ${per[code - 0x2c].slice(1)}` };
  if (code === 0x36) return { unitSuffix: '*s', modifier: 'multiplied by s' };
  if (code === 0x37) return { unitSuffix: '*s/V', modifier: 'multiplied by s/V' };
  if (code === 0x38) return { unitSuffix: '*s/A', modifier: 'multiplied by s/A' };
  if (code === 0x39) return { modifier: 'start date(/time) of' };
  if (code === 0x3a) return { modifier: 'uncorrected unit' };
  if (code === 0x3b) return { modifier: 'accumulation only if positive' };
  if (code === 0x3c) return { modifier: 'accumulation of abs value only if negative' };
  if (code === 0x40) return { modifier: 'lower limit value' };
  if (code === 0x48) return { modifier: 'upper limit value' };
  if (code === 0x41) return { modifier: 'number of exceeds of lower limit' };
  if (code === 0x49) return { modifier: 'number of exceeds of upper limit' };
  if ((code & 0xf2) === 0x42) {
    const u = code & 0x08 ? 'upper' : 'lower';
    return { modifier: `date/time of ${code & 1 ? 'end' : 'begin'} of ${code & 4 ? 'last' : 'first'} ${u} limit exceed` };
  }
  if (code >> 3 === 0x0a) return { modifier: `duration of ${code & 4 ? 'upper' : 'lower'} limit exceed` };
  if (code >> 3 === 0x0c) return { modifier: 'duration of D' };
  if (code === 0x68 || code === 0x6c) return { modifier: `value during ${code & 4 ? 'upper' : 'lower'} limit exceed` };
  if (code >> 3 === 0x0e) return { scale: 10 ** ((code & 7) - 6), modifier: `multiplicative correction 10^${(code & 7) - 6}` };
  if (code >= 0x78 && code <= 0x7b) return { modifier: `additive correction constant 10^${(code & 3) - 3}` };
  if (code === 0x7d) return { scale: 1000, modifier: 'multiplicative correction 10^3' };
  if (code === 0x7e) return { modifier: 'future value' };
  if (code === 0x7f) return { modifier: 'manufacturer specific VIFEs follow' };
  return { modifier: `reserved VIFE 0x${code.toString(16)}` };
}
