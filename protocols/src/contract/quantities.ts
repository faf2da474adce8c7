import { z } from 'zod';

/**
 * Named quantities a gateway publishes after applying a meter profile.
 * Each name fixes its unit, so the head-end never has to guess a scale:
 * `energy_kwh` is always kWh, whatever the meter's VIF or register map said.
 *
 * Cumulative registers (`kind: 'register'`) are what consumption is computed from;
 * instantaneous values (`'instant'`) are for dashboards and validation (heat physics); amounts
 * within one archive record of a heat calculator (`'interval'`: an hour's or a day's heat, volume,
 * mass) are what a monthly heat statement adds up. An archive record's temperatures and pressures
 * are the interval's means, with names of their own (`flow_temp_mean_c` …): stored under the live
 * names they would collide with the instant value polled at the same time (HH:00) — two different
 * measurements under one key, which the head-end can only quarantine as conflicting.
 * Unknown meters are published with the generic form `mbus.<...>` / `modbus.<...>`
 * (see GENERIC_QUANTITY) carrying the decoder's canonical unit.
 */
export const QUANTITIES = {
  energy_kwh: { unit: 'kWh', kind: 'register', doc: 'heat energy or active energy import, total register' },
  energy_t1_kwh: { unit: 'kWh', kind: 'register', doc: 'active energy import, tariff zone 1 (day / peak)' },
  energy_t2_kwh: { unit: 'kWh', kind: 'register', doc: 'active energy import, tariff zone 2 (night)' },
  energy_t3_kwh: { unit: 'kWh', kind: 'register', doc: 'active energy import, tariff zone 3 (half-peak)' },
  energy_export_kwh: { unit: 'kWh', kind: 'register', doc: 'active energy export, total register' },
  cooling_energy_kwh: { unit: 'kWh', kind: 'register', doc: 'cooling energy register of a heat/cooling meter' },
  volume_m3: { unit: 'm3', kind: 'register', doc: 'volume register (water meters; heat meter flow volume)' },
  volume_reverse_m3: { unit: 'm3', kind: 'register', doc: 'reverse-flow volume register' },
  pulses: { unit: 'count', kind: 'register', doc: 'raw pulse count (before weight)' },
  operating_time_s: { unit: 's', kind: 'register', doc: 'operating hours register' },
  error_time_s: { unit: 's', kind: 'register', doc: 'time in error register' },
  power_w: { unit: 'W', kind: 'instant', doc: 'thermal or active power, total' },
  power_l1_w: { unit: 'W', kind: 'instant', doc: 'active power phase L1' },
  power_l2_w: { unit: 'W', kind: 'instant', doc: 'active power phase L2' },
  power_l3_w: { unit: 'W', kind: 'instant', doc: 'active power phase L3' },
  voltage_l1_v: { unit: 'V', kind: 'instant', doc: 'voltage L1-N' },
  voltage_l2_v: { unit: 'V', kind: 'instant', doc: 'voltage L2-N' },
  voltage_l3_v: { unit: 'V', kind: 'instant', doc: 'voltage L3-N' },
  current_l1_a: { unit: 'A', kind: 'instant', doc: 'current L1' },
  current_l2_a: { unit: 'A', kind: 'instant', doc: 'current L2' },
  current_l3_a: { unit: 'A', kind: 'instant', doc: 'current L3' },
  frequency_hz: { unit: 'Hz', kind: 'instant', doc: 'mains frequency' },
  volume_flow_m3h: { unit: 'm3/h', kind: 'instant', doc: 'volume flow' },
  flow_temp_c: { unit: '°C', kind: 'instant', doc: 'flow (supply) temperature' },
  return_temp_c: { unit: '°C', kind: 'instant', doc: 'return temperature' },
  temp_diff_k: { unit: 'K', kind: 'instant', doc: 'temperature difference flow − return' },
  pressure_bar: { unit: 'bar', kind: 'instant', doc: 'pressure (supply pipe of a heat calculator)' },
  return_pressure_bar: { unit: 'bar', kind: 'instant', doc: 'return pipe pressure of a heat calculator' },
  flow_temp_mean_c: { unit: '°C', kind: 'instant', doc: 'mean flow (supply) temperature over one archive record (hour, day)' },
  return_temp_mean_c: { unit: '°C', kind: 'instant', doc: 'mean return temperature over one archive record' },
  temp_diff_mean_k: { unit: 'K', kind: 'instant', doc: 'mean temperature difference flow − return over one archive record' },
  pressure_mean_bar: { unit: 'bar', kind: 'instant', doc: 'mean supply pipe pressure over one archive record' },
  return_pressure_mean_bar: { unit: 'bar', kind: 'instant', doc: 'mean return pipe pressure over one archive record' },
  return_volume_flow_m3h: { unit: 'm3/h', kind: 'instant', doc: 'return pipe volume flow of a heat calculator' },
  mass_flow_th: { unit: 't/h', kind: 'instant', doc: 'supply pipe mass flow of a heat calculator' },
  return_mass_flow_th: { unit: 't/h', kind: 'instant', doc: 'return pipe mass flow of a heat calculator' },
  mass_t: { unit: 't', kind: 'register', doc: 'supply pipe mass register of a heat calculator' },
  return_volume_m3: { unit: 'm3', kind: 'register', doc: 'return pipe volume register of a heat calculator' },
  return_mass_t: { unit: 't', kind: 'register', doc: 'return pipe mass register of a heat calculator' },
  energy_delta_kwh: { unit: 'kWh', kind: 'interval', doc: 'heat counted within one archive record (hour, day)' },
  volume_delta_m3: { unit: 'm3', kind: 'interval', doc: 'supply pipe volume within one archive record' },
  return_volume_delta_m3: { unit: 'm3', kind: 'interval', doc: 'return pipe volume within one archive record' },
  mass_delta_t: { unit: 't', kind: 'interval', doc: 'supply pipe mass within one archive record' },
  return_mass_delta_t: { unit: 't', kind: 'interval', doc: 'return pipe mass within one archive record' },
  operating_time_delta_s: { unit: 's', kind: 'interval', doc: 'time of normal counting within one archive record (Тр)' },
  error_time_delta_s: { unit: 's', kind: 'interval', doc: 'time under a fault (НС) within one archive record (Тнс): not counted' },
  energy_day_kwh: { unit: 'kWh', kind: 'interval', doc: 'heat counted within one daily archive record' },
  volume_day_m3: { unit: 'm3', kind: 'interval', doc: 'supply pipe volume within one daily archive record' },
  return_volume_day_m3: { unit: 'm3', kind: 'interval', doc: 'return pipe volume within one daily archive record' },
  mass_day_t: { unit: 't', kind: 'interval', doc: 'supply pipe mass within one daily archive record' },
  return_mass_day_t: { unit: 't', kind: 'interval', doc: 'return pipe mass within one daily archive record' },
  operating_time_day_s: { unit: 's', kind: 'interval', doc: 'time of normal counting within one daily archive record (Тр)' },
  error_time_day_s: { unit: 's', kind: 'interval', doc: 'time under a fault (НС) within one daily archive record (Тнс)' },
  flow_temp_day_mean_c: { unit: '°C', kind: 'instant', doc: 'mean flow (supply) temperature over one daily archive record' },
  return_temp_day_mean_c: { unit: '°C', kind: 'instant', doc: 'mean return temperature over one daily archive record' },
  temp_diff_day_mean_k: { unit: 'K', kind: 'instant', doc: 'mean temperature difference flow − return over one daily archive record' },
  pressure_day_mean_bar: { unit: 'bar', kind: 'instant', doc: 'mean supply pipe pressure over one daily archive record' },
  return_pressure_day_mean_bar: { unit: 'bar', kind: 'instant', doc: 'mean return pipe pressure over one daily archive record' },
  error_flags: { unit: 'flags', kind: 'state', doc: 'meter error/status bit field as an integer (a live poll)' },
  error_flags_interval: { unit: 'flags', kind: 'state', doc: 'the НС bits logged for one hourly archive record' },
  error_flags_day: { unit: 'flags', kind: 'state', doc: 'the НС bits logged for one daily archive record' },
} as const;

