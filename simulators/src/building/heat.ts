// Hydraulics of the simulated heating circuit: the flow/return temperatures over the season and the
// day, and the volume a heat meter's flow sensor sees for the energy it registers. A real meter
// integrates Q = ∫ k(θ1, θ2) · (θ1 − θ2) dV, so the volume register is integrated here hour by hour
// from the meter's own energy and the temperatures of that hour (k from @amr/protocols, EN 1434-1),
// not derived from the energy register with a fixed ΔT.
import { heatCoefficientKwhM3K } from '@amr/protocols';
import { hash01, prefixCumulative, seasonFactor } from './consumption.js';

const HOUR = 3_600_000;

export interface CircuitTemps {
  flowC: number;
  returnC: number;
}

/**
 * Flow and return temperature at `tMs`: a weather-compensated supply (hotter in the cold of the
 * season and of the night, ±2 K over the day) and a ΔT of 8…22 K that follows the load.
 */
export function circuitTemps(tMs: number): CircuitTemps {
  const season = Math.min(1, seasonFactor('heat', new Date(tMs)));
  const hourOfDay = (tMs % 86_400_000) / HOUR;
  const daily = Math.cos((2 * Math.PI * (hourOfDay - 5)) / 24); // coldest outside at ~05:00
  const flowC = 50 + 25 * season + 2 * daily;
  const deltaT = 8 + 14 * season + daily;
  return { flowC, returnC: flowC - deltaT };
}

/**
 * The volume register's true cumulative for a heat meter whose energy cumulative is `energy`
 * (piecewise linear within each hour from `startMs`, as every consumption series here is). The
 * flow sensor sits in the return pipe. `errorShare` is the meter's own error between energy and
 * k·ΔT·V (calculator and temperature pair: EN 1434 class 2 allows a few %), seeded per meter.
 */
export class HeatVolumeSeries {
  private prefix: number[] = [0];

  constructor(
    private readonly energy: (tMs: number) => number,
    private readonly startMs: number,
    readonly errorShare: number,
  ) {}

  /** m³ that flowed in hour h after the start. */
  private hourly(h: number): number {
    const t0 = this.startMs + h * HOUR;
    const e = this.energy(t0 + HOUR) - this.energy(t0);
    const { flowC, returnC } = circuitTemps(t0 + HOUR / 2);
    return (e / (heatCoefficientKwhM3K(flowC, returnC, returnC) * (flowC - returnC))) * (1 + this.errorShare);
  }

  cumulative(tMs: number): number {
    return prefixCumulative(this.prefix, this.startMs, tMs, (h) => this.hourly(h));
  }
}

/** A meter's seeded error share between energy and k·ΔT·V: within ±1.5 %. */
export function heatMeterErrorShare(seed: number, n: number): number {
  return (hash01(seed, n, 4321) - 0.5) * 0.03;
}
