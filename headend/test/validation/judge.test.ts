/**
 * The validator's pure assembly: meter facts, context deltas and one verdict per loaded row.
 */
import { describe, expect, it } from 'vitest';
import { contextOf, factsOf, heatSamples, historyDepth, judge, judgeArchive, type ArchiveTarget, type Context, type InstantValues, type MeterRow, type TargetRow } from '../../src/validation/judge.js';
import { ByMeter } from '../../src/validation/by-meter.js';
import { DEFAULT_VALIDATION_SETTINGS, type RegisterPoint } from '../../src/vee/index.js';

const H = 3_600_000;
const T0 = Date.UTC(2025, 0, 1);
const meter = (over: Partial<MeterRow> = {}): MeterRow => ({
  id: 1, buildingId: 7, resource: 'cold_water', placement: 'apartment', registerDigits: null, nextVerificationOn: null, remoteReading: false, pollMs: H, ...over,
});
const row = (i: number, value: number | null, version = 1, quality: string[] = []): TargetRow => ({
  meterId: 1, quantity: 'volume_m3', time: new Date(T0 + i * H), timeKey: `k${i}`, version, value, quality,
});
const pts = (values: number[]): RegisterPoint[] => values.map((v, i) => ({ time: new Date(T0 + i * H), value: v }));

describe('factsOf', () => {
  it('continuous flow only for building water/heat/electricity meters with a telemetry interval', () => {
    expect(factsOf(meter({ placement: 'building' })).expectsContinuousFlow).toBe(true);
    expect(factsOf(meter({ placement: 'building', resource: 'gas' })).expectsContinuousFlow).toBe(false);
    expect(factsOf(meter({ placement: 'building', pollMs: null })).expectsContinuousFlow).toBe(false);
    expect(factsOf(meter()).expectsContinuousFlow).toBe(false);
  });
  it('verification date is midnight UTC of the stored date', () => {
    expect(factsOf(meter({ nextVerificationOn: '2025-03-01' })).nextVerificationDate?.toISOString()).toBe('2025-03-01T00:00:00.000Z');
  });
});

describe('contextOf', () => {
  it('reverse delta needs a previous value; heat deltas only for heat meters', () => {
    expect(contextOf('cold_water', { volume_reverse_m3: 2 }, undefined).reverseVolumeDelta).toBeNull();
    expect(contextOf('cold_water', { volume_reverse_m3: 2 }, { volume_reverse_m3: 1.5 }).reverseVolumeDelta).toBe(0.5);
    // A meter without a reverse register shows reverse flow as a negative flow rate.
    expect(contextOf('hot_water', { volume_flow_m3h: -0.3 }, undefined).volumeFlowM3h).toBe(-0.3);
    expect(contextOf('cold_water', { flow_temp_c: 50 }, {}).heat).toBeUndefined();
    const samples = [{ time: new Date(0), energyKwh: 100, volumeM3: 2.5, flowTempC: 70, returnTempC: 50 }];
    expect(contextOf('heat', { energy_kwh: 110, volume_m3: 3, flow_temp_c: 70, return_temp_c: 50 }, { energy_kwh: 100, volume_m3: 2.5 }, samples).heat)
      .toEqual({ flowTempC: 70, returnTempC: 50, samples });
  });

  it('a heat meter\'s samples: its register instants within the heat window before the reading, and the reading', () => {
    const before = pts([1, 2, 3]).map((p, i) => ({ ...p, time: new Date(i * 12 * H) })); // 0 h, 12 h, 24 h
    const context: Context = new ByMeter<number, InstantValues>()
      .set(7, 12 * H, { energy_kwh: 2, volume_m3: 0.1, flow_temp_c: 70, return_temp_c: 50 })
      .set(7, 36 * H, { energy_kwh: 4, volume_m3: 0.2, flow_temp_c: 71, return_temp_c: 50 });
    // Reading at 36 h, window 24 h: the samples at 12 h and 24 h (0 h is 36 h back) and 36 h itself; 24 h has no context values.
    const got = heatSamples(7, before, new Date(36 * H), context, DEFAULT_VALIDATION_SETTINGS);
    expect(got.map((x) => x.time.getTime() / H)).toEqual([12, 24, 36]);
    expect(got[0]).toMatchObject({ energyKwh: 2, volumeM3: 0.1, flowTempC: 70, returnTempC: 50 });
    expect(got[1]).toMatchObject({ energyKwh: null, volumeM3: null });
    expect(got[2]).toMatchObject({ energyKwh: 4, flowTempC: 71 });
  });
});

