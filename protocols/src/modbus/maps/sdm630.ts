// Eastron SDM630 (3-phase, MID) input registers, FC 04, IEEE-754 float32, high word first.
// Addresses from the maker's protocol sheet ("30001" = 0x0000, "30073" = 0x0048 total import kWh).
import { RegisterMap } from '../registers.js';

const f = (name: string, address: number, unit: string) =>
  ({ name, address, fn: 'input', type: 'float32', wordOrder: 'BE', scale: 1, unit }) as const;

export const SDM630 = RegisterMap.parse({
  id: 'sdm630',
  model: 'Eastron SDM630',
  doc: 'Three-phase energy meter; float32 input registers (FC 04), big-endian words.',
  entries: [
    f('voltage_l1_v', 0x0000, 'V'),
    f('voltage_l2_v', 0x0002, 'V'),
    f('voltage_l3_v', 0x0004, 'V'),
    f('current_l1_a', 0x0006, 'A'),
    f('current_l2_a', 0x0008, 'A'),
    f('current_l3_a', 0x000a, 'A'),
    f('power_l1_w', 0x000c, 'W'),
    f('power_l2_w', 0x000e, 'W'),
    f('power_l3_w', 0x0010, 'W'),
    f('power_w', 0x0034, 'W'),
    f('frequency_hz', 0x0046, 'Hz'),
    f('energy_kwh', 0x0048, 'kWh'),
    f('energy_export_kwh', 0x004a, 'kWh'),
  ],
});

/** Eastron SDM120 (single phase): the same address layout, phase-1 registers only. */
export const SDM120 = RegisterMap.parse({
  id: 'sdm120',
  model: 'Eastron SDM120',
  doc: 'Single-phase energy meter; float32 input registers (FC 04), big-endian words.',
  entries: [
    f('voltage_l1_v', 0x0000, 'V'),
    f('current_l1_a', 0x0006, 'A'),
    f('power_w', 0x000c, 'W'),
    f('frequency_hz', 0x0046, 'Hz'),
    f('energy_kwh', 0x0048, 'kWh'),
    f('energy_export_kwh', 0x004a, 'kWh'),
  ],
});
