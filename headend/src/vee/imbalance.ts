/**
 * Imbalance (небаланс) of a building meter against the meters behind it, for one resource and period:
 *   imbalance = ОДПУ − Σ ИПУ − other known consumers (common-area, non-residential).
 * Positive = losses, leaks or theft; negative = the apartments "consume" more than the building took,
 * which points at a faulty meter or wrong readings. Pure maths; thresholds per building × resource.
 */
import { z } from 'zod';
import type { ValueMethod } from './period.js';

export const ImbalanceThresholds = z.object({
  /** Above this % of the building meter, status is high_loss. */
  highLossPct: z.number().default(10),
  /** Below minus this %, status is negative_imbalance. */
  negativePct: z.number().nonnegative().default(2),
  /** Share (0..1) of apartment meters with actual (measured or interpolated) values needed for a verdict. */
  minCoverage: z.number().min(0).max(1).default(0.8),
});
export type ImbalanceThresholds = z.infer<typeof ImbalanceThresholds>;

export interface MeterPeriodValue {
  meterId: string;
  consumption: number | null;
  method: ValueMethod | null;
}

export interface ImbalanceInput {
  building: MeterPeriodValue[];
  apartments: MeterPeriodValue[];
  otherConsumers: MeterPeriodValue[];
  thresholds?: Partial<ImbalanceThresholds>;
}

export type ImbalanceStatus = 'ok' | 'high_loss' | 'negative_imbalance' | 'insufficient_data';

export interface ImbalanceReport {
  buildingConsumption: number | null;
  apartmentsConsumption: number;
  otherConsumption: number;
  imbalance: number | null;
  imbalancePct: number | null;
  /** Share of apartment meters with actual values. */
  coverage: number;
  apartmentsTotal: number;
  apartmentsActual: number;
  status: ImbalanceStatus;
}

const actual = (m: MeterPeriodValue) => m.consumption !== null && (m.method === 'measured' || m.method === 'interpolated');
const sum = (ms: MeterPeriodValue[]) => ms.reduce((s, m) => s + (m.consumption ?? 0), 0);

export function computeImbalance(input: ImbalanceInput): ImbalanceReport {
  const th = ImbalanceThresholds.parse(input.thresholds ?? {});
  const buildingKnown = input.building.length > 0 && input.building.every((m) => m.consumption !== null);
  const buildingConsumption = buildingKnown ? sum(input.building) : null;
  const apartmentsConsumption = sum(input.apartments);
  const otherConsumption = sum(input.otherConsumers);
  const apartmentsActual = input.apartments.filter(actual).length;
  const coverage = input.apartments.length ? apartmentsActual / input.apartments.length : 1;
  const imbalance = buildingConsumption === null ? null : buildingConsumption - apartmentsConsumption - otherConsumption;
  const imbalancePct = imbalance === null || !buildingConsumption ? null : (imbalance / buildingConsumption) * 100;
  let status: ImbalanceStatus;
  if (imbalancePct === null || coverage < th.minCoverage) status = 'insufficient_data';
  else if (imbalancePct < -th.negativePct) status = 'negative_imbalance';
  else if (imbalancePct > th.highLossPct) status = 'high_loss';
  else status = 'ok';
  return { buildingConsumption, apartmentsConsumption, otherConsumption, imbalance, imbalancePct, coverage, apartmentsTotal: input.apartments.length, apartmentsActual, status };
}