describe('judge', () => {
  it('one verdict per row; history strictly before each row; NULL value is invalid', () => {
    const history = new Map([[1, pts([1, 1.1, 1.2, 0.5])]]);
    const verdicts = judge({
      meters: new Map([[1, meter()]]), history, context: new ByMeter(), settings: DEFAULT_VALIDATION_SETTINGS,
      targets: [row(2, 1.2), row(3, 0.5), row(3, 1.3, 2), row(4, null)],
    });
    expect(verdicts.map((v) => [v.timeKey, v.version, v.status, v.reasons.map((r) => r.code)])).toEqual([
      ['k2', 1, 'valid', []],
      ['k3', 1, 'invalid', ['register_decreased']],
      ['k3', 2, 'valid', []],
      ['k4', 1, 'invalid', ['meter_error']],
    ]);
  });
  it('context at the row and at its predecessor feeds the reverse-flow rule', () => {
    const context: Context = new ByMeter<number, InstantValues>().set(1, T0 + H, { volume_reverse_m3: 1 }).set(1, T0 + 2 * H, { volume_reverse_m3: 1.2 });
    const [v] = judge({ meters: new Map([[1, meter()]]), history: new Map([[1, pts([1, 1.1])]]), context, settings: DEFAULT_VALIDATION_SETTINGS, targets: [row(2, 1.2)] });
    expect(v.reasons.map((r) => r.code)).toEqual(['reverse_flow']);
  });
  it('history depth covers the spike window and the stuck run', () => {
    expect(historyDepth({ ...DEFAULT_VALIDATION_SETTINGS, spikeWindow: 10, stuckIntervals: 30 })).toBe(31);
    expect(historyDepth(DEFAULT_VALIDATION_SETTINGS)).toBe(98);
  });
});

describe('judgeArchive', () => {
  const rec = (over: Partial<ArchiveTarget>): ArchiveTarget => ({
    meterId: 1, quantity: 'energy_delta_kwh', time: new Date(T0), timeKey: 'k0', version: 1, value: 10, quality: ['archive'],
    kind: 'hourly', seconds: 3600, codes: [], workingSeconds: 3600, nsSeconds: 0, ...over,
  });
  const codes = (t: ArchiveTarget) => judgeArchive([t]).map((v) => [v.status, v.reasons.map((r) => `${r.code}:${r.status}`)]);

  it('a normal record is valid, with no reasons', () => {
    expect(codes(rec({}))).toEqual([['valid', []]]);
  });
  it('Δt below minimum: suspect, with the meter code and the Тнс', () => {
    expect(codes(rec({ codes: ['dt_low'], workingSeconds: 2400, nsSeconds: 1200 }))).toEqual([['suspect', ['ns_dt_low:suspect', 'ns_time:suspect']]]);
  });
  it('power off with Тр = 0 is invalid; with Тр > 0 (part of the interval) or Тр not reported, suspect', () => {
    // Тр 0 + Тнс 0 of 3600 s: the whole hour off.
    expect(codes(rec({ workingSeconds: 0, nsSeconds: 0 }))).toEqual([['invalid', ['ns_power_off:invalid']]]);
    expect(codes(rec({ workingSeconds: 1800, nsSeconds: 0 }))).toEqual([['suspect', ['ns_power_off:suspect']]]);
    expect(codes(rec({ codes: ['power_off'], workingSeconds: null, nsSeconds: null }))).toEqual([['suspect', ['ns_power_off:suspect']]]);
  });
  it('the verdict names the row it judges; an unnamed bit is ns_unknown', () => {
    const [v] = judgeArchive([rec({ quantity: 'energy_day_kwh', kind: 'daily', seconds: 86_400, workingSeconds: 86_400, timeKey: 'kd', version: 2, codes: ['bit9'] })]);
    expect(v).toMatchObject({ meterId: 1, quantity: 'energy_day_kwh', timeKey: 'kd', version: 2, status: 'suspect' });
    expect(v.reasons[0]).toMatchObject({ code: 'ns_unknown', details: { meterCode: 'bit9', kind: 'daily' } });
  });
});
