// Термотроник ТВ7 heat calculator (тепловычислитель), heat input 1 (ТВ1) on pipes 1 (supply) and
// 2 (return), over Modbus RTU: holding registers (FC 03), archives selected by a FC 16 write.
//
// Where the layout comes from: the maker's own protocol description («ТВ7. Протокол обмена») was
// not within reach; the addresses, register counts, the date packing, the archive select command
// and the record layout are taken from an open-source ТВ7 reader that implements it
// (github.com/MaximOkulin/EnergyTechAudit.PowerAccounting.DeviceReader, module DeviceReader.Tv7,
// commit 430bb9e: API/Commands.cs, Parser.cs, Tv7Instant.cs, Tv7ArchiveReader.cs). What that reader
// shows: 32-bit floats and 64-bit doubles with the LOW word first and bytes big-endian inside a
// word; time counters as 16-bit integers; dates two bytes to a register (month·day, hour·year−2000,
// second·minute). Everything marked `assumed` is the project's guess and says why below.
import { RegisterMap } from '../registers.js';

/** 1 GJ in kWh: ТВ7 in SI units counts heat in GJ (power in GJ/h); the contract's names are kWh/W. */
const GJ_KWH = 1e9 / 3.6e6;
/** 1 GJ/h in W. */
const GJH_W = 1e9 / 3600;
/** Pressures are MPa on the meter, bar in the contract. */
const MPA_BAR = 10;

const f32 = { fn: 'holding', type: 'float32', wordOrder: 'LE' } as const;
const f64 = { fn: 'holding', type: 'float64', wordOrder: 'LE' } as const;
const a32 = { type: 'float32', wordOrder: 'LE' } as const;

