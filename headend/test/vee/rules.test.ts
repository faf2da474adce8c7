import { describe, it, expect } from 'vitest';
import { DEFAULT_VALIDATION_SETTINGS, heatEnergyCheck, registerResolution, validateReading, type HeatSample, type RegisterPoint, type MeterFacts, type ReadingContext } from '../../src/vee/index.js';

const T0 = Date.UTC(2026, 0, 1);
const M15 = 15 * 60_000;
/** A 15-minute series: values[i] at T0 + i × 15 min. */
const series = (values: number[], step = M15): RegisterPoint[] => values.map((v, i) => ({ time: new Date(T0 + i * step), value: v }));
const DAY = 86_400_000;
/** One value a day from T0 + offset days. */
const daily = (values: number[], offset = 0): RegisterPoint[] => values.map((v, i) => ({ time: new Date(T0 + (offset + i) * DAY), value: v }));
const steady = (n: number, start = 100, inc = 0.01) => series(Array.from({ length: n }, (_, i) => start + i * inc));

/** A heat meter sample `hours` after T0: energy (kWh), volume (m³), flow/return 70/50 °C unless given. */
const heat = (hours: number, energyKwh: number, volumeM3: number, flowTempC = 70, returnTempC = 50): HeatSample => ({ time: new Date(T0 + hours * 3_600_000), energyKwh, volumeM3, flowTempC, returnTempC });

interface Case {
  name: string;
  history: RegisterPoint[];
  cur: RegisterPoint;
  facts?: MeterFacts;
  ctx?: ReadingContext;
  status: 'valid' | 'suspect' | 'invalid';
  codes: string[];
}

const h = steady(20);
/** 100 readings 15 minutes apart, 0.02 each (100 … 101.98): 99 intervals, a little over a day. */
const dayOf15 = steady(100, 100, 0.02);
const H3 = 3 * 3_600_000;
/** A day of 3-hourly readings of a 10 L pulse counter from midnight: 0, 0, 0, 0, 0.01, 0.05, 0.10, 0.11 m³ (Σ 0.27). */
const pulseDay = series([5.0, 5.0, 5.0, 5.0, 5.0, 5.01, 5.06, 5.16, 5.27], H3);
const next = (v: number, steps = 1, q?: string[]): RegisterPoint => ({ time: new Date(T0 + (19 + steps) * M15), value: v, quality: q });

