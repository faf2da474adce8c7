/**
 * The one consumption function (pure): rollover by register digits, an implausible drop refused as
 * consumption, a replacement chain as one point, zone registers, provenance, and the collection-window
 * attribution of manual readings against interpolation of telemetry (the entry judge reads a rollover
 * by the same rule: test/readings/judge.test.ts). Every expected value is worked out by hand in the
 * comments; dates are fixed.
 */
import { describe, it, expect } from 'vitest';
import { chainSeries, consumption, countingSeries, usualMonthly, type CountingReading, type RegisterConsumption } from '../../src/readings/consumption.js';
import { rolloverConsumption } from '../../src/vee/register.js';

const at = (iso: string) => new Date(iso);
const r = (iso: string, value: number, source: CountingReading['source'] = 'resident', version = 1, extra: Partial<CountingReading> = {}): CountingReading => ({ time: at(iso), value, source, version, ...extra });
/** A calendar month in UTC (the building's local month bounds are passed in as instants). */
const month = (y: number, m: number) => ({ start: new Date(Date.UTC(y, m - 1, 1)), end: new Date(Date.UTC(y, m, 1)) });
const measured = (x: RegisterConsumption) => {
  if (x.status !== 'measured') throw new Error(`expected measured, got ${x.status}: ${'message' in x ? x.message : ''}`);
  return x;
};

describe('rollover', () => {
  it('a 5-digit hot-water register 99 996.5 → 2.5 is 6.0 m³, never −99 994', () => {
    // Windows: Oct 99 990 (Oct 20), Nov 99 996.5 (Nov 20), Dec 2.5 (Dec 20). December = 100 000 − 99 996.5 + 2.5 = 6.0.
    const readings = [r('2026-10-20T00:00:00Z', 99_990), r('2026-11-20T00:00:00Z', 99_996.5), r('2026-12-20T00:00:00Z', 2.5)];
    const out = consumption({ period: month(2026, 12), registers: { volume_m3: readings }, registerDigits: 5, usualMonthly: 6.5 });
    const x = measured(out.registers.volume_m3);
    expect(out.attributedBy).toBe('window');
    expect(x.quantity).toBeCloseTo(6.0, 9);
    expect(x.via).toBe('rollover');
    expect(x.readings.map((p) => p.value)).toEqual([99_996.5, 2.5]);
  });

  it('an 8-digit electricity register 99 999 990 → 15 is 25 kWh (interpolated telemetry at the bounds)', () => {
    // Telemetry exactly at both bounds: 10^8 − 99 999 990 + 15 = 10 + 15 = 25 kWh.
    const readings = [r('2026-03-01T00:00:00Z', 99_999_990, 'telemetry'), r('2026-04-01T00:00:00Z', 15, 'telemetry')];
    const out = consumption({ period: month(2026, 3), registers: { energy_kwh: readings }, registerDigits: 8 });
    expect(out.attributedBy).toBe('interpolation');
    expect(measured(out.registers.energy_kwh).quantity).toBe(25);
  });

  it('without register digits the same drop is not consumption', () => {
    const readings = [r('2026-11-20T00:00:00Z', 99_996.5), r('2026-12-20T00:00:00Z', 2.5)];
    const x = consumption({ period: month(2026, 12), registers: { volume_m3: readings } }).registers.volume_m3;
    expect(x.status).toBe('implausible_drop');
  });

  it('5 000 → 10 on a 5-digit register when the flat uses 5 m³ a month is refused as consumption', () => {
    // "If it rolled over": 100 000 − 5 000 + 10 = 95 010 m³ — against a usual 5 m³/month (× 10 allowed = 50) absurd.
    const readings = [r('2026-10-20T00:00:00Z', 4_995), r('2026-11-20T00:00:00Z', 5_000), r('2026-12-20T00:00:00Z', 10)];
    const x = consumption({ period: month(2026, 12), registers: { volume_m3: readings }, registerDigits: 5, usualMonthly: 5 }).registers.volume_m3;
    expect(x.status).toBe('implausible_drop');
    if (x.status !== 'implausible_drop') return;
    expect([x.from.value, x.to.value]).toEqual([5_000, 10]);
    expect(x.message).toMatch(/went down from 5000 .* to 10 .*5-digit/);
    // The same rule validation uses: no wrap for this pair, a wrap for the plausible one.
    expect(rolloverConsumption(5_000, 10, 5, 5, 31 * 86_400_000)).toBeNull();
    expect(rolloverConsumption(99_996.5, 2.5, 5, 5, 30 * 86_400_000)).toBeCloseTo(6, 9);
  });

  it('a wrap small against the register range but large against the usual is refused; with no usual known the range rule alone decides', () => {
    // 99 000 → 500 on 5 digits = 1 500 m³: within 10 % of the range (10 000), but 1 500 > 10 × 5 m³.
    expect(rolloverConsumption(99_000, 500, 5, 5, 30 * 86_400_000)).toBeNull();
    expect(rolloverConsumption(99_000, 500, 5, null)).toBe(1_500);
  });

  it('the usual monthly consumption skips drops: 3 months of +5 m³ around a fault is 5 m³/month', () => {
    // 100 → 105 → 110 → 115 on the 1st of Jan..Apr: 15 m³ over 90 days = 2.957 months → 5.07 m³/month.
    const u = usualMonthly([r('2026-01-01T00:00:00Z', 100), r('2026-02-01T00:00:00Z', 105), r('2026-03-01T00:00:00Z', 110), r('2026-04-01T00:00:00Z', 115)]);
    expect(u).toBeCloseTo(15 / (90 / 30.4375), 9);
    expect(usualMonthly([r('2026-01-01T00:00:00Z', 100), r('2026-01-20T00:00:00Z', 105)])).toBeNull(); // under a month of history
  });
});

