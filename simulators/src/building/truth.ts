// The truth a test or the demo compares the head-end against: true consumption per meter and the
// true split of each building meter into apartments, common-area use and loss, per period.
import { RESOURCES, type BuildingConfig, type Resource } from './config.js';
import type { Replacement, SimMeter } from './meters.js';

export interface ResourceTruth {
  building: number;
  apartments: number;
  common: number;
  loss: number;
  /** loss / building (0 when nothing was consumed). */
  imbalance: number;
}

export interface PeriodTruth {
  from: string;
  to: string;
  /** True consumption per meter in the meter's own unit (`unit`: kWh, m3, or hca units for allocators). */
  meters: { meterId: string; resource: Resource; role: 'building' | 'apartment'; apartment?: number; unit: string; consumption: number }[];
  resources: Record<Resource, ResourceTruth>;
  replacements: Replacement[];
}

export interface TruthSources {
  meters: SimMeter[];
  /** Σ apartments' true cumulative use of a resource (metered or not, e.g. heat without ИПУ). */
  apartmentsCumulative: (r: Resource, tMs: number) => number;
  config: BuildingConfig;
}

export function periodTruth(src: TruthSources, from: Date, to: Date): PeriodTruth {
  const [a, b] = [from.getTime(), to.getTime()];
  const resources = {} as Record<Resource, ResourceTruth>;
  for (const r of RESOURCES) {
    const apartments = src.apartmentsCumulative(r, b) - src.apartmentsCumulative(r, a);
    const common = apartments * src.config.common[r];
    const building = (apartments + common) / (1 - src.config.loss[r]);
    const loss = building - apartments - common;
    resources[r] = { building, apartments, common, loss, imbalance: building > 0 ? loss / building : 0 };
  }
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    meters: src.meters.map((m) => ({
      meterId: m.meterId, resource: m.resource, role: m.role, apartment: m.apartment, unit: m.unit,
      consumption: m.trueCumulative(b) - m.trueCumulative(a),
    })),
    resources,
    replacements: src.meters.flatMap((m) => m.replacements.filter((x) => x.at >= from.toISOString() && x.at < to.toISOString())),
  };
}

/** Calendar periods (UTC days or months) covering [from, to). */
export function periods(granularity: 'day' | 'month', from: Date, to: Date): [Date, Date][] {
  const out: [Date, Date][] = [];
  let s = granularity === 'day'
    ? new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()))
    : new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), 1));
  while (s < to) {
    const e = granularity === 'day'
      ? new Date(s.getTime() + 86_400_000)
      : new Date(Date.UTC(s.getUTCFullYear(), s.getUTCMonth() + 1, 1));
    out.push([s, e < to ? e : to]);
    s = e;
  }
  return out;
}