// Worked examples: each line is a situation an engineer would recognise.
const cases: Case[] = [
  { name: 'steady consumption is valid', history: h, cur: next(100.2), status: 'valid', codes: [] },
  { name: 'zero consumption (equal value) is valid for an apartment meter', history: h, cur: next(100.19), status: 'valid', codes: [] },
  { name: 'a real decrease is invalid', history: h, cur: next(99.5), status: 'invalid', codes: ['register_decreased'] },
  { name: 'a decrease near the top of a 5-digit register is a rollover to confirm', history: series([99_999.5, 99_999.7, 99_999.9]), cur: { time: new Date(T0 + 3 * M15), value: 0.2 }, facts: { registerDigits: 5 }, status: 'suspect', codes: ['rollover'] },
  { name: 'a big decrease with register digits is not taken for a rollover', history: series([50_000, 50_001]), cur: { time: new Date(T0 + 2 * M15), value: 10 }, facts: { registerDigits: 5 }, status: 'invalid', codes: ['register_decreased'] },
  {
    name: 'a decrease across a meter replacement is fine',
    history: series([500, 501]),
    cur: { time: new Date(T0 + 3 * M15), value: 0.5 },
    facts: { replacements: [{ time: new Date(T0 + 2 * M15), removalReading: 501.5, installationReading: 0 }] },
    status: 'valid',
    codes: [],
  },
  // A day of 15-minute readings at 0.02 each: the usual 15 minutes is 0.02; 0.5 − 0.01 (one digit of
  // resolution) = 0.49 > 5 × 0.02 = 0.1.
  { name: 'a spike far above the recent mean rate', history: dayOf15, cur: { time: new Date(T0 + 100 * M15), value: 101.98 + 0.5 }, status: 'suspect', codes: ['spike'] },
  // 5 × 0.02 + 0.01 = 0.11 is the most a 15-minute interval may show: 0.10 is not a spike, 0.13 is.
  { name: 'one register digit above five times the usual is not yet a spike', history: dayOf15, cur: { time: new Date(T0 + 100 * M15), value: 101.98 + 0.1 }, status: 'valid', codes: [] },
  { name: 'two digits above it is', history: dayOf15, cur: { time: new Date(T0 + 100 * M15), value: 101.98 + 0.13 }, status: 'suspect', codes: ['spike'] },
  // Night intervals of a 10 L pulse counter show nothing: the median of these rates is 0, so a
  // median baseline called any morning use a spike. Mean over the day: 0.27 m³ / 8 = 0.03375 per 3 h;
  // 90th percentile (nearest rank ⌈0.9 × 8⌉ = 8th of 0, 0, 0, 0, 0.01, 0.05, 0.10, 0.11) = 0.11.
  // Usual 3 h: max(0.03375, 0.11) = 0.11; a spike needs more than 5 × 0.11 + 0.01 = 0.56.
  { name: 'a morning peak after quiet nights of a pulse counter is not a spike', history: pulseDay, cur: { time: new Date(T0 + 9 * H3), value: 5.27 + 0.12 }, status: 'valid', codes: [] },
  { name: 'half a cubic metre in 3 hours on that meter is still within 5 × its busiest', history: pulseDay, cur: { time: new Date(T0 + 9 * H3), value: 5.27 + 0.5 }, status: 'valid', codes: [] },
  { name: '0.7 m³ in 3 hours on that meter is a spike', history: pulseDay, cur: { time: new Date(T0 + 9 * H3), value: 5.27 + 0.7 }, status: 'suspect', codes: ['spike'] },
  // Electricity every 12 h: two days away (0.5 kWh a half-day), an ordinary half-day of 6 kWh, then
  // an evening of 9 kWh. The mean (8 kWh / 60 h = 1.6 per 12 h, × 5 = 8) would call 9 − 0.1 a spike;
  // the 90th-percentile half-day (⌈0.9 × 5⌉ = 5th: 6 kWh) makes the usual 6, and 9 is ordinary.
  { name: 'an ordinary evening after two days away and one ordinary half-day is not a spike', history: series([100, 100.5, 101, 101.5, 102, 108], 12 * 3_600_000), cur: { time: new Date(T0 + 6 * 12 * 3_600_000), value: 117 }, status: 'valid', codes: [] },
  { name: 'after a day and a half away, the first evening is (a baseline of 1.5 days knows no better)', history: series([100, 100.5, 101, 101.5], 12 * 3_600_000), cur: { time: new Date(T0 + 4 * 12 * 3_600_000), value: 110.5 }, status: 'suspect', codes: ['spike'] },
  // Only 9 hours of history (midnight to 09:00, mostly night): no baseline yet, whatever comes.
  { name: 'no spike before a day of history', history: pulseDay.slice(0, 4), cur: { time: new Date(T0 + 4 * H3), value: 5.0 + 0.3 }, status: 'valid', codes: [] },
  { name: 'a gap of missing 15-minute intervals', history: h, cur: next(100.25, 6), facts: { pollIntervalMs: M15 }, status: 'suspect', codes: ['gap'] },
  { name: 'stuck register where flow is expected', history: series(new Array(10).fill(42)), cur: { time: new Date(T0 + 10 * M15), value: 42 }, facts: { expectsContinuousFlow: true }, status: 'suspect', codes: ['stuck_register'] },
  { name: 'flat apartment meter is not stuck (no flow expected)', history: series(new Array(10).fill(42)), cur: { time: new Date(T0 + 10 * M15), value: 42 }, status: 'valid', codes: [] },
  { name: 'apartment meter that stopped moving for 3 days after regular use', history: [...daily([10, 10.2, 10.4, 10.6]), ...daily([10.6, 10.6, 10.6], 4)], cur: { time: new Date(T0 + 7 * DAY), value: 10.6 }, status: 'suspect', codes: ['stuck_register'] },
  { name: 'apartment meter flat for 3 days but never used before is not stuck', history: daily([10, 10, 10, 10, 10, 10, 10]), cur: { time: new Date(T0 + 7 * DAY), value: 10 }, status: 'valid', codes: [] },
  { name: 'apartment meter flat for 2 days is not yet stuck', history: [...daily([10, 10.2, 10.4, 10.6]), ...daily([10.6], 4)], cur: { time: new Date(T0 + 5 * DAY), value: 10.6 }, status: 'valid', codes: [] },
  { name: 'negative flow rate is reverse flow', history: h, cur: next(100.2), ctx: { volumeFlowM3h: -0.4 }, status: 'suspect', codes: ['reverse_flow'] },
  { name: 'reverse flow', history: h, cur: next(100.2), ctx: { reverseVolumeDelta: 0.3 }, status: 'suspect', codes: ['reverse_flow'] },
  { name: 'meter error flags', history: h, cur: next(100.2), ctx: { errorFlags: 0x04 }, status: 'suspect', codes: ['meter_error'] },
  { name: 'value overflow is invalid', history: h, cur: next(100.2, 1, ['value_overflow']), status: 'invalid', codes: ['meter_error'] },
  { name: 'verification expired', history: h, cur: next(100.2), facts: { nextVerificationDate: new Date(T0) }, status: 'suspect', codes: ['verification_expired'] },
  { name: 'meter clock 10 minutes off', history: h, cur: next(100.2), ctx: { meterTime: new Date(T0 + 600_000), gatewayTime: new Date(T0) }, status: 'suspect', codes: ['clock_far_off'] },
  { name: 'meter clock 1 minute off is fine', history: h, cur: next(100.2), ctx: { meterTime: new Date(T0 + 60_000), gatewayTime: new Date(T0) }, status: 'valid', codes: [] },
  { name: 'return hotter than flow', history: h, cur: next(100.2), ctx: { heat: { flowTempC: 55, returnTempC: 60 } }, status: 'suspect', codes: ['return_hotter_than_flow'] },
  // 10 m³ at 70/50 °C over a day carries 227.4…229.8 kWh (heat tests below); 400 kWh is far off.
  { name: 'heat energy far from volume × ΔT', history: h, cur: next(100.2), ctx: { heat: { flowTempC: 70, returnTempC: 50, samples: [heat(0, 1000, 50.37), heat(24, 1400, 60.37)] } }, status: 'suspect', codes: ['heat_energy_mismatch'] },
  { name: 'heat energy consistent with volume × ΔT', history: h, cur: next(100.2), ctx: { heat: { flowTempC: 70, returnTempC: 50, samples: [heat(0, 1000, 50.37), heat(24, 1229, 60.37)] } }, status: 'valid', codes: [] },
  { name: 'estimated by the meter', history: h, cur: next(100.2, 1, ['estimated']), status: 'suspect', codes: ['estimated'] },
];