describe('replacement chain', () => {
  it('old 100 → 120 removed at 120.5, new installed at 0 read 3.2: 20.5 + 3.2 = 23.7, no fake rollover', () => {
    // Old meter (5 digits): closing Sept 100 (Sept 20), 120 on Oct 5; removed Oct 10 at 120.5; new installed 0, October window 3.2 (Oct 20).
    // October = (120.5 − 100) + (3.2 − 0) = 20.5 + 3.2 = 23.7 m³ (a drop 120.5 → 0 would be a "rollover" of 99 879.5).
    const chain = chainSeries([
      { meterId: 1, readings: [r('2026-09-20T00:00:00Z', 100), r('2026-10-05T00:00:00Z', 120, 'staff')] },
      { meterId: 2, readings: [r('2026-10-20T00:00:00Z', 3.2)] },
    ], [{ oldMeterId: 1, newMeterId: 2, replacedAt: at('2026-10-10T12:00:00Z'), removalReading: 120.5, installationReading: 0 }]);
    const out = consumption({ period: month(2026, 10), registers: { volume_m3: chain.readings }, replacements: chain.replacements, registerDigits: 5 });
    const x = measured(out.registers.volume_m3);
    expect(x.quantity).toBeCloseTo(23.7, 9);
    expect(x.via).toBe('replacement');
    // Both meters' readings are named; the installation stands as the replacement record's value (version 0).
    expect(x.readings.map((p) => [p.meterId, p.value])).toEqual([[1, 100], [1, 120], [2, 0], [2, 3.2]]);
  });

  it("without a removal reading the old meter's last reading closes it", () => {
    // Old 100 (Sept 20) → removal unknown → its last 120 (Oct 5); new installed at 7, read 9 on Oct 20: (120 − 100) + (9 − 7) = 22.
    const chain = chainSeries([
      { meterId: 1, readings: [r('2026-09-20T00:00:00Z', 100), r('2026-10-05T00:00:00Z', 120)] },
      { meterId: 2, readings: [r('2026-10-20T00:00:00Z', 9)] },
    ], [{ oldMeterId: 1, newMeterId: 2, replacedAt: at('2026-10-10T00:00:00Z'), removalReading: null, installationReading: 7 }]);
    const x = measured(consumption({ period: month(2026, 10), registers: { volume_m3: chain.readings }, replacements: chain.replacements }).registers.volume_m3);
    expect(x.quantity).toBe(22);
  });
});

describe('zones', () => {
  it('T1 and T2 are registers of one meter, each with its own consumption; a missing zone is no reading for that zone only', () => {
    // T1: 1 000 → 1 180 = 180 kWh; T2: 400 → 470 = 70 kWh; T3 has no November reading.
    const out = consumption({
      period: month(2026, 11),
      registers: {
        energy_t1_kwh: [r('2026-10-24T00:00:00Z', 1_000), r('2026-11-24T00:00:00Z', 1_180)],
        energy_t2_kwh: [r('2026-10-24T00:00:00Z', 400), r('2026-11-24T00:00:00Z', 470)],
        energy_t3_kwh: [r('2026-10-24T00:00:00Z', 50)],
      },
      registerDigits: 6,
    });
    expect(measured(out.registers.energy_t1_kwh).quantity).toBe(180);
    expect(measured(out.registers.energy_t2_kwh).quantity).toBe(70);
    expect(out.registers.energy_t3_kwh.status).toBe('no_reading');
  });
});

