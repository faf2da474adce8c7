// The demo's score of the validator (scripts/validator-score.mjs), counted by hand on a small truth.
import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain ES module of the demo, without types
import { expectedCode, scoreValidator } from '../scripts/validator-score.mjs';

const H = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const meters = [
  { meterId: 'odpu-hot_water', bus: 'mbus' },
  { meterId: 'apt-1-cold_water', bus: 'pulse', pulse: { deviceId: 101 } },
  { meterId: 'apt-1-hot_water', bus: 'pulse', pulse: { deviceId: 101 } },
  { meterId: 'apt-1-electricity', bus: 'modbus' },
];

describe('scoreValidator', () => {
  it('nothing injected, nothing flagged: precision 1, recall not applicable', () => {
    const s = scoreValidator({ faults: [], meters, flagged: [] });
    expect(s).toMatchObject({ precision: 1, recall: null, falsePositives: [], misses: [] });
  });

  it('counts flags explained by a fault, false alarms, and faults missed', () => {
    const s = scoreValidator({
      faults: [
        { meterId: 'odpu-hot_water', kind: 'reverseFlow', atMs: T0 + 10 * H },
        { meterId: 'apt-1-cold_water', kind: 'silent', atMs: T0 + 20 * H },
        { meterId: 'apt-1-cold_water', kind: 'clear', atMs: T0 + 30 * H },
        { meterId: 'apt-1-electricity', kind: 'reverseFlow', atMs: T0 + 10 * H },
      ],
      meters,
      flagged: [
        // explained: 3 codes of the reverse flow (2 readings → 6 pairs)
        { meter: 'odpu-hot_water', timeMs: T0 + 11 * H, codes: ['meter_error', 'register_decreased', 'reverse_flow'] },
        { meter: 'odpu-hot_water', timeMs: T0 + 12 * H, codes: ['meter_error', 'register_decreased', 'reverse_flow'] },
        // false: before the fault
        { meter: 'odpu-hot_water', timeMs: T0 + 9 * H, codes: ['spike'] },
        // explained: the gap after the pulse device's silence, on both of its meters
        { meter: 'apt-1-cold_water', timeMs: T0 + 30 * H, codes: ['gap'] },
        { meter: 'apt-1-hot_water', timeMs: T0 + 30 * H, codes: ['gap'] },
        // false: a code no fault of this meter explains
        { meter: 'apt-1-cold_water', timeMs: T0 + 33 * H, codes: ['spike'] },
      ],
    });
    // 8 pairs explained, 2 false → precision 8 / 10; faults: reverse (caught), silent (caught), electricity reverse (missed) → 2 / 3.
    expect(s.truePositives).toBe(8);
    expect(s.flaggedCodes).toBe(10);
    expect(s.precision).toBe(0.8);
    expect(s.recall).toBe(0.6667);
    expect(s.falsePositives).toEqual([
      { meter: 'odpu-hot_water', time: new Date(T0 + 9 * H).toISOString(), codes: ['spike'] },
      { meter: 'apt-1-cold_water', time: new Date(T0 + 33 * H).toISOString(), codes: ['spike'] },
    ]);
    expect(s.misses).toEqual([{ meter: 'apt-1-electricity', kind: 'reverseFlow', from: new Date(T0 + 10 * H).toISOString(), expected: 'register_decreased' }]);
    // Per code: spike 0 of 2 right; gap 2 of 2 and its one fault caught; register_decreased: 2 of 2 flags right, 0 of 1 fault.
    expect(s.codes.spike).toMatchObject({ flagged: 2, falsePositives: 2, precision: 0, recall: null });
    expect(s.codes.gap).toMatchObject({ flagged: 2, precision: 1, faults: 1, caught: 1, recall: 1 });
    expect(s.codes.register_decreased).toMatchObject({ flagged: 2, precision: 1, faults: 1, caught: 0, recall: 0 });
    expect(s.codes.reverse_flow).toMatchObject({ precision: 1, recall: 1 });
  });

  it('a line still silent at the end of the run is not the validator\'s miss: no reading came to carry a gap', () => {
    const s = scoreValidator({
      faults: [
        { meterId: 'apt-1-cold_water', kind: 'silent', atMs: T0 + 20 * H }, // never cleared
        { meterId: 'apt-1-electricity', kind: 'crc', atMs: T0 + 5 * H },
        { meterId: 'apt-1-electricity', kind: 'clear', atMs: T0 + 8 * H },
        { meterId: 'apt-1-electricity', kind: 'crc', atMs: T0 + 40 * H }, // a second one, never cleared
        { meterId: 'odpu-hot_water', kind: 'stuck', atMs: T0 + 10 * H },
      ],
      meters,
      flagged: [
        { meter: 'apt-1-electricity', timeMs: T0 + 8 * H, codes: ['gap'] },
        // a gap flagged on the pulse device before the run ended is still explained by the open silence
        { meter: 'apt-1-hot_water', timeMs: T0 + 21 * H, codes: ['gap'] },
      ],
    });
    // Scored: the cleared crc (caught) and the stuck register (missed) → recall 1 / 2 = 0.5; the two
    // open line faults are listed, neither a catch nor a miss. Both gaps are explained: precision 2 / 2.
    expect(s.recall).toBe(0.5);
    expect(s.precision).toBe(1);
    expect(s.misses).toEqual([{ meter: 'odpu-hot_water', kind: 'stuck', from: new Date(T0 + 10 * H).toISOString(), expected: 'stuck_register' }]);
    expect(s.unscored.map((u: { meter: string; kind: string }) => `${u.meter} ${u.kind}`)).toEqual(['apt-1-cold_water silent', 'apt-1-electricity crc']);
    expect(s.codes.gap).toMatchObject({ flagged: 2, precision: 1, faults: 1, caught: 1, recall: 1 });
  });

  it('the expected code follows what the meter can tell', () => {
    expect(expectedCode('reverseFlow', { bus: 'mbus' })).toBe('reverse_flow');
    expect(expectedCode('reverseFlow', { bus: 'pulse' })).toBe('register_decreased');
    expect(expectedCode('stuck', { bus: 'pulse' })).toBe('stuck_register');
    expect(expectedCode('crc', { bus: 'modbus' })).toBe('gap');
  });
});
