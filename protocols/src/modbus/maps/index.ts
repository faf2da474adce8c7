// Register maps known to both the simulator and the gateway, by id.
import type { RegisterMap } from '../registers.js';
import { SDM120, SDM630 } from './sdm630.js';
import { AMR_HEAT_CALC } from './amr-heat-calc.js';
import { TV7 } from './tv7.js';

export { SDM120, SDM630, AMR_HEAT_CALC, TV7 };

export const REGISTER_MAPS: Readonly<Record<string, RegisterMap>> = {
  [SDM630.id]: SDM630,
  [SDM120.id]: SDM120,
  [AMR_HEAT_CALC.id]: AMR_HEAT_CALC,
  [TV7.id]: TV7,
};
