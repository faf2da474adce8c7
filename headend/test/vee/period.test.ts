import { describe, it, expect } from 'vitest';
import { cumulativeAt, periodConsumption, monthPeriod, estimateGap, consumptionBetween, computeImbalance, type RegisterPoint } from '../../src/vee/index.js';

const D = 86_400_000;
const t = (iso: string) => new Date(iso);

describe('consumption across rollover and replacement', () => {
  it('rollover of a 5-digit register: 99 990 → 15 is 25 units', () => {
    const c = consumptionBetween({ time: t('2026-01-01'), value: 99_990 }, { time: t('2026-01-02'), value: 15 }, { registerDigits: 5 });
    expect(c).toEqual({ consumption: 25, via: 'rollover', decreased: false });
  });
  it('replacement: (removal − last of old) + (current − installation of new)', () => {
    // Old meter read 1 200 on the 1st, removed at 1 230 on the 10th; new one installed at 3, reads 50 on the 20th.
    const c = consumptionBetween({ time: t('2026-01-01'), value: 1200 }, { time: t('2026-01-20'), value: 50 }, {
      replacements: [{ time: t('2026-01-10'), removalReading: 1230, installationReading: 3 }],
    });
    expect(c.consumption).toBe(30 + 47);
    expect(c.via).toBe('replacement');
    expect(c.decreased).toBe(false);
  });
});

describe('period alignment', () => {
  // Daily readings at noon: 100, 110, 120, … (10 units a day).
  const pts: RegisterPoint[] = Array.from({ length: 50 }, (_, i) => ({ time: new Date(Date.UTC(2025, 11, 20, 12) + i * D), value: 100 + 10 * i }));
  it('interpolates the register to the month bounds', () => {
    const p = periodConsumption(pts, monthPeriod(2026, 1));
    expect(p?.method).toBe('interpolated');
    expect(p?.consumption).toBeCloseTo(310, 9); // 31 days × 10
  });
  it('a reading exactly on the bound is measured', () => {
    const a = cumulativeAt(pts, new Date(Date.UTC(2025, 11, 20, 12)));
    expect(a).toEqual({ cumulative: 0, method: 'measured' });
  });
  it('extrapolates a little past the data as estimated, not further', () => {
    const last = pts[pts.length - 1].time.getTime();
    expect(cumulativeAt(pts, new Date(last + D))?.method).toBe('estimated');
    expect(cumulativeAt(pts, new Date(last + 10 * D))).toBeNull();
  });
  it('interpolates across a replacement and a rollover in one month', () => {
    // Old meter (5 digits) rolls over mid-month, then is replaced; the new one starts at 0.
    const series: RegisterPoint[] = [
      { time: t('2026-01-01T00:00:00Z'), value: 99_900 },
      { time: t('2026-01-11T00:00:00Z'), value: 99_990 },
      { time: t('2026-01-16T00:00:00Z'), value: 40 }, // rolled over: +50
      { time: t('2026-01-26T00:00:00Z'), value: 20 }, // new meter since the 21st: old 40 → removal 90 (+50), new 0 → 20 (+20)
      { time: t('2026-02-01T00:00:00Z'), value: 32 },
    ];
    const p = periodConsumption(series, monthPeriod(2026, 1), {
      registerDigits: 5,
      replacements: [{ time: t('2026-01-21T00:00:00Z'), removalReading: 90, installationReading: 0 }],
    });
    expect(p?.method).toBe('measured');
    expect(p?.consumption).toBeCloseTo(90 + 50 + 50 + 20 + 12, 9);
  });
  it('month bounds honour the local offset', () => {
    const m = monthPeriod(2026, 3, 180);
    expect(m.start.toISOString()).toBe('2026-02-28T21:00:00.000Z');
    expect(m.end.toISOString()).toBe('2026-03-31T21:00:00.000Z');
  });
});

describe('gap estimation', () => {
  it('a short gap is linear in the register and marked estimated', () => {
    const pts = estimateGap({ time: t('2026-01-01T00:00:00Z'), value: 10 }, { time: t('2026-01-01T01:00:00Z'), value: 14 }, 15 * 60_000);
    expect(pts.map((p) => p.value)).toEqual([11, 12, 13]);
    expect(pts.every((p) => p.estimated && p.method === 'linear')).toBe(true);
  });
  it('a long gap follows the weekly profile and still ends on the real reading', () => {
    // History: two weeks of hourly data, using 2 units/h from 08:00 to 20:00 and nothing at night.
    const hist: RegisterPoint[] = [];
    let v = 0;
    const start = Date.UTC(2025, 11, 29); // a Monday
    for (let h = 0; h <= 14 * 24; h++) {
      hist.push({ time: new Date(start + h * 3_600_000), value: v });
      const hour = new Date(start + h * 3_600_000).getUTCHours();
      v += hour >= 8 && hour < 20 ? 2 : 0;
    }
    const a = hist[hist.length - 1];
    const b = { time: new Date(a.time.getTime() + 24 * 3_600_000), value: a.value + 24 };
    const est = estimateGap(a, b, 3_600_000, hist);
    expect(est[0].method).toBe('profile');
    // Midnight to 08:00 nothing is used; by 20:00 all 24 units are.
    expect(est[7].value).toBeCloseTo(a.value, 9);
    expect(est[19].value).toBeCloseTo(b.value, 9);
  });
});

describe('imbalance', () => {
  const m = (id: string, c: number | null, method: 'measured' | 'interpolated' | 'estimated' | null = c === null ? null : 'measured') => ({ meterId: id, consumption: c, method });
  it('12 % loss: ОДПУ 1000, Σ ИПУ 830, common area 50', () => {
    const r = computeImbalance({ building: [m('odpu', 1000)], apartments: [m('a1', 400), m('a2', 430)], otherConsumers: [m('c', 50)] });
    expect(r.imbalance).toBe(120);
    expect(r.imbalancePct).toBeCloseTo(12, 9);
    expect(r.status).toBe('high_loss');
    expect(r.coverage).toBe(1);
  });
  it('ОДПУ below Σ ИПУ is a negative imbalance', () => {
    const r = computeImbalance({ building: [m('odpu', 100)], apartments: [m('a1', 60), m('a2', 50)], otherConsumers: [] });
    expect(r.imbalancePct).toBeCloseTo(-10, 9);
    expect(r.status).toBe('negative_imbalance');
  });
  it('too few apartment readings is insufficient data', () => {
    const r = computeImbalance({ building: [m('odpu', 100)], apartments: [m('a1', 50), m('a2', null), m('a3', 10, 'estimated')], otherConsumers: [] });
    expect(r.coverage).toBeCloseTo(1 / 3, 9);
    expect(r.status).toBe('insufficient_data');
  });
  it('no building value is insufficient data', () => {
    expect(computeImbalance({ building: [m('odpu', null)], apartments: [m('a', 1)], otherConsumers: [] }).status).toBe('insufficient_data');
  });
});
