import { describe, it, expect } from 'vitest';
import { validateReading, type RegisterPoint, type MeterFacts, type ReadingContext } from '../../src/vee/index.js';

const T0 = Date.UTC(2026, 0, 1);
const M15 = 15 * 60_000;
/** A 15-minute series: values[i] at T0 + i × 15 min. */
const series = (values: number[], step = M15): RegisterPoint[] => values.map((v, i) => ({ time: new Date(T0 + i * step), value: v }));
const DAY = 86_400_000;
/** One value a day from T0 + offset days. */
const daily = (values: number[], offset = 0): RegisterPoint[] => values.map((v, i) => ({ time: new Date(T0 + (offset + i) * DAY), value: v }));
const steady = (n: number, start = 100, inc = 0.01) => series(Array.from({ length: n }, (_, i) => start + i * inc));

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
  { name: 'a spike far above the median rate', history: h, cur: next(100.19 + 0.5), status: 'suspect', codes: ['spike'] },
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
  // 10 m³ at ΔT 20 K carries 10 × 20 × 1.163 = 232.6 kWh; 400 kWh is 72 % off.
  { name: 'heat energy far from volume × ΔT', history: h, cur: next(100.2), ctx: { heat: { flowTempC: 70, returnTempC: 50, energyKwh: 400, volumeM3: 10 } }, status: 'suspect', codes: ['heat_energy_mismatch'] },
  { name: 'heat energy consistent with volume × ΔT', history: h, cur: next(100.2), ctx: { heat: { flowTempC: 70, returnTempC: 50, energyKwh: 240, volumeM3: 10 } }, status: 'valid', codes: [] },
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
