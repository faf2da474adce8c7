/**
 * The НС judge and the heat of off time (src/heat/ns.ts), pure: reasons from the meter's codes and
 * from Тр/Тнс, and Q of off time from the mean hourly Q of the normal records of the 72 hours before,
 * every expected value worked out by hand in the comments.
 */
import { describe, expect, it } from 'vitest';
import { TV7 } from '@amr/protocols';
import { accountedHeat, METER_CODE_REASON, nsReasons, type RecordFacts } from '../../src/heat/ns.js';

const H = 3600_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');
/** An hourly record starting `h` hours after T0; normal by default (Тр = 3600, Тнс = 0, no codes). */
const hour = (h: number, energyKwh: number | null, over: Partial<RecordFacts> = {}): RecordFacts =>
  ({ startMs: T0 + h * H, seconds: 3600, codes: [], workingSeconds: 3600, nsSeconds: 0, energyKwh, ...over });

describe('НС reasons of a record', () => {
  it('every НС code of the ТВ7 map has its reason; a bit the map does not name is ns_unknown, kept', () => {
    const codes = (TV7.nsCodes ?? []).map((c) => c.code);
    expect(codes.map((c) => METER_CODE_REASON[c])).toEqual(['ns_flow_low', 'ns_flow_high', 'ns_dt_low', 'ns_power_off', 'ns_sensor']);
    expect(nsReasons(hour(0, 1, { codes: ['bit7'] }))).toEqual([{ code: 'ns_unknown', from: 'meter', meterCode: 'bit7' }]);
  });

  it('a normal hour has none; Тр + Тнс short of the hour is power-off time; Тнс > 0 is НС time', () => {
    expect(nsReasons(hour(0, 10))).toEqual([]);
    // Δt < min for 20 min: Тр 2400 + Тнс 1200 = 3600, nothing off.
    expect(nsReasons(hour(1, 8, { codes: ['dt_low'], workingSeconds: 2400, nsSeconds: 1200 }))).toEqual([
      { code: 'ns_dt_low', from: 'meter', meterCode: 'dt_low' },
      { code: 'ns_time', from: 'working_time', seconds: 1200 },
    ]);
    // Off for 15 min with no code: 3600 − 2700 − 0 = 900 s.
    expect(nsReasons(hour(2, 8, { workingSeconds: 2700 }))).toEqual([{ code: 'ns_power_off', from: 'working_time', seconds: 900 }]);
    // A daily record: 86 400 − 82 800 − 1 800 = 1 800 s off, and 1 800 s of Тнс.
    expect(nsReasons({ startMs: T0, seconds: 86_400, codes: [], workingSeconds: 82_800, nsSeconds: 1800, energyKwh: 500 })).toEqual([
      { code: 'ns_power_off', from: 'working_time', seconds: 1800 },
      { code: 'ns_time', from: 'working_time', seconds: 1800 },
    ]);
    // Not reported times: not judged on time.
    expect(nsReasons(hour(3, 8, { workingSeconds: null, nsSeconds: null }))).toEqual([]);
  });
});

describe('Q of the time the meter was off', () => {
  it('the mean hourly Q of the normal hours before stands for the off hours; НС hours counted by the meter stay as measured', () => {
    const recs = [
      hour(0, 10), hour(1, 12), hour(2, 11), hour(3, 13), // normal: Σ 46 kWh over 4 h → 11.5 kWh/h
      hour(4, 0, { codes: ['power_off'], workingSeconds: 0, nsSeconds: 0 }), // off 3600 s → 0 + 11.5 = 11.5
      hour(5, 6, { workingSeconds: 1800 }), // off 1800 s; h4 is not normal, basis still h0…h3 → 6 + 11.5 × 0.5 = 11.75
      hour(6, 8.2, { codes: ['dt_low'], workingSeconds: 2400, nsSeconds: 1200 }), // nothing off: 8.2 as the meter counted it
    ];
    const out = accountedHeat(recs, T0);
    expect(out.map((o) => o.kwh)).toEqual([10, 12, 11, 13, 11.5, 11.75, 8.2]);
    expect(out[4].calculation).toEqual({ basis: 'mean_hourly', offSeconds: 3600, meanHourlyKwh: 11.5, basisRecords: 4, basisFromMs: T0, addedKwh: 11.5 });
    expect(out[5].calculation).toMatchObject({ offSeconds: 1800, addedKwh: 5.75, basisRecords: 4 });
    expect(out[6].calculation).toBeUndefined();
  });

  it('only the 72 hours before count, never before the statement period; no normal hour before: measured, said so', () => {
    const normal = [hour(0, 10), hour(1, 12), hour(2, 11), hour(3, 13)];
    // Off at h74: window [h2, h74) holds h2, h3 → (11 + 13) / 2 = 12.
    expect(accountedHeat([...normal, hour(74, 0, { workingSeconds: 0 })], T0)[4]).toMatchObject({ kwh: 12, calculation: { basisRecords: 2, addedKwh: 12 } });
    // Off at h76: window [h4, h76) holds no normal hour → measured 0.4 kept.
    expect(accountedHeat([...normal, hour(76, 0.4, { workingSeconds: 0 })], T0)[4]).toEqual({ measuredKwh: 0.4, kwh: 0.4, calculation: { basis: 'none', offSeconds: 3600, addedKwh: 0 } });
    // The statement starts at h3: only h3 (13) counts for an off hour at h4.
    expect(accountedHeat([...normal, hour(4, 0, { workingSeconds: 0 })], T0 + 3 * H)[4].kwh).toBe(13);
  });

  it('in exact decimals: 0.1 and 0.2 kWh make a mean of 0.15, not a double hair off; the added heat rounded half up to 0.001', () => {
    expect(accountedHeat([hour(0, 0.1), hour(1, 0.2), hour(2, 0, { workingSeconds: 0 })], T0)[2].kwh).toBe(0.15);
    // 10 kWh/h × 2 s off (3600 − 3598) = 0.00555… kWh → 0.006; 1.111 + 0.006 = 1.117.
    expect(accountedHeat([hour(0, 10), hour(1, 1.111, { workingSeconds: 3598 })], T0)[1]).toMatchObject({ kwh: 1.117, calculation: { addedKwh: 0.006 } });
  });
});