export type KnownQuantity = keyof typeof QUANTITIES;

/** `mbus.<function>.<quantity>[.s<storage>][.t<tariff>][.u<subunit>]` or `modbus.<register name>`, lower case. */
export const GENERIC_QUANTITY = /^(mbus|modbus|pulse)\.[a-z0-9_.-]{1,120}$/;

export const QuantityName = z
  .string()
  .refine((q) => q in QUANTITIES || GENERIC_QUANTITY.test(q), {
    message: 'quantity must be a known name (energy_kwh, volume_m3, …) or generic mbus./modbus./pulse. form',
  });

/**
 * The names an archive record's values are stored under, per kind. A daily record and the hourly
 * record starting at the same local midnight share an instant, and a record's instant can be a live
 * poll's too (HH:00): under shared names the second value would be a conflicting version of the first
 * (quarantined). So an hourly record keeps the map's names (`energy_delta_kwh`, `flow_temp_mean_c`, …),
 * a daily record's are the day names (rule: `_delta_` → `_day_`, `_mean_` → `_day_mean_`), and the
 * record's НС word is `error_flags_interval` / `error_flags_day`, never the live `error_flags`.
 */
export const ARCHIVE_DAILY_NAMES: Readonly<Record<string, KnownQuantity>> = {
  energy_delta_kwh: 'energy_day_kwh',
  volume_delta_m3: 'volume_day_m3',
  return_volume_delta_m3: 'return_volume_day_m3',
  mass_delta_t: 'mass_day_t',
  return_mass_delta_t: 'return_mass_day_t',
  operating_time_delta_s: 'operating_time_day_s',
  error_time_delta_s: 'error_time_day_s',
  flow_temp_mean_c: 'flow_temp_day_mean_c',
  return_temp_mean_c: 'return_temp_day_mean_c',
  temp_diff_mean_k: 'temp_diff_day_mean_k',
  pressure_mean_bar: 'pressure_day_mean_bar',
  return_pressure_mean_bar: 'return_pressure_day_mean_bar',
  error_flags_interval: 'error_flags_day',
};