describe('validation rules (worked examples)', () => {
  for (const c of cases) {
    it(c.name, () => {
      const r = validateReading(c.cur, c.history, c.facts, c.ctx);
      expect(r.reasons.map((x) => x.code).sort()).toEqual([...c.codes].sort());
      expect(r.status).toBe(c.status);
    });
  }
});

/**
 * Energy vs volume × k × ΔT over the window. k (kWh per m³·K) at 70/50 °C: with the flow sensor in the
 * return pipe ρ(50 °C) × (h(70) − h(50)) / 20 K = 988.04 kg/m³ × (293.07 − 209.34) kJ/kg / 20 K / 3600
 * = 1.14900; in the flow pipe ρ(70 °C) = 977.77 → 1.13706. So 10 m³ at ΔT 20 K is 227.41…229.80 kWh;
 * ±5 % (class) → 216.04…241.29; minus/plus one digit of each register (1 kWh, and 0.01 m³ × 1.149 ×
 * 20 K = 0.23 kWh) → 214.81…242.52 kWh allowed.
 */
describe('heat energy vs volume × k × ΔT', () => {
  const s = DEFAULT_VALIDATION_SETTINGS;
  it('works out the bounds by hand', () => {
    const r = heatEnergyCheck([heat(0, 1000, 50.37), heat(24, 1229, 60.37)], s)!;
    expect(r.expectedMinKwh).toBeCloseTo(227.41, 2);
    expect(r.expectedMaxKwh).toBeCloseTo(229.8, 2);
    expect(r.energyResolutionKwh).toBe(1);
    expect(r.volumeResolutionM3).toBeCloseTo(0.01, 12);
    expect(r.allowedMinKwh).toBeCloseTo(214.81, 2);
    expect(r.allowedMaxKwh).toBeCloseTo(242.52, 2);
    expect(r.consistent).toBe(true);
  });
  it('a day with 250 kWh or 210 kWh for those 10 m³ is a mismatch', () => {
    expect(heatEnergyCheck([heat(0, 1000, 50.37), heat(24, 1250, 60.37)], s)!.consistent).toBe(false);
    expect(heatEnergyCheck([heat(0, 1000, 50.37), heat(24, 1210, 60.37)], s)!.consistent).toBe(false);
  });
  it('a 3-hour interval of whole kWh: 4 kWh for 0.20 m³ (4.55…4.60 kWh) is within a digit', () => {
    // allowed 4.548 × 0.95 − 1.23 = 3.09 … 4.596 × 1.05 + 1.23 = 6.06
    const r = heatEnergyCheck([heat(0, 1000, 50.37), heat(3, 1004, 50.57)], s)!;
    expect(r.allowedMinKwh).toBeCloseTo(3.09, 2);
    expect(r.allowedMaxKwh).toBeCloseTo(6.06, 2);
    expect(r.consistent).toBe(true);
  });
  it('ΔT of the samples bounds each interval: 10 m³ at ΔT 20 then 22 K', () => {
    // 5 m³ between 20 K samples, 5 m³ between a 20 K and a 22 K sample (72/50 °C: k 1.13593…1.14922):
    // low 5 × 1.13706 × 20 + 5 × 1.13593 × 20 = 113.71 + 113.59 = 227.30; high 114.90 + 5 × 1.14922 × 22 = 114.90 + 126.41 = 241.31
    const r = heatEnergyCheck([heat(0, 1000, 50.37), heat(12, 1114, 55.37), heat(24, 1235, 60.37, 72, 50)], s)!;
    expect(r.expectedMinKwh).toBeCloseTo(227.30, 1);
    expect(r.expectedMaxKwh).toBeCloseTo(241.31, 1);
    expect(r.consistent).toBe(true);
  });
  it('energy counted without any flow is a mismatch', () => {
    // 0 m³: nothing but the registers' digits allowed (1 + 0.23 kWh); 50 kWh is not.
    expect(heatEnergyCheck([heat(0, 1000, 50.37), heat(24, 1050, 50.37)], s)!.consistent).toBe(false);
  });
  it('the window starts after a register went down (replacement, reverse flow): other rules speak of that', () => {
    const r = heatEnergyCheck([heat(0, 5000, 80.12), heat(12, 1000, 50.37), heat(24, 1229, 60.37)], s)!;
    expect(r.from).toBe(new Date(T0 + 12 * 3_600_000).toISOString());
    expect(r.consistent).toBe(true);
  });
  it('says nothing below the minimum ΔT (summer standby), or without a previous sample', () => {
    expect(heatEnergyCheck([heat(0, 1000, 50.37), heat(24, 1400, 60.37, 40, 38.5)], s)).toBeNull();
    expect(heatEnergyCheck([heat(24, 1229, 60.37)], s)).toBeNull();
  });
  it('only samples within the window count', () => {
    // A sample 30 h back is outside the 24 h window: the check runs from the 24 h one.
    const r = heatEnergyCheck([heat(-6, 100, 10.0), heat(0, 1000, 50.37), heat(24, 1229, 60.37)], s)!;
    expect(r.hours).toBe(24);
  });
  it('register resolution is read from the values', () => {
    expect(registerResolution([455792, 455800])).toBe(1);
    expect(registerResolution([19598.73, 19600.1])).toBeCloseTo(0.01, 12);
    expect(registerResolution([0.1 + 0.2])).toBeCloseTo(0.1, 12); // float noise (0.30000000000000004) is not a digit
  });
});