export const TV7 = RegisterMap.parse({
  id: 'tv7',
  model: 'Термотроник ТВ7 (heat input 1, pipes 1 and 2)',
  doc:
    'Holding registers (FC 03); float32/float64 low word first. Archive: write 5 words at 99 (FC 16: month·day, ' +
    'hour·year, second·minute, archive code, record number), then read 90 words at 2740 (FC 03). ' +
    'Layout from an open-source ТВ7 reader (EnergyTechAudit DeviceReader.Tv7); the maker\'s document was not at hand.',
  entries: [
    // Current means ("мгновенные"): t1…t6 from 3543, P1…P6 from 3555; volume flows from 3567, mass flows from 3579.
    { name: 'flow_temp_c', address: 3543, ...f32, unit: '°C' },
    { name: 'return_temp_c', address: 3545, ...f32, unit: '°C' },
    { name: 'pressure_bar', address: 3555, ...f32, scale: MPA_BAR, unit: 'bar' },
    { name: 'return_pressure_bar', address: 3557, ...f32, scale: MPA_BAR, unit: 'bar' },
    { name: 'volume_flow_m3h', address: 3567, ...f32, unit: 'm3/h' },
    { name: 'return_volume_flow_m3h', address: 3569, ...f32, unit: 'm3/h' },
    { name: 'mass_flow_th', address: 3579, ...f32, unit: 't/h' },
    { name: 'return_mass_flow_th', address: 3581, ...f32, unit: 't/h' },
    // Thermal power of heat input 1 (3615), GJ/h.
    { name: 'power_w', address: 3615, ...f32, scale: GJH_W, unit: 'W' },
    // Totals ("текущие итоговые") per pipe of ТВ1: V then M as doubles, pipe 1 at 3415, pipe 2 at 3423.
    { name: 'volume_m3', address: 3415, ...f64, unit: 'm3' },
    { name: 'mass_t', address: 3419, ...f64, unit: 't' },
    { name: 'return_volume_m3', address: 3423, ...f64, unit: 'm3' },
    { name: 'return_mass_t', address: 3427, ...f64, unit: 't' },
    // Totals of ТВ1 from 3463: dM, Qтв, Q12, Qг as doubles, then 16-bit time counters Тн (normal
    // work) at 3479 and Тотс (no counting) at 3480. Their unit is not in the reader; hours are
    // assumed (a cumulative minute count would overflow 16 bits in 45 days).
    { name: 'energy_kwh', address: 3467, ...f64, scale: GJ_KWH, unit: 'kWh' },
    { name: 'operating_time_s', address: 3479, fn: 'holding', type: 'int16', scale: 3600, unit: 's', assumed: true },
    { name: 'error_time_s', address: 3480, fn: 'holding', type: 'int16', scale: 3600, unit: 's', assumed: true },
    // The reader never reads a current НС word; this register and its bits (nsCodes) are assumed.
    { name: 'error_flags', address: 3840, fn: 'holding', type: 'uint16', unit: 'flags', assumed: true },
  ],
  archives: {
    select: { address: 99, words: [['month', 'day'], ['hour', 'year2'], ['second', 'minute'], ['zero', 'kind'], ['zero', 'index']] },
    // Archive codes 0 hourly, 1 daily (2 monthly, 3 totals — not modelled). Record lengths are the calendar's.
    kinds: { hourly: { code: 0, seconds: 3600 }, daily: { code: 1, seconds: 86_400 } },
    record: {
      address: 2740,
      // 88 words in the reader (time 2, six pipes × 8, two heat inputs × 18, extra parameter 2) + 2 assumed НС words.
      count: 90,
      time: { offset: 0, words: [['month', 'day'], ['hour', 'year2']] },
      // The reader stores the record under its own timestamp and does not say which end it is;
      // "start of the interval" is assumed (the hour 13 record covers 13:00–14:00).
      stamp: 'start',
      values: [
        // Pipe i at 2 + 8(i−1): mean t, mean P, V and M over the interval.
        { name: 'flow_temp_mean_c', offset: 2, ...a32, unit: '°C' },
        { name: 'pressure_mean_bar', offset: 4, ...a32, scale: MPA_BAR, unit: 'bar' },
        { name: 'volume_delta_m3', offset: 6, ...a32, unit: 'm3' },
        { name: 'mass_delta_t', offset: 8, ...a32, unit: 't' },
        { name: 'return_temp_mean_c', offset: 10, ...a32, unit: '°C' },
        { name: 'return_pressure_mean_bar', offset: 12, ...a32, scale: MPA_BAR, unit: 'bar' },
        { name: 'return_volume_delta_m3', offset: 14, ...a32, unit: 'm3' },
        { name: 'return_mass_delta_t', offset: 16, ...a32, unit: 't' },
        // Heat input 1 at 50: t outdoor, t cold, P cold, Δt, ΔM, Qтв, Q12, Qг (float32), Тн, Тотс (int16).
        { name: 'temp_diff_mean_k', offset: 56, ...a32, unit: 'K' },
        { name: 'energy_delta_kwh', offset: 60, ...a32, scale: GJ_KWH, unit: 'kWh' },
      ],
      // Unit of Тн/Тотс in a record: minutes assumed (an hour's 60 and a day's 1440 both fit 16 bits).
      // Every name here is the quantity an HOURLY record's value is stored under; a daily record's
      // are the contract's day names (archiveQuantity: energy_day_kwh, error_flags_day, …), so a
      // daily record, the hourly one at the same midnight and a live poll never share a key.
      workingTime: { name: 'operating_time_delta_s', offset: 66, type: 'int16', scale: 60, unit: 's', assumed: true },
      nsTime: { name: 'error_time_delta_s', offset: 67, type: 'int16', scale: 60, unit: 's', assumed: true },
      // The record's НС word: not the live `error_flags` (a poll at the record's instant has its own).
      nsFlags: { name: 'error_flags_interval', offset: 88, type: 'uint16', unit: 'flags', assumed: true },
    },
  },
  // The five НС kinds ТВ7 keeps time counters for (the reader's totals archive: time at V<min,
  // V>max, Δt<min, mains off, t1/t2 sensor fault). Their bits in the НС word are assumed.
  nsCodes: [
    { code: 'flow_low', bit: 0, ru: 'G < Gmin', en: 'flow below minimum', meaning: 'flow below the flow sensor\'s lower limit: volume is counted by contract value or not at all', assumed: true },
    { code: 'flow_high', bit: 1, ru: 'G > Gmax', en: 'flow above maximum', meaning: 'flow above the flow sensor\'s upper limit', assumed: true },
    { code: 'dt_low', bit: 2, ru: 'Δt < Δtmin', en: 'temperature difference below minimum', meaning: 'supply − return below the calculator\'s minimum ΔT: heat is not counted for that time', assumed: true },
    { code: 'power_off', bit: 3, ru: 'отключение питания', en: 'mains power off', meaning: 'the calculator was without power: nothing counted, the time goes to Тнс', assumed: true },
    { code: 'temp_fault', bit: 4, ru: 'неисправность датчика t1/t2', en: 'temperature sensor fault', meaning: 't1 or t2 out of range or open circuit', assumed: true },
  ],
});
