/**
 * Metering points (pure): which readings count, chains of replaced meters, and the series a chain
 * gives the VEE period maths.
 */
import { describe, expect, it } from 'vitest';
import { buildPoint, chains, flaggedWithin, usability, type MeterRow, type ReadingRow, type ReplacementRow } from '../../src/imbalance/points.js';
import { periodConsumption } from '../../src/vee/index.js';

const meter = (id: number, inService = true): MeterRow => ({ id, placement: 'apartment', registerDigits: 5, remoteReading: false, inService });
const row = (meterId: number, time: string, value: number | null, verdict: ReadingRow['verdict'] = null, decision: ReadingRow['decision'] = null): ReadingRow =>
  ({ meterId, time: new Date(time), value, verdict, decision });

describe('usability', () => {
  it('rejected never counts, invalid only when accepted, suspect counts flagged until accepted', () => {
    expect(usability(row(1, '2026-01-01', 5, null, 'reject'))).toEqual({ usable: false, flagged: false });
    expect(usability(row(1, '2026-01-01', 5, 'valid', 'reject'))).toEqual({ usable: false, flagged: false });
    expect(usability(row(1, '2026-01-01', 5, 'invalid'))).toEqual({ usable: false, flagged: false });
    expect(usability(row(1, '2026-01-01', 5, 'invalid', 'accept'))).toEqual({ usable: true, flagged: false });
    expect(usability(row(1, '2026-01-01', 5, 'suspect'))).toEqual({ usable: true, flagged: true });
    expect(usability(row(1, '2026-01-01', 5, 'suspect', 'accept'))).toEqual({ usable: true, flagged: false });
    expect(usability(row(1, '2026-01-01', null))).toEqual({ usable: false, flagged: false });
  });
});

describe('chains and points', () => {
  const reps: ReplacementRow[] = [
    { oldMeterId: 1, newMeterId: 2, replacedAt: new Date('2026-01-10T00:00:00Z'), removalReading: 104, installationReading: 0 },
    { oldMeterId: 2, newMeterId: 3, replacedAt: new Date('2026-01-20T00:00:00Z'), removalReading: 5, installationReading: 1000 },
  ];

  it('follows replacements old → new into one chain; unrelated meters stand alone', () => {
    const c = chains([meter(3), meter(9), meter(1, false), meter(2)], reps);
    expect(c.map((x) => x.map((m) => m.id)).sort((a, b) => a[0] - b[0])).toEqual([[1, 2, 3], [9]]);
  });

  it('a chain of two replacements in one month: (104 − 100) + (5 − 0) + (1003 − 1000) = 12', () => {
    const readings = new Map<number, ReadingRow[]>([
      [1, [row(1, '2026-01-01T00:00:00Z', 100), row(1, '2026-01-10T00:00:00Z', 104)]],
      [2, [row(2, '2026-01-10T00:00:00Z', 0), row(2, '2026-01-15T00:00:00Z', 3)]],
      [3, [row(3, '2026-02-01T00:00:00Z', 1003)]],
    ]);
    const p = buildPoint([meter(1), meter(2), meter(3)], reps, readings);
    expect(p.meter.id).toBe(3);
    expect(p.replaced.map((m) => m.id)).toEqual([1, 2]);
    // Meter 3 had no reading at its installation: the installation reading opens it.
    expect(p.series.map((s) => [s.time.toISOString().slice(0, 10), s.value])).toEqual([
      ['2026-01-01', 100], ['2026-01-10', 0], ['2026-01-15', 3], ['2026-01-20', 1000], ['2026-02-01', 1003],
    ]);
    const pc = periodConsumption(p.series, { start: new Date('2026-01-01T00:00:00Z'), end: new Date('2026-02-01T00:00:00Z') },
      { registerDigits: 5, replacements: p.replacements });
    expect(pc?.consumption).toBeCloseTo(12, 12);
  });

  it('without recorded removal/installation readings it falls back to the last and first readings', () => {
    const bare: ReplacementRow[] = [{ oldMeterId: 1, newMeterId: 2, replacedAt: new Date('2026-01-10T00:00:00Z'), removalReading: null, installationReading: null }];
    const readings = new Map<number, ReadingRow[]>([
      [1, [row(1, '2026-01-01T00:00:00Z', 100), row(1, '2026-01-05T00:00:00Z', 102)]],
      [2, [row(2, '2026-01-12T00:00:00Z', 7), row(2, '2026-02-01T00:00:00Z', 17)]],
    ]);
    const p = buildPoint([meter(1), meter(2)], bare, readings);
    expect(p.replacements).toEqual([{ time: new Date('2026-01-10T00:00:00Z'), removalReading: 102, installationReading: 7 }]);
    const pc = periodConsumption(p.series, { start: new Date('2026-01-01T00:00:00Z'), end: new Date('2026-02-01T00:00:00Z') }, { replacements: p.replacements });
    expect(pc?.consumption).toBeCloseTo(2 + 10, 12);
  });

  it('flaggedWithin looks from the reading at/before the start to the one at/after the end', () => {
    const s = [
      { time: new Date('2026-01-01'), value: 1, flagged: true },
      { time: new Date('2026-01-05'), value: 2, flagged: false },
      { time: new Date('2026-01-20'), value: 3, flagged: false },
      { time: new Date('2026-02-05'), value: 4, flagged: false },
      { time: new Date('2026-02-10'), value: 5, flagged: true },
    ];
    expect(flaggedWithin(s, new Date('2026-01-06'), new Date('2026-02-01'))).toBe(false);
    expect(flaggedWithin(s, new Date('2026-01-04'), new Date('2026-02-01'))).toBe(true);
    expect(flaggedWithin(s, new Date('2026-01-06'), new Date('2026-02-06'))).toBe(true);
  });
});