describe('provenance', () => {
  it('staff outranks telemetry outranks resident at one instant; then the latest version; rejected and estimates never count', () => {
    const pts = countingSeries([
      r('2026-11-20T00:00:00Z', 50, 'resident', 1), r('2026-11-20T00:00:00Z', 49, 'telemetry', 2), r('2026-11-20T00:00:00Z', 48, 'staff', 3),
      r('2026-11-21T00:00:00Z', 51, 'resident', 1), r('2026-11-21T00:00:00Z', 52, 'resident', 2),
      r('2026-11-22T00:00:00Z', 60, 'staff', 1), r('2026-11-22T00:00:00Z', 999, 'staff', 2, { rejected: true }),
      r('2026-11-23T00:00:00Z', 70, 'estimate', 1),
    ]);
    expect(pts.map((p) => [p.time.toISOString().slice(8, 10), p.value])).toEqual([['20', 48], ['21', 52], ['22', 60]]);
  });

  it("a resident's higher entry where staff read the meter does not change the month", () => {
    // October closing 100 (staff); November: resident says 130, staff read 115 the same day → 115 − 100 = 15.
    const out = consumption({
      period: month(2026, 11),
      registers: { volume_m3: [r('2026-10-15T00:00:00Z', 100, 'staff'), r('2026-11-15T00:00:00Z', 130, 'resident', 1), r('2026-11-15T00:00:00Z', 115, 'staff', 2)] },
    });
    expect(measured(out.registers.volume_m3).quantity).toBe(15);
  });
});

describe('period attribution', () => {
  // Readings of a 15–25 window are dated at local midnight of the 15th (collection/storage.ts periodFor).
  const windows = [r('2026-09-15T00:00:00Z', 100), r('2026-10-15T00:00:00Z', 110), r('2026-11-15T00:00:00Z', 115), r('2026-12-15T00:00:00Z', 123)];

  it('a manual reading taken in month M\'s window closes M: Oct = 110 − 100 = 10, Nov = 115 − 110 = 5, not interpolated from the next window', () => {
    const oct = consumption({ period: month(2026, 10), registers: { volume_m3: windows } });
    const nov = consumption({ period: month(2026, 11), registers: { volume_m3: windows } });
    expect(oct.attributedBy).toBe('window');
    expect(measured(oct.registers.volume_m3).quantity).toBe(10);
    expect(measured(nov.registers.volume_m3).quantity).toBe(5);
    expect(measured(nov.registers.volume_m3).readings.map((p) => p.value)).toEqual([110, 115]);
    // Interpolating November's calendar bounds instead gives a number that depends on December's reading.
    // The 'calendar' setting does exactly that: Oct 15 → Nov 15 is 31 days, Nov 1 is 17 of them:
    // Nov 1 = 110 + 5 × 17/31 = 112.741935…; Nov 15 → Dec 15 is 30 days, Dec 1 is 16 of them:
    // Dec 1 = 115 + 8 × 16/30 = 119.266667…; difference = 6.524731…
    const cal = consumption({ period: month(2026, 11), registers: { volume_m3: windows }, attribution: 'calendar' });
    expect(cal.attributedBy).toBe('interpolation');
    expect(measured(cal.registers.volume_m3).quantity).toBeCloseTo(115 + (8 * 16) / 30 - (110 + (5 * 17) / 31), 9);
  });

  it('the current month is billable from its own window before the next one exists', () => {
    const soFar = windows.slice(0, 3);
    expect(measured(consumption({ period: month(2026, 11), registers: { volume_m3: soFar } }).registers.volume_m3).quantity).toBe(5);
  });

  it('a 25–5 window starting Nov 25 is November; the latest of two readings in a month closes it', () => {
    const rs = [r('2026-10-25T00:00:00Z', 200), r('2026-11-02T00:00:00Z', 203), r('2026-11-25T00:00:00Z', 207)];
    // November closing = Nov 25 (207), previous closing = Oct 25 (200): 7.
    expect(measured(consumption({ period: month(2026, 11), registers: { volume_m3: rs } }).registers.volume_m3).quantity).toBe(7);
  });

  it('a month without its own reading has no reading (the fallback charges it); a meter with no earlier reading too', () => {
    const gap = [r('2026-09-15T00:00:00Z', 100), r('2026-11-15T00:00:00Z', 115)];
    expect(consumption({ period: month(2026, 10), registers: { volume_m3: gap } }).registers.volume_m3.status).toBe('no_reading');
    expect(consumption({ period: month(2026, 9), registers: { volume_m3: gap } }).registers.volume_m3.status).toBe('no_reading');
  });

  it('any telemetry reading in the month keeps interpolation to the bounds', () => {
    // Telemetry Nov 1 = 10 and Dec 1 = 40, a staff check on Nov 15 = 22: interpolated November = 40 − 10 = 30.
    const rs = [r('2026-11-01T00:00:00Z', 10, 'telemetry'), r('2026-11-15T00:00:00Z', 22, 'staff'), r('2026-12-01T00:00:00Z', 40, 'telemetry')];
    const out = consumption({ period: month(2026, 11), registers: { volume_m3: rs } });
    expect(out.attributedBy).toBe('interpolation');
    expect(measured(out.registers.volume_m3).quantity).toBe(30);
  });

  it('a meter unusable from Nov 10: the window reading of Nov 15 does not count', () => {
    const out = consumption({ period: month(2026, 11), registers: { volume_m3: windows }, unusableFrom: at('2026-11-10T00:00:00Z') });
    expect(out.registers.volume_m3.status).toBe('no_reading');
  });
});