export type ArchiveRecordKind = 'hourly' | 'daily';

/**
 * What the monthly heat statement (ведомость учёта) reads of a heat meter's archive records, by their
 * hourly names (a daily record carries them under archiveQuantity(name, 'daily')): Q, M1, M2, t1, t2,
 * Тр and Тнс. Here, not in the head-end's heat folder, because every writer of readings must know them
 * (a write of one of them marks the statement's day).
 */
export const HEAT_RECORD_QUANTITIES = [
  'energy_delta_kwh', 'mass_delta_t', 'return_mass_delta_t', 'flow_temp_mean_c', 'return_temp_mean_c',
  'operating_time_delta_s', 'error_time_delta_s',
] as const;

/** The quantity a record of `kind` stores its value `name` (the hourly name, as a register map gives it) under. */
export function archiveQuantity(name: string, kind: ArchiveRecordKind): string {
  if (kind === 'hourly') return name;
  const daily = ARCHIVE_DAILY_NAMES[name];
  if (!daily) throw new Error(`archive value "${name}" has no daily quantity name: add it to ARCHIVE_DAILY_NAMES (protocols/src/contract/quantities.ts)`);
  return daily;
}

/** The hourly name of each daily archive name (the reverse of ARCHIVE_DAILY_NAMES). */
const ARCHIVE_HOURLY_NAMES: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(ARCHIVE_DAILY_NAMES).map(([h, d]) => [d, h]));

/**
 * The values of an interval archive record published under the other kind's names: a daily record
 * (an interval of a day) carrying `energy_delta_kwh`, or an hourly one carrying `energy_day_kwh`.
 * Stored, such a value would be read as the other kind's (a day's heat counted as an hour's, or hidden
 * from the statement), so the head-end refuses the record; `fits` is the name it should have had.
 */
export function misnamedArchiveValues(kind: ArchiveRecordKind, quantities: readonly string[]): { quantity: string; fits: string }[] {
  const other = kind === 'daily' ? ARCHIVE_DAILY_NAMES : ARCHIVE_HOURLY_NAMES;
  return quantities.filter((q) => q in other).map((q) => ({ quantity: q, fits: other[q] }));
}

export function isRegister(quantity: string): boolean {
  const q = (QUANTITIES as Record<string, { kind: string }>)[quantity];
  return q ? q.kind === 'register' : false;
}
