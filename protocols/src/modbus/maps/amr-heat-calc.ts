// A heat-calculator map in the style of Modbus heat calculators (holding registers, mixed integer
// types, scaled and little-endian words). No vendor publishes a sheet we could cite here, so this is
// the project's own documented layout — it exercises scale, int types and LE word order end to end.
import { RegisterMap } from '../registers.js';

export const AMR_HEAT_CALC = RegisterMap.parse({
  id: 'amr-heat-calc',
  model: 'AMR generic heat calculator',
  doc: 'Holding registers (FC 03); 32-bit values low word first.',
  entries: [
    { name: 'energy_kwh', address: 0, fn: 'holding', type: 'uint32', wordOrder: 'LE', scale: 0.001, unit: 'kWh' },
    { name: 'volume_m3', address: 2, fn: 'holding', type: 'uint32', wordOrder: 'LE', scale: 0.001, unit: 'm3' },
    { name: 'power_w', address: 4, fn: 'holding', type: 'int32', wordOrder: 'LE', scale: 1, unit: 'W' },
    { name: 'volume_flow_m3h', address: 6, fn: 'holding', type: 'int32', wordOrder: 'LE', scale: 0.001, unit: 'm3/h' },
    { name: 'flow_temp_c', address: 8, fn: 'holding', type: 'int16', wordOrder: 'BE', scale: 0.01, unit: '°C' },
    { name: 'return_temp_c', address: 9, fn: 'holding', type: 'int16', wordOrder: 'BE', scale: 0.01, unit: '°C' },
    { name: 'operating_time_s', address: 10, fn: 'holding', type: 'uint32', wordOrder: 'LE', scale: 3600, unit: 's' },
    { name: 'error_flags', address: 12, fn: 'holding', type: 'uint16', wordOrder: 'BE', scale: 1, unit: 'flags' },
  ],
});
